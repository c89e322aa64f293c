// The two ways the points reach the screen, one interface: setPoints (once per data), setColors (per
// selection or legend change), setLines, draw(view) per frame. WebGL draws every point in one gl.POINTS
// call on the GPU. Without a GPU (no WebGL, or WebGL emulated on the CPU: SwiftShader, llvmpipe) a
// Canvas-2D renderer writes the pixels into an ImageData instead: software WebGL spends about 0.85 s on
// a frame of a million points, the ImageData loop about 60 ms.
// Colours are RGBA bytes per point; alpha 0 hides a point (a hidden legend group).

const VERTEX_SHADER = `
attribute vec2 a_pos;
attribute vec4 a_color;
uniform vec2 u_center;
uniform vec2 u_scale;
uniform float u_size;
varying vec4 v_color;
void main() {
  gl_Position = vec4((a_pos - u_center) * u_scale, 0.0, 1.0);
  gl_PointSize = a_color.a > 0.0 ? u_size : 0.0;
  v_color = a_color;
}`;

const FRAGMENT_SHADER = `
precision mediump float;
varying vec4 v_color;
uniform float u_round;
void main() {
  if (u_round > 0.5) {
    vec2 d = gl_PointCoord - vec2(0.5);
    if (dot(d, d) > 0.25) discard;
  }
  gl_FragColor = vec4(v_color.rgb * v_color.a, v_color.a);
}`;

function compileProgram(gl) {
  const shader = (type, source) => {
    const s = gl.createShader(type);
    gl.shaderSource(s, source);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
    return s;
  };
  const program = gl.createProgram();
  gl.attachShader(program, shader(gl.VERTEX_SHADER, VERTEX_SHADER));
  gl.attachShader(program, shader(gl.FRAGMENT_SHADER, FRAGMENT_SHADER));
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
  return program;
}

class GLRenderer {
  // Throws when the browser gives no WebGL context; the caller then uses CanvasRenderer.
  constructor(canvas) {
    const options = { antialias: false, preserveDrawingBuffer: true, premultipliedAlpha: true, alpha: true };
    const gl = canvas.getContext("webgl", options) || canvas.getContext("experimental-webgl", options);
    if (!gl) throw new Error("no WebGL");
    this.kind = "webgl";
    this.canvas = canvas;
    this.gl = gl;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    const name = `${gl.getParameter(gl.RENDERER)} ${info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : ""}`;
    this.software = /swiftshader|llvmpipe|softpipe|software|basic render/i.test(name);
    this.program = compileProgram(gl);
    this.loc = {
      pos: gl.getAttribLocation(this.program, "a_pos"),
      color: gl.getAttribLocation(this.program, "a_color"),
      center: gl.getUniformLocation(this.program, "u_center"),
      scale: gl.getUniformLocation(this.program, "u_scale"),
      size: gl.getUniformLocation(this.program, "u_size"),
      round: gl.getUniformLocation(this.program, "u_round"),
    };
    this.positions = gl.createBuffer();
    this.colors = gl.createBuffer();
    this.linePositions = gl.createBuffer();
    this.count = 0;
    this.lineCount = 0;
  }

  setPoints(xs, ys, n) {
    const xy = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      xy[2 * i] = xs[i];
      xy[2 * i + 1] = ys[i];
    }
    const { gl } = this;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.positions);
    gl.bufferData(gl.ARRAY_BUFFER, xy, gl.STATIC_DRAW);
    this.count = n;
  }

  setColors(rgba) {
    const { gl } = this;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.colors);
    gl.bufferData(gl.ARRAY_BUFFER, rgba, gl.DYNAMIC_DRAW);
  }

  // segments: Float32Array of x0, y0, x1, y1 per line.
  setLines(segments) {
    const { gl } = this;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.linePositions);
    gl.bufferData(gl.ARRAY_BUFFER, segments, gl.DYNAMIC_DRAW);
    this.lineCount = segments.length / 2;
  }

  draw(view, style) {
    const { gl, loc, canvas } = this;
    gl.viewport(0, 0, canvas.width, canvas.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.useProgram(this.program);
    gl.uniform2f(loc.center, view.cx, view.cy);
    gl.uniform2f(loc.scale, (2 * view.kx) / view.width, (2 * view.ky) / view.height);
    if (this.lineCount) {
      gl.uniform1f(loc.round, 0);
      gl.bindBuffer(gl.ARRAY_BUFFER, this.linePositions);
      gl.enableVertexAttribArray(loc.pos);
      gl.vertexAttribPointer(loc.pos, 2, gl.FLOAT, false, 0, 0);
      gl.disableVertexAttribArray(loc.color);
      gl.vertexAttrib4f(loc.color, ...style.line);
      gl.drawArrays(gl.LINES, 0, this.lineCount);
    }
    gl.uniform1f(loc.round, 1);
    gl.uniform1f(loc.size, style.size * view.dpr);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.positions);
    gl.enableVertexAttribArray(loc.pos);
    gl.vertexAttribPointer(loc.pos, 2, gl.FLOAT, false, 0, 0);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.colors);
    gl.enableVertexAttribArray(loc.color);
    gl.vertexAttribPointer(loc.color, 4, gl.UNSIGNED_BYTE, true, 0, 0);
    gl.drawArrays(gl.POINTS, 0, this.count);
  }

  dispose() {
    this.gl.getExtension("WEBGL_lose_context")?.loseContext();
  }
}

