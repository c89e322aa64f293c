// Media table: one page of rows, dense; each media cell is drawn by the renderer of its column's kind.
//
// Bundled (see __init__.py) as one ES module: this file, then parts/*.js (header menus and statistics,
// the shared A/B player, the row inspector), then renderers/<kind>.js, each registering
// RENDERERS.<kind> = (cell, ctx) => Node, where cell is {url, caption, name, <previews>} and ctx is
// {el, view, row, column}. All user text goes through textContent / attributes, never innerHTML.
//
// Python gets back one trigger, "action": {type: "sort" | "filter" | "filter_text" | "group" |
// "open_group" | "hide", ...}. Everything else (playing, the inspector, pinning, widths, thumbnail size,
// spectrogram toggles) happens here, without a rerun; what should survive one lives in a View, kept per
// mount point and per data.view_key.
const RENDERERS = {};
const BIG = {}; // kind -> (cell, ctx) => Node: the inspector's large view; a kind without one uses RENDERERS
const VIEWS = new WeakMap(); // parentElement -> View

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function formatSeconds(seconds) {
  if (!Number.isFinite(seconds)) return "–:––";
  const s = Math.max(0, seconds);
  const m = Math.floor(s / 60);
  const rest = s - m * 60;
  return `${m}:${rest < 10 ? "0" : ""}${rest.toFixed(s < 10 ? 1 : 0).replace(/\.0$/, "")}`;
}

// Keys typed into a field (ours or Streamlit's) are the field's, never a shortcut.
function typingIn(event) {
  const target = event.composedPath ? event.composedPath()[0] : event.target;
  const tag = (target && target.tagName) || "";
  return /^(INPUT|TEXTAREA|SELECT)$/.test(tag) || (target && target.isContentEditable);
}

// Client-side view settings that outlive a rerun and a reload: per view (table + query shape).
function loadSettings(viewKey) {
  try {
    return JSON.parse(sessionStorage.getItem(`shanty-table:${viewKey}`) || "{}");
  } catch (err) {
    return {};
  }
}

class View {
  constructor(parentElement) {
    this.parent = parentElement;
    this.viewKey = null;
    this.settings = {};
    this.player = new Player(this); // parts/player.js
    this.inspector = new Inspector(this); // parts/inspector.js
    this.data = null;
    this.root = null;
    // A click anywhere but in a column menu closes it.
    document.addEventListener("pointerdown", (event) => {
      if (!event.composedPath().some((node) => node.classList && node.classList.contains("menu"))) closeMenus(this);
    });
    window.addEventListener("resize", () => {
      const scroller = this.root && this.root.querySelector(".scroller");
      if (scroller && scroller.isConnected) fitHeight(scroller);
    });
  }

  save() {
    try {
      sessionStorage.setItem(`shanty-table:${this.viewKey}`, JSON.stringify(this.settings));
    } catch (err) {
      // Private mode or a full store: settings then last for this page only.
    }
  }

  setting(name, fallback) {
    return Object.hasOwn(this.settings, name) ? this.settings[name] : fallback;
  }

  set(name, value) {
    this.settings[name] = value;
    this.save();
  }

  rerender() {
    render(this);
    this.player.sync();
    if (this.inspector.isOpen()) this.inspector.open(this.inspector.row);
  }
}

// A kind without a renderer (a new kind whose file is missing) still opens: a plain link.
function linkRenderer(cell, { el }) {
  return el("a", { href: cell.url, target: "_blank", rel: "noopener", "data-testid": "media-link" }, "open");
}

function mediaCell(view, cell, column, where) {
  const box = el("div", { class: `media media-${column.kind}` });
  const render = Object.hasOwn(RENDERERS, column.kind) ? RENDERERS[column.kind] : linkRenderer;
  box.appendChild(render(cell, { el, view, column, ...where }));
  // Named by its caption, else by its entry path in the artifact (never a machine path or bucket URI).
  const label = cell.caption || cell.name;
  if (label) box.title = label;
  return box;
}

function renderCell(view, value, column, where) {
  const td = el("td", { "data-column": column.name });
  if (value === null || value === undefined) {
    td.appendChild(el("span", { class: "null" }, "—"));
  } else if (Array.isArray(value) && column.kind) {
    const strip = el("div", { class: "samples" });
    value.forEach((cell, i) => cell && strip.appendChild(mediaCell(view, cell, column, { ...where, sample: i })));
    td.appendChild(strip);
  } else if (column.kind && typeof value === "object") {
    td.appendChild(mediaCell(view, value, column, where));
  } else {
    // Values arrive formatted for people (text); numeric columns are right-aligned.
    const text = typeof value === "object" ? JSON.stringify(value) : String(value);
    td.appendChild(el("span", { class: "text" }, text));
    td.title = text;
    if (column.numeric || typeof value === "number") td.classList.add("num");
  }
  return td;
}

// Pinned columns stick to the left edge while the table scrolls sideways: each one's offset is the
// sum of the widths of the pinned columns before it, measured once the table is laid out.
function placePinned(table) {
  let left = 0;
  const heads = [...table.querySelectorAll("thead th.pinned")];
  heads.forEach((th) => {
    const index = th.cellIndex;
    const offset = `${left}px`;
    th.style.left = offset;
    table.querySelectorAll(`tbody tr > :nth-child(${index + 1})`).forEach((td) => {
      td.style.left = offset;
      td.classList.add("pinned");
    });
    left += th.getBoundingClientRect().width;
  });
}

