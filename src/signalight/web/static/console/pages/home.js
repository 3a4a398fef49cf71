/*
 * A city's home: its headline figures from GET /cities/{city}/kpis (share of
 * lights working, open alarms and faults by type, mean time to repair, work
 * orders open and past due), fetched again a moment after each alarm event so
 * the figures follow the city live.
 */

import { explain } from "../api.js";
import { typeWords } from "../alarmwords.js";
import { fmt, h, heading, pct, when } from "../ui.js";

export const title = "Home";

// Alarm events come in bursts (an outage raises dozens): one fetch per burst.
const REFRESH_AFTER_MS = 2000;

// Figures the API may add later (energy, citizen reports): shown only when given.
const LATER = [
  { key: "energy_saved_kwh", label: "Energy saved (kWh)", format: fmt },
  { key: "energy_saved_share", label: "Energy saved", format: pct },
  { key: "citizen_reports_open", label: "Citizen reports open", format: fmt },
];


function kpi(name, value, label, extra) {
  return h(
    "div",
    { class: "card kpi", dataset: { kpi: name } },
    h("span", { class: "value" }, value),
    h("span", { class: "label" }, label),
    extra || null,
  );
}

function hours(value) {
  if (value === null || value === undefined) return "–";
  return value < 1 ? `${Math.round(value * 60)} min` : `${value.toFixed(1)} h`;
}

export async function render(root, ctx) {
  const stop = new AbortController();
  const city = encodeURIComponent(ctx.city);
  const name = ctx.cities.find((c) => c.slug === ctx.city)?.name || ctx.city;
  const figures = h("section", { class: "homefigures", "aria-label": "Figures", "aria-live": "polite" });
  const asOf = h("p", { class: "hint" });
  const links = h(
    "nav",
    { class: "actions", "aria-label": "Go to" },
    h("a", { class: "btn btn-primary", href: ctx.link("/c/:city/alarms", { city: ctx.city }) }, "Alarms board"),
    h("a", { class: "btn", href: ctx.link("/c/:city/map", { city: ctx.city }) }, "Live map"),
    h("a", { class: "btn", href: ctx.link("/c/:city/work-orders", { city: ctx.city }) }, "Work orders"),
  );
  root.append(heading(name, "The city at a glance, live."), links, figures, asOf);

  function draw(k) {
    const faults = Object.entries(k.open_faults_by_type || {})
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const faultTable = faults.length
      ? h(
          "table",
          { class: "faults" },
          h("caption", { class: "visually-hidden" }, "Open faults by type"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Fault"), h("th", { scope: "col", class: "num" }, "Open"))),
          h(
            "tbody",
            {},
            ...faults.map(([type, n]) =>
              h("tr", { dataset: { type } }, h("th", { scope: "row" }, typeWords(type)), h("td", { class: "num" }, fmt(n))),
            ),
          ),
        )
      : h("p", { class: "muted" }, "No open fault.");
    const later = LATER.filter((l) => k[l.key] !== undefined && k[l.key] !== null);
    const parts = [
      h(
        "div",
        { class: "homegrid" },
        h(
          "div",
          { class: "card kpi kpi-big", dataset: { kpi: "working_share" } },
          h("span", { class: "value" }, pct(k.working_share)),
          h("span", { class: "label" }, "of lights working"),
          h("span", { class: "hint" }, `${fmt(k.working)} of ${fmt(k.lights)} lights heard and without an open alarm`),
        ),
        h(
          "div",
          { class: "grid" },
          kpi("lights", fmt(k.lights), "Lights in service"),
          kpi("open_alarms", fmt(k.open_alarms), "Open alarms"),
          kpi("mttr_hours", hours(k.mttr_hours), "Mean time to repair (30 days)"),
          kpi("work_orders_open", fmt(k.work_orders_open), "Work orders open"),
          kpi(
            "work_orders_past_due",
            fmt(k.work_orders_past_due),
            "Work orders past due",
            k.work_orders_past_due > 0 ? h("span", { class: "pastdue" }, "Needs attention") : null,
          ),
        ),
      ),
      h("section", { class: "card", "aria-labelledby": "home-faults" }, h("h2", { id: "home-faults" }, "Open faults by type"), faultTable),
      later.length
        ? h(
            "p",
            { class: "later", dataset: { kpi: "later" } },
            later.map((l, i) => `${i ? " · " : ""}${l.label}: ${l.format(k[l.key])}`).join(""),
          )
        : null,
    ];
    figures.replaceChildren(...parts.filter(Boolean));
    asOf.textContent = `Figures as of ${when(k.as_of)}; they follow the alarms as they come.`;
  }

  let failed = false;
  async function load() {
    try {
      draw(await ctx.api(`/cities/${city}/kpis`, { signal: stop.signal }));
      if (failed) ctx.say(""); // the error said before is over
      failed = false;
      return true;
    } catch (err) {
      if (err.name === "AbortError") return false;
      failed = true;
      ctx.say(explain(err), "error");
      return false;
    }
  }

  let timer = null;
  const unlisten = ctx.onAlarmEvent(() => {
    if (timer) return; // one fetch for the burst, at its end
    timer = setTimeout(() => {
      timer = null;
      load();
    }, REFRESH_AFTER_MS);
  });

  ctx.say("Loading the figures…", "busy");
  if (await load()) ctx.say("");
  return () => {
    stop.abort();
    clearTimeout(timer);
    unlisten();
  };
}
