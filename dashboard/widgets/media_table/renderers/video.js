// Video cells: the poster frame (made and cached by the server) with a play mark; a click swaps in the
// player and plays. The inspector has the full player with frame stepping (, and . step one frame).
RENDERERS.video = (cell, { el }) => {
  const box = el("button", { class: "poster", "data-testid": "media-video", "aria-label": `play ${cell.caption || cell.name || "video"}` });
  if (cell.poster) {
    const img = el("img", { loading: "lazy", src: cell.poster, alt: "", class: "thumb", "data-testid": "media-poster" });
    img.onerror = () => img.replaceWith(el("span", { class: "thumb blank" }, "video"));
    box.appendChild(img);
  } else {
    box.appendChild(el("span", { class: "thumb blank" }, "video"));
  }
  box.appendChild(el("span", { class: "mark" }, "▶"));
  box.onclick = (event) => {
    event.stopPropagation();
    const video = el("video", { controls: true, autoplay: true, src: cell.url, class: "thumb video", "data-testid": "media-video-player" });
    box.replaceWith(video);
  };
  return box;
};

BIG.video = (cell, { el }) => {
  const node = el("div", { class: "big-video" });
  const video = el("video", { controls: true, preload: "metadata", src: cell.url, poster: cell.poster || null, "data-testid": "inspector-video" });
  const step = 1 / (cell.fps || 30); // the logged frame rate, else 30 fps
  const move = (frames) => {
    video.pause();
    video.currentTime = Math.max(0, Math.min(video.duration || Infinity, video.currentTime + frames * step));
  };
  const back = el("button", { "aria-label": "previous frame (,)", "data-testid": "frame-back" }, "◀ frame");
  const forward = el("button", { "aria-label": "next frame (.)", "data-testid": "frame-forward" }, "frame ▶");
  const at = el("span", { class: "dur" });
  back.onclick = () => move(-1);
  forward.onclick = () => move(1);
  video.addEventListener("timeupdate", () => { at.textContent = `${formatSeconds(video.currentTime)} · frame ${Math.round(video.currentTime / step)}`; });
  node.addEventListener("keydown", (event) => {
    if (event.key === "," || event.key === ".") {
      event.preventDefault();
      move(event.key === "," ? -1 : 1);
    }
  });
  const controls = el("div", { class: "line" });
  controls.append(back, forward, at);
  node.append(video, controls);
  return node;
};
