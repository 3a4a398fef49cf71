/*
 * A city's energy for a month (the city's current month by default, on its
 * own clock): each day's actual kWh against the baseline (every light at
 * rated power from sunset to sunrise) and the plan (the schedules) in a chart
 * (energychart.js); the month's totals with the saving in kWh, money and CO2;
 * the same month broken down by street class, cabinet or group; the lights
 * that ignored their schedule, linked to their pages; and the report as CSV.
 * Reads GET /cities/{city}/energy (by day for the chart, by month for the
 * breakdown) and GET /cities/{city}/energy/deviations.
 */

import { API, explain } from "../api.js";
import { dayNow, monthDays, monthNow, monthWords, shiftDay, shiftMonth } from "../calendar.js";
import { num } from "../charts.js";
import { SERIES, dayOfMonth, fitChart, monthChart } from "../energychart.js";
import { field, fmt, h, heading } from "../ui.js";

export const title = "Energy";

const BREAKDOWNS = [
  ["street_class", "Street class"],
  ["cabinet", "Cabinet"],
  ["group", "Group"],
];
const LIGHTS_LISTED = 50;
const factor = new Intl.NumberFormat("en-US", { maximumFractionDigits: 4 }); // deviating lights shown (and looked up for their pages)

const kwh = (v) => num(v, "kWh");
const kg = (v) => (v === null || v === undefined ? "–" : num(v, "kg CO2"));
const words = (key) => (key ? key.replaceAll("_", " ") : "(none)");

function money(value, currency, digits = 2) {
  if (value === null || value === undefined) return "–";
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency, maximumFractionDigits: digits }).format(value);
  } catch {
    return `${num(value)} ${currency}`; // a code Intl does not know
  }
}

/** The month's totals as a list of figures, and a note for what the city has not set. */
function totals(report) {
  const t = report.total;
  // Each figure keeps the API's number beside its words, for whoever checks one against the other.
  const figure = (key, label, text, raw, extra = "") =>
    h("div", { class: extra, dataset: { total: key, value: raw === null || raw === undefined ? "" : String(raw) } }, h("dt", {}, label), h("dd", {}, text));
  const notes = [];
  if (report.tariff_per_kwh === null || report.tariff_per_kwh === undefined) {
    notes.push("This city has no tariff: the saving is given in kWh only. An admin sets the tariff per kWh in the city's settings.");
  }
  if (report.co2_kg_per_kwh === null || report.co2_kg_per_kwh === undefined) {
    notes.push("This city has no grid CO2 factor: no CO2 saving is worked out. An admin sets kg CO2 per kWh in the city's settings.");
  }
  if (report.unrated?.length) {
    notes.push(`${fmt(report.unrated.length)} lights have no rated power, so no baseline: ${report.unrated.slice(0, 5).join(", ")}${report.unrated.length > 5 ? ", …" : ""}.`);
  }
  const tariff = report.tariff_per_kwh ?? null;
  return h(
    "div",
    {},
    h(
      "dl",
      { class: "energytotals", id: "energy-totals" },
      figure("actual_kwh", "Actual", kwh(t.actual_kwh), t.actual_kwh),
      figure("baseline_kwh", "Baseline", kwh(t.baseline_kwh), t.baseline_kwh),
      figure("planned_kwh", "Planned", kwh(t.planned_kwh), t.planned_kwh),
      figure("saved_kwh", "Saved", kwh(t.saved_kwh), t.saved_kwh, "is-saved"),
      figure("saved_money", "Saved money", money(t.saved_money, report.currency), t.saved_money, "is-saved"),
      figure("saved_co2_kg", "Saved CO2", kg(t.saved_co2_kg), t.saved_co2_kg, "is-saved"),
    ),
    h(
      "p",
      { class: "hint", id: "energy-basis" },
      `${fmt(report.lights)} lights with a device. `,
      tariff !== null ? `Tariff ${money(tariff, report.currency, 4)} per kWh. ` : "",
      report.co2_kg_per_kwh !== null && report.co2_kg_per_kwh !== undefined ? `Grid factor ${factor.format(report.co2_kg_per_kwh)} kg CO2 per kWh.` : "",
    ),
    ...notes.map((text) => h("p", { class: "energynote", dataset: { note: "" } }, text)),
  );
}

