// Edit one client with If-Match: a 412 shows what someone else changed and
// offers to reload.

import { call, clientPath } from "./api.js";
import { clientForm } from "./form.js";
import { h } from "./dom.js";
import { LABELS, WRITABLE, defaults } from "./scheme.js";

const text = (value) => (Array.isArray(value) ? value.join(", ") || "none" : String(value));

function differences(before, after) {
  return WRITABLE.filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
}

function conflict(changed, before, after) {
  if (!after) return [h("strong", {}, "Someone else deleted this client since you opened it.")];
  return [
    h("strong", {}, "Someone else changed this client since you opened it."),
    " Your changes were not saved.",
    changed.length
      ? h(
          "table",
          { class: "changes", id: "conflict-changes" },
          h("thead", {}, h("tr", {}, ["Field", "When you opened it", "Now"].map((title) => h("th", { scope: "col" }, title)))),
          h("tbody", {}, changed.map((field) => h("tr", {}, h("td", {}, LABELS[field]), h("td", {}, text(before[field])), h("td", {}, text(after[field]))))),
        )
      : h("p", {}, "Its fields are as they were; only its secret or timestamps changed."),
  ];
}

export async function editView({ id, render, navigate, flash, notify }) {
  let { data: loaded, etag } = await call("GET", clientPath(id));
  const form = clientForm({
    mode: "edit",
    values: { ...defaults(), ...loaded },
    submitLabel: "Save changes",
    onCancel: () => navigate(`#/client/${encodeURIComponent(id)}`),
    onSubmit: async (body) => {
      try {
        await call("PUT", clientPath(id), { body: { id, ...body }, ifMatch: etag });
      } catch (error) {
        if (error.status !== 412) throw error;
        await stale();
        return;
      }
      flash(`Saved ${body.name.trim() || id}.`);
      navigate(`#/client/${encodeURIComponent(id)}`);
    },
  });

  async function stale() {
    let current = null;
    try {
      current = await call("GET", clientPath(id));
    } catch (error) {
      if (error.status !== 404) throw error;
    }
    const changed = current ? differences(loaded, current.data) : [];
    const reload = h("button", { type: "button", class: "button primary", id: "conflict-reload" }, "Reload the current version");
    reload.addEventListener("click", () => {
      loaded = current.data;
      etag = current.etag;
      form.clearMessages();
      form.setValues({ ...defaults(), ...loaded });
      notify("Reloaded: the form now shows the current version. Make your changes again.");
    });
    const back = h("a", { class: "button", href: "#/clients" }, "Back to the list");
    form.showBanner(...conflict(changed, loaded, current && current.data), h("div", { class: "actions" }, current ? reload : back));
  }

  render(
    h(
      "div",
      { class: "page-head" },
      h("div", {}, h("h1", { tabindex: "-1" }, `Edit ${loaded.name}`), h("p", { class: "subtitle" }, h("code", {}, id))),
    ),
    form.element,
  );
}

export function createView({ render, navigate, shown }) {
  const form = clientForm({
    mode: "create",
    values: defaults(),
    submitLabel: "Create client",
    onCancel: () => navigate("#/clients"),
    onSubmit: async (body) => {
      const { data } = await call("POST", "/v1/clients", { body });
      shown.secret = { clientId: data.id, secret: data.secret, heading: "Client created: its secret" };
      navigate(`#/client/${encodeURIComponent(data.id)}`);
    },
  });
  render(
    h(
      "div",
      { class: "page-head" },
      h("div", {}, h("h1", { tabindex: "-1" }, "New client"), h("p", { class: "subtitle" }, "Defaults are filled in as the API applies them.")),
    ),
    form.element,
  );
}
