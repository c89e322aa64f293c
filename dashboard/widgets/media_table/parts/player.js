// The one player of a table: two <audio> elements, A and B, that play in step; only the active one is
// heard. Playing a cell loads it with the other audio cell of its row (left vs right of a join, A vs B of
// a comparison): X (or the A/B buttons) switches what you hear at the same playhead, without a gap,
// because both are already playing. [ and ] set a loop region, L turns it on and off, Space plays and
// pauses. Only one player plays on the page: starting one pauses every other player and video.
const PLAYERS = new Set();
let LAST_PLAYER = null; // the player the keyboard drives

function pauseOthers(except) {
  for (const player of PLAYERS) {
    if (!player.view.parent.isConnected) PLAYERS.delete(player); // its table left the page
    else if (player !== except) player.pause();
  }
  document.querySelectorAll("video").forEach((v) => v !== except && v.pause());
  for (const player of PLAYERS) {
    player.view.parent.querySelectorAll?.("video").forEach((v) => v !== except && v.pause());
  }
}

class Player {
  constructor(view) {
    this.view = view;
    this.slots = { a: this.audio("a"), b: this.audio("b") };
    this.box = el("div", { class: "players", hidden: true });
    this.box.append(this.slots.a, this.slots.b);
    this.pair = null; // {a: Source, b: Source | null}; Source = {key, url, label, name, row}
    this.active = "a";
    this.loop = { start: null, end: null, on: false };
    this.ui = null;
    PLAYERS.add(this);
    this.tick = this.tick.bind(this);
    document.addEventListener("keydown", (event) => this.onKey(event));
  }

  audio(slot) {
    const audio = el("audio", { preload: "auto", "data-testid": `player-${slot}` });
    audio.addEventListener("play", () => {
      if (slot === this.active) {
        pauseOthers(this);
        LAST_PLAYER = this;
        requestAnimationFrame(this.tick);
      }
      this.sync();
    });
    audio.addEventListener("pause", () => this.sync());
    audio.addEventListener("ended", () => slot === this.active && this.pause());
    audio.addEventListener("loadedmetadata", () => this.sync());
    return audio;
  }

  attach(parent) {
    if (this.box.parentNode !== parent) parent.appendChild(this.box);
  }

  get current() {
    return this.slots[this.active];
  }

  get other() {
    return this.slots[this.active === "a" ? "b" : "a"];
  }

  playing() {
    return this.pair !== null && !this.current.paused;
  }

  // The audio cells of one row that can be paired: single cells (not sample strips), in column order.
  rowSources(row) {
    const data = this.view.data;
    const values = data.rows[row] || [];
    return data.columns
      .map((column, i) => ({ column, i, cell: values[i] }))
      .filter(({ column, cell }) => column.kind === "audio" && cell && !Array.isArray(cell) && cell.url)
      .map(({ column, i, cell }) => ({ key: `${row}:${i}`, url: cell.url, label: column.name, name: cell.caption || cell.name, row, duration: cell.duration }));
  }

  // Play ``source`` (a cell key, or a sample's {key, url, ...}) from ``fraction`` of its length (or where it is).
  play(source, fraction = null) {
    const found = typeof source === "string" ? this.rowSources(Number(source.split(":")[0])).find((s) => s.key === source) : source;
    if (!found) return;
    const same = this.pair && [this.pair.a, this.pair.b].some((s) => s && s.key === found.key && s.url === found.url);
    if (!same) {
      const others = typeof source === "string" ? this.rowSources(found.row).filter((s) => s.key !== found.key) : [];
      // The column Python paired it with (A with B, left with right of a join), else the row's next audio cell.
      const wanted = this.view.data.columns[Number(found.key.split(":")[1])].partner;
      const partner = others.find((s) => Number(s.key.split(":")[1]) === wanted) || others[0] || null;
      const column = (s) => Number(s.key.split(":")[1]);
      const [first, second] = partner && column(partner) < column(found) ? [partner, found] : [found, partner];
      this.pair = { a: first, b: second };
      this.active = first.key === found.key ? "a" : "b";
      this.slots.a.src = first.url;
      if (second) this.slots.b.src = second.url;
      else this.slots.b.removeAttribute("src");
      this.loop = { start: null, end: null, on: false };
    } else {
      const slot = this.pair.a.key === found.key ? "a" : "b";
      if (slot !== this.active) this.switchTo(slot);
    }
    this.applyMute();
    this.start(fraction);
  }

  // Both elements ready to play at once (enough data, no seek under way), or given up after 5 s.
  settled() {
    const elements = this.elements();
    const deadline = performance.now() + 5000;
    return new Promise((resolve) => {
      const check = () => {
        // HAVE_ENOUGH_DATA: each can play on without stalling (a stall would put them out of step).
        const ready = elements.every((e) => e.error || (e.readyState >= 4 && !e.seeking));
        if (ready || performance.now() > deadline) resolve();
        else setTimeout(check, 10);
      };
      check();
    });
  }

