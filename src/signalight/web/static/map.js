/*
 * The inventory map: points held in typed arrays, a view that pans and zooms
 * (wheel, drag, pinch, keys, buttons), and picking by a grid of screen cells.
 */

import { METRES_PER_DEGREE, STYLES, dotSize, drawScene, styleOf, symbolRadius } from "./draw.js";

const CLICK_SLOP_PX = 5; // a press that moves less than this is a click, not a drag
const REACH_PX = { mouse: 8, touch: 16 }; // how far from an asset a click still picks it
const MAX_ZOOM_OUT = 0.25; // relative to the fitted view
const MIN_METRES_PER_PX = 0.05;
const CELL_PX = 16;
// Room kept free around the fitted data: the zoom buttons sit top right, the scale bar bottom right.
const FIT_PADDING = { left: 24, right: 64, top: 24, bottom: 40 };

export class InventoryMap {
  /** `onSelect(properties or null)` is told whenever a click selects an asset or nothing. */
  constructor(canvas, { onSelect }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.onSelect = onSelect;
    this.view = { scale: 1, tx: 0, ty: 0, fitScale: 1, fitted: true };
    this.width = 0;
    this.height = 0;
    this.dpr = 1;
    this.version = 0; // changes whenever the points or the view do
    this.grid = null;
    this.drawPending = false;
    this.reset();
    this.listen();
    new ResizeObserver(() => this.resize()).observe(canvas.parentElement);
  }

  // ---- points ------------------------------------------------------------

  reset() {
    this.points = {
      n: 0,
      x: new Float64Array(1024), // lon × cos(mid latitude), degrees
      y: new Float64Array(1024), // −lat, degrees, so that north is up
      props: [],
      groups: STYLES.map(() => []), // point indices by style, to draw a colour at a time
      byCode: new Map(),
      cosLat: null,
      minX: Infinity,
      minY: Infinity,
      maxX: -Infinity,
      maxY: -Infinity,
    };
    this.selected = -1;
    this.view.fitted = true;
    this.changed();
  }

  get count() {
    return this.points.n;
  }

  /** How many points each style has, in the order of STYLES. */
  styleCounts() {
    return this.points.groups.map((g) => g.length);
  }

  /** Add a page of GeoJSON Point features; the view follows while the user has not moved it. */
  add(features) {
    const valid = features.filter((f) => {
      const c = f && f.geometry && f.geometry.coordinates;
      return Array.isArray(c) && Number.isFinite(c[0]) && Number.isFinite(c[1]);
    });
    if (valid.length === 0) return;
    const pts = this.points;
    if (pts.cosLat === null) {
      // One equirectangular projection for the whole city, true at its middle latitude.
      const lats = valid.map((f) => f.geometry.coordinates[1]);
      const mid = (Math.min(...lats) + Math.max(...lats)) / 2;
      pts.cosLat = Math.max(0.01, Math.cos((mid * Math.PI) / 180));
    }
    this.grow(pts.n + valid.length);
    const { x, y, cosLat } = pts;
    for (const f of valid) {
      const [lon, lat] = f.geometry.coordinates;
      const p = { ...f.properties, lon, lat };
      const i = pts.n++;
      x[i] = lon * cosLat;
      y[i] = -lat;
      pts.props.push(p);
      pts.groups[styleOf(p)].push(i);
      if (p.code != null) pts.byCode.set(String(p.code), i);
      pts.minX = Math.min(pts.minX, x[i]);
      pts.maxX = Math.max(pts.maxX, x[i]);
      pts.minY = Math.min(pts.minY, y[i]);
      pts.maxY = Math.max(pts.maxY, y[i]);
    }
    if (this.view.fitted) this.fit();
    this.changed();
  }

  grow(needed) {
    const pts = this.points;
    if (needed <= pts.x.length) return;
    let size = pts.x.length;
    while (size < needed) size *= 2;
    for (const key of ["x", "y"]) {
      const bigger = new Float64Array(size);
      bigger.set(pts[key]);
      pts[key] = bigger;
    }
  }

  /** Where an asset is drawn, in viewport (client) pixels; null if there is no such code. */
  screenPositionOf(code) {
    const i = this.points.byCode.get(String(code));
    if (i === undefined) return null;
    const rect = this.canvas.getBoundingClientRect();
    const { scale, tx, ty } = this.view;
    return { x: rect.left + this.points.x[i] * scale + tx, y: rect.top + this.points.y[i] * scale + ty };
  }

  // ---- view --------------------------------------------------------------

  changed() {
    this.version++;
    if (this.drawPending) return;
    this.drawPending = true;
    requestAnimationFrame(() => {
      this.drawPending = false;
      this.draw();
    });
  }

