// Similarity map: a 2D projection of up to a million points, drawn by parts/render.js (WebGL, else Canvas 2D),
// hovered through parts/geometry.js's grid, driven by parts/interaction.js (pointer, keys, the overlay).
// Bundled (see __init__.py) as one ES module: this file, then parts/*.js.
//
// data.points and data.lines arrive as Apache Arrow JS Tables (Streamlit parses the Arrow blobs of the
// DataFrames it was given): x, y are read as Float32Array views, color as Int32Array, label on demand per
// hover (Vector.get), so nothing is copied into JSON or per-point objects. All else (legend, selection, focus,
// labels, height) is JSON. The typed arrays, the grid and the GPU buffers are rebuilt only when the points
// themselves change, never per rerun or per frame.
//
// Python gets back state "selection" (a polygon in data coordinates; [] when cleared) and trigger "clicked"
// (a point's position). Zoom, pan, hover and the legend's hidden groups stay here. User text goes through
// textContent only.
const MAPS = new WeakMap(); // parentElement -> ScatterMap
const LASSO_LIMIT = 200; // vertices sent back for a lasso
const HOVER_PX = 8;
const CLICK_SLOP_PX = 4;
const PAD_PX = 16;
const MODES = [
  ["pan", "Pan", "Pan: drag to move the view"],
  ["lasso", "Lasso", "Lasso: draw around points to select them"],
  ["box", "Box", "Box: drag a rectangle to select points"],
];
const NUMBER = new Intl.NumberFormat("en-US");

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function hexRgb(hex) {
  const m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(hex).trim());
  if (!m) return [136, 136, 136];
  const h = m[1].length === 3 ? [...m[1]].map((c) => c + c).join("") : m[1];
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
}

// "rgb(r, g, b)" / "rgba(r, g, b, a)" (a computed colour) -> [r, g, b, a] in 0..1.
function cssRgba(text, alpha) {
  const parts = (String(text).match(/[\d.]+/g) || ["128", "128", "128"]).map(Number);
  return [parts[0] / 255, parts[1] / 255, parts[2] / 255, alpha];
}

function column(table, name, Type) {
  const vector = table && table.getChild(name);
  if (!vector) return null;
  const values = vector.toArray();
  return values instanceof Type ? values : Type.from(values, Number);
}

function rendererChoice() {
  try {
    return localStorage.getItem("shanty-map-renderer") || "auto";
  } catch (err) {
    return "auto"; // storage blocked: the automatic choice
  }
}

function sameValues(a, b) {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(a[i] !== a[i] && b[i] !== b[i])) return false;
  return true;
}

