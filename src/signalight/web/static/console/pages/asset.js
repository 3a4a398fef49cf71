/*
 * One asset: what it is and where, its device's live state, charts of its
 * last day or week (lightcharts.js), a streetlight's schedule
 * (asset-schedule.js), its alarms with their history, and its work orders.
 * The live state and the alarms are read again when an alarm event of this
 * asset arrives on the city's stream.
 */

import { ApiError, explain } from "../api.js";
import { fitCharts, num } from "../charts.js";
import { PERIODS, dayCharts, weekCharts } from "../lightcharts.js";
import { ago, badge, h, heading, when } from "../ui.js";
import { scheduleSection } from "./asset-schedule.js";

export const title = "Asset";

const REREAD_AFTER_EVENT_MS = 600;
const ALARMS_SHOWN = 50;
const ALL_STATES = ["raised", "acknowledged", "cleared", "closed"];
const UNITS = { power: "W", voltage: "V", current: "A", dim: "%", energy: "Wh", lux: "lx", tilt: "°", temp: "°C" };
const WORDS = { on: "On", dim: "Dim level", pf: "Power factor", temp: "Temperature", lux: "Ambient light" };
const wordFor = (name) => WORDS[name] || name.charAt(0).toUpperCase() + name.slice(1);
const KIND = { streetlight: "Streetlight", cabinet: "Cabinet", intersection: "Intersection" };

// append() and replaceChildren() would write a left-out part (null) as the text "null".
const present = (...parts) => parts.filter((p) => p !== null && p !== undefined && p !== false);
const dd = (value) => h("dd", {}, value === null || value === undefined || value === "" ? "–" : value);
const words = (text) => String(text).replaceAll("_", " ");

function showValue(name, value) {
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") return num(value, UNITS[name] || "");
  if (value && typeof value === "object") return `event ${value.code} (${value.parameter})`;
  return String(value);
}

