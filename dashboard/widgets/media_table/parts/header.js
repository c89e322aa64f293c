// Column headers: sort by clicking the name; a menu (sort, filter, group, pin, hide, spectrogram) on the
// ⋮ button; statistics of the filtered rows under the name, computed by the engine in Python: a mini
// histogram for numbers (click a bar, or drag across bars, to filter to that range) or the most frequent
// values with their counts (click one to keep only it). Everything is a <button>: Tab reaches it, Enter
// or Space uses it.

// Every action goes back to Python through this one trigger, with a nonce so a repeat is a new action.
function act(view, action) {
  view.setTriggerValue("action", { ...action, nonce: Date.now() });
}

function histogramStrip(view, column) {
  const stats = column.stats;
  const counts = stats.counts;
  const top = Math.max(1, ...counts);
  const strip = el("div", { class: "hist", role: "group", "aria-label": `${column.name}: distribution` });
  const range = (a, b) => {
    const [low, high] = a <= b ? [a, b] : [b, a];
    // One bin per value (small integer ranges): a bar is that value; otherwise a bar is [edge, next edge].
    if (stats.discrete) {
      return low === high
        ? { op: "=", value: stats.edges[low] }
        : { op: "between", value: [stats.edges[low], stats.edges[high]] };
    }
    return { op: "between", value: [stats.edges[low], stats.edges[high + 1]] };
  };
  let brushFrom = null;
  const bars = counts.map((count, i) => {
    const bar = el("button", {
      class: "bar",
      "data-testid": "header-bar",
      "data-index": String(i),
      title: `${stats.labels[i]}: ${count.toLocaleString()} rows (click to filter; drag across bars for a range)`,
      "aria-label": `${stats.labels[i]}: ${count} rows`,
    });
    bar.appendChild(el("span", { class: "fill" })).style.height = `${count ? Math.max(8, (100 * count) / top) : 0}%`;
    bar.addEventListener("pointerdown", (event) => {
      brushFrom = i;
      event.preventDefault();
    });
    bar.addEventListener("pointerenter", () => {
      if (brushFrom === null) return;
      bars.forEach((b, k) => b.classList.toggle("brushed", (k - brushFrom) * (k - i) <= 0));
    });
    bar.addEventListener("pointerup", (event) => {
      if (brushFrom === null) return;
      event.preventDefault();
      const from = brushFrom;
      brushFrom = null;
      act(view, { type: "filter", column: column.name, ...range(from, i) });
    });
    bar.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        act(view, { type: "filter", column: column.name, ...range(i, i) });
      }
    });
    return bar;
  });
  strip.addEventListener("pointerleave", () => {
    brushFrom = null;
    bars.forEach((b) => b.classList.remove("brushed"));
  });
  strip.append(...bars);
  return strip;
}

function valueButton(view, column, item, total, testid) {
  const button = el("button", {
    class: "value",
    "data-testid": testid,
    title: `${item.label}: ${item.count.toLocaleString()} rows (click to keep only these)`,
  });
  const share = total ? (100 * item.count) / total : 0;
  button.append(el("span", { class: "share" }), el("span", { class: "label" }, item.label), el("span", { class: "count" }, item.count_label));
  button.firstChild.style.width = `${share}%`;
  button.onclick = (event) => {
    event.stopPropagation();
    act(view, { type: "filter", column: column.name, op: "=", value: item.value });
  };
  return button;
}

function statsBlock(view, column) {
  const stats = column.stats;
  if (!stats) return el("div", { class: "stats empty" });
  if (stats.type === "histogram") {
    const box = el("div", { class: "stats" });
    box.appendChild(histogramStrip(view, column));
    return box;
  }
  const box = el("div", { class: "stats top" });
  stats.values.slice(0, 2).forEach((item) => box.appendChild(valueButton(view, column, item, stats.rows, "header-value")));
  // Two values fit the header; the menu lists the rest (and how many more there are).
  if (stats.values.length > 2 || stats.more) box.title = `${stats.values.length} most frequent in the menu ⋮ ${stats.more}`.trim();
  return box;
}

function closeMenus(view) {
  view.root?.querySelectorAll(".menu").forEach((menu) => menu.remove());
}

function menuItem(label, onClick, testid) {
  const item = el("button", { class: "item", role: "menuitem", "data-testid": testid }, label);
  item.onclick = (event) => {
    event.stopPropagation();
    onClick();
  };
  return item;
}