class ScatterMap {
  constructor(parent) {
    this.root = el("div", { class: "shanty-map", tabindex: "0", "data-testid": "scatter-map" });
    const tools = el("div", { class: "map-tools", role: "toolbar", "aria-label": "Map tools" });
    const modes = el("div", { class: "map-modes", role: "group", "aria-label": "Selection mode" });
    this.modeButtons = MODES.map(([mode, text, label]) => {
      const button = el("button", { type: "button", "data-mode": mode, "aria-label": label, title: label }, text);
      button.addEventListener("click", () => this.setMode(mode));
      modes.appendChild(button);
      return button;
    });
    const reset = el("button", { type: "button", "aria-label": "Reset view: fit every point", title: "Reset view" }, "Reset view");
    reset.addEventListener("click", () => this.fit(true));
    this.clearButton = el("button", { type: "button", "aria-label": "Clear selection (Escape)", title: "Clear selection (Escape)" }, "Clear");
    this.clearButton.addEventListener("click", () => this.commit([]));
    this.count = el("span", { class: "map-count", "aria-live": "polite", "data-testid": "map-count" });
    tools.append(modes, reset, this.clearButton, this.count);
    this.yLabel = el("div", { class: "map-ylabel" });
    this.plot = el("div", { class: "map-plot" });
    this.xLabel = el("div", { class: "map-xlabel" });
    const canvas = el("canvas", { class: "map-points", "aria-hidden": "true" });
    this.overlay = el("canvas", { class: "map-overlay", role: "img", "aria-label": "Scatter plot" });
    this.tip = el("div", { class: "map-tip", role: "tooltip", hidden: "" });
    this.tipLabel = el("div", { class: "tip-label" });
    this.tipGroup = el("div", { class: "tip-group" });
    this.tip.append(this.tipLabel, this.tipGroup);
    this.plot.append(canvas, this.overlay, this.tip);
    const body = el("div", { class: "map-body" });
    body.append(this.yLabel, this.plot, el("div"), this.xLabel);
    this.legendBox = el("div", { class: "map-legend", role: "group", "aria-label": "Legend: click to hide or show a group" });
    this.root.append(tools, body, this.legendBox);
    parent.appendChild(this.root);
    const [renderer, webgl] = makeRenderer(canvas, rendererChoice()); // parts/render.js
    this.renderer = renderer;
    Object.assign(this.root.dataset, { renderer: renderer.kind, webgl });

    this.n = 0;
    this.hidden = new Set(); // legend labels hidden in this browser
    this.selection = null; // polygon in data coordinates, or null
    this.mask = null; // Uint8Array: 1 inside the selection
    this.selected = 0;
    this.hover = -1;
    this.drag = null;
    this.view = null;
    this.fitted = true;
    this.frame = 0;
    this.setMode("pan");
    listen(this); // parts/interaction.js
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(this.plot);
  }

  update(data, setStateValue, setTriggerValue) {
    this.setStateValue = setStateValue;
    this.setTriggerValue = setTriggerValue;
    this.legend = data.legend || [];
    this.labels = (data.points && data.points.getChild("label")) || null;
    const focus = Number.isInteger(data.focus) ? data.focus : null;
    if (focus !== this.lastFocus) [this.focus, this.lastFocus] = [focus, focus]; // else keep a click's ring
    this.xLabel.textContent = data.x_label || "";
    this.yLabel.textContent = data.y_label || "";
    this.plot.style.height = `${data.height || 560}px`;
    const started = performance.now();
    const pointsChanged = this.readPoints(data.points);
    const a = column(data.lines, "a", Int32Array);
    const b = column(data.lines, "b", Int32Array);
    const linesChanged = pointsChanged || !sameValues(a, this.lineA) || !sameValues(b, this.lineB);
    this.root.dataset.lines = String(a ? a.length : 0);
    [this.lineA, this.lineB] = [a, b];
    const wanted = JSON.stringify(data.selection ?? null);
    if (wanted !== this.lastWanted) {
      // Only a selection that changed on the server's side replaces the one drawn here.
      this.lastWanted = wanted;
      if (wanted !== JSON.stringify(this.selection)) this.select(data.selection);
    } else if (pointsChanged) {
      this.select(this.selection);
    }
    this.paint(linesChanged);
    this.root.dataset.buildMs = String(Math.round(performance.now() - started));
    this.resize();
  }

  // True when the points differ from the ones already on the GPU (each rerun hands over a new Arrow table).
  readPoints(table) {
    const xs = column(table, "x", Float32Array) || new Float32Array(0);
    const ys = column(table, "y", Float32Array) || new Float32Array(0);
    const groups = column(table, "color", Int32Array) || new Int32Array(xs.length);
    if (this.xs && sameValues(xs, this.xs) && sameValues(ys, this.ys) && sameValues(groups, this.groups)) return false;
    Object.assign(this, { xs, ys, groups, n: xs.length });
    this.bounds = pointBounds(xs, ys, this.n); // parts/geometry.js
    this.grid = new PointGrid(xs, ys, this.n, this.bounds);
    this.renderer.setPoints(xs, ys, this.n);
    this.groupCounts = [];
    for (let i = 0; i < this.n; i++) this.groupCounts[groups[i]] = (this.groupCounts[groups[i]] || 0) + 1;
    this.fitted = true;
    this.hover = -1;
    this.root.dataset.points = String(this.n);
    return true;
  }

