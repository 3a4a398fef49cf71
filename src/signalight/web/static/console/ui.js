/*
 * Small helpers every page shares: building elements without HTML strings
 * (nothing from the API is ever parsed as markup), formatting, the status
 * line, and the statuses' colours and words.
 */

/** An element: h("a", {href: "#/x", class: "btn"}, "text", child, ...). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const number = new Intl.NumberFormat("en-US");
export const fmt = (n) => (n === null || n === undefined ? "–" : number.format(n));
export const pct = (share) =>
  share === null || share === undefined ? "–" : `${(share * 100).toFixed(1)} %`;

/** A time as the operator reads it: local date and time, to the minute. */
export function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toLocaleString("en-GB", {
    year: "numeric",
    month: "short",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** "5 min ago", "3 h ago", "2 d ago". */
export function ago(iso, now = Date.now()) {
  if (!iso) return "never";
  const seconds = Math.max(0, (now - new Date(iso).getTime()) / 1000);
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

const statusLine = () => document.getElementById("status");

/** Say something in the status line; kind is "", "busy", "ok" or "error". */
export function say(text, kind = "") {
  const line = statusLine();
  line.textContent = text;
  line.className = kind ? `status is-${kind}` : "status";
}

/*
 * What the map and the lists show for an asset, worst first. `rank` orders
 * them so that a cluster takes the colour of its worst member: one dark light
 * is never hidden in a green cluster. The colours keep 3:1 contrast against
 * the dark page and the base map.
 */
export const STATUSES = [
  { key: "critical", label: "Alarm: critical", color: "#ff5c5c", rank: 8 },
  { key: "major", label: "Alarm: major", color: "#ff9d3d", rank: 7 },
  { key: "minor", label: "Alarm: minor", color: "#f2d024", rank: 6 },
  { key: "warning", label: "Alarm: warning", color: "#c59bff", rank: 5 },
  { key: "silent", label: "Silent", color: "#ff7ac6", rank: 4 },
  { key: "working", label: "Working", color: "#3fca6b", rank: 3 },
  { key: "off_by_schedule", label: "Off by schedule", color: "#7d93ab", rank: 2 },
  { key: "unknown", label: "Unknown (no device)", color: "#c3ccd6", rank: 1 },
  { key: "out_of_service", label: "Not in service", color: "#5a6675", rank: 0 },
];
export const STATUS_BY_KEY = Object.fromEntries(STATUSES.map((s) => [s.key, s]));

/** The display status of a map row: the alarm's severity for an alarm, else its status. */
export function displayStatus(status, severity) {
  if (status === "alarm" && severity && STATUS_BY_KEY[severity]) return severity;
  if (STATUS_BY_KEY[status]) return status;
  return "out_of_service"; // planned, removed and the other asset statuses
}

/** Alarm severities, worst first; a work order's priorities are the same words. */
export const SEVERITIES = ["critical", "major", "minor", "warning"];
export const SEVERITY_ORDER = Object.fromEntries(SEVERITIES.map((s, i) => [s, i]));

/** A small coloured badge with words, never colour alone. */
export function badge(key, text) {
  const status = STATUS_BY_KEY[key];
  return h(
    "span",
    { class: `badge badge-${key}`, dataset: { status: key } },
    h("span", { class: "dot", "aria-hidden": "true" }),
    text || (status ? status.label : key),
  );
}

/** A labelled form field: label + control, with the label tied to the control. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("p", { class: "hint" }, hint) : null,
  );
}

/** A page heading with an optional line under it. */
export function heading(text, sub) {
  return h("div", { class: "pagehead" }, h("h1", {}, text), sub ? h("p", { class: "muted" }, sub) : null);
}
