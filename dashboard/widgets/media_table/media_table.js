// Media table: one page of rows; each media cell is drawn by the renderer of its column's kind.
// Renderers live in renderers/<kind>.js, bundled after this file (see __init__.py), and register
// themselves as RENDERERS.<kind> = (cell, ctx) => Node, where cell is {url, caption, <previews>}
// and ctx is {el, overlay}. All user text goes through textContent / attributes, never innerHTML.
const RENDERERS = {};

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// A kind without a renderer (a new kind whose file is missing) still opens: a plain link.
function linkRenderer(cell, { el }) {
  return el("a", { href: cell.url, target: "_blank", rel: "noopener", "data-testid": "media-link" }, "open");
}

function mediaCell(cell, kind, overlay) {
  const box = el("div", { class: "media" });
  const render = Object.hasOwn(RENDERERS, kind) ? RENDERERS[kind] : linkRenderer;
  box.appendChild(render(cell, { el, overlay }));
  // Named by its caption, else by its entry path in the artifact (never a machine path or bucket URI).
  const label = cell.caption || cell.name;
  if (label) box.appendChild(el("div", { class: "caption", title: cell.name || "" }, label));
  return box;
}

function renderCell(value, column, overlay) {
  const kind = column.kind;
  const td = el("td");
  if (value === null || value === undefined) {
    td.appendChild(el("span", { class: "null" }, "—"));
  } else if (Array.isArray(value) && kind) {
    const strip = el("div", { class: "samples" });
    value.forEach((cell) => strip.appendChild(mediaCell(cell, kind, overlay)));
    td.appendChild(strip);
  } else if (kind && typeof value === "object") {
    td.appendChild(mediaCell(value, kind, overlay));
  } else {
    // Values arrive formatted for people (text); numeric columns are right-aligned.
    td.textContent = typeof value === "object" ? JSON.stringify(value) : String(value);
    if (column.numeric || typeof value === "number") td.className = "num";
  }
  return td;
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  // Replace only our own node: the parent also holds the component's <style>.
  parentElement.querySelector(".shanty-table")?.remove();
  const root = el("div", { class: "shanty-table" });
  parentElement.appendChild(root);

  const overlayBox = el("div", { class: "overlay", hidden: "" });
  const big = el("img", { class: "big" });
  const bigCaption = el("div", { class: "caption" });
  overlayBox.append(big, bigCaption);
  overlayBox.onclick = () => overlayBox.setAttribute("hidden", "");
  const overlay = (url, caption) => {
    big.src = url;
    bigCaption.textContent = caption || "";
    overlayBox.removeAttribute("hidden");
  };

  const table = el("table", { "data-testid": "media-table" });
  const head = el("tr");
  const sort = data.sort || {};
  for (const column of data.columns) {
    const arrow = sort.column === column.name ? (sort.descending ? " ▼" : " ▲") : "";
    const th = el("th", { title: "sort by this column", "data-column": column.name }, column.name + arrow);
    th.onclick = () => setTriggerValue("sort", { column: column.name, nonce: Date.now() });
    head.appendChild(th);
  }
  table.appendChild(el("thead")).appendChild(head);
  const body = el("tbody");
  data.rows.forEach((row, r) => {
    const tr = el("tr");
    const marked = (data.highlight && data.highlight[r]) || [];
    row.forEach((value, i) => {
      const td = renderCell(value, data.columns[i], overlay);
      if (marked.includes(i)) td.classList.add("changed");
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
  table.appendChild(body);
  root.append(table, overlayBox);
}
