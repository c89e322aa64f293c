// What the pointer and keys do on the map (pan, zoom, lasso, box, hover, click, Escape), and the overlay
// they draw on: the selection, the lasso or box being drawn, the focus and hover rings, the tooltip.
// Functions of the ScatterMap in scatter_map.js; the overlay is redrawn alone, without the points.

function drawOverlay(map) {
  const ctx = map.overlay.getContext("2d");
  const { dpr, width, height } = map.view;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const accent = getComputedStyle(map.overlay).color;
  const fg = getComputedStyle(map.root).color;
  const path = (points, close) => {
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    if (close) ctx.closePath();
  };
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = accent;
  if (map.selection) {
    path(map.selection.map(([x, y]) => map.toScreen(x, y)), true);
    ctx.globalAlpha = 0.08;
    ctx.fillStyle = accent;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.stroke();
  }
  const drag = map.drag;
  if (drag && drag.moved && drag.mode !== "pan") {
    ctx.setLineDash([5, 4]);
    if (drag.mode === "lasso") path(drag.path, true);
    else path([[drag.x0, drag.y0], [drag.x, drag.y0], [drag.x, drag.y], [drag.x0, drag.y]], true);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  const ring = (i, colour, extra) => {
    if (i === null || i < 0 || i >= map.n) return;
    const [x, y] = map.toScreen(map.xs[i], map.ys[i]);
    ctx.beginPath();
    ctx.arc(x, y, map.pointSize() / 2 + extra, 0, 2 * Math.PI);
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.stroke();
  };
  ring(map.focus, accent, 5);
  ring(map.hover, fg, 3);
}

function showTip(map, sx, sy) {
  const i = map.hover;
  if (i < 0) {
    map.tip.hidden = true;
    return;
  }
  let label = null;
  try {
    label = map.labels ? map.labels.get(i) : null;
  } catch (err) {
    label = null; // a label column of a type map Arrow reader lacks: the row number still names the point
  }
  map.tipLabel.textContent = label === null || label === undefined || label === "" ? `row ${i}` : String(label);
  const group = map.legend[map.groups[i]];
  map.tipGroup.textContent = group ? group.label : "";
  map.tip.hidden = false;
  const { width, height } = map.view;
  const box = map.tip.getBoundingClientRect();
  map.tip.style.left = `${sx + 14 + box.width > width ? sx - 14 - box.width : sx + 14}px`;
  map.tip.style.top = `${sy + 14 + box.height > height ? sy - 14 - box.height : sy + 14}px`;
}

function listen(map) {
  const at = (event) => {
    const r = map.overlay.getBoundingClientRect();
    return [event.clientX - r.left, event.clientY - r.top];
  };
  const o = map.overlay;
  o.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || !map.view) return;
    map.root.focus({ preventScroll: true, focusVisible: false }); // so Escape reaches the map
    o.setPointerCapture(event.pointerId);
    const [x, y] = at(event);
    map.drag = { mode: map.mode, x0: x, y0: y, x, y, path: [[x, y]], moved: false };
    event.preventDefault();
  });
  o.addEventListener("pointermove", (event) => {
    const [x, y] = at(event);
    const drag = map.drag;
    if (!drag) {
      const i = map.pick(x, y);
      if (i !== map.hover) (map.hover = i), map.schedule(true);
      showTip(map, x, y);
      return;
    }
    if (Math.hypot(x - drag.x0, y - drag.y0) > CLICK_SLOP_PX) drag.moved = true;
    if (drag.mode === "pan" && drag.moved) {
      map.view.cx -= (x - drag.x) / map.view.kx;
      map.view.cy += (y - drag.y) / map.view.ky;
      map.fitted = false;
      map.schedule();
    } else if (drag.mode === "lasso") {
      const [lx, ly] = drag.path[drag.path.length - 1];
      if (Math.hypot(x - lx, y - ly) >= 2) drag.path.push([x, y]);
      map.schedule(true);
    } else {
      map.schedule(true);
    }
    [drag.x, drag.y] = [x, y];
    map.hover = -1;
    map.tip.hidden = true;
  });
  o.addEventListener("pointerup", (event) => {
    const drag = map.drag;
    if (!drag) return;
    map.drag = null;
    const [x, y] = at(event);
    if (!drag.moved) {
      const i = map.pick(x, y);
      if (i >= 0) {
        map.focus = i; // ringed now: the page's focus catches up a run later
        map.setTriggerValue("clicked", i);
      }
    } else if (drag.mode === "lasso" && drag.path.length >= 3) {
      map.commit(map.toPolygon(simplifyPath(drag.path, LASSO_LIMIT)));
    } else if (drag.mode === "box" && Math.abs(x - drag.x0) > 3 && Math.abs(y - drag.y0) > 3) {
      map.commit(map.toPolygon([[drag.x0, drag.y0], [x, drag.y0], [x, y], [drag.x0, y]]));
    }
    map.schedule(true);
  });
  o.addEventListener("pointercancel", () => {
    map.drag = null;
    map.schedule(true);
  });
  o.addEventListener("pointerleave", () => {
    if (map.drag) return;
    map.hover = -1;
    map.tip.hidden = true;
    map.schedule(true);
  });
  o.addEventListener(
    "wheel",
    (event) => {
      if (!map.view) return;
      event.preventDefault();
      const [sx, sy] = at(event);
      const [x, y] = map.toData(sx, sy);
      const v = map.view;
      const factor = Math.exp(-event.deltaY * (event.deltaMode === 1 ? 0.05 : 0.0015));
      const zoom = Math.min(1e5, Math.max(0.2, (v.kx * factor) / v.fitKx)) / (v.kx / v.fitKx);
      v.kx *= zoom;
      v.ky *= zoom;
      v.cx = x - (sx - v.width / 2) / v.kx;
      v.cy = y + (sy - v.height / 2) / v.ky;
      map.fitted = false;
      map.schedule();
    },
    { passive: false },
  );
  map.root.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (map.drag) map.drag = null;
    else if (map.selection) map.commit([]);
    map.schedule(true);
  });
}
