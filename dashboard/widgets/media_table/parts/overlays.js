// Annotation overlays of image cells (W&B's boxes and masks; see docs/architecture.md, "Tables"): boxes as
// SVG rectangles with a label, each mask as the mask route's coloured PNG laid over the image at half
// opacity, in the table's thumbnails and in the inspector; and the legend that switches each group and
// each class on and off for the whole table, without a rerun (kept per view, like widths and pins).
//
// A cell may carry boxes {group: {box_data, class_labels}}, masks {group: {url, class_labels}}, classes
// [{id, name}] and class_colors {id: "#rrggbb"} (one palette, the library's, so a class has the same
// colour in boxes, masks and the legend). Boxes are drawn in the image's own pixels (viewBox = its natural
// size, fitted like object-fit: contain), so they sit on the picture at any size; labels keep a readable
// size and are left out where the picture is too small for them (the rectangle's tooltip still names it).

const SVG_NS = "http://www.w3.org/2000/svg";
const LABEL_PX = 11; // label text size on screen
const LABELS_FROM_PX = 96; // thumbnails shorter than this show rectangles only
const OVERLAY_NODES = new WeakMap(); // .annotated wrapper -> {cell, svg, width, height}

function svgNode(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function hasOverlays(cell) {
  return Boolean(cell && (cell.boxes || cell.masks));
}

// Every image cell of the page (grouped rows hold arrays of cells).
function imageCells(data) {
  const cells = [];
  data.columns.forEach((column, i) => {
    if (column.kind !== "image") return;
    for (const row of data.rows) {
      const value = row[i];
      for (const cell of Array.isArray(value) ? value : [value]) if (hasOverlays(cell)) cells.push(cell);
    }
  });
  return cells;
}

// The groups and classes the cells show: groups keyed "boxes:<name>" / "masks:<name>", classes by id
// (a class's name from `classes`, else the first group's label for it).
function overlayCatalog(cells) {
  const groups = new Map();
  const classes = new Map();
  const colors = {};
  const name = (id, label) => {
    if (label !== undefined && label !== null && !classes.get(id)) classes.set(id, String(label));
    else if (!classes.has(id)) classes.set(id, null);
  };
  for (const cell of cells) {
    Object.assign(colors, cell.class_colors || {});
    for (const c of cell.classes || []) classes.set(String(c.id), c.name);
    for (const [kind, byGroup] of [["boxes", cell.boxes], ["masks", cell.masks]]) {
      for (const [group, spec] of Object.entries(byGroup || {})) {
        groups.set(`${kind}:${group}`, { kind, name: group });
        for (const [id, label] of Object.entries(spec.class_labels || {})) name(id, label);
        for (const box of spec.box_data || []) name(String(box.class_id));
      }
    }
  }
  const sorted = [...classes.entries()].sort((a, b) => Number(a[0]) - Number(b[0]));
  return { groups, classes: new Map(sorted.map(([id, label]) => [id, label || `class ${id}`])), colors };
}

// What is switched off. Until the user switches anything, a class named "background" starts off: a tint
// over the whole picture hides what the other classes mark.
function overlayOff(view) {
  const saved = view.setting("overlays_off", null);
  if (saved) return { groups: new Set(saved.groups), classes: new Set(saved.classes) };
  const { classes } = overlayCatalog(imageCells(view.data));
  const background = [...classes].filter(([, label]) => /^background$/i.test(label)).map(([id]) => id);
  return { groups: new Set(), classes: new Set(background) };
}

function classColor(cell, id) {
  return (cell.class_colors && cell.class_colors[id]) || "#e6194b";
}

function boxLabel(cell, spec, box) {
  const id = String(box.class_id);
  const known = (cell.classes || []).find((c) => String(c.id) === id);
  const name = (spec.class_labels && spec.class_labels[id]) || (known && known.name) || `class ${id}`;
  const scores = Object.entries(box.scores || {}).filter(([, v]) => Number.isFinite(v));
  const top = scores.sort((a, b) => b[1] - a[1])[0];
  const short = `${box.box_caption || name}${top && !box.box_caption ? ` ${top[1].toFixed(2)}` : ""}`;
  const full = [name, box.box_caption, ...scores.map(([k, v]) => `${k} ${v.toFixed(3)}`)].filter(Boolean).join(" · ");
  return { short, full };
}

// A box in the image's pixels: W&B gives corners or a middle and a size, in pixels or fractions.
function boxRect(box, width, height) {
  const p = box.position || {};
  const sx = box.domain === "pixel" ? 1 : width;
  const sy = box.domain === "pixel" ? 1 : height;
  if (Array.isArray(p.middle)) {
    return { x: (p.middle[0] - p.width / 2) * sx, y: (p.middle[1] - p.height / 2) * sy, w: p.width * sx, h: p.height * sy };
  }
  return { x: p.minX * sx, y: p.minY * sy, w: (p.maxX - p.minX) * sx, h: (p.maxY - p.minY) * sy };
}

function drawOverlays(wrap, state) {
  const { cell, svg } = state;
  const { width, height } = state;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren();
  // Masks get their href from applyOverlays, with the hidden classes already in it (one request, not two).
  for (const [group, spec] of Object.entries(cell.masks || {})) {
    svg.appendChild(svgNode("image", {
      class: "mask", x: 0, y: 0, width, height, preserveAspectRatio: "none",
      "data-group": `masks:${group}`, "data-base": spec.url, "data-testid": "overlay-mask",
    }));
  }
  // Groups alternate solid / dashed outlines, labels above / below the box, so a prediction and the
  // truth it matches stay apart. (Groups come in name order: the library stores them sorted.)
  Object.entries(cell.boxes || {}).forEach(([group, spec], index) => {
    const second = index % 2 === 1;
    for (const box of spec.box_data || []) {
      const r = boxRect(box, width, height);
      if (![r.x, r.y, r.w, r.h].every(Number.isFinite)) continue;
      const color = classColor(cell, String(box.class_id));
      const { short, full } = boxLabel(cell, spec, box);
      const g = svgNode("g", { class: "box", "data-group": `boxes:${group}`, "data-class": String(box.class_id), "data-testid": "overlay-box" });
      const rect = svgNode("rect", {
        x: r.x, y: r.y, width: Math.max(0, r.w), height: Math.max(0, r.h), stroke: color,
        "vector-effect": "non-scaling-stroke", class: second ? "dashed" : null,
      });
      rect.appendChild(svgNode("title", {}, full));
      const text = svgNode("text", { class: "label", x: r.x, y: r.y, "data-top": r.y, "data-bottom": r.y + r.h, "data-below": second ? "1" : null }, short);
      text.style.setProperty("--box", color);
      g.append(rect, text);
      svg.appendChild(g);
    }
  });
  placeLabels(wrap, state);
}

// Labels keep LABEL_PX on screen: their size in the image's pixels follows the rendered scale. They sit
// above their box (below it for the second group), or inside it at the picture's edge.
function placeLabels(wrap, state) {
  const { svg, width, height } = state;
  const shown = svg.getBoundingClientRect();
  if (!shown.width || !width) return;
  const scale = Math.min(shown.width / width, shown.height / height);
  const small = shown.height < LABELS_FROM_PX && !wrap.classList.contains("big");
  wrap.classList.toggle("small", small);
  const size = LABEL_PX / scale;
  svg.querySelectorAll("text.label").forEach((text) => {
    const top = Number(text.dataset.top);
    const bottom = Number(text.dataset.bottom);
    text.setAttribute("font-size", size.toFixed(2));
    text.setAttribute("stroke-width", (3 / scale).toFixed(2));
    const y = text.dataset.below
      ? (bottom + size * 1.05 <= height ? bottom + size * 0.95 : bottom - size * 0.35)
      : (top - size * 1.05 >= 0 ? top - size * 0.3 : top + size * 1.05);
    text.setAttribute("y", y.toFixed(2));
    text.setAttribute("dx", (2 / scale).toFixed(2));
  });
}

// Switch groups and classes on and off on every drawn overlay and legend of the view (or under `roots`).
// A mask hides its classes by asking the mask route again, with ?hide=<ids>.
function applyOverlays(view, roots = [view.root, view.inspector.box]) {
  const off = overlayOff(view);
  const hide = [...off.classes].filter((id) => /^\d+$/.test(id) && Number(id) < 256).sort((a, b) => a - b).join(",");
  for (const root of roots.filter(Boolean)) {
    root.querySelectorAll("[data-testid=overlay-box]").forEach((g) => {
      g.style.display = off.groups.has(g.dataset.group) || off.classes.has(g.dataset.class) ? "none" : "";
    });
    root.querySelectorAll("[data-testid=overlay-mask]").forEach((image) => {
      image.style.display = off.groups.has(image.dataset.group) ? "none" : "";
      const href = hide ? `${image.dataset.base}?hide=${hide}` : image.dataset.base;
      if (image.getAttribute("href") !== href) image.setAttribute("href", href);
    });
    root.querySelectorAll("[data-testid=overlay-legend] button[data-key]").forEach((chip) => {
      const [what, key] = chip.dataset.key.split("|");
      chip.setAttribute("aria-pressed", String(!off[what].has(key)));
    });
  }
}

function toggleOverlay(view, what, key) {
  const off = overlayOff(view);
  if (off[what].has(key)) off[what].delete(key);
  else off[what].add(key);
  view.set("overlays_off", { groups: [...off.groups], classes: [...off.classes] });
  applyOverlays(view);
}

// The image `img` with its cell's overlays on top (or `img` itself when the cell has none).
function annotate(view, cell, img, { big = false } = {}) {
  if (!hasOverlays(cell)) return img;
  const wrap = el("div", { class: big ? "annotated big" : "annotated", "data-testid": "annotated" });
  const svg = svgNode("svg", { class: "overlay", preserveAspectRatio: "xMidYMid meet", "aria-hidden": "true" });
  wrap.append(img, svg);
  const state = { cell, svg, width: 0, height: 0 };
  OVERLAY_NODES.set(wrap, state);
  const draw = () => {
    if (!img.naturalWidth) return;
    Object.assign(state, { width: img.naturalWidth, height: img.naturalHeight });
    drawOverlays(wrap, state);
    applyOverlays(view, [wrap]);
  };
  if (img.complete && img.naturalWidth) requestAnimationFrame(draw);
  else img.addEventListener("load", draw, { once: true });
  new ResizeObserver(() => state.width && placeLabels(wrap, state)).observe(wrap);
  return wrap;
}

// Chips that switch groups and classes: `cells` decides which appear (the page's, or one cell's).
function overlayLegend(view, cells) {
  if (!cells.length) return null;
  const { groups, classes, colors } = overlayCatalog(cells);
  const off = overlayOff(view);
  const legend = el("div", { class: "legend", role: "group", "aria-label": "annotations shown", "data-testid": "overlay-legend" });
  const chip = (what, key, text, color) => {
    const button = el("button", {
      class: `chip ${what === "groups" ? "group" : "class"}`, "data-key": `${what}|${key}`, "aria-pressed": String(!off[what].has(key)),
      "data-testid": what === "groups" ? "legend-group" : "legend-class", title: `show or hide ${text}`,
    });
    if (color) {
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = color;
      button.appendChild(swatch);
    }
    button.appendChild(el("span", {}, text));
    button.onclick = (event) => {
      event.stopPropagation();
      toggleOverlay(view, what, key);
    };
    return button;
  };
  const boxGroups = [...groups.values()].filter((g) => g.kind === "boxes").map((g) => g.name).sort();
  for (const [key, group] of groups) {
    const button = chip("groups", key, group.name);
    // The group's look: a solid or dashed outline (as its boxes are drawn), or a tinted square for a mask.
    const look = group.kind === "masks" ? "mask" : boxGroups.indexOf(group.name) % 2 ? "dashed" : "solid";
    button.prepend(el("span", { class: `look ${look}` }));
    button.title = `show or hide the ${group.kind === "masks" ? "mask" : "boxes"} ${group.name}`;
    legend.appendChild(button);
  }
  for (const [id, label] of classes) legend.appendChild(chip("classes", id, label, colors[id] || "#e6194b"));
  return legend;
}
