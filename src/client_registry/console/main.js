// The console's entry: sign-in, the header, and the hash routes.

import { call, onUnauthorized, probeScopes, session } from "./api.js";
import { h } from "./dom.js";
import { clientView } from "./detail.js";
import { createView, editView } from "./edit.js";
import { listView } from "./list.js";

const SCOPES_KEY = "client-registry.scopes";
const main = document.getElementById("main");
const flashArea = document.getElementById("flash");
// The once-only secret travels from create or rotate to the next view here,
// in memory, and is dropped as soon as it is shown.
const shown = { secret: null };
let pendingFlash = null;

function flash(message, kind = "ok") {
  pendingFlash = { message, kind };
  showFlash();
}

// Shown at once and gone on the next page, for messages about this page.
function notify(message) {
  pendingFlash = null;
  flashArea.replaceChildren(h("p", { class: "flash ok", id: "flash-message" }, message));
}

function showFlash() {
  flashArea.replaceChildren();
  if (!pendingFlash) return;
  flashArea.append(h("p", { class: `flash ${pendingFlash.kind}`, id: "flash-message" }, pendingFlash.message));
}

function render(...children) {
  main.replaceChildren(...children.filter(Boolean));
  (main.querySelector("h1") || main).focus();
}

function navigate(hash) {
  if (location.hash === hash) {
    showFlash();
    route();
  } else location.hash = hash;
}

function scopes() {
  try {
    return JSON.parse(sessionStorage.getItem(SCOPES_KEY)) || { read: false, write: false };
  } catch {
    return { read: false, write: false };
  }
}

function header(signedIn) {
  const { read, write } = scopes();
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("session").hidden = !signedIn;
  document.getElementById("nav-new").hidden = !(signedIn && write);
  document.getElementById("nav-clients").hidden = !(signedIn && read);
  const labels = [read ? "read" : null, write ? "write" : null].filter(Boolean);
  document.getElementById("scopes").textContent = signedIn ? `Token can ${labels.join(" and ") || "do nothing here"}` : "";
}

function signOut(message) {
  session.forget();
  sessionStorage.removeItem(SCOPES_KEY);
  shown.secret = null;
  pendingFlash = message ? { message, kind: "error" } : null;
  header(false);
  if (location.hash) history.replaceState(null, "", location.pathname);
  signInView();
}

function signInView() {
  const input = h("input", { id: "token", type: "password", autocomplete: "off", spellcheck: "false", "aria-describedby": "token-hint token-error", required: true });
  const error = h("p", { id: "token-error", class: "field-error", role: "alert", hidden: true });
  const button = h("button", { type: "submit", class: "button primary", id: "sign-in" }, "Sign in");
  const form = h(
    "form",
    { class: "card signin", id: "signin-form" },
    h("h1", { tabindex: "-1" }, "Sign in"),
    h("p", { id: "token-hint" }, "Paste an admin token (it starts with crat_). It is kept for this browser tab only and forgotten when the tab closes or you sign out."),
    h("div", { class: "field" }, h("label", { for: "token" }, "Admin token"), input),
    error,
    h("div", { class: "actions" }, button),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    error.hidden = true;
    if (!token) {
      error.textContent = "Paste a token first.";
      error.hidden = false;
      return;
    }
    button.disabled = true;
    try {
      const found = await probeScopes(token);
      if (!found.read && !found.write) {
        throw new Error("This token has neither clients:read nor clients:write.");
      }
      session.keep(token);
      sessionStorage.setItem(SCOPES_KEY, JSON.stringify(found));
      pendingFlash = null;
      showFlash();
      header(true);
      route();
    } catch (failure) {
      error.textContent = failure.status === 401 ? "That token is not valid (or it was revoked)." : failure.message;
      error.hidden = false;
      button.disabled = false;
      input.focus();
    }
  });
  showFlash();
  render(form);
  input.focus();
}

async function route() {
  if (!session.token()) return signInView();
  const can = scopes();
  const context = { scopes: can, render, navigate, flash, notify, shown };
  const hash = location.hash || "#/clients";
  const match = (pattern) => pattern.exec(hash);
  let found;
  try {
    if (hash === "#/new" && can.write) await createView(context);
    else if ((found = match(/^#\/client\/([^/]+)\/edit$/)) && can.write) await editView({ ...context, id: decodeURIComponent(found[1]) });
    else if ((found = match(/^#\/client\/([^/]+)$/)) && can.read) await clientView({ ...context, id: decodeURIComponent(found[1]) });
    else if (can.read) await listView(context);
    else if (can.write) await createView(context);
  } catch (error) {
    if (error.status === 401) return;
    const message = error.status === 404 ? "There is no client with this id (it may have been deleted)." : error.message;
    render(
      h("h1", { tabindex: "-1" }, "Something went wrong"),
      h("p", { class: "notice error", id: "page-error" }, message),
      h("p", {}, h("a", { href: "#/clients", class: "button" }, "Back to the list")),
    );
  }
  // A message shown once goes away on the next page.
  pendingFlash = null;
}

window.addEventListener("hashchange", () => {
  showFlash();
  route();
});
document.getElementById("sign-out").addEventListener("click", () => signOut(null));
onUnauthorized(() => signOut("The token is no longer valid. Sign in again."));
header(Boolean(session.token()));
route();
