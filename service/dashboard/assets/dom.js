// Small DOM and formatting helpers. Elements are built with h(), never from HTML strings, so
// no text from the API is ever read as markup (and no inline style: the page's CSP has none).

const SVG_NS = "http://www.w3.org/2000/svg";
const SVG_TAGS = new Set([
  "svg", "g", "rect", "circle", "path", "line", "polyline", "text", "title", "tspan",
]);

/** h("div.card#id", {attrs, on: {click}, style: {width: "3px"}}, children...) */
export function h(spec, attrs, ...children) {
  if (attrs === null || typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  const [tag, ...parts] = spec.split(/(?=[.#])/);
  const el = SVG_TAGS.has(tag) ? document.createElementNS(SVG_NS, tag) : document.createElement(tag);
  for (const part of parts) {
    if (part.startsWith(".")) el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    } else if (name === "style") {
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, v);
    } else if (name === "dataset") {
      for (const [key, v] of Object.entries(value)) el.dataset[key] = v;
    } else if (name === "class") {
      for (const c of String(value).split(/\s+/).filter(Boolean)) el.classList.add(c);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** Replace what `el` holds with `children` (arrays flattened). */
export function fill(el, ...children) {
  return append(clear(el), children);
}

/**
 * Wrap an async loader so that only the answer of the call made last is applied: answers can
 * arrive out of order, and an older one must not overwrite a newer one.
 */
export function newest(load, apply) {
  let counter = 0;
  return async (...args) => {
    const mine = ++counter;
    const result = await load(...args);
    if (mine === counter) apply(result);
  };
}

export const esc = encodeURIComponent;

// Formatting

export function number(n) {
  if (n === null || n === undefined) return "–";
  return new Intl.NumberFormat("en").format(n);
}

export function percent(part, whole) {
  if (!whole) return "–";
  return `${Math.round((100 * part) / whole)}%`;
}

/** 40 ms, 4.2 s, 12 s, 3m 05s, 2h 04m, 3d 2h */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const s = Math.max(0, seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(Math.round(s % 60)).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function since(iso, now = Date.now()) {
  if (!iso) return "–";
  return duration((now - Date.parse(iso)) / 1000);
}

export function ago(iso) {
  if (!iso) return "–";
  const seconds = (Date.now() - Date.parse(iso)) / 1000;
  if (seconds < 5) return "just now";
  return `${duration(seconds)} ago`;
}

export function clock(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function dateTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return `${d.toLocaleDateString("en-CA")} ${clock(iso)}`;
}

export function shortId(id) {
  return id && id.length > 10 ? `${id.slice(0, 4)}…${id.slice(-6)}` : id;
}
