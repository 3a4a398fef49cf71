/*
 * A network of cities (the WeGO pilot's members) side by side: lights,
 * share working, mean time to repair and open faults per city, sortable by
 * each. A city links to its console only if the user also holds a role in
 * it (`may_open`); the others are named, not linked.
 */

import { ApiError } from "../api.js";
import { fmt, h, heading, pct } from "../ui.js";

export const title = "Network";

const hours = (value) => (value === null || value === undefined ? "–" : `${value.toFixed(1)} h`);
const COLUMNS = [
  { key: "name", label: "City", value: (c) => c.name.toLowerCase(), numeric: false },
  { key: "lights", label: "Lights", value: (c) => c.lights, numeric: true },
  { key: "working_share", label: "Working", value: (c) => c.working_share, numeric: true },
  { key: "mttr_hours", label: "Mean time to repair", value: (c) => c.mttr_hours, numeric: true },
  { key: "open_faults", label: "Open faults", value: (c) => c.open_faults, numeric: true },
];

/** Order by the column's value; a city without the figure (no repairs yet) goes last either way. */
function compare(column, ascending) {
  return (a, b) => {
    const x = column.value(a);
    const y = column.value(b);
    if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
    if (y === null || y === undefined) return -1;
    const order = x < y ? -1 : x > y ? 1 : 0;
    return ascending ? order : -order;
  };
}

export async function render(root, ctx) {
  const stop = new AbortController();
  let network;
  try {
    network = await ctx.api(`/networks/${encodeURIComponent(ctx.params.network)}`, { signal: stop.signal });
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 422)) {
      root.replaceChildren(h("h1", {}, "No such network"), h("p", { id: "network-missing" }, "You have no role in this network, or it does not exist."));
      return () => stop.abort();
    }
    throw err;
  }
  document.title = `${network.name} · Signalight`;

  let sort = { key: "name", ascending: true };
  const headRow = h("tr");
  const body = h("tbody");
  const table = h(
    "table",
    { class: "networktable", id: "network-cities" },
    h("caption", { class: "visually-hidden" }, `Member cities of ${network.name}`),
    h("thead", {}, headRow),
    body,
  );

  function draw() {
    headRow.replaceChildren(
      ...COLUMNS.map((c) => {
        const sorted = sort.key === c.key;
        const button = h("button", { type: "button", onclick: () => sortBy(c.key) }, c.label, sorted ? (sort.ascending ? " ▲" : " ▼") : "");
        return h(
          "th",
          { scope: "col", class: c.numeric ? "num" : null, "aria-sort": sorted ? (sort.ascending ? "ascending" : "descending") : null },
          button,
        );
      }),
    );
    const column = COLUMNS.find((c) => c.key === sort.key);
    const cities = [...network.cities].sort(compare(column, sort.ascending));
    body.replaceChildren(
      ...cities.map((c) =>
        h(
          "tr",
          { dataset: { city: c.city } },
          h(
            "th",
            { scope: "row" },
            c.may_open ? h("a", { href: ctx.link("/c/:city", { city: c.city }) }, c.name) : h("span", {}, c.name, h("span", { class: "muted" }, " (no role here)")),
          ),
          h("td", { class: "num" }, fmt(c.lights)),
          h("td", { class: "num" }, pct(c.working_share)),
          h("td", { class: "num" }, hours(c.mttr_hours)),
          h("td", { class: "num" }, fmt(c.open_faults)),
        ),
      ),
    );
  }

  function sortBy(key) {
    sort = { key, ascending: sort.key === key ? !sort.ascending : true };
    draw();
  }

  const total = network.cities.reduce((n, c) => n + c.lights, 0);
  root.append(
    heading(network.name, `${network.cities.length} member cities, ${fmt(total)} lights; your role: ${network.role}`),
    h(
      "section",
      { class: "card", "aria-labelledby": "network-h" },
      h("h2", { id: "network-h" }, "Cities side by side"),
      h("p", { class: "hint" }, "Sort by any column with its heading. A city links to its console when you hold a role in it."),
      h("div", { class: "tablewrap" }, table),
    ),
  );
  draw();
  return () => stop.abort();
}