export async function render(root, ctx) {
  const stop = new AbortController();
  const signal = stop.signal;
  const city = encodeURIComponent(ctx.city);
  let asset;
  try {
    asset = await ctx.api(`/cities/${city}/assets/${encodeURIComponent(ctx.params.id)}`, { signal });
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 422)) {
      root.replaceChildren(
        h("h1", {}, "No such asset"),
        h("p", { id: "asset-missing" }, `${ctx.city} has no asset ${ctx.params.id}. ${explain(err)}`),
        h("p", {}, h("a", { href: ctx.link("/c/:city/map", { city: ctx.city }) }, "Back to the map")),
      );
      return () => stop.abort();
    }
    throw err;
  }
  document.title = `${asset.code} · Signalight`;

  const cabinet = asset.cabinet_id
    ? h("a", { href: ctx.link("/c/:city/assets/:id", { city: ctx.city, id: asset.cabinet_id }) }, asset.cabinet)
    : asset.cabinet;
  const details = h(
    "dl",
    { class: "fields", id: "asset-details" },
    h("dt", {}, "Kind"), dd(KIND[asset.kind] || words(asset.kind)),
    h("dt", {}, "Code"), dd(asset.code),
    asset.name ? [h("dt", {}, "Name"), dd(asset.name)] : null,
    h("dt", {}, "Status"), dd(words(asset.status)),
    h("dt", {}, "Street"), dd(asset.street),
    h("dt", {}, "Street class"), dd(asset.street_class && words(asset.street_class)),
    h("dt", {}, "Cabinet"), dd(cabinet),
    h("dt", {}, "Luminaire"), dd(asset.luminaire && words(asset.luminaire)),
    h("dt", {}, "Rated power"), dd(asset.rated_watts && num(asset.rated_watts, "W")),
    h("dt", {}, "Lamp changed on"), dd(asset.lamp_changed_on),
    h("dt", {}, "Installed on"), dd(asset.installed_on),
    asset.controller_id ? [h("dt", {}, "Controller"), dd(`${asset.controller_id} ${asset.controller_vendor || ""}`)] : null,
    h("dt", {}, "Device"), dd(asset.device ? `${asset.device}${asset.device_firmware ? `, firmware ${asset.device_firmware}` : ""}` : "none bound"),
    h("dt", {}, "Position"), dd(`${asset.lat.toFixed(6)}, ${asset.lon.toFixed(6)}`),
  );

  const stateBox = h("div", { id: "asset-state", "aria-live": "polite" });
  const alarmsBox = h("div", { id: "asset-alarms" });
  const ordersBox = h("div", { id: "asset-orders" });
  const chartsBox = h("div", { class: "chartgrid", id: "asset-charts" });
  const periodButtons = Object.entries(PERIODS).map(([key, p]) =>
    h("button", { type: "button", class: "btn", dataset: { period: key }, "aria-pressed": String(key === "day"), onclick: () => drawCharts(key) }, p.label),
  );
  const hasNode = asset.device && asset.kind === "streetlight";
  const schedule = asset.kind === "streetlight" ? scheduleSection(ctx, asset, signal) : null;

  root.append(...present(
    heading(`${KIND[asset.kind] || "Asset"} ${asset.code}`, asset.street || ""),
    h("p", {}, h("a", { href: ctx.link("/c/:city/map", { city: ctx.city }), id: "asset-on-map" }, "Show on the map")),
    asset.kind === "intersection" ? h("p", {}, h("a", { href: ctx.link("/c/:city/signals/:id", { city: ctx.city, id: asset.code }) }, "Its signals: state, lamps, events, door")) : null,
    h(
      "div",
      { class: "assetgrid" },
      h("section", { class: "card", "aria-labelledby": "asset-h-details" }, h("h2", { id: "asset-h-details" }, "Details"), details),
      h("section", { class: "card", "aria-labelledby": "asset-h-state" }, h("h2", { id: "asset-h-state" }, "Live state"), stateBox),
    ),
    hasNode
      ? h(
          "section",
          { class: "card", "aria-labelledby": "asset-h-charts" },
          h("h2", { id: "asset-h-charts" }, "Charts"),
          h("div", { class: "actions", role: "group", "aria-label": "Period of the charts" }, ...periodButtons),
          chartsBox,
        )
      : null,
    schedule?.section,
    h("section", { class: "card", "aria-labelledby": "asset-h-alarms" }, h("h2", { id: "asset-h-alarms" }, "Alarms"), alarmsBox),
    h("section", { class: "card", "aria-labelledby": "asset-h-orders" }, h("h2", { id: "asset-h-orders" }, "Work orders"), ordersBox),
  ));

  async function loadState() {
    if (!asset.device) {
      stateBox.replaceChildren(h("p", { class: "muted" }, "No device is bound to this asset: nothing reports its state."));
      return;
    }
    const state = await ctx.api(`/cities/${city}/devices/${encodeURIComponent(asset.device)}/state`, { signal });
    const names = Object.keys(state.values);
    stateBox.replaceChildren(...present(
      h(
        "p",
        { id: "asset-last-seen" },
        state.last_seen ? `Last seen ${ago(state.last_seen)} (${when(state.last_seen)}).` : "Never heard from.",
      ),
      names.length
        ? h(
            "table",
            { class: "statetable" },
            h("caption", { class: "visually-hidden" }, "Newest value of each reading"),
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Reading"), h("th", { scope: "col" }, "Value"), h("th", { scope: "col" }, "At"))),
            h(
              "tbody",
              {},
              ...names.map((name) =>
                h(
                  "tr",
                  { dataset: { name } },
                  h("th", { scope: "row" }, wordFor(name)),
                  h("td", {}, showValue(name, state.values[name].value)),
                  h("td", {}, when(state.values[name].time)),
                ),
              ),
            ),
          )
        : null,
    ));
  }

  let stopCharts = null;
  let chartTicket = 0;
  async function drawCharts(period) {
    const ticket = ++chartTicket;
    for (const b of periodButtons) b.setAttribute("aria-pressed", String(b.dataset.period === period));
    chartsBox.setAttribute("aria-busy", "true");
    try {
      const build = period === "week" ? weekCharts : dayCharts;
      const charts = await build(ctx, asset.device, new Date(), signal);
      if (ticket !== chartTicket) {
        for (const c of charts) c.plot?.destroy();
        return;
      }
      stopCharts?.();
      chartsBox.replaceChildren(...charts.map((c) => c.figure));
      chartsBox.dataset.period = period;
      stopCharts = fitCharts(charts);
    } catch (err) {
      if (err.name !== "AbortError") chartsBox.replaceChildren(h("p", { class: "form-error" }, explain(err)));
    } finally {
      if (ticket === chartTicket) chartsBox.removeAttribute("aria-busy");
    }
  }

  async function showHistory(alarm, button, row) {
    const open = button.getAttribute("aria-expanded") === "true";
    const next = row.nextElementSibling;
    if (open) {
      if (next?.classList.contains("historyrow")) next.remove();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    button.setAttribute("aria-expanded", "true");
    const cell = h("td", { colspan: "6" }, "Reading the history…");
    row.after(h("tr", { class: "historyrow", id: `history-${alarm.id}` }, cell));
    try {
      const events = await ctx.api(`/cities/${city}/alarms/${alarm.id}/events`, { signal });
      const items = Array.isArray(events) ? events : events.items || [];
      cell.replaceChildren(
        h(
          "ol",
          { class: "history", "aria-label": `History of alarm ${alarm.id}` },
          ...items.map((e) =>
            h("li", { dataset: { kind: e.kind } }, h("span", { class: "muted" }, `${when(e.at)}: `), h("strong", {}, e.kind), e.actor ? ` by ${e.actor}` : " by the detector", e.note ? `: ${e.note}` : ""),
          ),
        ),
      );
    } catch (err) {
      if (err.name !== "AbortError") cell.replaceChildren(explain(err));
    }
  }

  async function loadAlarms() {
    const query = new URLSearchParams({ asset: asset.code, held: "true", limit: String(ALARMS_SHOWN) });
    for (const s of ALL_STATES) query.append("state", s);
    const page = await ctx.api(`/cities/${city}/alarms?${query}`, { signal });
    if (!page.items.length) {
      alarmsBox.replaceChildren(h("p", { class: "muted" }, "No alarms on this asset."));
      return;
    }
    const rows = page.items.map((a) => {
      const button = h("button", { type: "button", class: "btn btn-small", "aria-expanded": "false", "aria-controls": `history-${a.id}` }, "History");
      const row = h(
        "tr",
        { dataset: { alarm: a.id, state: a.state } },
        h("td", {}, `#${a.id}`),
        h("td", {}, a.type),
        h("td", {}, badge(a.severity, a.severity)),
        h("td", {}, a.state, a.held ? " (held under an outage)" : ""),
        h("td", {}, when(a.raised_at)),
        h("td", {}, button),
      );
      button.addEventListener("click", () => showHistory(a, button, row));
      return row;
    });
    const head = ["Alarm", "Type", "Severity", "State", "Raised", "History"];
    alarmsBox.replaceChildren(
      h(
        "div",
        { class: "tablewrap" },
        h(
          "table",
          { class: "assetalarms" },
          h("caption", { class: "visually-hidden" }, `Alarms of ${asset.code}, newest first`),
          h("thead", {}, h("tr", {}, ...head.map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, ...rows),
        ),
      ),
      page.next_before ? h("p", { class: "hint" }, `The newest ${ALARMS_SHOWN} are shown.`) : null,
    );
  }

  async function loadOrders() {
    let page;
    try {
      page = await ctx.api(`/cities/${city}/work-orders?asset=${asset.id}`, { signal });
    } catch (err) {
      if (err.name === "AbortError") return;
      page = { items: [] }; // no work orders on this server, or none for this role: nothing to show
    }
    ordersBox.replaceChildren(
      page.items.length
        ? h(
            "ul",
            { class: "plainlist" },
            ...page.items.map((o) =>
              h(
                "li",
                { dataset: { order: o.id } },
                h("a", { href: ctx.link("/c/:city/work-orders/:id", { city: ctx.city, id: o.id }) }, `#${o.id} ${o.title}`),
                ` (${words(o.state)}, ${o.priority}${o.crew ? `, ${o.crew}` : ""})`,
              ),
            ),
          )
        : h("p", { class: "muted" }, "None."),
    );
  }

  const failed = (err) => {
    if (err.name !== "AbortError") ctx.say(explain(err), "error");
  };
  await Promise.all([loadState().catch(failed), loadAlarms().catch(failed), loadOrders(), schedule?.load()]);
  if (hasNode) drawCharts("day");

  let timer = null;
  const unlisten = ctx.onAlarmEvent((event) => {
    if (event.alarm?.asset_id !== asset.id) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      loadState().catch(failed);
      loadAlarms().catch(failed);
    }, REREAD_AFTER_EVENT_MS);
  });

  return () => {
    stop.abort();
    clearTimeout(timer);
    unlisten();
    stopCharts?.();
  };
}
