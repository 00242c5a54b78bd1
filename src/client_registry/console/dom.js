// Builds elements from data without ever parsing it as HTML: every value
// becomes a text node or an attribute, so nothing a client holds can run.

const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "readOnly", "selected"]);

export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      element.className = value;
    } else if (PROPERTIES.has(key)) {
      element[key] = value;
    } else if (value !== false) {
      element.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

// RFC 3339 in, "2025-01-31 14:05:09 UTC" out, inside a <time>.
export function timestamp(iso) {
  if (!iso) return h("span", { class: "muted" }, "never");
  const date = new Date(iso);
  const text = Number.isNaN(date.getTime())
    ? iso
    : `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
  return h("time", { datetime: iso }, text);
}

export function chips(values, empty = "none") {
  if (!values || values.length === 0) return h("span", { class: "muted" }, empty);
  return h("span", { class: "chips" }, values.map((value) => h("span", { class: "chip" }, value)));
}

export function clientLink(id, ...children) {
  return h("a", { href: `#/client/${encodeURIComponent(id)}` }, ...children);
}
