"""The Map view with Streamlit's AppTest (no browser), on the demo workspace (its enriched tables).

The map itself is a browser component (tests/browser/test_map_e2e.py draws on it); here the view's
side: its defaults, the selection and the picked row as the URL carries them, the rows they list."""

from __future__ import annotations

import json

import numpy as np

import shanty
from tests.kits.apptest import notes

VIEW = "dashboard/views/map.py"


def _map(demo_root: str, two: bool = False) -> shanty.SimilarityMap:
    api = shanty.Api(demo_root)
    synth = shanty.MapSource(api.artifact("cshanty/synth_samples:latest"), "synth_song_samples", "audio_embedding")
    if not two:
        return shanty.similarity_map([synth], "instrument")
    originals = shanty.MapSource(
        api.artifact("cshanty/original_songs:latest"), "original_song_samples", "audio_embedding"
    )
    return shanty.similarity_map([synth, originals], None, pair_on="song_id")


def _table_data(at, view_key: str) -> dict:
    """The data the media table with ``view_key`` was given (what the browser draws)."""
    for element in at.get("bidi_component"):
        if element.proto.component_name.endswith("shanty_media_table"):
            data = json.loads(element.proto.json or element.proto.mixed.json)
            if data["view_key"].startswith(view_key):
                return data
    raise AssertionError(f"no media table {view_key!r}")


def test_the_map_opens_on_the_enriched_renderings_coloured_by_instrument(app) -> None:
    at = app(VIEW)
    assert not at.exception
    assert at.selectbox(key="m_artifact").value == "cshanty/synth_samples"
    assert at.selectbox(key="m_embedding").value == "audio_embedding"
    assert at.selectbox(key="m_color").value == "instrument"
    assert any("26 rows · PCA of audio_embedding (the axes explain" in c.value.replace("\\", "") for c in at.caption)
    assert at.query_params["m_color"] == "instrument"


def test_a_selection_in_the_link_lists_the_rows_inside_it(app, demo_root: str) -> None:
    found = _map(demo_root)
    flutes = np.flatnonzero(np.array(found.legend)[found.color] == "flute")
    xs, ys = found.x[flutes], found.y[flutes]
    pad = 1e-3
    polygon = [
        [xs.min() - pad, ys.min() - pad],
        [xs.max() + pad, ys.min() - pad],
        [xs.max() + pad, ys.max() + pad],
        [xs.min() - pad, ys.max() + pad],
    ]
    inside = found.selected(polygon)[0]
    assert set(found.row[flutes]) <= set(inside)
    sel = ";".join(f"{x:.9g},{y:.9g}" for x, y in polygon)
    at = app(VIEW, sel=sel)
    assert not at.exception
    assert any(f"**{len(inside)} rows** of cshanty/synth_samples:v2/synth_song_samples" in m.value for m in at.markdown)
    assert at.query_params["sel"]


def test_a_picked_original_lists_its_renderings_first_by_tune(app, demo_root: str) -> None:
    found = _map(demo_root, two=True)
    humpback = found.point_of(1, 0)  # the originals' first row: humpback_01
    at = app(VIEW, m_two="1", m2_artifact="cshanty/original_songs", point="1:0")
    assert not at.exception, at.exception
    assert at.selectbox(key="m_similar_by").value == "audio_melody"
    rows = _table_data(at, "map-list|m_similar")["rows"]
    song = found.labels[humpback]
    own = sum(1 for p in range(len(found)) if found.source[p] == 0 and found.labels[p] == song)
    assert own == 4
    assert rows[0][0] == "this row" and rows[0][4] == song  # rank, distance, table, media, label, colour
    assert [r[4] for r in rows[1 : own + 1]] == [song] * own
    assert all(r[2].startswith("cshanty/synth_samples") for r in rows[1 : own + 1])
    assert rows[1][3]["url"].startswith("/api/media/")  # playable
    assert all(r[4] != song for r in rows[own + 1 :])


def test_a_broken_selection_link_is_explained_and_a_table_without_embeddings_says_how(app) -> None:
    at = app(VIEW, sel="1,2;oops")
    assert not at.exception
    assert any("The link's selection cannot be used" in n for n in notes(at))
    at = app(VIEW, m_artifact="cshanty/audio_formats")
    assert not at.exception
    assert any("has no embedding column yet" in i.value for i in at.info)
    assert any("shanty enrich cshanty/audio_formats:v0 --table formats" in c.value for c in at.code)


def test_another_table_drops_the_selection_and_the_picked_row(app) -> None:
    at = app(VIEW, sel="-9,-9;9,-9;9,9;-9,9", point="0:1")
    assert at.query_params["sel"] and at.query_params["point"] == "0:1"
    at.selectbox(key="m_artifact").set_value("cshanty/original_songs").run()
    assert not at.exception
    assert "sel" not in at.query_params and "point" not in at.query_params
    assert not any("Selected rows" in h.value for h in at.subheader)