function caption(report, month) {
  const t = report.total;
  const days = report.rows.filter((r) => r.actual_kwh > 0);
  const top = days.reduce((best, r) => (!best || r.actual_kwh > best.actual_kwh ? r : best), null);
  return (
    `${monthWords(month)}, day by day: actual ${kwh(t.actual_kwh)} against a baseline of ${kwh(t.baseline_kwh)} ` +
    `and a plan of ${kwh(t.planned_kwh)}; ${days.length} days with energy metered` +
    (top ? `, the most on day ${dayOfMonth(top.period)} (${kwh(top.actual_kwh)}).` : ".")
  );
}

/** Every day's figures as a table, for those who cannot see the chart (and to copy from). */
function dayTable(rows) {
  const cols = [["Day", null], ...SERIES.map((s) => [s.label, s.key]), ["Saved", "saved_kwh"]];
  return h(
    "details",
    { class: "energydays" },
    h("summary", {}, "Every day's figures"),
    h(
      "div",
      { class: "tablewrap", tabindex: "0", role: "region", "aria-label": "Every day's figures" },
      h(
        "table",
        { class: "energytable", id: "energy-days" },
        h("caption", { class: "visually-hidden" }, "Energy of each day of the month, in kWh"),
        h("thead", {}, h("tr", {}, ...cols.map(([label, key]) => h("th", { scope: "col", class: key ? "num" : null }, key ? `${label} (kWh)` : label)))),
        h(
          "tbody",
          {},
          ...rows.map((r) =>
            h("tr", { dataset: { day: r.period } }, h("th", { scope: "row" }, r.period), ...cols.slice(1).map(([, key]) => h("td", { class: "num" }, num(r[key])))),
          ),
        ),
      ),
    ),
  );
}

function breakdownTable(report, by) {
  const label = BREAKDOWNS.find(([k]) => k === by)[1];
  const head = [label, "Lights", "Actual (kWh)", "Baseline (kWh)", "Planned (kWh)", "Saved (kWh)", `Saved (${report.currency})`];
  const rows = [...report.rows].sort((a, b) => b.baseline_kwh - a.baseline_kwh || a.key.localeCompare(b.key));
  if (!rows.length) return h("p", { class: "muted" }, "No lights to break down.");
  return h(
    "div",
    // Scrolls sideways on a phone: focusable, so the keyboard scrolls it too.
    { class: "tablewrap", tabindex: "0", role: "region", "aria-label": `The month by ${label.toLowerCase()}` },
    h(
      "table",
      { class: "energytable", id: "energy-breakdown-table" },
      h("caption", { class: "visually-hidden" }, `The month's energy by ${label.toLowerCase()}`),
      h("thead", {}, h("tr", {}, ...head.map((t, i) => h("th", { scope: "col", class: i ? "num" : null }, t)))),
      h(
        "tbody",
        {},
        ...rows.map((r) =>
          h(
            "tr",
            { dataset: { key: r.key } },
            h("th", { scope: "row" }, words(r.key)),
            h("td", { class: "num" }, fmt(r.lights)),
            h("td", { class: "num" }, num(r.actual_kwh)),
            h("td", { class: "num" }, num(r.baseline_kwh)),
            h("td", { class: "num" }, num(r.planned_kwh)),
            h("td", { class: "num" }, num(r.saved_kwh)),
            h("td", { class: "num" }, money(r.saved_money, report.currency)),
          ),
        ),
      ),
    ),
  );
}

