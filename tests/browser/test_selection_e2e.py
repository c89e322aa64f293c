"""A newcomer's first minutes, end to end: every view opens on the right thing, keeps the selection
when you move between views (and Back undoes a move), and says so when a link names nothing."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from .test_dashboard_e2e import AUDIO, TABLE, heard, play_cell, wait_playing

pytestmark = pytest.mark.browser


def combobox(page: Page, label: str):
    """A selectbox by its label (its value is the combobox's value)."""
    return page.get_by_role("combobox", name=label, exact=True)


def pick(page: Page, label: str, option: str) -> None:
    # Typed, as a person would in a long list: the dropdown renders only the options in view, so an
    # option further down the demo's artifact list would otherwise not be there to click.
    combobox(page, label).click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option, exact=True).click()


def go(page: Page, view: str) -> None:
    """Click a view in the navigation, as a person would."""
    page.get_by_role("link", name=view, exact=True).click()
    expect(page.get_by_role("heading", name=view, exact=True)).to_be_visible()


def back_to(page: Page, path: str, heading: str) -> None:
    """Press Back until the address is the view at ``path`` (at most twice), then wait for it.

    Streamlit 1.67 adds a history entry for the page a navigation click opens and another when the view
    writes its state into the URL (in one update, see ``publish``), so the view before is two entries back.
    """
    for _ in range(2):
        page.go_back()
        if urlsplit(page.url).path == path:  # the address changes at once; the view renders after
            break
    assert urlsplit(page.url).path == path
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def grid_paths(page: Page) -> set[str]:
    """The .wav names in the Diff view's side-by-side list (st.dataframe keeps cells in an accessible grid)."""
    cells = page.locator("td[role=gridcell]")
    expect(cells.filter(has_text="pilot_01.wav")).to_have_count(1)
    return {t.strip() for t in cells.evaluate_all("cs => cs.map(c => c.textContent)") if t.strip().endswith(".wav")}


def test_open_the_app_click_diff_and_see_the_two_added_songs(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Artifacts", exact=True)).to_be_visible()
    go(page, "Diff")
    expect(combobox(page, "Artifact")).to_have_value("sample_songs")
    expect(combobox(page, "Old")).to_have_value("v0")
    expect(combobox(page, "New")).to_have_value("v1")
    expect(page.get_by_text("2 change(s)")).to_be_visible()
    assert grid_paths(page) == {"bowhead_01.wav", "pilot_01.wav"}


def test_an_artifact_picked_on_artifacts_is_selected_on_table_and_diff_and_back_undoes(page: Page) -> None:
    page.goto("/")
    pick(page, "Artifact", "synth_samples")
    expect(page.get_by_text("cshanty/synth_samples:v2")).to_be_visible()  # its latest version (enriched)
    go(page, "Table")
    expect(combobox(page, "Artifact")).to_have_value("cshanty/synth_samples")
    expect(combobox(page, "Version")).to_have_value("v2")
    expect(page.get_by_text("26 rows", exact=False)).to_be_visible()
    go(page, "Diff")
    expect(combobox(page, "Artifact")).to_have_value("synth_samples")
    expect(combobox(page, "New")).to_have_value("v2")
    page.wait_for_url(re.compile(r"/diff\?.*new=v2"))  # the view has written its state: Back starts from here
    back_to(page, "/table", "Table")
    expect(combobox(page, "Artifact")).to_have_value("cshanty/synth_samples")


def test_a_link_to_an_unknown_artifact_says_so(page: Page) -> None:
    page.goto("/table?artifact=cshanty/nope&version=v9")
    alert = page.get_by_text("'cshanty/nope'", exact=False)
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("'cshanty/synth_samples'")  # and what exists
    expect(page.locator(f"{TABLE} tbody tr").first).to_be_visible()  # the view still shows a table


def test_compare_opens_on_the_redone_renderings_and_plays_a_and_b(page: Page) -> None:
    page.goto("/compare")
    expect(combobox(page, "Version").first).to_have_value("v0")
    expect(page.get_by_text("changed (4)")).to_be_visible()
    changed = page.locator(TABLE).first  # the row changes (the side-by-side tab's tables follow it)
    expect(changed.locator("tbody tr")).to_have_count(4)
    headers = changed.locator("thead th").evaluate_all("ths => ths.map(th => th.dataset.column)")
    assert "A: audio" in headers and "B: audio" in headers
    first = f"{TABLE} >> nth=0 >> tbody tr >> nth=0 >> {AUDIO}"
    expect(page.locator(first)).to_have_count(2)
    sources = []
    for side in range(2):  # A (the v0 take) and B (the redone take) both play
        play_cell(page, first, side)
        assert wait_playing(page) > 0.2
        sources.append(heard(page).evaluate("a => a.currentSrc"))
    assert sources[0] != sources[1]