function toolbar(view, data) {
  const bar = el("div", { class: "toolbar", role: "toolbar", "aria-label": "table tools" });
  bar.appendChild(view.player.transport());
  if (data.columns.some((c) => c.kind === "image" || c.kind === "video")) {
    const zoom = el("label", { class: "zoom", title: "thumbnail size" });
    const slider = el("input", {
      type: "range", min: "24", max: "240", step: "8", value: String(view.setting("thumb", 28)),
      "aria-label": "thumbnail size", "data-testid": "thumb-zoom",
    });
    slider.oninput = () => {
      view.set("thumb", Number(slider.value));
      view.root.style.setProperty("--thumb", `${slider.value}px`);
    };
    zoom.append(el("span", {}, "thumbnails"), slider);
    bar.appendChild(zoom);
  }
  const legend = overlayLegend(view, imageCells(data)); // parts/overlays.js: boxes and masks on or off
  if (legend) bar.appendChild(legend);
  const hidden = view.setting("hidden", []);
  if (hidden.length) {
    const show = el("button", { class: "chip", "data-testid": "show-hidden", title: hidden.join(", ") }, `show ${hidden.length} hidden column${hidden.length > 1 ? "s" : ""}`);
    show.onclick = () => {
      view.set("hidden", []);
      view.rerender();
    };
    bar.appendChild(show);
  }
  const help = el("span", { class: "keys", title: "Enter: inspect the focused row · ↑/↓: move · Esc: close · Space: play/pause · X: switch A/B · [ ]: loop in/out · L: loop on/off" }, "keys ?");
  bar.appendChild(help);
  return bar;
}

function buildTable(view, data) {
  const pinned = new Set(view.setting("pinned", data.pinned || []));
  const widths = view.setting("widths", {});
  const hidden = new Set(view.setting("hidden", []));
  const columns = data.columns.map((c, i) => ({ ...c, index: i })).filter((c) => !hidden.has(c.name));
  const table = el("table", { "data-testid": "media-table", class: columns.some((c) => c.stats) ? "" : "no-stats" });
  const head = el("tr");
  for (const column of columns) {
    head.appendChild(headerCell(view, data, column, { pinned: pinned.has(column.name), width: widths[column.name] }));
  }
  table.appendChild(el("thead")).appendChild(head);
  const body = el("tbody");
  data.rows.forEach((row, r) => {
    const tr = el("tr", { tabindex: "0", "data-row": String(r), "aria-rowindex": String((data.row_offset || 0) + r + 1) });
    const marked = (data.highlight && data.highlight[r]) || [];
    for (const column of columns) {
      const td = renderCell(view, row[column.index], column, { row: r, columnIndex: column.index });
      if (marked.includes(column.index)) td.classList.add("changed");
      tr.appendChild(td);
    }
    if (data.grouped && data.can_open_groups) {
      const open = el("button", { class: "open-group", title: "open the rows of this group", "data-testid": "open-group" }, "rows ›");
      open.onclick = (event) => {
        event.stopPropagation();
        act(view, { type: "open_group", row: r, keys: data.group_keys[r] });
      };
      tr.firstChild.appendChild(open);
    }
    tr.addEventListener("click", (event) => {
      // Buttons, links and players inside the row do their own thing.
      if (event.target.closest("button, a, input, video, audio, canvas, .wavebox")) return;
      view.inspector.open(r);
    });
    tr.addEventListener("keydown", (event) => {
      if (typingIn(event)) return;
      if (event.key === "Enter") {
        event.preventDefault();
        view.inspector.open(r);
      } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const next = event.key === "ArrowDown" ? tr.nextElementSibling : tr.previousElementSibling;
        if (next) next.focus();
      }
    });
    body.appendChild(tr);
  });
  table.appendChild(body);
  return table;
}

// The table fills what is left of the first screen below it, and scrolls inside (header on top).
function fitHeight(scroller) {
  const top = scroller.getBoundingClientRect().top + window.scrollY;
  scroller.style.maxHeight = `${Math.max(320, window.innerHeight - Math.min(top, window.innerHeight * 0.6) - 12)}px`;
}

function render(view) {
  const { data, parent } = view;
  parent.querySelector(".shanty-table")?.remove();
  const root = el("div", { class: "shanty-table" });
  root.style.setProperty("--thumb", `${view.setting("thumb", 28)}px`);
  view.root = root;
  const scroller = el("div", { class: "scroller", "data-testid": "table-scroller" });
  const table = buildTable(view, data);
  scroller.appendChild(table);
  root.append(toolbar(view, data), scroller);
  parent.prepend(root);
  view.player.attach(parent);
  view.inspector.attach(parent);
  requestAnimationFrame(() => {
    fitHeight(scroller);
    placePinned(table);
  });
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let view = VIEWS.get(parentElement);
  if (!view) {
    view = new View(parentElement);
    VIEWS.set(parentElement, view);
  }
  if (view.viewKey !== data.view_key) {
    view.viewKey = data.view_key;
    view.settings = loadSettings(data.view_key);
  }
  view.data = data;
  view.setTriggerValue = setTriggerValue;
  render(view);
  view.player.refresh();
  view.inspector.refresh(data.open_row);
  // No cleanup function: players live beside the table so a rerun does not cut the sound; when the
  // whole element goes (another page), its audio elements leave the document and stop by themselves.
}
