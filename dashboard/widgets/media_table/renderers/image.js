// Image cells: a lazy thumbnail (loaded only when scrolled into view); a click opens it full size.
RENDERERS.image = (cell, { el, overlay }) => {
  const img = el("img", { loading: "lazy", src: cell.url, alt: cell.caption || "", class: "thumb", "data-testid": "media-image" });
  img.onclick = () => overlay(cell.url, cell.caption);
  return img;
};
