// The list of clients: filters, keyset paging, one row a client.

import { call } from "./api.js";
import { chips, clientLink, h, timestamp } from "./dom.js";
import { GRANT_TYPES } from "./scheme.js";

// Kept while the tab lives, so coming back to the list keeps its filters.
const state = { name: "", grantType: "", scope: "", firstParty: "", limit: "25", cursors: [null] };

function query() {
  const params = new URLSearchParams({ limit: state.limit });
  for (const key of ["name", "grantType", "scope", "firstParty"]) {
    if (state[key]) params.set(key, state[key]);
  }
  const cursor = state.cursors[state.cursors.length - 1];
  if (cursor) params.set("cursor", cursor);
  return `/v1/clients?${params}`;
}

function select(id, label, options, value) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h(
      "select",
      { id, name: id },
      options.map(([optionValue, text]) => h("option", { value: optionValue, selected: optionValue === value }, text)),
    ),
  );
}

function filters(reload) {
  const input = (id, label, value, placeholder) =>
    h(
      "div",
      { class: "field" },
      h("label", { for: id }, label),
      h("input", { id, name: id, value, placeholder, autocomplete: "off", spellcheck: "false" }),
    );
  const form = h(
    "form",
    { class: "filters card", role: "search", "aria-label": "Filter clients" },
    input("filter-name", "Name contains", state.name, "any name"),
    select("filter-grantType", "Grant type", [["", "Any"], ...GRANT_TYPES.map((g) => [g, g])], state.grantType),
    input("filter-scope", "Scope", state.scope, "any scope"),
    select("filter-firstParty", "First party", [["", "Any"], ["true", "Yes"], ["false", "No"]], state.firstParty),
    select("filter-limit", "Per page", [["10", "10"], ["25", "25"], ["50", "50"], ["100", "100"]], state.limit),
    h(
      "div",
      { class: "filter-actions" },
      h("button", { type: "submit", class: "button primary", id: "filter-apply" }, "Apply"),
      h("button", { type: "button", class: "button", id: "filter-clear", onclick: cleared }, "Clear"),
    ),
  );
  function cleared() {
    Object.assign(state, { name: "", grantType: "", scope: "", firstParty: "", cursors: [null] });
    reload();
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = (id) => form.querySelector(`#${id}`).value;
    Object.assign(state, {
      name: value("filter-name").trim(),
      grantType: value("filter-grantType"),
      scope: value("filter-scope").trim(),
      firstParty: value("filter-firstParty"),
      limit: value("filter-limit"),
      cursors: [null],
    });
    reload();
  });
  return form;
}

function table(items) {
  if (items.length === 0) {
    return h("p", { class: "empty", id: "client-empty" }, "No clients match these filters.");
  }
  return h(
    "table",
    { class: "clients", id: "client-table" },
    h("caption", { class: "visually-hidden" }, "Clients, in the order they were created"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Name", "Client ID", "Grant types", "Scopes", "First party", "Created"].map((title) =>
          h("th", { scope: "col" }, title),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      items.map((client) =>
        h(
          "tr",
          { "data-id": client.id },
          h("td", {}, clientLink(client.id, client.name)),
          h("td", {}, h("code", {}, client.id)),
          h("td", {}, chips(client.grantTypes)),
          h("td", {}, chips(client.scopes)),
          h("td", {}, client.firstParty ? "Yes" : "No"),
          h("td", { class: "nowrap" }, timestamp(client.createdAt)),
        ),
      ),
    ),
  );
}

export async function listView({ scopes, render }) {
  const reload = () => listView({ scopes, render });
  const { data } = await call("GET", query());
  const page = state.cursors.length;
  const previous = h("button", { type: "button", class: "button", id: "page-previous", disabled: page === 1 }, "Previous page");
  const next = h("button", { type: "button", class: "button", id: "page-next", disabled: !data.nextCursor }, "Next page");
  previous.addEventListener("click", () => {
    state.cursors.pop();
    reload();
  });
  next.addEventListener("click", () => {
    state.cursors.push(data.nextCursor);
    reload();
  });
  const shown = data.items.length;
  render(
    h(
      "div",
      { class: "page-head" },
      h("h1", { tabindex: "-1" }, "Clients"),
      scopes.write ? h("a", { class: "button primary", href: "#/new", id: "new-client" }, "New client") : null,
    ),
    filters(reload),
    h(
      "section",
      { class: "card flush", "aria-label": "Results" },
      table(data.items),
      h(
        "nav",
        { class: "pager", "aria-label": "Pages" },
        previous,
        h("span", { id: "page-number", class: "muted" }, `Page ${page}`, shown ? ` · ${shown} shown` : ""),
        next,
      ),
    ),
  );
}
