"""The Map view end to end on the demo: the synthesized songs' map opens clustered by instrument, a lasso
around one instrument's cluster lists exactly those rows (and lands in the URL), a clicked point plays
and lists the rows like it; with the originals on the same map, an original's renderings come first."""

from __future__ import annotations

import math
from urllib.parse import parse_qs, urlsplit

import numpy as np
from playwright.sync_api import Page, expect

from shanty import Api, MapSource, similarity_map
from tests.browser.conftest import Dashboard
from tests.browser.test_dashboard_e2e import PLAY, wait_playing
from tests.browser.test_scatter_map_e2e import lasso_around, screen

TABLE = "[data-testid=media-table]"


def demo_map(dashboard: Dashboard):
    api = Api(str(dashboard.root))
    synth = MapSource(api.artifact("cshanty/synth_samples:latest"), "synth_song_samples", "audio_embedding")
    return similarity_map([synth], "instrument")


def open_map(page: Page, path: str, points: int) -> None:
    page.set_viewport_size({"width": 1440, "height": 1100})  # the whole map on screen: clicks land on it
    page.goto(path)
    expect(page.locator(f"[data-testid=scatter-map][data-points='{points}'][data-frames]")).to_be_visible()


def isolated_cluster(found) -> tuple[str, tuple[float, float], float, list[int]]:
    """An instrument whose points a circle can hold without any other point: (name, centre, radius, rows)."""
    points = np.column_stack([found.x, found.y]).astype(np.float64)
    names = np.array(found.legend)[found.color]
    for name in found.legend:
        mine = names == name
        centre = points[mine].mean(axis=0)
        reach = np.linalg.norm(points - centre, axis=1)
        radius = reach[mine].max() * 1.15 + 1e-3
        if (reach[~mine] > radius * 1.1).all():
            return name, (float(centre[0]), float(centre[1])), float(radius), sorted(found.row[mine].tolist())
    raise AssertionError("no instrument's cluster stands alone on the demo's map")


def test_a_lasso_filters_the_rows_and_a_clicked_point_plays(page: Page, dashboard: Dashboard) -> None:
    found = demo_map(dashboard)
    open_map(page, "/map", len(found))
    name, centre, radius, rows = isolated_cluster(found)
    page.get_by_role("button", name="Lasso: draw around points to select them").click()
    lasso_around(page, centre, radius)
    selected = page.locator(TABLE).first
    expect(page.get_by_text(f"{len(rows)} rows of cshanty/synth_samples:v2/synth_song_samples")).to_be_visible()
    expect(selected.locator("tbody tr")).to_have_count(len(rows))
    headers = selected.locator("thead th").evaluate_all("ths => ths.map(th => th.dataset.column)")
    column = headers.index("instrument") + 1
    assert set(selected.locator(f"tbody tr > td:nth-child({column})").all_inner_texts()) == {name}
    page.wait_for_url(lambda url: "sel=" in url)
    expect(page.get_by_test_id("map-count")).to_have_text(f"{len(found)} points · {len(rows)} selected")

    # Click a point of another instrument: it is the first row of "Rows like this one", and it plays
    other = next(i for i in range(len(found)) if found.legend[found.color[i]] != name)
    page.get_by_role("button", name="Pan: drag to move the view").click()
    page.mouse.click(*screen(page, (float(found.x[other]), float(found.y[other]))))
    expect(page.get_by_text("Rows like this one")).to_be_visible()
    page.wait_for_url(lambda url: "point" in parse_qs(urlsplit(url).query))
    row = int(parse_qs(urlsplit(page.url).query)["point"][0].split(":")[1])
    assert found.legend[found.color[found.point_of(0, row)]] != name  # a point of the instrument clicked
    similar = page.locator(TABLE).first  # the neighbours come before the selection
    expect(similar.locator("tbody tr")).to_have_count(11)  # the row itself, then its 10 nearest
    expect(similar.locator("tbody tr").first).to_contain_text("this row")
    expect(similar.locator("tbody tr").first).to_contain_text(found.labels[found.point_of(0, row)])
    similar.locator(PLAY).first.click()
    assert wait_playing(page, table=0) > 0.2


def test_an_original_finds_its_renderings_first(page: Page, dashboard: Dashboard) -> None:
    api = Api(str(dashboard.root))
    synth = MapSource(api.artifact("cshanty/synth_samples:latest"), "synth_song_samples", "audio_embedding")
    originals = MapSource(api.artifact("cshanty/original_songs:latest"), "original_song_samples", "audio_embedding")
    found = similarity_map([synth, originals], None, pair_on="song_id")
    humpback = found.point_of(1, 0)
    song = found.labels[humpback]
    own = sum(1 for p in range(len(found)) if found.source[p] == 0 and found.labels[p] == song)
    open_map(page, "/map?m_two=1&m2_artifact=cshanty/original_songs", len(found))
    expect(page.locator("[data-testid=scatter-map]")).to_have_attribute("data-lines", str(len(found.lines)))
    page.mouse.click(*screen(page, (float(found.x[humpback]), float(found.y[humpback]))))
    listed = page.locator(TABLE).first.locator("tbody tr")
    expect(listed).to_have_count(11)
    texts = listed.all_inner_texts()
    assert "this row" in texts[0] and song in texts[0]
    assert all(song in t and "synth_samples" in t for t in texts[1 : own + 1]), texts
    assert not any(song in t for t in texts[own + 1 :])
    assert math.isfinite(found.similar(humpback, own, "audio_melody")[-1][1])