  elements() {
    return this.pair && this.pair.b ? [this.current, this.other] : [this.current];
  }

  // Start (or restart) both elements in step: pause, put both at the same time, wait until both can
  // play, then play both. A and B then stay within a few milliseconds of each other.
  async start(fraction = null) {
    if (!this.pair) return;
    const run = (this.run = (this.run || 0) + 1); // a newer start or pause wins
    pauseOthers(this);
    LAST_PLAYER = this;
    const elements = this.elements();
    elements.forEach((e) => e.pause());
    await this.settled();
    if (run !== this.run) return;
    const duration = this.current.duration;
    const at = fraction !== null && Number.isFinite(duration) ? Math.max(0, Math.min(1, fraction)) * duration : this.current.currentTime;
    elements.forEach((e) => {
      const target = Math.min(at, Number.isFinite(e.duration) ? e.duration : at);
      if (Math.abs(e.currentTime - target) > 0.001) e.currentTime = target;
    });
    await this.settled();
    if (run !== this.run) return;
    await Promise.allSettled(elements.map((e) => e.play()));
    this.sync();
  }

  // A cell's own play button: pause when that cell is what is heard, else play it.
  toggleSource(source) {
    const key = typeof source === "string" ? source : source.key;
    if (this.pair && this.pair[this.active] && this.pair[this.active].key === key && this.playing()) this.pause();
    else this.play(source);
  }

  applyMute() {
    this.current.muted = false;
    this.other.muted = true;
  }

  resume() {
    this.start(null);
  }

  pause() {
    this.run = (this.run || 0) + 1;
    this.slots.a.pause();
    this.slots.b.pause();
  }

  toggle() {
    if (!this.pair) {
      const first = this.rowSources(0)[0];
      if (first) this.play(first.key);
      return;
    }
    this.current.paused ? this.resume() : this.pause();
  }

  // What you hear moves to the other element at the same playhead. Both are playing in step, so
  // usually only the mute moves (no gap); if they drifted apart, the newly heard one jumps to it.
  switchTo(slot) {
    if (!this.pair || !this.pair.b || slot === this.active) return;
    const from = this.current;
    this.active = slot;
    const to = this.current;
    this.applyMute();
    // The one now heard takes the playhead at once if it drifted (a stall); the silent one follows it.
    if (Math.abs(to.currentTime - from.currentTime) > 0.02) to.currentTime = from.currentTime;
    this.sync();
  }

  switchAB() {
    this.switchTo(this.active === "a" ? "b" : "a");
  }

  duration() {
    const d = this.current.duration;
    if (Number.isFinite(d) && d > 0) return d;
    const source = this.pair && this.pair[this.active];
    return source && source.duration ? source.duration : NaN;
  }

  seekFraction(fraction) {
    this.start(fraction);
  }

  setLoop(edge) {
    if (!this.pair) return;
    this.loop[edge] = this.current.currentTime;
    const { start, end } = this.loop;
    this.loop.on = start !== null && end !== null && end > start;
    this.sync();
  }

  setLoopRange(start, end) {
    this.loop = { start: Math.min(start, end), end: Math.max(start, end), on: Math.abs(end - start) > 0.05 };
    this.sync();
  }

  toggleLoop() {
    const { start, end } = this.loop;
    if (start !== null && end !== null && end > start) this.loop.on = !this.loop.on;
    this.sync();
  }

  tick(now) {
    if (!this.pair) return;
    const audio = this.current;
    // One of them stalled (network) and they drifted: the silent one, never the heard one, jumps back
    // in step (at most twice a second, as a seek takes a moment).
    const silent = this.other;
    const drift = Math.abs(silent.currentTime - audio.currentTime);
    if (this.pair.b && !audio.paused && !silent.seeking && drift > 0.05 && (!this.resynced || now - this.resynced > 500)) {
      this.resynced = now;
      if (silent.paused) silent.play();
      silent.currentTime = Math.min(audio.currentTime, Number.isFinite(silent.duration) ? silent.duration : Infinity);
    }
    const { start, end, on } = this.loop;
    if (on && audio.currentTime >= end) {
      audio.currentTime = start;
      if (this.pair.b) this.other.currentTime = start;
    }
    this.drawPlayheads();
    if (!audio.paused) requestAnimationFrame(this.tick);
  }

  // Every view of the playing cell (its table cell, the inspector) shows where the sound is.
  drawPlayheads() {
    const duration = this.duration();
    const parent = this.view.parent;
    const keys = this.pair ? [this.pair.a.key, this.pair.b && this.pair.b.key].filter(Boolean) : [];
    parent.querySelectorAll(".wavebox").forEach((box) => {
      const head = box.querySelector(".playhead");
      const mine = keys.includes(box.dataset.cellKey);
      box.classList.toggle("playing", mine && box.dataset.cellKey === this.pair[this.active].key);
      if (!head) return;
      head.hidden = !mine || !Number.isFinite(duration);
      if (mine && Number.isFinite(duration)) head.style.left = `${(100 * this.current.currentTime) / duration}%`;
      const region = box.querySelector(".loop");
      if (region) {
        const { start, end, on } = this.loop;
        region.hidden = !(mine && on && Number.isFinite(duration));
        if (!region.hidden) {
          region.style.left = `${(100 * start) / duration}%`;
          region.style.width = `${(100 * (end - start)) / duration}%`;
        }
      }
    });
    if (this.ui) this.ui.time.textContent = `${formatSeconds(this.current.currentTime)} / ${formatSeconds(duration)}`;
  }