function openMenu(view, data, column, th, pinned) {
  closeMenus(view);
  const menu = el("div", { class: "menu", role: "menu", "aria-label": `${column.name} column`, "data-testid": "column-menu" });
  const items = [];
  if (column.sortable) {
    items.push(menuItem("Sort ascending ▲", () => act(view, { type: "sort", column: column.name, descending: false }), "menu-sort-asc"));
    items.push(menuItem("Sort descending ▼", () => act(view, { type: "sort", column: column.name, descending: true }), "menu-sort-desc"));
    if (data.sort && data.sort.column === column.name) {
      items.push(menuItem("Clear the sort", () => act(view, { type: "sort", column: column.name, clear: true }), "menu-sort-clear"));
    }
  }
  if (column.groupable && !data.grouped) {
    items.push(menuItem("Group by this column", () => act(view, { type: "group", column: column.name }), "menu-group"));
  }
  items.push(
    menuItem(pinned ? "Unpin the column" : "Pin the column to the left", () => {
      const now = new Set(view.setting("pinned", data.pinned || []));
      pinned ? now.delete(column.name) : now.add(column.name);
      view.set("pinned", [...now]);
      closeMenus(view);
      view.rerender();
    }, "menu-pin"),
  );
  items.push(
    menuItem("Hide the column", () => {
      view.set("hidden", [...new Set([...view.setting("hidden", []), column.name])]);
      closeMenus(view);
      view.rerender();
    }, "menu-hide"),
  );
  if (column.kind === "audio") {
    const spectrogram = view.setting("spectrogram", {})[column.name];
    items.push(
      menuItem(spectrogram ? "Show waveforms" : "Show spectrograms", () => {
        view.set("spectrogram", { ...view.setting("spectrogram", {}), [column.name]: !spectrogram });
        closeMenus(view);
        view.rerender();
      }, "menu-spectrogram"),
    );
  }
  menu.append(...items);
  if (column.filterable && data.operators) {
    const form = el("form", { class: "filter", "aria-label": `filter ${column.name}` });
    const op = el("select", { "aria-label": "operator" });
    data.operators.forEach((name) => op.appendChild(el("option", { value: name }, name)));
    const text = el("input", { type: "text", placeholder: "value (a, b for between / in)", "aria-label": "value", "data-testid": "menu-filter-value" });
    const apply = el("button", { type: "submit", class: "item", "data-testid": "menu-filter-apply" }, "Filter");
    form.append(op, text, apply);
    form.onsubmit = (event) => {
      event.preventDefault();
      act(view, { type: "filter_text", column: column.name, op: op.value, text: text.value });
    };
    menu.appendChild(form);
  }
  if (column.stats && column.stats.type === "top" && (column.stats.values.length > 2 || column.stats.more)) {
    const list = el("div", { class: "values", role: "group", "aria-label": "most frequent values" });
    column.stats.values.forEach((item) => list.appendChild(valueButton(view, column, item, column.stats.rows, "menu-value")));
    if (column.stats.more) list.appendChild(el("span", { class: "more" }, column.stats.more));
    menu.appendChild(list);
  }
  // Fixed to the viewport under the header: inside the scroller it would be clipped.
  const rect = th.getBoundingClientRect();
  menu.style.left = `${Math.min(rect.left, window.innerWidth - 280)}px`;
  menu.style.top = `${rect.bottom + 2}px`;
  menu.addEventListener("keydown", (event) => {
    const focusable = [...menu.querySelectorAll("button, select, input")];
    const at = focusable.indexOf(event.composedPath()[0]);
    if (event.key === "Escape") {
      event.stopPropagation();
      closeMenus(view);
      th.querySelector(".menu-button")?.focus();
    } else if ((event.key === "ArrowDown" || event.key === "ArrowUp") && !typingIn(event)) {
      event.preventDefault();
      const next = focusable[(at + (event.key === "ArrowDown" ? 1 : -1) + focusable.length) % focusable.length];
      next?.focus();
    }
  });
  view.root.appendChild(menu);
  items[0]?.focus();
}

function headerCell(view, data, column, { pinned, width }) {
  const sorted = data.sort && data.sort.column === column.name;
  const th = el("th", {
    "data-column": column.name,
    class: [pinned ? "pinned" : "", column.kind ? `kind-${column.kind}` : "", column.numeric ? "num" : ""].join(" ").trim(),
    "aria-sort": sorted ? (data.sort.descending ? "descending" : "ascending") : null,
    scope: "col",
  });
  if (width) th.style.width = th.style.minWidth = th.style.maxWidth = `${width}px`;
  const head = el("div", { class: "head" });
  const arrow = sorted ? (data.sort.descending ? " ▼" : " ▲") : "";
  const name = column.sortable
    ? el("button", { class: "name", "data-testid": "header-sort", title: `sort by ${column.name}` }, column.name + arrow)
    : el("span", { class: "name", title: data.grouped ? "samples cannot be sorted" : "" }, column.name);
  if (column.sortable) name.onclick = () => act(view, { type: "sort", column: column.name });
  const menuButton = el("button", { class: "menu-button", "data-testid": "header-menu", "aria-haspopup": "menu", "aria-label": `${column.name} column menu`, title: "sort, filter, group, pin, hide" }, "⋮");
  menuButton.onclick = (event) => {
    event.stopPropagation();
    openMenu(view, data, column, th, pinned);
  };
  head.append(name, menuButton);
  th.append(head, statsBlock(view, column));
  const grip = el("span", { class: "resizer", "data-testid": "header-resize", title: "drag to resize" });
  grip.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    event.stopPropagation();
    const start = event.clientX;
    const initial = th.getBoundingClientRect().width;
    grip.setPointerCapture(event.pointerId);
    const move = (e) => {
      const w = Math.max(48, Math.round(initial + e.clientX - start));
      th.style.width = th.style.minWidth = th.style.maxWidth = `${w}px`;
    };
    const up = () => {
      grip.removeEventListener("pointermove", move);
      view.set("widths", { ...view.setting("widths", {}), [column.name]: Math.round(th.getBoundingClientRect().width) });
      placePinned(th.closest("table"));
    };
    grip.addEventListener("pointermove", move);
    grip.addEventListener("pointerup", up, { once: true });
  });
  th.appendChild(grip);
  return th;
}
