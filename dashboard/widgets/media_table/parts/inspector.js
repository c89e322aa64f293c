// The row inspector: a side panel with every field of one row, its media large (a full waveform and the
// spectrogram, a zoomable image, a video with frame stepping) and, per media cell, where the bytes come
// from (entry path in the artifact, object version, size, digest). Click a row or press Enter on it to
// open; ↓/J and ↑/K step through the page's rows, Esc closes. The open row is in the URL (``row``, 1 =
// the page's first row), so a copied link opens it too.

function setRowInUrl(row) {
  const url = new URL(window.location.href);
  if (row === null) url.searchParams.delete("row");
  else url.searchParams.set("row", String(row + 1));
  window.history.replaceState(window.history.state, "", url);
}

function describe(cell) {
  const facts = [
    ["entry", cell.entry],
    ["object version", cell.object_version],
    ["size", cell.size],
    ["digest", cell.digest],
  ];
  const list = el("dl", { class: "facts" });
  for (const [name, value] of facts) {
    if (value === null || value === undefined || value === "") continue;
    list.append(el("dt", {}, name), el("dd", { title: String(value) }, value));
  }
  return list;
}

class Inspector {
  constructor(view) {
    this.view = view;
    this.row = null;
    this.linkConsumed = false;
    this.box = el("aside", { class: "inspector", hidden: true, role: "dialog", "aria-label": "row details", "data-testid": "inspector", tabindex: "-1" });
    document.addEventListener("keydown", (event) => this.onKey(event));
  }

  attach(parent) {
    if (this.box.parentNode !== parent) parent.appendChild(this.box);
  }

  isOpen() {
    return this.row !== null;
  }

  open(row) {
    const rows = this.view.data.rows;
    if (row < 0 || row >= rows.length) return;
    this.row = row;
    this.render();
    setRowInUrl(row);
    this.box.focus({ preventScroll: true });
    this.view.root.querySelectorAll("tbody tr").forEach((tr) => tr.classList.toggle("inspected", Number(tr.dataset.row) === row));
  }

  close() {
    const row = this.row;
    this.row = null;
    this.box.hidden = true;
    this.box.replaceChildren();
    setRowInUrl(null);
    this.view.root?.querySelectorAll("tbody tr.inspected").forEach((tr) => tr.classList.remove("inspected"));
    this.view.root?.querySelector(`tbody tr[data-row="${row}"]`)?.focus({ preventScroll: false });
  }

  step(delta) {
    if (this.row === null) return;
    const next = this.row + delta;
    if (next >= 0 && next < this.view.data.rows.length) {
      this.open(next);
      this.view.root.querySelector(`tbody tr[data-row="${next}"]`)?.scrollIntoView({ block: "nearest" });
    } else if (this.view.data.can_page && (delta > 0 ? this.view.data.has_next : this.view.data.has_previous)) {
      // Past the page's edge: ask for the next (previous) page, opened at its first (last) row.
      act(this.view, { type: "page", delta });
    }
  }

  onKey(event) {
    if (this.row === null || !this.view.parent.isConnected || typingIn(event)) return;
    if (event.key === "Escape") {
      event.preventDefault();
      this.close();
    } else if (event.key === "ArrowDown" || event.key === "j" || event.key === "J") {
      event.preventDefault();
      this.step(1);
    } else if (event.key === "ArrowUp" || event.key === "k" || event.key === "K") {
      event.preventDefault();
      this.step(-1);
    }
  }

  // A rerun brought new rows: show the same position again, or the row a link or a page step asked for.
  refresh(openRow) {
    const rows = this.view.data.rows;
    if (openRow !== null && openRow !== undefined && !this.consumed(openRow)) {
      this.open(Math.max(0, Math.min(rows.length - 1, openRow < 0 ? rows.length + openRow : openRow)));
    } else if (this.row !== null) {
      if (this.row < rows.length) this.open(this.row);
      else this.close();
    }
  }

  consumed(openRow) {
    // A link's row is opened once per page of data, not again on every rerun of that page.
    const token = `${this.view.data.view_key}|${this.view.data.row_offset}|${openRow}`;
    if (this.lastOpened === token) return true;
    this.lastOpened = token;
    return false;
  }

  render() {
    const { data } = this.view;
    const row = this.row;
    const values = data.rows[row];
    const head = el("div", { class: "bar" });
    const number = (data.row_offset || 0) + row + 1;
    const title = el("strong", { "data-testid": "inspector-title" }, `Row ${number.toLocaleString()}${data.total ? ` of ${data.total.toLocaleString()}` : ""}`);
    const previous = el("button", { "aria-label": "previous row (↑ or K)", "data-testid": "inspector-previous" }, "↑");
    const next = el("button", { "aria-label": "next row (↓ or J)", "data-testid": "inspector-next" }, "↓");
    const close = el("button", { "aria-label": "close (Esc)", "data-testid": "inspector-close" }, "✕");
    previous.onclick = () => this.step(-1);
    next.onclick = () => this.step(1);
    close.onclick = () => this.close();
    head.append(title, previous, next, close);
    const body = el("div", { class: "fields" });
    data.columns.forEach((column, i) => {
      const value = values[i];
      const field = el("section", { class: "field", "data-column": column.name });
      field.appendChild(el("h4", {}, column.name));
      if (value === null || value === undefined) {
        field.appendChild(el("span", { class: "null" }, "—"));
      } else if (column.kind && typeof value === "object") {
        const cells = Array.isArray(value) ? value : [value];
        cells.forEach((cell, s) => {
          if (!cell) return;
          const ctx = { el, view: this.view, column, row, columnIndex: i, ...(Array.isArray(value) ? { sample: s } : {}) };
          const big = Object.hasOwn(BIG, column.kind) ? BIG[column.kind] : Object.hasOwn(RENDERERS, column.kind) ? RENDERERS[column.kind] : linkRenderer;
          const label = cell.caption || cell.name;
          if (label) field.appendChild(el("div", { class: "caption" }, label));
          field.append(big(cell, ctx), describe(cell));
        });
      } else {
        field.appendChild(el("div", { class: column.numeric ? "value num" : "value" }, typeof value === "object" ? JSON.stringify(value) : String(value)));
      }
      body.appendChild(field);
    });
    this.box.replaceChildren(head, body);
    this.box.hidden = false;
    this.view.player.sync();
  }
}
