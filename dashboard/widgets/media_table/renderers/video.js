// Video cells: a player that fetches only the metadata (size, duration, first frame) until played.
RENDERERS.video = (cell, { el }) =>
  el("video", { controls: "", preload: "metadata", src: cell.url, class: "video", "data-testid": "media-video" });
