// Geometry on the points, all in data coordinates: bounds, the hover grid, point-in-polygon, lasso
// simplification. Each is built once per data (or per selection), never per frame.

function pointBounds(xs, ys, n) {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = xs[i];
    const y = ys[i];
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  if (x0 > x1) return { x0: -1, x1: 1, y0: -1, y1: 1 };
  // A single point, or a line of them, still gets an area to fit.
  if (x1 - x0 < 1e-9) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  return { x0, x1, y0, y1 };
}

// A uniform grid over the bounds (about two points a cell), as a counting sort: the points of cell c are
// items[start[c] .. start[c + 1]). Finding the point nearest the cursor then reads a few cells, whatever n is.
class PointGrid {
  constructor(xs, ys, n, bounds) {
    const side = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(n / 2))));
    this.side = side;
    this.bounds = bounds;
    this.fx = side / (bounds.x1 - bounds.x0);
    this.fy = side / (bounds.y1 - bounds.y0);
    const cells = side * side;
    const cellOf = new Int32Array(n);
    const start = new Uint32Array(cells + 1);
    for (let i = 0; i < n; i++) {
      const c = this.cell(xs[i], ys[i]);
      cellOf[i] = c;
      if (c >= 0) start[c + 1]++;
    }
    for (let c = 0; c < cells; c++) start[c + 1] += start[c];
    const fill = start.slice(0, cells);
    const items = new Uint32Array(start[cells]);
    for (let i = 0; i < n; i++) if (cellOf[i] >= 0) items[fill[cellOf[i]]++] = i;
    this.start = start;
    this.items = items;
  }

  column(x) {
    return Math.min(this.side - 1, Math.max(0, Math.floor((x - this.bounds.x0) * this.fx)));
  }

  row(y) {
    return Math.min(this.side - 1, Math.max(0, Math.floor((y - this.bounds.y0) * this.fy)));
  }

  cell(x, y) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return -1;
    return this.row(y) * this.side + this.column(x);
  }

  // The visible point nearest (x, y) within rx, ry data units (an ellipse: the radius in pixels over the
  // two scales); distance measured in pixels (kx, ky). Ties go to the later point, the one drawn on top.
  nearest(x, y, rx, ry, kx, ky, xs, ys, visible) {
    const c0 = this.column(x - rx);
    const c1 = this.column(x + rx);
    const r0 = this.row(y - ry);
    const r1 = this.row(y + ry);
    if ((c1 - c0 + 1) * (r1 - r0 + 1) > 1 << 18) return -1; // zoomed far out: nothing is "under" the cursor
    let best = -1;
    let bestD = (rx * kx) ** 2;
    for (let r = r0; r <= r1; r++) {
      for (let c = c0; c <= c1; c++) {
        const cell = r * this.side + c;
        for (let k = this.start[cell]; k < this.start[cell + 1]; k++) {
          const i = this.items[k];
          if (!visible(i)) continue;
          const dx = (xs[i] - x) * kx;
          const dy = (ys[i] - y) * ky;
          const d = dx * dx + dy * dy;
          if (d < bestD || (d === bestD && i > best)) {
            bestD = d;
            best = i;
          }
        }
      }
    }
    return best;
  }
}

// Even-odd point-in-polygon with the edges bucketed by horizontal band, so each test reads only the few
// edges that cross its band: a million points against a 200-vertex lasso in a few tens of milliseconds.
function polygonTest(polygon) {
  const m = polygon.length;
  if (m < 3) return () => false;
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const [x, y] of polygon) {
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  const bands = 256;
  const per = bands / (y1 - y0 || 1);
  const buckets = Array.from({ length: bands }, () => []);
  const band = (y) => Math.min(bands - 1, Math.max(0, Math.floor((y - y0) * per)));
  for (let i = 0, j = m - 1; i < m; j = i++) {
    const lo = Math.min(polygon[i][1], polygon[j][1]);
    const hi = Math.max(polygon[i][1], polygon[j][1]);
    for (let b = band(lo); b <= band(hi); b++) buckets[b].push(i);
  }
  return (x, y) => {
    if (!(x >= x0 && x <= x1 && y >= y0 && y <= y1)) return false;
    let inside = false;
    for (const i of buckets[band(y)]) {
      const [xi, yi] = polygon[i];
      const [xj, yj] = polygon[(i + m - 1) % m];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
}

// Ramer-Douglas-Peucker on a closed path of [x, y] (screen pixels), widening the tolerance until at most
// `limit` vertices remain.
function simplifyPath(path, limit) {
  let tolerance = 0.5;
  let out = path;
  while (out.length > limit) {
    out = rdp(path, tolerance);
    tolerance *= 1.6;
  }
  return out;
}

function rdp(path, tolerance) {
  const keep = new Uint8Array(path.length);
  keep[0] = keep[path.length - 1] = 1;
  const stack = [[0, path.length - 1]];
  while (stack.length) {
    const [a, b] = stack.pop();
    const [ax, ay] = path[a];
    const [bx, by] = path[b];
    const len = Math.hypot(bx - ax, by - ay) || 1;
    let worst = -1;
    let worstD = tolerance;
    for (let i = a + 1; i < b; i++) {
      const d = Math.abs((bx - ax) * (ay - path[i][1]) - (ax - path[i][0]) * (by - ay)) / len;
      if (d > worstD) {
        worstD = d;
        worst = i;
      }
    }
    if (worst >= 0) {
      keep[worst] = 1;
      stack.push([a, worst], [worst, b]);
    }
  }
  return path.filter((_, i) => keep[i]);
}
