/*
 * The four charts of a light's node (power, voltage, dim level, on/off) for
 * the last day, from its stored readings, or the last week, from its hourly
 * rollups. Reading names are the streetlight node's in domain/readings.py:
 * `power` (W), `voltage` (V), `dim` (%) and `on` (the relay, a boolean). The
 * rollups hold no dim level, so the week's dim chart reads the stored `dim`
 * readings (a node reports it on change and at each interval).
 */

import { chart, num, readHourly, readSeries, stats } from "./charts.js";
import { when } from "./ui.js";

const HOUR_S = 3600;
export const PERIODS = {
  day: { label: "Last day", hours: 24 },
  week: { label: "Last week", hours: 24 * 7 },
};

function span(times) {
  if (!times.length) return "";
  return ` between ${when(new Date(times[0] * 1000).toISOString())} and ${when(new Date(times[times.length - 1] * 1000).toISOString())}`;
}

function numberCaption(label, unit, series) {
  const s = stats(series.v);
  if (!s.n) return `${label}: no readings in this period.`;
  return `${label}: lowest ${num(s.min, unit)}, mean ${num(s.mean, unit)}, highest ${num(s.max, unit)}, from ${s.n} readings${span(series.t)}.`;
}

function onCaption(series) {
  const s = stats(series.v);
  if (!s.n) return "On/off: no reports in this period.";
  const on = series.v.filter((v) => v === 1).length;
  const last = series.v[series.v.length - 1] === 1 ? "on" : "off";
  return `On/off: on in ${on} of ${s.n} reports (${num((100 * on) / s.n)} %), last reported ${last}${span(series.t)}.`;
}

/** The day's four charts, from the stored readings. */
export async function dayCharts(ctx, uid, now, signal) {
  const from = new Date(now.getTime() - PERIODS.day.hours * HOUR_S * 1000);
  const got = await readSeries(ctx, uid, ["power", "voltage", "dim", "on"], from, now, signal);
  const period = [from.getTime() / 1000, now.getTime() / 1000];
  const line = (name, title, unit, range) =>
    chart({
      id: `chart-${name}`,
      title,
      unit,
      range,
      span: period,
      series: [{ label: title }],
      data: [got[name].t, got[name].v],
      caption: numberCaption(title, unit, got[name]),
    });
  return [
    line("power", "Power", "W"),
    line("voltage", "Voltage", "V"),
    line("dim", "Dim level", "%", [0, 100]),
    chart({
      id: "chart-on",
      title: "On/off",
      unit: "",
      range: [0, 1],
      span: period,
      series: [{ label: "On (1) or off (0)", stepped: true }],
      data: [got.on.t, got.on.v],
      caption: onCaption(got.on),
    }),
  ];
}

function rollupCaption(label, unit, hours, key) {
  const means = stats(hours.map((r) => r[`${key}_mean`]));
  if (!means.n) return `${label}: no readings in this period.`;
  const low = stats(hours.map((r) => r[`${key}_min`])).min;
  const high = stats(hours.map((r) => r[`${key}_max`])).max;
  return (
    `${label}, hour by hour: lowest ${num(low, unit)}, mean of the hourly means ${num(means.mean, unit)}, ` +
    `highest ${num(high, unit)}, over ${means.n} hours with readings.`
  );
}

/** The week's four charts: power and voltage as hourly mean, lowest and highest; on as hours on. */
export async function weekCharts(ctx, uid, now, signal) {
  const from = new Date(Math.floor(now.getTime() / 1000 / HOUR_S) * HOUR_S * 1000 - PERIODS.week.hours * HOUR_S * 1000);
  const [hours, dims] = await Promise.all([
    readHourly(ctx, uid, from, now, signal),
    readSeries(ctx, uid, ["dim"], from, now, signal),
  ]);
  // Every hour of the week has its place, so that an hour without readings is a gap in
  // the line and not a slope between its neighbours; each is drawn at its middle.
  const period = [from.getTime() / 1000, now.getTime() / 1000];
  const byHour = new Map(hours.map((r) => [new Date(r.hour).getTime() / 1000, r]));
  const grid = [];
  for (let start = period[0]; start < period[1]; start += HOUR_S) grid.push(byHour.get(start) || null);
  const xs = grid.map((_, i) => period[0] + i * HOUR_S + HOUR_S / 2);
  const field = (key) => grid.map((r) => (r ? r[key] : null));
  const band = (key, title, unit) =>
    chart({
      id: `chart-${key}`,
      title,
      unit,
      span: period,
      series: [{ label: "Hourly mean" }, { label: "Lowest" }, { label: "Highest" }],
      data: [xs, field(`${key}_mean`), field(`${key}_min`), field(`${key}_max`)],
      caption: rollupCaption(title, unit, hours, key),
    });
  const onHours = field("on_hours").map((v) => (v === null || v === undefined ? null : v * 100));
  const onStats = stats(hours.map((r) => r.on_hours));
  const onCaptionText = onStats.n
    ? `On/off: on for ${num(onStats.mean * onStats.n)} h of the ${onStats.n} hours with reports (${num(100 * onStats.mean)} %).`
    : "On/off: no reports in this period.";
  return [
    band("power", "Power", "W"),
    band("voltage", "Voltage", "V"),
    chart({
      id: "chart-dim",
      title: "Dim level",
      unit: "%",
      range: [0, 100],
      span: period,
      series: [{ label: "Dim level", stepped: true }],
      data: [dims.dim.t, dims.dim.v],
      caption: numberCaption("Dim level", "%", dims.dim),
    }),
    chart({
      id: "chart-on",
      title: "On/off",
      unit: "%",
      range: [0, 100],
      span: period,
      series: [{ label: "Share of the hour on", stepped: true }],
      data: [xs, onHours],
      caption: onCaptionText,
    }),
  ];
}