  // Colours (and the lines between visible points) from the legend, the hidden groups and the selection.
  paint(linesToo = true) {
    const { n, groups, mask } = this;
    const rgb = this.legend.map((item) => hexRgb(item.color));
    const hiddenGroup = this.legend.map((item) => this.hidden.has(item.label));
    const base = Math.round(255 * Math.min(0.9, Math.max(0.45, 1.2 - 0.12 * Math.log10(Math.max(n, 10)))));
    const dim = Math.max(10, Math.round(base * 0.18));
    const strong = Math.max(base, 210);
    if (!this.rgba || this.rgba.length !== 4 * n) this.rgba = new Uint8Array(4 * n);
    const out = this.rgba;
    for (let i = 0; i < n; i++) {
      const g = groups[i];
      const c = rgb[g] || [136, 136, 136];
      out[4 * i] = c[0];
      out[4 * i + 1] = c[1];
      out[4 * i + 2] = c[2];
      out[4 * i + 3] = hiddenGroup[g] ? 0 : mask ? (mask[i] ? strong : dim) : base;
    }
    this.renderer.setColors(out);
    if (linesToo || this.legendChanged) this.buildLines(hiddenGroup);
    this.legendChanged = false;
    this.drawLegend();
    this.count.textContent = `${NUMBER.format(n)} points · ${NUMBER.format(this.selected)} selected`;
    this.clearButton.disabled = !this.selection;
    this.schedule();
  }

  buildLines(hiddenGroup) {
    const { lineA, lineB, xs, ys, groups, n } = this;
    const m = lineA && lineB ? Math.min(lineA.length, lineB.length) : 0;
    const segments = new Float32Array(4 * m);
    let k = 0;
    for (let j = 0; j < m; j++) {
      const a = lineA[j];
      const b = lineB[j];
      if (a < 0 || b < 0 || a >= n || b >= n || hiddenGroup[groups[a]] || hiddenGroup[groups[b]]) continue;
      segments.set([xs[a], ys[a], xs[b], ys[b]], k);
      k += 4;
    }
    this.renderer.setLines(segments.subarray(0, k));
  }

  drawLegend() {
    this.legendBox.replaceChildren(
      ...this.legend.map((item, g) => {
        const shown = !this.hidden.has(item.label);
        const button = el("button", { type: "button", class: "map-legend-item", "aria-pressed": String(shown), title: shown ? "Hide this group" : "Show this group" });
        const swatch = el("span", { class: "swatch" });
        swatch.style.background = `rgb(${hexRgb(item.color).join(",")})`;
        button.append(swatch, el("span", { class: "name" }, item.label), el("span", { class: "n" }, NUMBER.format(this.groupCounts[g] || 0)));
        button.addEventListener("click", () => {
          if (shown) this.hidden.add(item.label);
          else this.hidden.delete(item.label);
          this.legendChanged = true;
          this.hover = -1;
          this.paint(false);
        });
        return button;
      }),
    );
  }

  // Mark the points inside `polygon` (or clear with null / []) for highlighting; Python decides the rows.
  select(polygon) {
    const valid = Array.isArray(polygon) && polygon.length >= 3;
    this.selection = valid ? polygon.map(([x, y]) => [Number(x), Number(y)]) : null;
    this.mask = null;
    this.selected = 0;
    if (!this.selection) return;
    const inside = polygonTest(this.selection); // parts/geometry.js
    const mask = new Uint8Array(this.n);
    for (let i = 0; i < this.n; i++) if (inside(this.xs[i], this.ys[i])) (mask[i] = 1), this.selected++;
    this.mask = mask;
  }

  commit(polygon) {
    this.select(polygon);
    this.paint(false);
    this.setStateValue("selection", this.selection || []);
  }

