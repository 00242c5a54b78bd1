// The once-only secret: shown after create or rotate, with a copy button.
// It lives in this panel alone and is gone when the panel is dismissed.

import { h, timestamp } from "./dom.js";

async function copy(input, button, status) {
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select();
    document.execCommand("copy");
  }
  button.textContent = "Copied";
  status.textContent = "The secret is on the clipboard.";
}

export function secretPanel({ secret, heading, previousExpiresAt }) {
  const input = h("input", {
    id: "secret-value",
    class: "secret-value",
    readOnly: true,
    value: secret,
    "aria-describedby": "secret-warning",
    autocomplete: "off",
    spellcheck: "false",
  });
  const status = h("span", { class: "copy-status", role: "status" });
  const copyButton = h("button", { type: "button", class: "button primary", id: "secret-copy" }, "Copy");
  copyButton.addEventListener("click", () => copy(input, copyButton, status));
  const panel = h(
    "section",
    { class: "card secret-card", id: "secret-panel", "aria-labelledby": "secret-heading" },
    h("h2", { id: "secret-heading" }, heading),
    h(
      "p",
      { id: "secret-warning", class: "warning" },
      h("strong", {}, "Copy this secret now. "),
      "It cannot be shown again: the registry keeps only a hash of it. ",
      "If it is lost, rotate the secret to get a new one.",
    ),
    h(
      "div",
      { class: "secret-row" },
      h("label", { for: "secret-value", class: "visually-hidden" }, "Client secret"),
      input,
      copyButton,
    ),
    status,
    previousExpiresAt
      ? h("p", { id: "previous-expiry" }, "The previous secret keeps working until ", timestamp(previousExpiresAt), ".")
      : null,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "button", id: "secret-done", onclick: () => panel.remove() }, "I have stored it"),
    ),
  );
  input.addEventListener("focus", () => input.select());
  return panel;
}
