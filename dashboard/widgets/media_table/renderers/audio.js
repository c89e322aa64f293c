// Audio cells. In the table: a play button, the waveform (or, per column, the spectrogram) with a moving
// playhead, and the duration, known before play from the server's waveform summary. Clicking the picture
// plays from there; shift-drag sets a loop region. Sound goes through the table's one Player.
// In the inspector: a large waveform and the spectrogram, both seekable.
{
  const SUMMARIES = new Map(); // waveform URL -> Promise of its summary; a logged file never changes

  function summary(url) {
    if (!SUMMARIES.has(url)) {
      SUMMARIES.set(
        url,
        fetch(url, { credentials: "same-origin" })
          .then((response) => (response.ok ? response.json() : null))
          .catch(() => null),
      );
    }
    return SUMMARIES.get(url);
  }

  function drawPeaks(canvas, data) {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
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
  }

  // Fetch summaries only for cells scrolled into view: a 200-row page asks for what is seen.
  const VISIBLE = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      VISIBLE.unobserve(entry.target);
      entry.target.__load?.();
    }
  }, { rootMargin: "200px" });

  function wavebox(cell, { el, view, key, source, spectrogram, big }) {
    const box = el("div", { class: `wavebox${big ? " big" : ""}`, "data-cell-key": key, title: "click: play from here · shift-drag: loop a region" });
    let picture;
    if (spectrogram && cell.spectrogram) {
      picture = el("img", { class: "spec", alt: "spectrogram", loading: "lazy", "data-testid": "media-spectrogram", src: cell.spectrogram });
      picture.onerror = () => picture.classList.add("missing");
    } else {
      picture = el("canvas", { class: "wave", "data-testid": "media-waveform" });
    }
    box.append(picture, el("div", { class: "loop", hidden: true }), el("div", { class: "playhead", hidden: true }));
    let dragFrom = null;
    const fractionAt = (event) => {
      const rect = box.getBoundingClientRect();
      return Math.max(0, Math.min(1, (event.clientX - rect.left) / rect.width));
    };
    box.addEventListener("pointerdown", (event) => {
      event.stopPropagation();
      dragFrom = event.shiftKey ? fractionAt(event) : null;
    });
    box.addEventListener("pointerup", (event) => {
      event.stopPropagation();
      const at = fractionAt(event);
      const player = view.player;
      if (dragFrom !== null && Math.abs(at - dragFrom) > 0.01) {
        const from = dragFrom;
        player.play(source(), from);
        const apply = () => {
          const d = player.duration();
          player.setLoopRange(from * d, at * d);
        };
        Number.isFinite(player.duration()) ? apply() : player.current.addEventListener("loadedmetadata", apply, { once: true });
      } else {
        player.play(source(), at);
      }
      dragFrom = null;
    });
    box.addEventListener("click", (event) => event.stopPropagation());
    return { box, picture };
  }

  function loadSummary(cell, picture, durationLabel, cellState) {
    if (!cell.waveform) return;
    return summary(cell.waveform).then((data) => {
      if (!data) return;
      cellState.duration = data.duration_s;
      if (durationLabel) durationLabel.textContent = formatSeconds(data.duration_s);
      if (picture.tagName === "CANVAS") drawPeaks(picture, data);
    });
  }

  function keyOf(ctx) {
    return ctx.sample === undefined ? `${ctx.row}:${ctx.columnIndex}` : `${ctx.row}:${ctx.columnIndex}:${ctx.sample}`;
  }

  function playSource(cell, ctx, state) {
    const key = keyOf(ctx);
    // A sample (grouped rows) plays alone; a cell plays paired with the other audio cell of its row.
    return ctx.sample === undefined ? key : { key, url: cell.url, label: ctx.column.name, name: cell.caption || cell.name, row: ctx.row, duration: state.duration };
  }

  RENDERERS.audio = (cell, ctx) => {
    const { el, view } = ctx;
    const state = { duration: cell.duration };
    const spectrogram = Boolean(view.setting("spectrogram", {})[ctx.column.name]);
    const node = el("div", { class: "acell", "data-testid": "media-audio" });
    const play = el("button", { class: "play", "data-testid": "media-play", "aria-label": `play ${cell.caption || cell.name || ""}`.trim() }, "▶");
    const duration = el("span", { class: "dur", "data-testid": "media-duration" }, state.duration ? formatSeconds(state.duration) : "");
    const source = () => playSource(cell, ctx, state);
    const { box, picture } = wavebox(cell, { el, view, key: keyOf(ctx), source, spectrogram });
    play.onclick = (event) => {
      event.stopPropagation();
      view.player.toggleSource(source());
    };
    node.append(play, box, duration);
    box.__load = () => loadSummary(cell, picture, duration, state);
    VISIBLE.observe(box);
    return node;
  };

  BIG.audio = (cell, ctx) => {
    const { el, view } = ctx;
    const state = { duration: cell.duration };
    const node = el("div", { class: "big-audio" });
    const play = el("button", { class: "play big", "data-testid": "inspector-play", "aria-label": "play or pause" }, "▶");
    const source = () => playSource(cell, ctx, state);
    play.onclick = () => view.player.toggleSource(source());
    const duration = el("span", { class: "dur" }, "");
    const wave = wavebox(cell, { el, view, key: keyOf(ctx), source, spectrogram: false, big: true });
    node.append(el("div", { class: "line" }), wave.box);
    node.firstChild.append(play, duration);
    if (cell.spectrogram) {
      const spec = wavebox(cell, { el, view, key: keyOf(ctx), source, spectrogram: true, big: true });
      spec.box.classList.add("spectro");
      node.appendChild(spec.box);
    }
    requestAnimationFrame(() => loadSummary(cell, wave.picture, duration, state));
    return node;
  };
}
