/*
 * Charts of a device's telemetry, drawn with uPlot (window.uPlot, from npm),
 * and the words that stand for them: a canvas says nothing to a screen
 * reader, so every chart is a <figure> whose caption gives its figures
 * (lowest, mean, highest, how many readings and when).
 */

import { h } from "./ui.js";

const HEIGHT = 180;
const MAX_PAGES = 20; // 20 pages of 10,000 readings: far beyond a week of a node's reports
const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

/** A number as a caption says it: at most one decimal, with its unit. */
export const num = (value, unit = "") =>
  value === null || value === undefined || Number.isNaN(value) ? "–" : `${number.format(value)}${unit ? ` ${unit}` : ""}`;

const epoch = (iso) => new Date(iso).getTime() / 1000;

/**
 * Every reading of `names` in [from, to), paged with next_cursor, grouped by
 * name: {power: {t: [...], v: [...]}}. Booleans become 1 and 0.
 */
export async function readSeries(ctx, uid, names, from, to, signal) {
  const base = `/cities/${encodeURIComponent(ctx.city)}/devices/${encodeURIComponent(uid)}/readings`;
  const out = Object.fromEntries(names.map((n) => [n, { t: [], v: [] }]));
  const query = new URLSearchParams({ names: names.join(","), from: from.toISOString(), to: to.toISOString(), limit: "10000" });
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const body = await ctx.api(`${base}?${query}`, { signal });
    for (const r of body.items) {
      const series = out[r.name];
      if (!series) continue;
      const value = typeof r.value === "boolean" ? Number(r.value) : r.value;
      if (typeof value !== "number") continue;
      series.t.push(epoch(r.time));
      series.v.push(value);
    }
    if (!body.next_cursor) break;
    query.delete("from");
    query.set("cursor", body.next_cursor);
  }
  return out;
}

/** The device's hourly rollups in [from, to), oldest first. */
export async function readHourly(ctx, uid, from, to, signal) {
  const base = `/cities/${encodeURIComponent(ctx.city)}/devices/${encodeURIComponent(uid)}/hourly`;
  const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
  const body = await ctx.api(`${base}?${query}`, { signal });
  return body.items;
}

/** Lowest, mean and highest of the values that are numbers, and how many there are. */
export function stats(values) {
  const present = values.filter((v) => typeof v === "number" && !Number.isNaN(v));
  if (!present.length) return { n: 0, min: null, mean: null, max: null };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of present) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { n: present.length, min, mean: sum / present.length, max };
}

const COLORS = ["#79c0ff", "#3fca6b", "#ff9d3d"];

/**
 * A chart in a figure: heading, uPlot canvas and caption. `series` is
 * [{label, stepped?}], `data` is [xs, ys1, ...] in uPlot's form (x in
 * seconds), `caption` the words that stand for it, `span` the period's
 * [from, to] in seconds (the x axis shows all of it), `range` the y axis's
 * fixed [low, high] if any. With no data the figure says so and draws
 * nothing. Answers {figure, plot, box}; plot and box are null then.
 */
export function chart({ id, title, unit, series, data, caption, range, span }) {
  const headingId = `${id}-title`;
  const figure = h(
    "figure",
    { class: "chartfig", id, "aria-labelledby": headingId, dataset: { series: String(series.length) } },
    h("h3", { id: headingId }, title),
  );
  const captionNode = h("figcaption", { class: "chartcaption" }, caption);
  const empty = data.slice(1).every((ys) => ys.every((v) => v === null || v === undefined));
  if (empty || !window.uPlot) {
    figure.append(captionNode);
    return { figure, plot: null, box: null };
  }
  const box = h("div", { class: "chartbox", "aria-hidden": "true" });
  figure.append(box, captionNode);
  const stepped = window.uPlot.paths?.stepped?.({ align: 1 });
  const opts = {
    width: 320,
    height: HEIGHT,
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: span ? { time: true, range: () => span } : { time: true },
      y: range ? { range: () => range } : {},
    },
    axes: [
      { stroke: "#a9b8c8", grid: { stroke: "#2c3b4d" }, ticks: { stroke: "#2c3b4d" } },
      {
        stroke: "#a9b8c8",
        grid: { stroke: "#2c3b4d" },
        ticks: { stroke: "#2c3b4d" },
        size: 56,
        values: (_, ticks) => ticks.map((v) => `${number.format(v)}${unit ? ` ${unit}` : ""}`),
      },
    ],
    series: [
      {},
      ...series.map((s, i) => ({
        label: s.label,
        stroke: COLORS[i % COLORS.length],
        width: 2,
        spanGaps: false,
        // A dot on every value, so that a reading between two gaps is seen too.
        points: { show: !s.stepped, size: 4 },
        paths: s.stepped && stepped ? stepped : undefined,
        value: (_, v) => num(v, unit),
      })),
    ],
  };
  // Drawn at a first width here; fitCharts sets the width the page gives it.
  const plot = new window.uPlot(opts, data, box);
  return { figure, plot, box };
}

/** Keep each chart as wide as its box (phones, a resized window); answers a stop function. */
export function fitCharts(charts) {
  const fit = () => {
    for (const c of charts) {
      if (!c.plot) continue;
      const width = Math.max(200, Math.floor(c.box.clientWidth));
      if (Math.abs(width - c.plot.width) > 2) c.plot.setSize({ width, height: HEIGHT });
    }
  };
  const observer = new ResizeObserver(fit);
  for (const c of charts) if (c.box) observer.observe(c.box);
  fit();
  return () => {
    observer.disconnect();
    for (const c of charts) c.plot?.destroy();
  };
}