  draw() {
    drawScene(this.ctx, {
      points: this.points,
      view: this.view,
      width: this.width,
      height: this.height,
      dpr: this.dpr,
      zoom: this.view.scale / this.view.fitScale,
      selected: this.selected,
    });
  }

  resize() {
    const rect = this.canvas.parentElement.getBoundingClientRect();
    const w = Math.max(1, Math.round(rect.width));
    const h = Math.max(1, Math.round(rect.height));
    const dpr = window.devicePixelRatio || 1;
    if (w === this.width && h === this.height && dpr === this.dpr) return;
    // Keep the centre where it was when the map changes size.
    this.view.tx += (w - this.width) / 2;
    this.view.ty += (h - this.height) / 2;
    Object.assign(this, { width: w, height: h, dpr });
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    if (this.view.fitted) this.fit();
    this.version++;
    this.draw(); // now, not on the next frame: resizing cleared the canvas
  }

  /** Show all points, as large as the map allows. */
  fit() {
    const pts = this.points;
    const view = this.view;
    view.fitted = true;
    if (pts.n === 0 || this.width < 2 || this.height < 2) return;
    const pad = FIT_PADDING;
    const oneKm = 1000 / METRES_PER_DEGREE; // a single asset is shown with a kilometre around it
    const spanX = Math.max(pts.maxX - pts.minX, oneKm);
    const spanY = Math.max(pts.maxY - pts.minY, oneKm);
    const boxW = Math.max(40, this.width - pad.left - pad.right);
    const boxH = Math.max(40, this.height - pad.top - pad.bottom);
    const scale = Math.min(boxW / spanX, boxH / spanY);
    view.scale = view.fitScale = scale;
    view.tx = pad.left + boxW / 2 - ((pts.minX + pts.maxX) / 2) * scale;
    view.ty = pad.top + boxH / 2 - ((pts.minY + pts.maxY) / 2) * scale;
    this.changed();
  }

  zoomAt(px, py, factor) {
    const view = this.view;
    const min = view.fitScale * MAX_ZOOM_OUT;
    const max = METRES_PER_DEGREE / MIN_METRES_PER_PX;
    const scale = Math.min(max, Math.max(min, view.scale * factor));
    const f = scale / view.scale;
    view.tx = px - (px - view.tx) * f;
    view.ty = py - (py - view.ty) * f;
    view.scale = scale;
    view.fitted = false;
    this.changed();
  }

  zoomCentre(factor) {
    this.zoomAt(this.width / 2, this.height / 2, factor);
  }

  panBy(dx, dy) {
    this.view.tx += dx;
    this.view.ty += dy;
    this.view.fitted = false;
    this.changed();
  }

  // ---- picking -----------------------------------------------------------

  /** Select the asset nearest to (px, py) within `reach` pixels, or nothing. */
  selectAt(px, py, reach) {
    this.select(this.pick(px, py, reach));
  }

  select(i) {
    this.selected = i;
    this.onSelect(i >= 0 ? this.points.props[i] : null);
    this.changed();
  }

  // Points in view go into screen cells of CELL_PX, counted then filled (a
  // counting sort), so a click looks at a few cells and not at every point.
  buildGrid() {
    const cols = Math.ceil(this.width / CELL_PX) + 1;
    const rows = Math.ceil(this.height / CELL_PX) + 1;
    const { x, y, n } = this.points;
    const { scale, tx, ty } = this.view;
    const cellOf = new Int32Array(n);
    const start = new Uint32Array(cols * rows + 1);
    for (let i = 0; i < n; i++) {
      const sx = x[i] * scale + tx;
      const sy = y[i] * scale + ty;
      if (sx < 0 || sy < 0 || sx >= this.width || sy >= this.height) {
        cellOf[i] = -1;
        continue;
      }
      const c = Math.floor(sy / CELL_PX) * cols + Math.floor(sx / CELL_PX);
      cellOf[i] = c;
      start[c + 1]++;
    }
    for (let c = 0; c < cols * rows; c++) start[c + 1] += start[c];
    const next = start.slice(0, cols * rows);
    const items = new Uint32Array(start[cols * rows]);
    for (let i = 0; i < n; i++) if (cellOf[i] >= 0) items[next[cellOf[i]]++] = i;
    this.grid = { cols, rows, start, items, version: this.version };
  }