  setMode(mode) {
    this.mode = mode;
    this.root.dataset.mode = mode;
    this.modeButtons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.mode === mode)));
  }

  resize() {
    const width = Math.max(50, this.plot.clientWidth);
    const height = Math.max(50, this.plot.clientHeight);
    const dpr = window.devicePixelRatio || 1;
    for (const canvas of [this.renderer.canvas, this.overlay]) {
      [canvas.width, canvas.height] = [Math.round(width * dpr), Math.round(height * dpr)];
    }
    const previous = this.view;
    this.view = { ...(previous || {}), width, height, dpr };
    if (this.fitted || !previous) this.fit(false);
    this.schedule();
  }

  // Every point in view, each axis scaled to fill the box.
  fit(byUser) {
    const { x0, x1, y0, y1 } = this.bounds || { x0: -1, x1: 1, y0: -1, y1: 1 };
    const { width, height } = this.view;
    const kx = Math.max(1e-9, width - 2 * PAD_PX) / (x1 - x0);
    const ky = Math.max(1e-9, height - 2 * PAD_PX) / (y1 - y0);
    Object.assign(this.view, { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, kx, ky, fitKx: kx });
    this.fitted = true;
    if (byUser) this.schedule();
  }

  toData(sx, sy) {
    const v = this.view;
    return [v.cx + (sx - v.width / 2) / v.kx, v.cy - (sy - v.height / 2) / v.ky];
  }

  toScreen(x, y) {
    const v = this.view;
    return [v.width / 2 + (x - v.cx) * v.kx, v.height / 2 - (y - v.cy) * v.ky];
  }

  pointSize() {
    const base = Math.min(6, Math.max(3, 9 - Math.log10(Math.max(this.n, 1))));
    return base * Math.min(2.5, Math.max(1, (this.view.kx / this.view.fitKx) ** 0.3));
  }

  pick(sx, sy) {
    if (!this.n || !this.view) return -1;
    const [x, y] = this.toData(sx, sy);
    const { kx, ky } = this.view;
    const hiddenGroup = this.legend.map((item) => this.hidden.has(item.label));
    return this.grid.nearest(x, y, HOVER_PX / kx, HOVER_PX / ky, kx, ky, this.xs, this.ys, (i) => !hiddenGroup[this.groups[i]]);
  }

  schedule(overlayOnly = false) {
    this.pending = this.pending === "all" || !overlayOnly ? "all" : "overlay";
    if (this.raf) return;
    this.raf = requestAnimationFrame(() => {
      const all = this.pending === "all";
      this.raf = 0;
      this.pending = null;
      if (!this.view || this.view.cx === undefined) return;
      if (all) this.drawPoints();
      drawOverlay(this); // parts/interaction.js
    });
  }

  drawPoints() {
    const started = performance.now();
    const fg = getComputedStyle(this.root).color;
    this.renderer.draw(this.view, { size: this.pointSize(), line: cssRgba(fg, 0.22) });
    const v = this.view;
    this.plot.dataset.view = [v.cx, v.cy, v.kx, v.ky].join(",");
    this.root.dataset.drawMs = String(Math.round(performance.now() - started));
    this.root.dataset.frames = String(++this.frame);
  }

  // Screen path -> data polygon, each coordinate rounded to a ten-thousandth of the data's extent (short URLs).
  toPolygon(points) {
    const { x0, x1, y0, y1 } = this.bounds;
    const digits = Math.max(0, Math.ceil(-Math.log10(Math.max(x1 - x0, y1 - y0))) + 4);
    return points.map(([sx, sy]) => this.toData(sx, sy).map((v) => Number(v.toFixed(Math.min(12, digits)))));
  }

  dispose() {
    this.resizer.disconnect();
    this.renderer.dispose();
  }
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let map = MAPS.get(parentElement);
  if (!map) {
    map = new ScatterMap(parentElement);
    MAPS.set(parentElement, map);
  }
  map.update(data || {}, setStateValue, setTriggerValue);
  return () => {
    MAPS.delete(parentElement);
    map.dispose();
    map.root.remove();
  };
}