/** Deviations (a row a light and day) as a row a light: days off plan, kWh used and planned. */
function byLight(items) {
  const lights = new Map();
  for (const d of items) {
    const found = lights.get(d.code) || { code: d.code, days: 0, actual: 0, planned: 0, asset_id: d.asset_id ?? null };
    found.days += 1;
    found.actual += d.actual_kwh;
    found.planned += d.planned_kwh;
    lights.set(d.code, found);
  }
  return [...lights.values()].sort((a, b) => b.days - a.days || Math.abs(b.actual - b.planned) - Math.abs(a.actual - a.planned) || a.code.localeCompare(b.code));
}

export async function render(root, ctx) {
  const stop = new AbortController();
  const signal = stop.signal;
  const city = encodeURIComponent(ctx.city);
  const zone = ctx.cities.find((c) => c.slug === ctx.city)?.timezone || "UTC";
  const thisMonth = monthNow(zone);
  let month = thisMonth;
  let ticket = 0;
  let stopChart = null;

  const monthInput = h("input", { type: "month", id: "energy-month", required: true, value: month, max: thisMonth });
  const prev = h("button", { type: "button", class: "btn", id: "energy-prev" }, "Previous month");
  const next = h("button", { type: "button", class: "btn", id: "energy-next" }, "Next month");
  const bySelect = h("select", { id: "energy-by" }, ...BREAKDOWNS.map(([k, label]) => h("option", { value: k }, label)));
  const csv = h("a", { class: "btn", id: "energy-csv", download: "" }, "Download CSV");
  const totalsBox = h("div", { "aria-live": "polite" });
  const chartBox = h("div", { id: "energy-chart-box" });
  const breakdownBox = h("div", { id: "energy-breakdown" });
  const deviationsBox = h("div", { id: "energy-deviations" });
  const monthTitle = h("h2", { id: "energy-h-month" }, monthWords(month));

  /*
   * The month in progress is read up to today: its days to come have no
   * energy yet, and against their baseline would look like savings. Today
   * counts so far (its baseline and plan are the whole day's); a light is
   * judged against its schedule only on days that are over.
   */
  function range(whole) {
    const { first, last } = monthDays(month);
    const today = dayNow(zone);
    const end = whole ? today : shiftDay(today, -1);
    return { from: first, to: last < end ? last : end };
  }
  const query = (extra, whole = true) => new URLSearchParams({ ...range(whole), ...extra });
  const report = (extra) => ctx.api(`/cities/${city}/energy?${query(extra)}`, { signal });

  function setMonth(value) {
    if (!/^\d{4}-\d{2}$/.test(value)) return;
    month = value > thisMonth ? thisMonth : value;
    monthInput.value = month;
    load();
  }
  prev.addEventListener("click", () => setMonth(shiftMonth(month, -1)));
  next.addEventListener("click", () => setMonth(shiftMonth(month, 1)));
  monthInput.addEventListener("change", () => setMonth(monthInput.value));
  bySelect.addEventListener("change", () => {
    setCsv();
    loadBreakdown(ticket);
  });

  function setCsv() {
    csv.href = `${API}/cities/${city}/energy?${query({ by: bySelect.value, period: "day", format: "csv" })}`;
    csv.setAttribute("aria-label", `Download CSV of ${monthWords(month)}, day by day by ${bySelect.selectedOptions[0].textContent.toLowerCase()}`);
  }

  async function loadBreakdown(mine) {
    breakdownBox.setAttribute("aria-busy", "true");
    try {
      const got = await report({ by: bySelect.value, period: "month" });
      if (mine === ticket) breakdownBox.replaceChildren(breakdownTable(got, bySelect.value));
    } catch (err) {
      if (err.name !== "AbortError") breakdownBox.replaceChildren(h("p", { class: "form-error" }, explain(err)));
    } finally {
      breakdownBox.removeAttribute("aria-busy");
    }
  }

  async function loadDeviations(mine) {
    const { from, to } = range(false);
    if (to < from) {
      deviationsBox.replaceChildren(h("p", { class: "muted" }, "No day of this month is over yet."));
      return;
    }
    const got = await ctx.api(`/cities/${city}/energy/deviations?${query({}, false)}`, { signal });
    if (mine !== ticket) return;
    const items = Array.isArray(got) ? got : got.items;
    const lights = byLight(items);
    if (!lights.length) {
      deviationsBox.replaceChildren(h("p", { class: "muted" }, "Every metered light kept to its schedule this month."));
      return;
    }
    const shown = lights.slice(0, LIGHTS_LISTED);
    // The deviations name lights by code; their pages are by id.
    await Promise.all(
      shown.filter((l) => l.asset_id === null).map(async (l) => {
        const page = await ctx.api(`/cities/${city}/assets?code=${encodeURIComponent(l.code)}&limit=1`, { signal });
        l.asset_id = page.items[0]?.id ?? null;
      }),
    );
    if (mine !== ticket) return;
    deviationsBox.replaceChildren(
      h("p", { class: "hint" }, `${fmt(lights.length)} lights used far from what their schedule planned on at least one day${lights.length > shown.length ? `; the ${shown.length} most often are listed` : ""}.`),
      h(
        "ul",
        { class: "plainlist", id: "energy-deviation-list", "aria-label": "Lights that ignore their schedule" },
        ...shown.map((l) =>
          h(
            "li",
            { dataset: { code: l.code } },
            l.asset_id !== null ? h("a", { href: ctx.link("/c/:city/assets/:id", { city: ctx.city, id: l.asset_id }) }, l.code) : l.code,
            `: ${l.days} ${l.days === 1 ? "day" : "days"} off plan, used ${kwh(l.actual)} where ${kwh(l.planned)} was planned.`,
          ),
        ),
      ),
    );
  }

  async function load() {
    const mine = ++ticket;
    const { to } = range(true);
    monthTitle.textContent = month === thisMonth ? `${monthWords(month)}, to ${Number(to.slice(8))} ${monthWords(month).split(" ")[0]} (today so far)` : monthWords(month);
    next.disabled = month >= thisMonth;
    setCsv();
    ctx.say(`Reading the energy of ${monthWords(month)}…`, "busy");
    const days = monthDays(month);
    try {
      const [daily] = await Promise.all([
        report({ by: "city", period: "day" }),
        loadBreakdown(mine),
        loadDeviations(mine).catch((err) => {
          if (err.name !== "AbortError") deviationsBox.replaceChildren(h("p", { class: "form-error" }, explain(err)));
        }),
      ]);
      if (mine !== ticket) return;
      stopChart?.();
      totalsBox.replaceChildren(totals(daily));
      const chart = monthChart({ id: "energy-chart", title: `Energy each day of ${monthWords(month)}`, rows: daily.rows, count: days.count, caption: caption(daily, month) });
      chartBox.replaceChildren(chart.figure, dayTable(daily.rows));
      stopChart = fitChart(chart);
      ctx.say("");
    } catch (err) {
      if (err.name !== "AbortError" && mine === ticket) ctx.say(explain(err), "error");
    }
  }

  root.append(
    heading("Energy", "What the lights used, against dusk-to-dawn at full power and against their schedules."),
    h(
      "section",
      { class: "card", "aria-labelledby": "energy-h-month" },
      monthTitle,
      h("form", { class: "energybar", "aria-label": "Month of the report", onsubmit: (e) => e.preventDefault() }, prev, field("Month", monthInput), next),
      totalsBox,
      chartBox,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "energy-h-breakdown" },
      h("h2", { id: "energy-h-breakdown" }, "Breakdown"),
      h("div", { class: "energybar" }, field("Break down by", bySelect), csv),
      breakdownBox,
    ),
    h("section", { class: "card", "aria-labelledby": "energy-h-deviations" }, h("h2", { id: "energy-h-deviations" }, "Lights that ignore their schedule"), deviationsBox),
  );
  await load();

  return () => {
    stop.abort();
    stopChart?.();
  };
}
