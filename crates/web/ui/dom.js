// Small DOM helpers. Text is always set with textContent (never innerHTML), so names and
// messages from the target cannot inject markup.

/** The element with this id. */
export const byId = (id) => document.getElementById(id);

/** Creates an element: el('td', {className: 'num'}, 'text', child, ...). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** Sets the text of a node only when it changed (cheap for the once-a-second updates). */
export function setText(node, value) {
  const text = String(value);
  if (node.textContent !== text) node.textContent = text;
}

/** Sets an attribute only when it changed. */
export function setAttr(node, name, value) {
  const text = String(value);
  if (node.getAttribute(name) !== text) node.setAttribute(name, text);
}

/** Replaces the rows of a tbody with new ones (for small tables). */
export function replaceRows(tbody, rows) {
  tbody.replaceChildren(...rows);
}

/** localStorage that never throws (private windows, disabled storage). */
export const store = {
  get(key, fallback) {
    try {
      const v = localStorage.getItem(key);
      return v === null ? fallback : JSON.parse(v);
    } catch {
      return fallback;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch {
      /* not important */
    }
  },
};