  onKey(event) {
    // The keyboard drives the player last used, else the first table's on the page.
    const first = [...PLAYERS].find((p) => p.view.parent.isConnected);
    const driven = LAST_PLAYER && LAST_PLAYER.view.parent.isConnected ? LAST_PLAYER : first;
    if (driven !== this) return;
    if (!this.view.parent.isConnected || typingIn(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.composedPath()[0];
    const onButton = target && /^(BUTTON|A|VIDEO|AUDIO)$/.test(target.tagName || "");
    if (event.key === " " && !onButton) {
      event.preventDefault();
      this.toggle();
    } else if (event.key === "x" || event.key === "X") {
      this.switchAB();
    } else if (event.key === "[") {
      this.setLoop("start");
    } else if (event.key === "]") {
      this.setLoop("end");
    } else if (event.key === "l" || event.key === "L") {
      this.toggleLoop();
    }
  }

  // The transport bar: rebuilt with the table, it only reads this player's state.
  transport() {
    const bar = el("div", { class: "transport", "data-testid": "transport" });
    const play = el("button", { class: "play big", "data-testid": "transport-play", "aria-label": "play or pause (Space)" }, "▶");
    play.onclick = () => this.toggle();
    const now = el("span", { class: "now", "data-testid": "transport-now" }, "nothing playing: ▶ in a row plays it");
    const time = el("span", { class: "time", "data-testid": "transport-time" });
    const a = el("button", { class: "ab", "data-testid": "ab-a", "aria-pressed": "false", title: "hear A (X switches)" }, "A");
    const b = el("button", { class: "ab", "data-testid": "ab-b", "aria-pressed": "false", title: "hear B (X switches)" }, "B");
    a.onclick = () => this.switchTo("a");
    b.onclick = () => this.switchTo("b");
    const loopIn = el("button", { class: "loop-edge", "data-testid": "loop-in", title: "loop from here ([)" }, "[");
    const loopOut = el("button", { class: "loop-edge", "data-testid": "loop-out", title: "loop up to here (])" }, "]");
    const loop = el("button", { class: "loop-toggle", "data-testid": "loop-toggle", "aria-pressed": "false", title: "loop on/off (L); shift-drag on a waveform sets the region" }, "⟲ loop");
    loopIn.onclick = () => this.setLoop("start");
    loopOut.onclick = () => this.setLoop("end");
    loop.onclick = () => this.toggleLoop();
    const ab = el("span", { class: "ab-group", role: "group", "aria-label": "A/B switch" });
    ab.append(a, b);
    bar.append(play, now, time, ab, loopIn, loopOut, loop);
    this.ui = { bar, play, now, time, a, b, loop, ab };
    this.sync();
    return bar;
  }

  sync() {
    const ui = this.ui;
    if (!ui) return;
    const pair = this.pair;
    ui.play.textContent = this.playing() ? "⏸" : "▶";
    ui.play.setAttribute("aria-label", this.playing() ? "pause (Space)" : "play (Space)");
    if (pair) {
      const source = pair[this.active];
      ui.now.textContent = `${source.name || source.label} · ${source.label}`;
      ui.now.title = ui.now.textContent;
    }
    ui.ab.hidden = !(pair && pair.b);
    if (pair && pair.b) {
      ui.a.textContent = `A: ${pair.a.label}`;
      ui.b.textContent = `B: ${pair.b.label}`;
      ui.a.setAttribute("aria-pressed", String(this.active === "a"));
      ui.b.setAttribute("aria-pressed", String(this.active === "b"));
    }
    ui.loop.setAttribute("aria-pressed", String(this.loop.on));
    ui.loop.textContent = this.loop.on ? `⟲ ${formatSeconds(this.loop.start)}–${formatSeconds(this.loop.end)}` : "⟲ loop";
    this.drawPlayheads();
  }

  // New rows came (a rerun, another page): the pair keeps playing; its cells are found again by URL
  // (stable for the hour a link is signed for), so playheads follow them; a pair no longer shown and
  // not playing is forgotten.
  refresh() {
    if (this.pair) {
      const shown = this.view.data.rows.flatMap((_, r) => this.rowSources(r));
      for (const slot of ["a", "b"]) {
        const source = this.pair[slot];
        if (!source || source.key === null) continue;
        const again = shown.find((s) => s.url === source.url);
        this.pair[slot] = again ? { ...source, key: again.key, row: again.row } : { ...source, key: null };
      }
      if (this.pair.a.key === null && !this.playing()) this.pair = null;
    }
    this.sync();
  }
}
