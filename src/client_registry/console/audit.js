// A client's audit trail, newest first, from GET /v1/audit-events.

import { call } from "./api.js";
import { h, timestamp } from "./dom.js";

function shown(value) {
  if (value === null || value === undefined) return h("span", { class: "muted" }, "none");
  return h("code", {}, typeof value === "string" ? value : JSON.stringify(value));
}

function actor(event) {
  const who = event.actor || {};
  if (who.type === "cli") return "command line";
  if (who.type === "token") return `token ${who.tokenName || ""} (${who.tokenId || "?"})`;
  return who.type || "unknown";
}

function changes(event) {
  const list = event.changes || [];
  if (list.length === 0) return null;
  return h(
    "table",
    { class: "changes" },
    h("thead", {}, h("tr", {}, ["Field", "Before", "After"].map((title) => h("th", { scope: "col" }, title)))),
    h("tbody", {}, list.map((change) => h("tr", {}, h("td", {}, change.field), h("td", {}, shown(change.before)), h("td", {}, shown(change.after))))),
  );
}

function item(event) {
  return h(
    "li",
    { class: "event", "data-action": event.action },
    h(
      "div",
      { class: "event-head" },
      h("strong", { class: "action" }, event.action),
      " ",
      timestamp(event.at),
      h("span", { class: "muted" }, ` by ${actor(event)}`, event.requestId ? ` · request ${event.requestId}` : ""),
    ),
    changes(event),
  );
}

export function auditTrail(clientId) {
  const body = h("div", { id: "audit-body" }, h("p", { class: "muted" }, "Loading…"));
  const section = h(
    "section",
    { class: "card", id: "audit", "aria-labelledby": "audit-heading", "aria-busy": "true" },
    h("h2", { id: "audit-heading" }, "Audit trail"),
    body,
  );
  const list = h("ol", { class: "events", id: "audit-events" });
  const more = h("button", { type: "button", class: "button", id: "audit-more" }, "Older events");
  async function load(cursor) {
    const params = new URLSearchParams({ clientId, limit: "20" });
    if (cursor) params.set("cursor", cursor);
    try {
      const { data } = await call("GET", `/v1/audit-events?${params}`);
      if (!cursor) body.replaceChildren(list);
      list.append(...data.items.map(item));
      if (!cursor && data.items.length === 0) body.replaceChildren(h("p", { class: "muted" }, "No events recorded."));
      more.remove();
      if (data.nextCursor) {
        more.onclick = () => load(data.nextCursor);
        body.append(more);
      }
    } catch (error) {
      let text = error.message;
      if (error.status === 404) text = "Audit trail unavailable: this service does not keep one yet.";
      if (error.status === 403) text = "Audit trail unavailable: your token lacks the audit:read scope.";
      body.replaceChildren(h("p", { class: "muted", id: "audit-unavailable" }, text));
    }
    section.setAttribute("aria-busy", "false");
  }
  load(null);
  return section;
}