  pick(px, py, reach) {
    const pts = this.points;
    if (pts.n === 0) return -1;
    if (!this.grid || this.grid.version !== this.version) this.buildGrid();
    const { cols, rows, start, items } = this.grid;
    const { scale, tx, ty } = this.view;
    const d = dotSize(scale / this.view.fitScale);
    // Cabinets and intersections are drawn larger, so they are easier to hit.
    const bonus = STYLES.map((s) => symbolRadius(s, d) - d / 2);
    const span = reach + Math.max(...bonus);
    const c0 = Math.max(0, Math.floor((px - span) / CELL_PX));
    const c1 = Math.min(cols - 1, Math.floor((px + span) / CELL_PX));
    const r0 = Math.max(0, Math.floor((py - span) / CELL_PX));
    const r1 = Math.min(rows - 1, Math.floor((py + span) / CELL_PX));
    let best = -1;
    let bestScore = reach;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * cols + c;
        for (let k = start[cell]; k < start[cell + 1]; k++) {
          const i = items[k];
          const distance = Math.hypot(pts.x[i] * scale + tx - px, pts.y[i] * scale + ty - py);
          const score = distance - bonus[styleOf(pts.props[i])];
          if (score <= bestScore) {
            best = i;
            bestScore = score;
          }
        }
      }
    }
    return best;
  }

  // ---- input -------------------------------------------------------------

  listen() {
    const canvas = this.canvas;
    const pointers = new Map();
    let gesture = null;
    const local = (e) => {
      const rect = canvas.getBoundingClientRect();
      return { x: e.clientX - rect.left, y: e.clientY - rect.top };
    };
    const pinch = () => {
      const [a, b] = [...pointers.values()];
      return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, dist: Math.hypot(a.x - b.x, a.y - b.y) };
    };

    canvas.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        const unit = e.deltaMode === 1 ? 0.05 : e.deltaMode === 2 ? 1 : 0.0015;
        const p = local(e);
        this.zoomAt(p.x, p.y, Math.exp(-e.deltaY * unit));
      },
      { passive: false },
    );

    canvas.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      canvas.setPointerCapture(e.pointerId);
      const p = local(e);
      pointers.set(e.pointerId, p);
      if (pointers.size === 1) {
        const reach = e.pointerType === "mouse" ? REACH_PX.mouse : REACH_PX.touch;
        gesture = { kind: "drag", start: p, last: p, moved: false, reach };
      } else if (pointers.size === 2) {
        gesture = { kind: "pinch", last: pinch() };
      }
    });

    canvas.addEventListener("pointermove", (e) => {
      if (!pointers.has(e.pointerId) || !gesture) return;
      const p = local(e);
      pointers.set(e.pointerId, p);
      if (gesture.kind === "pinch" && pointers.size === 2) {
        const now = pinch();
        if (gesture.last.dist > 0) this.zoomAt(now.x, now.y, now.dist / gesture.last.dist);
        this.panBy(now.x - gesture.last.x, now.y - gesture.last.y);
        gesture.last = now;
        return;
      }
      if (gesture.kind !== "drag") return;
      const far = Math.hypot(p.x - gesture.start.x, p.y - gesture.start.y) > CLICK_SLOP_PX;
      if (!gesture.moved && far) {
        gesture.moved = true;
        canvas.classList.add("is-dragging");
      }
      if (gesture.moved) this.panBy(p.x - gesture.last.x, p.y - gesture.last.y);
      gesture.last = p;
    });

    const end = (e, cancelled) => {
      if (!pointers.has(e.pointerId)) return;
      pointers.delete(e.pointerId);
      if (gesture && gesture.kind === "drag" && !gesture.moved && !cancelled) {
        this.selectAt(gesture.start.x, gesture.start.y, gesture.reach);
      }
      if (pointers.size === 0) {
        gesture = null;
        canvas.classList.remove("is-dragging");
      } else if (gesture && gesture.kind === "pinch") {
        // One finger left after a pinch: it keeps panning, and lifting it is no click.
        const [p] = [...pointers.values()];
        gesture = { kind: "drag", start: p, last: p, moved: true, reach: REACH_PX.touch };
      }
    };
    canvas.addEventListener("pointerup", (e) => end(e, false));
    canvas.addEventListener("pointercancel", (e) => end(e, true));

    const step = 80;
    const keys = {
      ArrowLeft: () => this.panBy(step, 0),
      ArrowRight: () => this.panBy(-step, 0),
      ArrowUp: () => this.panBy(0, step),
      ArrowDown: () => this.panBy(0, -step),
      "+": () => this.zoomCentre(1.5),
      "=": () => this.zoomCentre(1.5),
      "-": () => this.zoomCentre(1 / 1.5),
      0: () => this.fit(),
      Escape: () => this.select(-1),
    };
    canvas.addEventListener("keydown", (e) => {
      const action = keys[e.key];
      if (action && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        action();
      }
    });
  }
}
