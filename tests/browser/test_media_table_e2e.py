"""The media table end to end: density, the row inspector, header statistics that filter, A/B listening.

Real server, real headless Chromium, the demo workspace (see conftest.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from shanty import Filter, Query

from .conftest import Dashboard
from .test_dashboard_e2e import (
    AUDIO,
    ROWS,
    SYNTH,
    TABLE,
    column_texts,
    heard,
    open_table,
    play_cell,
    players,
    query_of,
    wait_playing,
)

pytestmark = pytest.mark.browser

JOIN = "/join?l_artifact=cshanty/original_songs&r_artifact=cshanty/synth_samples&on=song_id"
INSPECTOR = "[data-testid=inspector]"
TITLE = "[data-testid=inspector-title]"

# Rows whose whole box is inside the viewport and inside the table's own scroll box.
_FULLY_VISIBLE_ROWS = """rows => rows.filter(row => {
  const r = row.getBoundingClientRect();
  const box = row.closest('[data-testid=table-scroller]').getBoundingClientRect();
  return r.height > 0 && r.top >= Math.max(0, box.top) && r.bottom <= Math.min(innerHeight, box.bottom);
}).length"""


@pytest.fixture
def big_page(browser, dashboard: Dashboard) -> Iterator[Page]:
    """A page at the size the goals are set for: 1440x900."""
    context = browser.new_context(base_url=dashboard.url, viewport={"width": 1440, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.mark.parametrize("path", [SYNTH, JOIN], ids=["table", "join"])
def test_fifteen_audio_rows_fit_one_screen(big_page: Page, path: str) -> None:
    open_table(big_page, path, 26)
    big_page.wait_for_timeout(300)  # the table sizes its scroll box on the next animation frame
    assert big_page.locator(ROWS).evaluate_all(_FULLY_VISIBLE_ROWS) >= 15
    # The header stays on top when the table scrolls, and the key column stays on the left.
    scroller = big_page.locator("[data-testid=table-scroller]")
    head = big_page.locator(f"{TABLE} thead th").first
    top = head.bounding_box()["y"]
    scroller.evaluate("s => { s.scrollTop = 300; s.scrollLeft = 400; }")
    big_page.wait_for_timeout(100)
    assert abs(head.bounding_box()["y"] - top) < 1
    first_cell = big_page.locator(f"{ROWS} >> nth=12 >> td >> nth=0")
    assert first_cell.evaluate("td => getComputedStyle(td).position") == "sticky"


def test_inspector_opens_on_click_steps_with_the_keyboard_and_closes_with_escape(page: Page) -> None:
    open_table(page, SYNTH, 26)
    names = column_texts(page, "song_name")
    page.locator(ROWS).nth(0).locator("td").first.click()
    inspector = page.locator(INSPECTOR)
    expect(inspector).to_be_visible()
    expect(page.locator(TITLE)).to_have_text("Row 1 of 26")
    expect(inspector.locator("[data-column=song_name]")).to_contain_text(names[0])
    # The row's media large (waveform and spectrogram) and where its bytes come from.
    expect(inspector.locator(".wavebox.big")).to_have_count(2)
    expect(inspector.locator("[data-testid=media-spectrogram]")).to_have_count(1)
    expect(inspector.locator("dt", has_text="entry")).to_have_count(1)
    assert re.search(r"[?&]row=1(&|$)", page.url)
    page.keyboard.press("ArrowDown")
    expect(page.locator(TITLE)).to_have_text("Row 2 of 26")
    expect(inspector.locator("[data-column=song_name]")).to_contain_text(names[1])
    page.keyboard.press("j")
    expect(page.locator(TITLE)).to_have_text("Row 3 of 26")
    page.keyboard.press("ArrowUp")
    expect(page.locator(TITLE)).to_have_text("Row 2 of 26")
    assert re.search(r"[?&]row=2(&|$)", page.url)
    page.keyboard.press("Escape")
    expect(inspector).to_be_hidden()
    assert "row=" not in page.url
    # Enter on a focused row opens it too.
    page.locator(ROWS).nth(4).focus()
    page.keyboard.press("Enter")
    expect(page.locator(TITLE)).to_have_text("Row 5 of 26")


def test_a_link_with_a_row_opens_the_inspector_on_it(page: Page) -> None:
    open_table(page, f"{SYNTH}&row=7", 26)
    expect(page.locator(TITLE)).to_have_text("Row 7 of 26")
    expect(page.locator(f"{INSPECTOR} [data-column=song_name]")).to_contain_text(column_texts(page, "song_name")[6])


def test_header_histogram_bar_click_filters_to_that_range(page: Page) -> None:
    open_table(page, SYNTH, 26)
    bars = page.locator(f"{TABLE} th[data-column=duration_s] [data-testid=header-bar]")
    assert bars.count() >= 2
    # The first bar's count, as its label says, is how many rows the filter must keep.
    label = bars.first.get_attribute("aria-label")
    expected = int(re.search(r": (\d+) rows", label).group(1))
    assert 0 < expected < 26
    bars.first.click()
    expect(page.locator(ROWS)).to_have_count(expected)
    page.wait_for_url(re.compile(r"[?&]q="))
    (kept,) = query_of(page.url).filters
    assert kept.column == "duration_s" and kept.op == "between"
    durations = [float(d) for d in column_texts(page, "duration_s")]
    assert min(durations) >= kept.value[0] and max(durations) <= kept.value[1]
    # The header statistics are of the filtered rows now: the bars add up to them.
    counts = bars.evaluate_all("bs => bs.map(b => +b.getAttribute('aria-label').match(/: (\\d+) rows/)[1])")
    assert sum(counts) == expected


def test_header_top_value_click_keeps_that_value(page: Page) -> None:
    open_table(page, SYNTH, 26)
    value = page.locator(f"{TABLE} th[data-column=instrument] [data-testid=header-value]").first
    name = value.locator(".label").inner_text()
    count = int(value.locator(".count").inner_text())
    value.click()
    expect(page.locator(ROWS)).to_have_count(count)
    assert set(column_texts(page, "instrument")) == {name}
    page.wait_for_url(re.compile(r"[?&]q="))  # the rows come first, the URL with the run after
    assert query_of(page.url).filters == (Filter("instrument", "=", name),)


def test_header_menu_sorts_and_groups_by_keyboard(page: Page) -> None:
    open_table(page, SYNTH, 26)
    menu_button = page.locator(f"{TABLE} th[data-column=instrument] [data-testid=header-menu]")
    menu_button.focus()
    page.keyboard.press("Enter")
    menu = page.locator("[data-testid=column-menu]")
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    menu_button.focus()
    page.keyboard.press("Enter")
    page.locator("[data-testid=menu-group]").focus()
    page.keyboard.press("Enter")
    expect(page.locator(ROWS)).to_have_count(4)  # flute, violin, organ, sax
    expect(page.get_by_text("4 groups", exact=False)).to_be_visible()
    # Largest groups first; a group opens into its rows.
    counts = [int(c) for c in column_texts(page, "count")]
    assert counts == sorted(counts, reverse=True)
    page.locator(f"{ROWS} >> nth=0 >> [data-testid=open-group]").click()
    expect(page.locator(ROWS)).to_have_count(counts[0])
    assert len(set(column_texts(page, "instrument"))) == 1


def test_ab_switch_keeps_the_playhead(page: Page) -> None:
    open_table(page, JOIN, 26)
    play_cell(page, f"{ROWS} >> nth=0 >> {AUDIO}", 0)  # the original
    assert wait_playing(page, past=0.3) > 0.3
    a, b = players(page)
    assert not a.evaluate("a => a.muted") and b.evaluate("b => b.muted")
    page.keyboard.press("x")
    # B (the synthesized version) is heard now, from where A was: both times are read in one go.
    times = page.evaluate("([a, b]) => [a.currentTime, b.currentTime, a.muted, b.muted]", [a, b])
    assert times[2] is True and times[3] is False
    assert abs(times[0] - times[1]) < 0.1, times
    page.wait_for_function("b => !b.paused && b.currentTime > 0.4", arg=b)  # and it plays on
    assert heard(page).evaluate("h => h.currentSrc") != a.evaluate("a => a.currentSrc")
    expect(page.locator("[data-testid=ab-b]")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("x")
    expect(page.locator("[data-testid=ab-a]")).to_have_attribute("aria-pressed", "true")


def test_one_player_plays_at_a_time(page: Page) -> None:
    page.goto("/compare")
    page.get_by_role("tab", name="Side by side").click()
    side_tables = page.locator(TABLE)
    expect(side_tables).to_have_count(3)  # the row changes, then A and B side by side
    play_cell(page, f"{TABLE} >> nth=1 >> {AUDIO}", 0)
    assert wait_playing(page, table=1) > 0.1
    play_cell(page, f"{TABLE} >> nth=2 >> {AUDIO}", 1)
    assert wait_playing(page, table=2) > 0.1
    # Starting B's table paused A's: one sound at a time on the page.
    assert all(p.evaluate("a => a.paused") for p in players(page, table=1))


def test_inspector_steps_into_the_next_page(page: Page) -> None:
    token = Query(page_size=10).to_url_token()
    open_table(page, f"{SYNTH}&q={token}&row=10", 10)
    expect(page.locator(TITLE)).to_have_text("Row 10 of 26")
    page.keyboard.press("ArrowDown")
    expect(page.locator(TITLE)).to_have_text("Row 11 of 26")
    expect(page.get_by_text("page 2 of 3", exact=False)).to_be_visible()
    page.keyboard.press("ArrowUp")
    expect(page.locator(TITLE)).to_have_text("Row 10 of 26")


def test_dragging_across_bars_filters_to_their_range(page: Page) -> None:
    open_table(page, SYNTH, 26)
    bars = page.locator(f"{TABLE} th[data-column=pitch_hz] [data-testid=header-bar]")
    counts = bars.evaluate_all("bs => bs.map(b => +b.getAttribute('aria-label').match(/: (\\d+) rows/)[1])")
    # Across the first bars, as many as keep some rows but not all, and at least two bars.
    span = next(n for n in range(2, len(counts)) if 0 < sum(counts[:n]) < 26 and counts[n - 1])
    first, last = bars.nth(0).bounding_box(), bars.nth(span - 1).bounding_box()
    page.mouse.move(first["x"] + 1, first["y"] + first["height"] / 2)
    page.mouse.down()
    page.mouse.move(last["x"] + last["width"] / 2, last["y"] + last["height"] / 2, steps=8)
    page.mouse.up()
    expect(page.locator(ROWS)).to_have_count(sum(counts[:span]))
    page.wait_for_url(re.compile(r"[?&]q="))
    (kept,) = query_of(page.url).filters
    assert kept.op == "between"


def test_loop_region_keeps_the_playhead_inside(page: Page) -> None:
    open_table(page, SYNTH, 26)
    play_cell(page)
    wait_playing(page, past=0.5)
    page.keyboard.press("[")
    wait_playing(page, past=1.0)
    page.keyboard.press("]")
    loop = page.locator("[data-testid=loop-toggle]")
    expect(loop).to_have_attribute("aria-pressed", "true")
    # Over the next second (longer than the region) the playhead stays inside it.
    times = []
    for _ in range(12):
        page.wait_for_timeout(100)
        times.append(heard(page).evaluate("a => a.currentTime"))
    assert max(times) < 1.6 and min(times) > 0.3, times
    page.keyboard.press("l")
    expect(loop).to_have_attribute("aria-pressed", "false")


def test_spectrograms_replace_waveforms_per_column_and_images_zoom(page: Page) -> None:
    open_table(page, SYNTH, 26)
    page.locator(f"{TABLE} th[data-column=audio] [data-testid=header-menu]").click()
    page.locator("[data-testid=menu-spectrogram]").click()
    spectrogram = page.locator(f"{ROWS} [data-testid=media-spectrogram]").first
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=spectrogram.element_handle())
    assert "/api/spectrogram/" in spectrogram.get_attribute("src")
    expect(page.locator(f"{ROWS} [data-testid=media-waveform]")).to_have_count(0)
    # The choice outlives a reload of the view (the browser keeps it per view).
    page.reload()
    expect(page.locator(f"{ROWS} [data-testid=media-spectrogram]")).to_have_count(26)

    open_table(page, "/table?artifact=cshanty/original_songs&version=v0", 7)  # before enrichment
    page.locator("[data-testid=media-image]").first.click()
    viewer = page.locator("[data-testid=image-viewer]")
    expect(viewer).to_be_visible()
    zoom = page.locator("[data-testid=image-zoom]")
    expect(zoom).to_have_text("100%")
    viewer.hover()
    page.mouse.wheel(0, -300)
    expect(zoom).not_to_have_text("100%")
    page.locator("[data-testid=image-zoom-out]").click()
    viewer.dblclick()
    expect(zoom).to_have_text("100%")


# A canvas with any non-transparent pixel: the waveform was drawn.
_DRAWN = """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4) if (d[i]) return true; return false; }"""


@pytest.mark.parametrize("fmt", ["flac", "mp3"])
def test_compressed_audio_cells_show_a_waveform_and_a_spectrogram(page: Page, fmt: str) -> None:
    token = Query(filters=(Filter("format", "=", fmt),)).to_url_token()
    open_table(page, f"/table?artifact=cshanty/audio_formats&q={token}", 2)
    # Decoded on the server from the compressed file: the duration shows before any play.
    durations = page.locator(f"{ROWS} [data-testid=media-duration]")
    expect(durations.first).to_have_text("0:03")  # humpback_01 lasts 3 s in every format
    waveform = page.locator(f"{ROWS} [data-testid=media-waveform]").first
    page.wait_for_function(_DRAWN, arg=waveform.element_handle())
    # Its spectrogram, in the inspector, is an image the server made from the same file.
    page.locator(ROWS).first.locator("td").first.click()
    spectrogram = page.locator(f"{INSPECTOR} [data-testid=media-spectrogram]")
    page.wait_for_function("img => img.complete && img.naturalWidth >= 100", arg=spectrogram.element_handle())
    assert "/api/spectrogram/" in spectrogram.get_attribute("src")
