// Image cells: a lazy thumbnail (loaded only when scrolled into view), as tall as the toolbar's size
// slider says, with its boxes and masks on top (parts/overlays.js); a click opens the row in the
// inspector, which zooms and pans the full image and its overlays together.
RENDERERS.image = (cell, { el, view, row }) => {
  const img = el("img", { loading: "lazy", src: cell.url, alt: cell.caption || cell.name || "", class: "thumb", "data-testid": "media-image" });
  const node = annotate(view, cell, img);
  node.onclick = (event) => {
    event.stopPropagation();
    view.inspector.open(row);
  };
  return node;
};

// The inspector's image, fitted to the viewer: wheel or +/- to zoom (around the pointer), drag to pan,
// 0 or double-click to fit. Overlays move with it; above it, the legend of this cell's groups and classes.
BIG.image = (cell, { el, view }) => {
  const node = el("div", { class: "big-image" });
  const frame = el("div", { class: "viewer", tabindex: "0", "data-testid": "image-viewer", "aria-label": "image: wheel or +/- zooms, drag pans, 0 fits" });
  const img = el("img", { src: cell.url, alt: cell.caption || cell.name || "", draggable: "false", "data-testid": "inspector-image" });
  const stage = el("div", { class: "stage" });
  stage.appendChild(annotate(view, cell, img, { big: true }));
  frame.appendChild(stage);
  const state = { scale: 1, x: 0, y: 0 };
  const label = el("span", { class: "zoom-label", "data-testid": "image-zoom" }, "100%");
  const apply = () => {
    stage.style.transform = `translate(${state.x}px, ${state.y}px) scale(${state.scale})`;
    label.textContent = `${Math.round(state.scale * 100)}%`;
  };
  const zoom = (factor, cx = frame.clientWidth / 2, cy = frame.clientHeight / 2) => {
    const scale = Math.min(32, Math.max(0.25, state.scale * factor));
    // Keep the point under (cx, cy) where it is.
    state.x = cx - ((cx - state.x) * scale) / state.scale;
    state.y = cy - ((cy - state.y) * scale) / state.scale;
    state.scale = scale;
    apply();
  };
  const fit = () => Object.assign(state, { scale: 1, x: 0, y: 0 }) && apply();
  frame.addEventListener("wheel", (event) => {
    event.preventDefault();
    const rect = frame.getBoundingClientRect();
    zoom(event.deltaY < 0 ? 1.2 : 1 / 1.2, event.clientX - rect.left, event.clientY - rect.top);
  }, { passive: false });
  let drag = null;
  frame.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX - state.x, y: event.clientY - state.y };
    frame.setPointerCapture(event.pointerId);
  });
  frame.addEventListener("pointermove", (event) => {
    if (!drag) return;
    state.x = event.clientX - drag.x;
    state.y = event.clientY - drag.y;
    apply();
  });
  frame.addEventListener("pointerup", () => { drag = null; });
  frame.addEventListener("dblclick", fit);
  frame.addEventListener("keydown", (event) => {
    if (event.key === "+" || event.key === "=") zoom(1.25);
    else if (event.key === "-") zoom(0.8);
    else if (event.key === "0") fit();
    else return;
    event.preventDefault();
    event.stopPropagation();
  });
  const controls = el("div", { class: "line" });
  const out = el("button", { "aria-label": "zoom out", "data-testid": "image-zoom-out" }, "−");
  const into = el("button", { "aria-label": "zoom in", "data-testid": "image-zoom-in" }, "+");
  const reset = el("button", { "aria-label": "fit" }, "fit");
  const full = el("a", { href: cell.url, target: "_blank", rel: "noopener" }, "open full size");
  out.onclick = () => zoom(0.8);
  into.onclick = () => zoom(1.25);
  reset.onclick = fit;
  controls.append(out, label, into, reset, full);
  const legend = overlayLegend(view, hasOverlays(cell) ? [cell] : []);
  if (legend) node.appendChild(legend);
  node.append(frame, controls);
  return node;
};
