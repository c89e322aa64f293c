"""Annotation overlays end to end: boxes drawn where they belong on the picture, masks coloured by the mask
route, the legend switching classes and groups off (boxes hidden, mask pixels transparent), and the same in
the row inspector. Real server, real headless Chromium, the demo's ``annotated_shapes`` (see conftest.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from shanty.demo.shapes import SHAPES_COUNT, shape_pictures

from .test_dashboard_e2e import ROWS, open_table

pytestmark = pytest.mark.browser

SHAPES = "/table?artifact=cshanty/annotated_shapes"
TOOLBAR_LEGEND = "[data-testid=media-table] >> xpath=../.. >> [data-testid=overlay-legend]"
FIRST = f"{ROWS} >> nth=0"
# The first picture: a circle (class 1) centred at (70, 70), a square (class 2) centred at (180, 120).
CIRCLE_AT, SQUARE_AT = (70, 70), (180, 120)

# Alpha of the mask's pixels at the given image coordinates, as the browser gets them from the mask route.
_MASK_ALPHA = """async ([href, points]) => {
  const bitmap = await createImageBitmap(await (await fetch(href)).blob());
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext('2d');
  g.drawImage(bitmap, 0, 0);
  return points.map(([x, y]) => g.getImageData(x, y, 1, 1).data[3]);
}"""


# A rectangle's geometry on screen (its stroke left out), through the SVG's own mapping to the page.
_GEOMETRY = """r => { const m = r.getScreenCTM(); const [x, y] = [r.x.baseVal.value, r.y.baseVal.value];
  return {x: m.a * x + m.e, y: m.d * y + m.f, width: m.a * r.width.baseVal.value, height: m.d * r.height.baseVal.value}; }"""


def geometry(rect) -> dict[str, float]:
    return rect.evaluate(_GEOMETRY)


def bigger_thumbnails(page: Page, size: int = 160) -> None:
    page.locator("[data-testid=thumb-zoom]").evaluate(
        "(s, v) => { s.value = String(v); s.dispatchEvent(new Event('input')); }", size
    )


def visible_boxes(scope, group: str | None = None, class_id: int | None = None) -> int:
    selector = "[data-testid=overlay-box]"
    selector += f"[data-group='boxes:{group}']" if group else ""
    selector += f"[data-class='{class_id}']" if class_id is not None else ""
    return scope.locator(selector).evaluate_all("gs => gs.filter(g => getComputedStyle(g).display !== 'none').length")


def mask_alpha(page: Page, scope, points: list[tuple[int, int]]) -> list[int]:
    href = scope.locator("[data-testid=overlay-mask]").first.get_attribute("href")
    assert href and href.startswith("/api/mask/")
    return page.evaluate(_MASK_ALPHA, [href, points])


def test_boxes_are_drawn_where_they_are_on_the_picture(page: Page) -> None:
    open_table(page, SHAPES, SHAPES_COUNT)
    bigger_thumbnails(page)
    _, _, visible = shape_pictures()[0]
    cell = page.locator(FIRST).locator("[data-testid=annotated]")
    expect(cell.locator("[data-testid=overlay-box]")).to_have_count(4)  # 2 true + 2 predicted
    image = cell.locator("[data-testid=media-image]")
    natural = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    shown = image.bounding_box()
    scale = shown["width"] / natural[0]
    assert shown["height"] / natural[1] == pytest.approx(scale, rel=0.02) and shown["height"] > 100
    truth = cell.locator("[data-group='boxes:ground_truth'] rect")
    for (shape, bounds), rect in zip(visible, truth.all(), strict=True):
        box = geometry(rect)
        assert box["x"] == pytest.approx(shown["x"] + bounds["minX"] * scale, abs=1.0), shape
        assert box["y"] == pytest.approx(shown["y"] + bounds["minY"] * scale, abs=1.0), shape
        assert box["width"] == pytest.approx((bounds["maxX"] - bounds["minX"]) * scale, abs=1.0), shape
        assert box["height"] == pytest.approx((bounds["maxY"] - bounds["minY"]) * scale, abs=1.0), shape
    # Labels name the class, and a prediction its score; at this size they are shown.
    labels = cell.locator("text.label").all_text_contents()
    assert "circle" in labels and any(t.startswith("circle 0.") for t in labels)
    expect(cell.locator("text.label").first).to_be_visible()


def test_the_legend_switches_classes_and_groups_off(page: Page) -> None:
    open_table(page, SHAPES, SHAPES_COUNT)
    legend = page.locator(TOOLBAR_LEGEND)
    row = page.locator(FIRST)
    expect(row.locator("[data-testid=overlay-mask]")).to_have_count(1)
    # The background starts off: its pixels are transparent, the shapes' coloured.
    background = legend.locator("[data-testid=legend-class][data-key='classes|0']")
    expect(background).to_have_attribute("aria-pressed", "false")
    page.wait_for_function(
        "m => (m.getAttribute('href') || '').endsWith('?hide=0')",
        arg=row.locator("[data-testid=overlay-mask]").element_handle(),
    )
    assert mask_alpha(page, row, [CIRCLE_AT, SQUARE_AT, (5, 5)]) == [255, 255, 0]
    assert visible_boxes(row, class_id=1) == 2

    legend.locator("[data-testid=legend-class][data-key='classes|1']").click()  # circle off
    expect(legend.locator("[data-key='classes|1']")).to_have_attribute("aria-pressed", "false")
    assert visible_boxes(row, class_id=1) == 0 and visible_boxes(row, class_id=2) == 2
    expect(row.locator("[data-testid=overlay-mask]")).to_have_attribute(
        "href", "/api/mask/" + _token(row) + "?hide=0,1"
    )
    assert mask_alpha(page, row, [CIRCLE_AT, SQUARE_AT]) == [0, 255]
    # Every row follows, not only the first.
    assert visible_boxes(page.locator(ROWS), class_id=1) == 0

    legend.locator("[data-testid=legend-group][data-key='groups|boxes:predictions']").click()
    assert visible_boxes(row, group="predictions") == 0 and visible_boxes(row, group="ground_truth") == 1
    legend.locator("[data-testid=legend-group][data-key='groups|masks:ground_truth']").click()
    expect(row.locator("[data-testid=overlay-mask]")).to_be_hidden()
    # Switched back on, all comes back; the choice outlives a reload of the view.
    legend.locator("[data-key='classes|1']").click()
    assert visible_boxes(row, group="ground_truth") == 2
    page.reload()
    expect(page.locator(ROWS)).to_have_count(SHAPES_COUNT)
    expect(page.locator(TOOLBAR_LEGEND).locator("[data-key='groups|boxes:predictions']")).to_have_attribute(
        "aria-pressed", "false"
    )
    expect(page.locator(FIRST).locator("[data-testid=overlay-box]")).to_have_count(4)
    assert visible_boxes(page.locator(FIRST), group="predictions") == 0


def _token(row) -> str:
    return row.locator("[data-testid=overlay-mask]").get_attribute("data-base").rsplit("/", 1)[1]


def test_the_inspector_shows_the_overlays_large_with_its_own_legend(page: Page) -> None:
    open_table(page, SHAPES, SHAPES_COUNT)
    page.locator(FIRST).locator("[data-testid=media-image]").click()
    inspector = page.locator("[data-testid=inspector]")
    stage = inspector.locator("[data-testid=annotated]")
    expect(stage.locator("[data-testid=overlay-box]")).to_have_count(4)
    expect(stage.locator("[data-testid=overlay-mask]")).to_have_count(1)
    # Fitted to the viewer, the true circle's box is where the circle is, at the viewer's scale.
    image = stage.locator("[data-testid=inspector-image]")
    natural = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    frame = image.bounding_box()
    scale = min(frame["width"] / natural[0], frame["height"] / natural[1])
    left = frame["x"] + (frame["width"] - natural[0] * scale) / 2
    top = frame["y"] + (frame["height"] - natural[1] * scale) / 2
    _, _, visible = shape_pictures()[0]
    bounds = visible[0][1]
    box = geometry(stage.locator("[data-group='boxes:ground_truth'] rect").first)
    assert box["x"] == pytest.approx(left + bounds["minX"] * scale, abs=1.0)
    assert box["y"] == pytest.approx(top + bounds["minY"] * scale, abs=1.0)
    assert box["width"] == pytest.approx((bounds["maxX"] - bounds["minX"]) * scale, abs=1.0)
    assert scale > 1.5  # a 256 px picture is shown larger than in the table
    expect(stage.locator("text.label").first).to_be_visible()
    # Its legend switches the table's overlays too: one state per view.
    inspector.locator("[data-testid=overlay-legend] [data-key='classes|2']").click()
    assert visible_boxes(stage, class_id=2) == 0 and visible_boxes(page.locator(FIRST), class_id=2) == 0
    expect(page.locator(TOOLBAR_LEGEND).locator("[data-key='classes|2']")).to_have_attribute("aria-pressed", "false")
    assert mask_alpha(page, stage, [CIRCLE_AT, SQUARE_AT]) == [255, 0]
    # Zooming moves the boxes with the picture.
    before = geometry(stage.locator("[data-group='boxes:ground_truth'] rect").first)
    inspector.locator("[data-testid=image-zoom-in]").click()
    after = geometry(stage.locator("[data-group='boxes:ground_truth'] rect").first)
    assert after["width"] == pytest.approx(before["width"] * 1.25, rel=0.02)
