// Audio cells: a player (preload="none": nothing is fetched until played) and, when the cell has a
// "waveform" preview URL, a min/max waveform canvas that seeks on click.
{
  const WAVE_CACHE = new Map(); // the summary of a logged file never changes: fetch each once per page

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

  RENDERERS.audio = (cell, { el }) => {
    const nodes = document.createDocumentFragment();
    const audio = el("audio", { controls: "", preload: "none", src: cell.url, "data-testid": "media-audio" });
    if (cell.waveform) {
      const canvas = el("canvas", { class: "wave", width: "220", height: "36", title: "click to play from here" });
      nodes.appendChild(canvas);
      drawWaveform(canvas, cell.waveform, audio);
    }
    nodes.appendChild(audio);
    return nodes;
  };
}
