// One client: its fields, and rotate, delete and the audit trail.

import { call, clientPath } from "./api.js";
import { chips, h, timestamp } from "./dom.js";
import { MAX_GRACE_SECONDS } from "./scheme.js";
import { secretPanel } from "./secret.js";
import { auditTrail } from "./audit.js";

const GRACE_CHOICES = [
  [0, "None: the current secret stops working at once"],
  [3600, "1 hour"],
  [86400, "1 day"],
  [604800, "7 days"],
  [MAX_GRACE_SECONDS, "30 days (the longest)"],
];

function row(label, value) {
  return [h("dt", {}, label), h("dd", {}, value)];
}

function fields(client) {
  return h(
    "dl",
    { class: "fields", id: "client-fields" },
    row("Client ID", h("code", {}, client.id)),
    row("Name", client.name),
    row("First party", client.firstParty ? "Yes: users skip the consent page" : "No"),
    row("Redirect URIs", client.redirect.length ? h("ul", { class: "plain" }, client.redirect.map((uri) => h("li", {}, h("code", {}, uri)))) : h("span", { class: "muted" }, "none")),
    row("Grant types", chips(client.grantTypes)),
    row("Response types", chips(client.responseTypes)),
    row("Response modes", chips(client.responseModes)),
    row("Scopes", chips(client.scopes)),
    row("Authentication methods", chips(client.authMethods)),
    row("Created", timestamp(client.createdAt)),
    row("Updated", timestamp(client.updatedAt)),
  );
}

function secretState(client) {
  const expires = client.previousSecretExpiresAt;
  let previous = h("span", { class: "muted" }, "none");
  if (expires) {
    const over = new Date(expires) <= new Date();
    previous = h("span", {}, over ? "stopped working at " : "keeps working until ", timestamp(expires));
  }
  return h(
    "dl",
    { class: "fields" },
    row("Current secret issued", timestamp(client.secretCreatedAt)),
    row("Previous secret", h("span", { id: "previous-secret" }, previous)),
  );
}

function rotatePanel(client, etag, done) {
  const choice = h(
    "select",
    { id: "grace-period", "aria-describedby": "grace-preview" },
    GRACE_CHOICES.map(([seconds, text]) => h("option", { value: String(seconds) }, text)),
  );
  const preview = h("p", { id: "grace-preview", class: "hint" });
  const message = h("p", { class: "notice error", role: "alert", hidden: true });
  const showPreview = () => {
    const seconds = Number(choice.value);
    if (!seconds) {
      preview.textContent = "The current secret stops working as soon as the new one is made.";
      return;
    }
    preview.replaceChildren("The current secret will keep working until about ", timestamp(new Date(Date.now() + seconds * 1000).toISOString()), ".");
  };
  choice.addEventListener("change", showPreview);
  showPreview();
  const button = h("button", { type: "submit", class: "button primary", id: "rotate-confirm" }, "Rotate secret");
  const form = h(
    "form",
    { class: "card", id: "rotate-panel", "aria-labelledby": "rotate-heading" },
    h("h2", { id: "rotate-heading" }, "Rotate the secret"),
    h("p", {}, "A new secret is made and shown once. Give the previous one a grace period so the application can switch without downtime."),
    h("div", { class: "field" }, h("label", { for: "grace-period" }, "Grace period for the current secret"), choice, preview),
    message,
    h("div", { class: "actions" }, button),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    message.hidden = true;
    try {
      const { data } = await call("POST", `${clientPath(client.id)}/rotate-secret`, {
        body: { gracePeriodSeconds: Number(choice.value) },
        ifMatch: etag,
      });
      done(data);
    } catch (error) {
      message.textContent =
        error.status === 412
          ? "Someone else changed this client since you opened it. Reload the page to see the change, then rotate again."
          : error.message;
      message.hidden = false;
      button.disabled = false;
    }
  });
  return form;
}

function deletePanel(client, etag, done) {
  const input = h("input", { id: "delete-confirm-id", autocomplete: "off", spellcheck: "false", "aria-describedby": "delete-hint" });
  const button = h("button", { type: "submit", class: "button danger", id: "delete-confirm", disabled: true }, "Delete this client");
  const message = h("p", { class: "notice error", role: "alert", hidden: true });
  input.addEventListener("input", () => {
    button.disabled = input.value !== client.id;
  });
  const form = h(
    "form",
    { class: "card danger-zone", id: "delete-panel", "aria-labelledby": "delete-heading" },
    h("h2", { id: "delete-heading" }, "Delete the client"),
    h("p", { id: "delete-hint" }, "The client and its secrets are deleted and the application can no longer sign in. Type the client's id, ", h("code", {}, client.id), ", to confirm."),
    h("div", { class: "field" }, h("label", { for: "delete-confirm-id" }, "Client ID"), input),
    message,
    h("div", { class: "actions" }, button),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (input.value !== client.id) return;
    button.disabled = true;
    try {
      await call("DELETE", clientPath(client.id), { ifMatch: etag });
      done();
    } catch (error) {
      message.textContent =
        error.status === 412
          ? "Someone else changed this client since you opened it. Reload the page and check before deleting."
          : error.message;
      message.hidden = false;
      button.disabled = false;
    }
  });
  return form;
}

export async function clientView({ id, scopes, render, shown, navigate, flash }) {
  const { data: client, etag } = await call("GET", clientPath(id));
  const panels = h("div", { class: "panels" });
  const toggle = (label, buttonId, make) => {
    const button = h("button", { type: "button", class: "button", id: buttonId, "aria-expanded": "false" }, label);
    let open = null;
    button.addEventListener("click", () => {
      if (open) {
        open.remove();
        open = null;
      } else {
        open = make();
        panels.append(open);
        open.querySelector("select, input")?.focus();
      }
      button.setAttribute("aria-expanded", String(Boolean(open)));
    });
    return button;
  };
  const rotated = (data) => {
    shown.secret = { clientId: data.id, secret: data.secret, heading: "New secret", previousExpiresAt: data.previousSecretExpiresAt };
    clientView({ id, scopes, render, shown, navigate, flash });
  };
  const deleted = () => {
    flash(`Client ${client.id} was deleted.`);
    navigate("#/clients");
  };
  const once = shown.secret && shown.secret.clientId === client.id ? shown.secret : null;
  shown.secret = null;
  render(
    once ? secretPanel(once) : null,
    h(
      "div",
      { class: "page-head" },
      h("div", {}, h("h1", { tabindex: "-1" }, client.name), h("p", { class: "subtitle" }, h("code", {}, client.id))),
      scopes.write
        ? h(
            "div",
            { class: "head-actions" },
            h("a", { class: "button primary", href: `#/client/${encodeURIComponent(client.id)}/edit`, id: "edit-client" }, "Edit"),
            toggle("Rotate secret", "rotate-open", () => rotatePanel(client, etag, rotated)),
            toggle("Delete", "delete-open", () => deletePanel(client, etag, deleted)),
          )
        : null,
    ),
    panels,
    h("section", { class: "card", "aria-labelledby": "details-heading" }, h("h2", { id: "details-heading" }, "Details"), fields(client)),
    h("section", { class: "card", "aria-labelledby": "secret-state-heading" }, h("h2", { id: "secret-state-heading" }, "Secret"), secretState(client)),
    auditTrail(client.id),
  );
}
