"""The comparison views end to end: the v0 -> v1 diff of the demo's songs, and the originals-synth join."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .test_dashboard_e2e import AUDIO, ROWS, TABLE, column_texts, heard, play_cell, wait_playing

pytestmark = pytest.mark.browser


def test_diff_deep_link_names_the_two_added_songs_and_plays_one(page: Page) -> None:
    page.goto("/diff?project=cshanty&artifact=sample_songs&old=v0&new=v1")
    expect(page.get_by_text("2 change(s)")).to_be_visible()
    expect(page.get_by_text("cshanty/sample_songs:v0 (5 files")).to_be_visible()
    # The A/B player of the first changed file: an added song plays on the B side only.
    ab = page.locator(f"{ROWS}")
    expect(ab).to_have_count(1)
    names = page.locator(f"{TABLE} thead th").evaluate_all("ths => ths.map(th => th.dataset.column)")
    assert names == ["change", "A: v0", "B: v1"]
    assert column_texts(page, "change") == ["added"]
    players = page.locator(f"{ROWS} {AUDIO}")
    expect(players).to_have_count(1)
    play_cell(page, f"{ROWS} {AUDIO}")
    assert wait_playing(page) > 0.2
    # Exactly the two songs v1 added are listed (st.dataframe keeps its cells in an accessible grid).
    cells = page.locator("td[role=gridcell]")
    expect(cells.filter(has_text="pilot_01.wav")).to_have_count(1)
    names = {t.strip() for t in cells.evaluate_all("cs => cs.map(c => c.textContent)") if t.strip().endswith(".wav")}
    assert names == {"bowhead_01.wav", "pilot_01.wav"}
    assert "old=v0" in page.url and "new=v1" in page.url


def test_join_page_plays_an_original_and_its_synth_version_in_one_row(page: Page) -> None:
    page.goto("/join?l_artifact=cshanty/original_songs&r_artifact=cshanty/synth_samples&on=song_id")
    expect(page.locator(ROWS)).to_have_count(26)
    headers = page.locator(f"{TABLE} thead th").evaluate_all("ths => ths.map(th => th.dataset.column)")
    assert "original.audio" in headers and "synth.audio" in headers and "synth.instrument" in headers
    first_row = page.locator(ROWS).first
    expect(first_row.locator(AUDIO)).to_have_count(2)
    sources = []
    for index in range(2):  # the original, then its synthesized version: the one player plays each
        play_cell(page, f"{ROWS} >> nth=0 >> {AUDIO}", index)
        assert wait_playing(page) > 0.2
        sources.append(heard(page).evaluate("a => a.currentSrc"))
    assert sources[0] != sources[1]
    # The view survives a pasted URL.
    restored = page.context.new_page()
    restored.goto(page.url)
    expect(restored.locator(ROWS)).to_have_count(26)
    restored.close()
