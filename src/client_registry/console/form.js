// The client form, for create and edit: every field of the scheme, the
// defaults the API would apply, and a 422's field errors beside their fields.

import { ApiError } from "./api.js";
import { h } from "./dom.js";
import {
  AUTH_METHODS,
  GRANT_TYPES,
  LABELS,
  RESPONSE_MODES,
  RESPONSE_TYPES,
  defaultResponseModes,
  defaultResponseTypes,
} from "./scheme.js";

const sameSet = (a, b) => a.length === b.length && a.every((item) => b.includes(item));
const words = (text) => text.split(/\s+/).filter(Boolean);
const lines = (text) => text.split("\n").map((line) => line.trim()).filter(Boolean);

export function clientForm({ mode, values, submitLabel, onSubmit, onCancel }) {
  const slots = {};
  const controls = {};
  const groups = {};
  let sent = null;

  const banner = h("div", { class: "notice error", role: "alert", hidden: true });

  function errorSlot(name) {
    slots[name] = h("ul", { id: `error-${name}`, class: "field-error", hidden: true });
    return slots[name];
  }

  function describedBy(name, hint) {
    return hint ? `hint-${name} error-${name}` : `error-${name}`;
  }

  function hintText(name, hint) {
    return hint ? h("p", { id: `hint-${name}`, class: "hint" }, hint) : null;
  }

  function textField(name, { hint, multiline = false, required = false, ...attrs } = {}) {
    const props = {
      id: `field-${name}`,
      name,
      "aria-describedby": describedBy(name, hint),
      "aria-required": required ? "true" : null,
      autocomplete: "off",
      spellcheck: "false",
      ...attrs,
    };
    controls[name] = multiline ? h("textarea", { rows: 3, ...props }) : h("input", props);
    return h(
      "div",
      { class: "field", "data-field": name },
      h("label", { for: `field-${name}` }, LABELS[name], required ? h("span", { class: "req" }, " (required)") : null),
      hintText(name, hint),
      controls[name],
      errorSlot(name),
    );
  }

  function checkGroup(name, options, { hint, onChange } = {}) {
    groups[name] = options.map((option, index) =>
      h("input", {
        type: "checkbox",
        id: `field-${name}-${index}`,
        name,
        value: option,
        onchange: onChange,
      }),
    );
    return h(
      "fieldset",
      { class: "field checks", "data-field": name, "aria-describedby": describedBy(name, hint) },
      h("legend", {}, LABELS[name]),
      hintText(name, hint),
      h(
        "div",
        { class: "check-grid" },
        groups[name].map((box, index) =>
          h("label", { class: "check", for: box.id }, box, h("span", {}, options[index])),
        ),
      ),
      errorSlot(name),
    );
  }

  // Values keep the order they were given in (the API keeps order), so an
  // edit that changes nothing sends back what it read; new ones go last.
  const order = {};
  const checked = (name) => {
    const on = groups[name].filter((box) => box.checked).map((box) => box.value);
    const kept = (order[name] || []).filter((value) => on.includes(value));
    return [...kept, ...on.filter((value) => !kept.includes(value))];
  };
  const setChecked = (name, list) => {
    order[name] = [...list];
    for (const box of groups[name]) box.checked = list.includes(box.value);
  };

  // Response types and modes follow the grants, as the API's defaults do,
  // until someone chooses them by hand.
  let grantsBefore = [];
  function grantsChanged() {
    const grants = checked("grantTypes");
    if (sameSet(checked("responseTypes"), defaultResponseTypes(grantsBefore))) {
      setChecked("responseTypes", defaultResponseTypes(grants));
    }
    if (sameSet(checked("responseModes"), defaultResponseModes(grantsBefore))) {
      setChecked("responseModes", defaultResponseModes(grants));
    }
    grantsBefore = grants;
  }

  const idField =
    mode === "create"
      ? textField("id", {
          hint: "Optional: generated when left empty. 1–128 characters of A–Z a–z 0–9 . _ ~ -",
          maxlength: 128,
        })
      : h(
          "div",
          { class: "field" },
          h("span", { class: "label" }, LABELS.id),
          h("code", { class: "value", id: "field-id" }, values.id),
        );

  const firstParty = h("input", {
    type: "checkbox",
    id: "field-firstParty",
    name: "firstParty",
    "aria-describedby": "hint-firstParty error-firstParty",
  });
  controls.firstParty = firstParty;

  const submit = h("button", { type: "submit", class: "button primary", id: "form-submit" }, submitLabel);
  const form = h(
    "form",
    { class: "client-form", novalidate: true, onsubmit: submitted },
    banner,
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Client"),
      idField,
      textField("name", { required: true, maxlength: 200 }),
      textField("redirect", {
        multiline: true,
        hint:
          "One URI a line. https; http only on localhost, 127.0.0.1 or [::1]; or a private-use " +
          "scheme such as com.example.app:/cb. Required with authorization_code or implicit.",
      }),
      h(
        "div",
        { class: "field", "data-field": "firstParty" },
        h("label", { class: "check", for: "field-firstParty" }, firstParty, h("span", {}, LABELS.firstParty)),
        hintText("firstParty", "First-party clients skip the consent page."),
        errorSlot("firstParty"),
      ),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Flows"),
      checkGroup("grantTypes", GRANT_TYPES, { onChange: grantsChanged }),
      checkGroup("responseTypes", RESPONSE_TYPES, {
        hint: "A type with code needs authorization_code; with token or id_token, implicit.",
      }),
      checkGroup("responseModes", RESPONSE_MODES),
      textField("scopes", { hint: "Separated by spaces." }),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Authentication"),
      checkGroup("authMethods", AUTH_METHODS, {
        hint: "none makes a public client and cannot be combined with another method.",
      }),
      mode === "create"
        ? textField("secret", {
            hint:
              "Optional: leave empty to have a strong secret generated (recommended). " +
              "A chosen one needs 32–512 printable characters.",
            maxlength: 512,
          })
        : null,
    ),
    h(
      "div",
      { class: "actions" },
      submit,
      h("button", { type: "button", class: "button", onclick: onCancel }, "Cancel"),
    ),
  );

  function setValues(next) {
    if (mode === "create") controls.id.value = next.id || "";
    controls.name.value = next.name || "";
    controls.redirect.value = (next.redirect || []).join("\n");
    setChecked("grantTypes", next.grantTypes || []);
    setChecked("responseTypes", next.responseTypes || []);
    setChecked("responseModes", next.responseModes || []);
    controls.scopes.value = (next.scopes || []).join(" ");
    controls.firstParty.checked = Boolean(next.firstParty);
    setChecked("authMethods", next.authMethods || []);
    if (controls.secret) controls.secret.value = next.secret || "";
    grantsBefore = checked("grantTypes");
  }

  function read() {
    const body = {
      name: controls.name.value,
      redirect: lines(controls.redirect.value),
      grantTypes: checked("grantTypes"),
      responseTypes: checked("responseTypes"),
      responseModes: checked("responseModes"),
      scopes: words(controls.scopes.value),
      firstParty: controls.firstParty.checked,
      authMethods: checked("authMethods"),
    };
    if (mode === "create") {
      const id = controls.id.value.trim();
      if (id) body.id = id;
      if (controls.secret.value) body.secret = controls.secret.value;
    }
    return body;
  }

  function clearMessages() {
    banner.hidden = true;
    banner.replaceChildren();
    for (const [name, slot] of Object.entries(slots)) {
      slot.hidden = true;
      slot.replaceChildren();
      slot.closest("[data-field]")?.classList.remove("invalid");
      controls[name]?.removeAttribute("aria-invalid");
    }
  }

  function showBanner(...content) {
    banner.replaceChildren(...content.filter(Boolean));
    banner.hidden = false;
    banner.focus?.();
  }

  // "redirect[2]" goes beside the redirect field, naming the line it is about.
  function showErrors(errors) {
    const elsewhere = [];
    let first = null;
    for (const error of errors) {
      const match = /^([A-Za-z]+)(?:\[(\d+)\])?/.exec(error.field || "");
      const name = match ? match[1] : "";
      const slot = slots[name];
      if (!slot) {
        elsewhere.push(`${error.field}: ${error.message}`);
        continue;
      }
      const index = match[2] === undefined ? null : Number(match[2]);
      const item = index !== null && Array.isArray(sent?.[name]) ? sent[name][index] : undefined;
      let text = error.message;
      if (item !== undefined && name === "redirect") text = `Line ${index + 1} (${item}): ${text}`;
      else if (item !== undefined) text = `${item}: ${text}`;
      slot.append(h("li", {}, text));
      slot.hidden = false;
      slot.closest("[data-field]")?.classList.add("invalid");
      controls[name]?.setAttribute("aria-invalid", "true");
      first ??= controls[name] || groups[name]?.[0];
    }
    const count = errors.length === 1 ? "One field needs" : `${errors.length} fields need`;
    showBanner(
      h("strong", {}, `${count} attention.`),
      elsewhere.length ? h("ul", {}, elsewhere.map((text) => h("li", {}, text))) : null,
    );
    first?.focus();
  }

  async function submitted(event) {
    event.preventDefault();
    clearMessages();
    sent = read();
    submit.disabled = true;
    try {
      await onSubmit(sent);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 422 && error.errors.length) showErrors(error.errors);
      else showBanner(error.message);
    } finally {
      submit.disabled = false;
    }
  }

  banner.setAttribute("tabindex", "-1");
  setValues(values);
  return { element: form, setValues, showBanner, clearMessages };
}