class CanvasRenderer {
  constructor(canvas) {
    this.kind = "canvas";
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.scratch = document.createElement("canvas");
    this.segments = new Float32Array(0);
  }

  setPoints(xs, ys, n) {
    this.xs = xs;
    this.ys = ys;
    this.count = n;
  }

  setColors(rgba) {
    // ImageData's bytes are RGBA in memory order too, so a point's colour is one 32-bit store.
    this.colors = new Uint32Array(rgba.buffer, rgba.byteOffset, rgba.length / 4);
    this.alpha = rgba;
  }

  setLines(segments) {
    this.segments = segments;
  }

  draw(view, style) {
    const { canvas, ctx, scratch, xs, ys, colors, alpha } = this;
    const w = canvas.width;
    const h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    const sx = view.kx * view.dpr;
    const sy = view.ky * view.dpr;
    const ox = w / 2 - view.cx * sx;
    const oy = h / 2 + view.cy * sy;
    if (this.segments.length) {
      const [r, g, b, a] = style.line;
      ctx.strokeStyle = `rgba(${r * 255}, ${g * 255}, ${b * 255}, ${a})`;
      ctx.lineWidth = view.dpr;
      ctx.beginPath();
      const s = this.segments;
      for (let k = 0; k < s.length; k += 4) {
        ctx.moveTo(ox + s[k] * sx, oy - s[k + 1] * sy);
        ctx.lineTo(ox + s[k + 2] * sx, oy - s[k + 3] * sy);
      }
      ctx.stroke();
    }
    if (scratch.width !== w || scratch.height !== h) [scratch.width, scratch.height] = [w, h];
    const sctx = scratch.getContext("2d");
    const image = sctx.createImageData(w, h);
    const pixels = new Uint32Array(image.data.buffer);
    const size = Math.max(1, Math.round(style.size * view.dpr));
    const half = size >> 1;
    // The pixel offsets of one round point (a square below 4 px, where a disc would lose its shape).
    const round = [];
    const r2 = (size / 2) ** 2;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) if (size < 4 || (x + 0.5 - size / 2) ** 2 + (y + 0.5 - size / 2) ** 2 <= r2) round.push(x, y);
    }
    const offsets = Int32Array.from(round);
    // Faint points first, then the opaque ones, so a selection is never buried under its dimmed neighbours.
    for (const strong of [false, true]) {
      for (let i = 0; i < this.count; i++) {
        const a = alpha[4 * i + 3];
        if (a === 0 || a > 60 !== strong) continue;
        const px = Math.round(ox + xs[i] * sx) - half;
        const py = Math.round(oy - ys[i] * sy) - half;
        if (px < -size || py < -size || px >= w || py >= h) continue;
        // Overlapping points add up their alpha (the last one's colour shows), so dense clusters read
        // as dense, as with WebGL's blending. Alpha is the high byte: every browser here is little-endian.
        const rgb = colors[i] & 0xffffff;
        for (let k = 0; k < offsets.length; k += 2) {
          const x = px + offsets[k];
          const y = py + offsets[k + 1];
          if (x < 0 || y < 0 || x >= w || y >= h) continue;
          const j = y * w + x;
          const sum = (pixels[j] >>> 24) + a;
          pixels[j] = rgb | ((sum > 255 ? 255 : sum) << 24);
        }
      }
    }
    sctx.putImageData(image, 0, 0);
    ctx.drawImage(scratch, 0, 0);
  }

  dispose() {}
}

// choice "auto" (WebGL on a GPU, else Canvas 2D), or "webgl" / "canvas" to force one (where WebGL exists):
// localStorage "shanty-map-renderer", for comparing the two. Returns [renderer, WebGL's kind:
// "hardware" | "software" | "none" | "unprobed"].
function makeRenderer(canvas, choice) {
  let webgl = choice === "canvas" ? "unprobed" : "none";
  if (choice !== "canvas") {
    try {
      const renderer = new GLRenderer(canvas);
      webgl = renderer.software ? "software" : "hardware";
      if (choice === "webgl" || !renderer.software) return [renderer, webgl];
      renderer.dispose();
    } catch (err) {
      // No WebGL context (or no shader compiler): Canvas 2D below.
    }
  }
  // A canvas once asked for WebGL cannot give a 2D context: the fallback draws on a fresh one.
  const fresh = canvas.cloneNode();
  canvas.replaceWith(fresh);
  return [new CanvasRenderer(fresh), webgl];
}
