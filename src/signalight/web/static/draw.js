/*
 * Drawing the inventory on a 2D canvas: symbols, colours and the scale bar.
 * Pure functions of the points and the view, so the map can redraw at will.
 */

export const METRES_PER_DEGREE = (6371008.8 * Math.PI) / 180;

// Draw order: lights first, then cabinets, then intersections on top.
export const STYLES = [
  { key: "led", label: "LED", shape: "dot", color: "#5cc8ff" },
  { key: "hps", label: "Sodium (HPS)", shape: "dot", color: "#ffa23e" },
  { key: "metal_halide", label: "Metal halide", shape: "dot", color: "#c7a6ff" },
  { key: "fluorescent", label: "Fluorescent", shape: "dot", color: "#7fe3a9" },
  { key: "unknown", label: "Lamp unknown", shape: "dot", color: "#8d9aaa" },
  { key: "cabinet", label: "Cabinet", shape: "square", color: "#f3f5f7" },
  { key: "intersection", label: "Intersection", shape: "diamond", color: "#ff5f7a" },
];
const GROUP = Object.fromEntries(STYLES.map((s, i) => [s.key, i]));
const BACKGROUND = "#0e151e";
const OUTLINE = "#0b1118";
const HIGHLIGHT = "#ffd166";
const LABEL = "#c3cfdb";

/** The index in STYLES of an asset's symbol, from its GeoJSON properties. */
export function styleOf(properties) {
  if (properties.kind === "cabinet") return GROUP.cabinet;
  if (properties.kind === "intersection") return GROUP.intersection;
  return GROUP[properties.luminaire] ?? GROUP.unknown;
}

/** The side of a light's dot in CSS pixels: it grows a little as the map zooms in. */
export function dotSize(zoom) {
  return Math.max(2.5, Math.min(9, 2.5 * Math.pow(zoom, 0.35)));
}

/** Half the size of a style's symbol, for drawing and for hit testing. */
export function symbolRadius(style, d) {
  if (style.shape === "square") return d / 2 + 2.5;
  if (style.shape === "diamond") return d / 2 + 5;
  return d / 2;
}

/**
 * Draw everything: `points` holds x, y (world units), `groups` (indices per
 * style); `view` maps world to screen as world × scale + (tx, ty).
 */
export function drawScene(ctx, { points, view, width, height, dpr, zoom, selected }) {
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = BACKGROUND;
  ctx.fillRect(0, 0, width, height);
  if (points.n === 0) return;
  const d = dotSize(zoom);
  const frame = { ctx, points, view, width, height, d, dpr };
  STYLES.forEach((style, g) => {
    if (style.shape === "dot") drawDots(frame, points.groups[g], style.color);
    else drawSymbols(frame, points.groups[g], style);
  });
  if (selected >= 0) drawHighlight(frame, selected);
  drawScaleBar(ctx, view.scale, width, height);
}

// Lights: one fillStyle per colour and a fillRect per light, the fastest way a
// 2D canvas has to put tens of thousands of dots on screen. Rects snapped to
// whole device pixels skip antialiasing: about 40% faster without a GPU.
function drawDots({ ctx, points, view, width, height, d, dpr }, indices, color) {
  const { x, y } = points;
  const { scale, tx, ty } = view;
  const half = d / 2;
  ctx.fillStyle = color;
  if (d < 5) {
    const size = Math.max(2, Math.round(d * dpr));
    const back = size >> 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      const sx = x[i] * scale + tx;
      const sy = y[i] * scale + ty;
      if (sx < -d || sy < -d || sx > width + d || sy > height + d) continue;
      ctx.fillRect(Math.round(sx * dpr) - back, Math.round(sy * dpr) - back, size, size);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return;
  }
  // Close up few lights are in view: round dots look better and cost little.
  ctx.beginPath();
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    const sx = x[i] * scale + tx;
    const sy = y[i] * scale + ty;
    if (sx < -d || sy < -d || sx > width + d || sy > height + d) continue;
    ctx.moveTo(sx + half, sy);
    ctx.arc(sx, sy, half, 0, 2 * Math.PI);
  }
  ctx.fill();
}

function symbolPath(ctx, shape, sx, sy, r) {
  if (shape === "square") {
    ctx.rect(sx - r, sy - r, 2 * r, 2 * r);
    return;
  }
  ctx.moveTo(sx, sy - r);
  ctx.lineTo(sx + r, sy);
  ctx.lineTo(sx, sy + r);
  ctx.lineTo(sx - r, sy);
  ctx.closePath();
}

// Cabinets and intersections: few, larger, outlined so they stand out over lights.
function drawSymbols({ ctx, points, view, width, height, d }, indices, style) {
  const { x, y } = points;
  const { scale, tx, ty } = view;
  const r = symbolRadius(style, d);
  ctx.beginPath();
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k];
    const sx = x[i] * scale + tx;
    const sy = y[i] * scale + ty;
    if (sx < -r || sy < -r || sx > width + r || sy > height + r) continue;
    symbolPath(ctx, style.shape, sx, sy, r);
  }
  ctx.fillStyle = style.color;
  ctx.fill();
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = OUTLINE;
  ctx.stroke();
}

function drawHighlight({ ctx, points, view, d }, i) {
  const sx = points.x[i] * view.scale + view.tx;
  const sy = points.y[i] * view.scale + view.ty;
  ctx.beginPath();
  ctx.arc(sx, sy, d / 2 + 9, 0, 2 * Math.PI);
  ctx.lineWidth = 2.5;
  ctx.strokeStyle = HIGHLIGHT;
  ctx.stroke();
}

// A bar of a round length (1, 2 or 5 × 10^n metres) about 110 pixels long.
function drawScaleBar(ctx, scale, width, height) {
  const metresPerPx = METRES_PER_DEGREE / scale;
  const target = metresPerPx * 110;
  const magnitude = Math.pow(10, Math.floor(Math.log10(target)));
  const metres = [5, 2, 1].map((m) => m * magnitude).find((m) => m <= target);
  const px = metres / metresPerPx;
  const label = metres >= 1000 ? `${metres / 1000} km` : `${Number(metres.toPrecision(3))} m`;
  const right = width - 16;
  const bottom = height - 14;
  ctx.lineWidth = 2;
  ctx.strokeStyle = LABEL;
  ctx.beginPath();
  ctx.moveTo(right - px, bottom - 6);
  ctx.lineTo(right - px, bottom);
  ctx.lineTo(right, bottom);
  ctx.lineTo(right, bottom - 6);
  ctx.stroke();
  ctx.font = "12px system-ui, sans-serif";
  ctx.fillStyle = LABEL;
  ctx.textAlign = "right";
  ctx.textBaseline = "bottom";
  ctx.fillText(label, right, bottom - 8);
}
