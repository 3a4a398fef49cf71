/*
 * The energy page's month chart, drawn with uPlot (window.uPlot, from npm, as
 * the asset page's charts): each day's actual kWh as a bar, the baseline
 * (every light at rated power from sunset to sunrise) and the plan (the
 * schedules) as lines over it. A canvas says nothing to a screen reader, so
 * the figure's caption gives the month's figures and a table below it gives
 * every day's; the canvas is hidden from it.
 */

import { num } from "./charts.js";
import { h } from "./ui.js";

const HEIGHT = 260;
export const SERIES = [
  { key: "actual_kwh", label: "Actual", color: "#79c0ff", bars: true },
  { key: "baseline_kwh", label: "Baseline", color: "#ff9d3d" },
  { key: "planned_kwh", label: "Planned", color: "#3fca6b", dash: [6, 4] },
];

/** The day of the month (1..31) a report row's period starts on ("2024-05-03", or a time). */
export const dayOfMonth = (period) => Number(String(period).slice(8, 10));

/**
 * The month chart in a figure: heading, canvas and caption. ``rows`` are the
 * report's day rows; ``count`` the days of the month. Answers {figure, plot, box}.
 */
export function monthChart({ id, title, rows, count, caption }) {
  const xs = Array.from({ length: count }, (_, i) => i + 1);
  const byDay = new Map(rows.map((r) => [dayOfMonth(r.period), r]));
  const column = (key) => xs.map((d) => {
    const v = byDay.get(d)?.[key];
    return v === null || v === undefined ? null : v;
  });
  const data = [xs, ...SERIES.map((s) => column(s.key))];
  const headingId = `${id}-title`;
  const figure = h("figure", { class: "chartfig energyfig", id, "aria-labelledby": headingId }, h("h3", { id: headingId }, title));
  const captionNode = h("figcaption", { class: "chartcaption" }, caption);
  const empty = data.slice(1).every((ys) => ys.every((v) => v === null));
  if (empty || !window.uPlot) {
    figure.append(captionNode);
    return { figure, plot: null, box: null };
  }
  const box = h("div", { class: "chartbox", "aria-hidden": "true" });
  figure.append(box, captionNode);
  const bars = window.uPlot.paths.bars({ size: [0.7, 40] });
  const opts = {
    width: 320,
    height: HEIGHT,
    legend: { show: true, live: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false, range: () => [0.5, count + 0.5] }, y: { range: (_, lo, hi) => [0, Math.max(1, hi) * 1.08] } },
    axes: [
      {
        stroke: "#a9b8c8",
        grid: { show: false },
        ticks: { stroke: "#2c3b4d" },
        incrs: [1, 2, 5, 7, 10],
        values: (_, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : "")),
      },
      {
        stroke: "#a9b8c8",
        grid: { stroke: "#2c3b4d" },
        ticks: { stroke: "#2c3b4d" },
        size: 84,
        values: (_, ticks) => ticks.map((v) => num(v, "kWh")),
      },
    ],
    series: [
      { label: "Day", value: (_, v) => (v === null || v === undefined ? "–" : String(v)) },
      ...SERIES.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.bars ? 1 : 2,
        fill: s.bars ? `${s.color}66` : undefined,
        dash: s.dash,
        paths: s.bars ? bars : undefined,
        points: { show: !s.bars, size: 4 },
        spanGaps: false,
        value: (_, v) => num(v, "kWh"),
      })),
    ],
  };
  const plot = new window.uPlot(opts, data, box);
  return { figure, plot, box };
}

/** Keep the chart as wide as its box; answers a stop function. */
export function fitChart(c) {
  if (!c.plot) return () => {};
  const fit = () => {
    const width = Math.max(200, Math.floor(c.box.clientWidth));
    if (Math.abs(width - c.plot.width) > 2) c.plot.setSize({ width, height: HEIGHT });
  };
  const observer = new ResizeObserver(fit);
  observer.observe(c.box);
  fit();
  return () => {
    observer.disconnect();
    c.plot.destroy();
  };
}
