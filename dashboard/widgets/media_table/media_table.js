// Media table: one page of rows with playable audio (+ waveform), lazy images and video.
// All user text goes through textContent / attributes, never innerHTML.
const WAVE_CACHE = new Map();

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

async function drawWaveform(canvas, url, audio) {
  try {
    let data = WAVE_CACHE.get(url);
    if (!data) {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) return;
      data = await response.json();
      WAVE_CACHE.set(url, data);
    }
    const ctx = canvas.getContext("2d");
    const { width, height } = canvas;
    const mins = data.mins || [];
    const maxs = data.maxs || [];
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = getComputedStyle(canvas).color || "#2bb3c0";
    const n = maxs.length;
    for (let i = 0; i < n; i++) {
      const x = Math.floor((i / n) * width);
      const top = ((1 - maxs[i]) / 2) * height;
      const bottom = ((1 - mins[i]) / 2) * height;
      ctx.fillRect(x, top, Math.max(1, width / n - 0.5), Math.max(1, bottom - top));
    }
    canvas.onclick = (event) => {
      // With preload="none" the duration is unknown until the first play: seek once it is.
      const rect = canvas.getBoundingClientRect();
      const fraction = (event.clientX - rect.left) / rect.width;
      const seek = () => { audio.currentTime = fraction * audio.duration; };
      if (audio.duration) seek();
      else audio.addEventListener("loadedmetadata", seek, { once: true });
      audio.play();
    };
  } catch (err) {
    // A missing waveform never breaks the table: the player still works.
  }
}

function mediaCell(cell, kind, overlay) {
  const box = el("div", { class: "media" });
  if (kind === "audio") {
    const audio = el("audio", { controls: "", preload: "none", src: cell.url, "data-testid": "media-audio" });
    if (cell.waveform) {
      const canvas = el("canvas", { class: "wave", width: "220", height: "36", title: "click to play from here" });
      box.appendChild(canvas);
      drawWaveform(canvas, cell.waveform, audio);
    }
    box.appendChild(audio);
  } else if (kind === "image") {
    const img = el("img", { loading: "lazy", src: cell.url, alt: cell.caption || "", class: "thumb", "data-testid": "media-image" });
    img.onclick = () => overlay(cell.url, cell.caption);
    box.appendChild(img);
  } else if (kind === "video") {
    box.appendChild(el("video", { controls: "", preload: "metadata", src: cell.url, class: "video", "data-testid": "media-video" }));
  }
  if (cell.caption) box.appendChild(el("div", { class: "caption" }, cell.caption));
  return box;
}

function renderCell(value, kind, overlay) {
  const td = el("td");
  if (value === null || value === undefined) {
    td.appendChild(el("span", { class: "null" }, "–"));
  } else if (Array.isArray(value) && kind) {
    const strip = el("div", { class: "samples" });
    value.forEach((cell) => strip.appendChild(mediaCell(cell, kind, overlay)));
    td.appendChild(strip);
  } else if (kind && typeof value === "object") {
    td.appendChild(mediaCell(value, kind, overlay));
  } else {
    td.textContent = typeof value === "object" ? JSON.stringify(value) : String(value);
    if (typeof value === "number") td.className = "num";
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
      const td = renderCell(value, data.columns[i].kind, overlay);
      if (marked.includes(i)) td.classList.add("changed");
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
  table.appendChild(body);
  root.append(table, overlayBox);
}
