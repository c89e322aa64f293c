"""The scatter map widget end to end: tests/browser/apps/scatter_map_app.py served by ``streamlit run``,
driven by headless Chromium. Three blobs of known centres plus one lonely point (the last row): the canvas
draws, hover names a point, lasso / box / Escape / click come back to Python as the MapEvent the page
prints, the Canvas-2D fallback draws where WebGL is off, and a million points render."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    TIMEOUT_MS,
    free_port,
    require_chromium,
    start_in_own_group,
    stop_process_group,
    wait_healthy,
)

APP = "tests/browser/apps/scatter_map_app.py"
FLUTE, DRUM, VOICE = (-6.0, 0.0), (6.0, 0.0), (0.0, 9.0)  # the harness's BLOBS
LONELY, LONELY_ROW = (9.0, 12.0), 899  # the last of the default 900 points


@pytest.fixture(scope="module")
def map_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The harness page on a free port; yields its base URL."""
    require_chromium()
    log = tmp_path_factory.mktemp("scatter_map") / "streamlit.log"
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        APP,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    process = start_in_own_group(command, env, log, REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(process, url, log)
        yield url
    finally:
        stop_process_group(process)


@pytest.fixture
def map_page(browser, map_app: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh session on the harness in the shared Chromium; a test parametrized with ``renderer`` forces
    that renderer (the map reads localStorage "shanty-map-renderer"), else the map picks its own."""
    context = browser.new_context(base_url=map_app, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    forced = getattr(request, "param", "auto")
    context.add_init_script(f"localStorage.setItem('shanty-map-renderer', {json.dumps(forced)})")
    try:
        yield context.new_page()
    finally:
        context.close()


def open_map(page: Page, n: int | None = None) -> None:
    page.goto(f"/?n={n}" if n else "/")
    count = n or LONELY_ROW + 1
    expect(page.locator(f"[data-testid=scatter-map][data-points='{count}'][data-frames]")).to_be_visible()


def painted_pixels(page: Page) -> int:
    """Pixels the points canvas painted (non-transparent), read back through a 2D copy of it."""
    return page.locator("canvas.map-points").evaluate(
        """(canvas) => {
          const copy = document.createElement("canvas");
          [copy.width, copy.height] = [canvas.width, canvas.height];
          const ctx = copy.getContext("2d");
          ctx.drawImage(canvas, 0, 0);
          const bytes = ctx.getImageData(0, 0, copy.width, copy.height).data;
          let painted = 0;
          for (let i = 3; i < bytes.length; i += 4) if (bytes[i] > 0) painted++;
          return painted;
        }"""
    )


def screen(page: Page, point: tuple[float, float]) -> tuple[float, float]:
    """Where data point (x, y) is on the page, from the view the map last drew (its data-view)."""
    box = page.locator("canvas.map-overlay").bounding_box()
    cx, cy, kx, ky = map(float, page.locator(".map-plot").get_attribute("data-view").split(","))
    return box["x"] + box["width"] / 2 + (point[0] - cx) * kx, box["y"] + box["height"] / 2 - (point[1] - cy) * ky


def scale(page: Page) -> tuple[float, float]:
    _, _, kx, ky = map(float, page.locator(".map-plot").get_attribute("data-view").split(","))
    return kx, ky


def event_when(page: Page, ready: Callable[[dict], bool], timeout: float = TIMEOUT_MS / 1000) -> dict:
    """The MapEvent the page printed, once ``ready`` holds for it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        text = page.get_by_test_id("stCode").text_content() or ""
        try:
            last = json.loads(text)
        except json.JSONDecodeError:
            last = None
        if last is not None and ready(last):
            return last
        time.sleep(0.1)
    raise AssertionError(f"the page never printed the expected event; last: {last}")


def contains(polygon: list[list[float]], point: tuple[float, float]) -> bool:
    """Even-odd point-in-polygon."""
    x, y = point
    inside = False
    for (xi, yi), (xj, yj) in zip(polygon, polygon[-1:] + polygon[:-1], strict=True):
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
    return inside


def lasso_around(page: Page, centre: tuple[float, float], radius: float, steps: int = 48) -> None:
    import math

    x0, y0 = screen(page, centre)
    kx, ky = scale(page)
    ring = [
        (x0 + radius * kx * math.cos(2 * math.pi * i / steps), y0 + radius * ky * math.sin(2 * math.pi * i / steps))
        for i in range(steps + 1)
    ]
    page.mouse.move(*ring[0])
    page.mouse.down()
    for x, y in ring[1:]:
        page.mouse.move(x, y, steps=2)
    page.mouse.up()


def box_around(page: Page, corner: tuple[float, float], opposite: tuple[float, float]) -> None:
    """Switch to box mode and drag a rectangle between two data points."""
    page.get_by_role("button", name="Box: drag a rectangle to select points").click()
    (x0, y0), (x1, y1) = screen(page, corner), screen(page, opposite)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()


@pytest.mark.parametrize("map_page", ["auto", "webgl", "canvas"], indirect=True)
def test_map_draws_and_hover_names_the_point(map_page: Page, request: pytest.FixtureRequest) -> None:
    open_map(map_page)
    widget = map_page.get_by_test_id("scatter-map")
    # Chromium here has WebGL only on SwiftShader (software): "auto" then draws with Canvas 2D, which is faster.
    webgl = widget.get_attribute("data-webgl")
    wanted = request.node.callspec.params["map_page"]
    assert webgl in ({"unprobed"} if wanted == "canvas" else {"hardware", "software"})
    if wanted == "auto":
        wanted = "webgl" if webgl == "hardware" else "canvas"
    assert widget.get_attribute("data-renderer") == wanted
    assert painted_pixels(map_page) > 2000
    expect(map_page.get_by_test_id("map-count")).to_have_text("900 points · 0 selected")
    tip = map_page.get_by_role("tooltip")
    map_page.mouse.move(*screen(map_page, DRUM))
    expect(tip).to_be_visible()
    expect(tip.locator(".tip-label")).to_contain_text("drum #")
    expect(tip.locator(".tip-group")).to_have_text("drum")
    # User text is text: the lonely point's label is markup, shown as typed.
    map_page.mouse.move(*screen(map_page, LONELY))
    expect(tip.locator(".tip-label")).to_have_text("lonely <b>point</b>")
    expect(tip.locator("b")).to_have_count(0)
    # A hidden legend group is neither drawn nor hovered.
    map_page.get_by_role("button", name="drum").click()
    map_page.mouse.move(*screen(map_page, DRUM))
    expect(tip).to_be_hidden()
    map_page.get_by_role("button", name="drum").click()
    map_page.mouse.move(*screen(map_page, DRUM))
    expect(tip.locator(".tip-group")).to_have_text("drum")


def test_lasso_box_escape_and_click_come_back_to_python(map_page: Page) -> None:
    open_map(map_page)
    first = event_when(map_page, lambda e: e["run"] >= 1)
    assert first["selection"] is None and first["changed"] is False
    map_page.get_by_role("button", name="Lasso: draw around points to select them").click()
    lasso_around(map_page, DRUM, radius=2.2)
    event = event_when(map_page, lambda e: bool(e["selection"]))
    polygon = event["selection"]
    assert event["changed"] is True and event["clicked"] is None
    assert 3 <= len(polygon) <= 200
    assert contains(polygon, DRUM) and not contains(polygon, FLUTE) and not contains(polygon, VOICE)
    # The browser highlights exactly the rows the server finds inside (nearly the whole blob of 299).
    assert 280 <= event["inside"] <= 299
    expect(map_page.get_by_test_id("map-count")).to_have_text(f"900 points · {event['inside']} selected")

    map_page.keyboard.press("Escape")
    cleared = event_when(map_page, lambda e: e["selection"] == [])
    assert cleared["changed"] is True and cleared["inside"] == 0
    expect(map_page.get_by_test_id("map-count")).to_have_text("900 points · 0 selected")

    box_around(map_page, (-3, 12), (3, 6))
    boxed = event_when(map_page, lambda e: bool(e["selection"]))
    assert len(boxed["selection"]) == 4 and contains(boxed["selection"], VOICE)
    assert not contains(boxed["selection"], DRUM) and boxed["inside"] >= 290

    run = boxed["run"]
    map_page.mouse.click(*screen(map_page, LONELY))
    clicked = event_when(map_page, lambda e: e["run"] > run)
    assert clicked["clicked"] == LONELY_ROW and clicked["changed"] is False
    assert clicked["selection"] == boxed["selection"]  # a click leaves the selection alone


def test_a_selection_from_the_page_is_drawn(map_page: Page) -> None:
    box = [[-3, 6], [3, 6], [3, 12], [-3, 12]]
    map_page.goto(f"/?sel={json.dumps(box)}")
    event = event_when(map_page, lambda e: e["run"] >= 1)
    assert event["selection"] is None and event["changed"] is False  # the user has drawn nothing yet
    assert 290 <= event["inside"] <= 301
    expect(map_page.get_by_test_id("map-count")).to_have_text(f"900 points · {event['inside']} selected")
    expect(map_page.get_by_role("button", name="Clear selection (Escape)")).to_be_enabled()


def test_wheel_zooms_around_the_cursor(map_page: Page) -> None:
    open_map(map_page)
    before = scale(map_page)
    x, y = screen(map_page, LONELY)
    map_page.mouse.move(x, y)
    map_page.mouse.wheel(0, -400)
    expect(map_page.locator(".map-plot")).not_to_have_attribute("data-view", ",".join(map(str, before)))
    map_page.wait_for_timeout(200)  # wheel events may arrive over more than one frame
    assert scale(map_page)[0] > before[0] * 1.5
    after = screen(map_page, LONELY)
    assert abs(after[0] - x) < 2 and abs(after[1] - y) < 2


def test_canvas_fallback_without_webgl(browser, map_app: str) -> None:
    # Chromium with WebGL switched off: the same picture and hover, drawn by the Canvas-2D renderer.
    no_webgl = browser.browser_type.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, "--disable-3d-apis"])
    try:
        page = no_webgl.new_page(base_url=map_app, viewport={"width": 1100, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        open_map(page)
        widget = page.get_by_test_id("scatter-map")
        assert (widget.get_attribute("data-renderer"), widget.get_attribute("data-webgl")) == ("canvas", "none")
        assert painted_pixels(page) > 2000
        page.mouse.move(*screen(page, FLUTE))
        expect(page.get_by_role("tooltip").locator(".tip-group")).to_have_text("flute")
    finally:
        no_webgl.close()


def test_a_million_points_render_and_select(map_page: Page) -> None:
    started = time.monotonic()
    open_map(map_page, 1_000_000)
    seconds = time.monotonic() - started
    assert painted_pixels(map_page) > 20_000
    expect(map_page.get_by_test_id("map-count")).to_have_text("1,000,000 points · 0 selected")
    map_page.mouse.move(*screen(map_page, VOICE))
    tip = map_page.get_by_role("tooltip")
    expect(tip.locator(".tip-group")).to_have_text("voice")
    expect(tip.locator(".tip-label")).to_contain_text("row ")  # no labels are sent for this many points
    box_around(map_page, (-3, 12), (3, 6))
    event = event_when(map_page, lambda e: bool(e["selection"]))
    assert contains(event["selection"], VOICE) and 330_000 <= event["inside"] <= 333_333
    expect(map_page.get_by_test_id("map-count")).to_have_text(f"1,000,000 points · {event['inside']:,} selected")
    print(f"1,000,000 points drawn {seconds:.1f} s after navigation")
