"""The dashboard's views with Streamlit's AppTest (no browser), on the demo workspace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import shanty
from dashboard.widgets.pickers import forget_registry_scans
from tests.kits.apptest import APP


def changes_table(at: AppTest, new: str):
    """The Diff view's side-by-side list of changes (the first table with the new version's paths)."""
    return next(d.value for d in at.dataframe if f"{new}: path" in d.value.columns)


def expression(at: AppTest):
    return next(t for t in at.text_input if t.label == "Expression")


def counts(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown if "rows" in m.value or "groups" in m.value)


def test_table_view_shows_the_synth_table(app) -> None:
    at = app("dashboard/views/table.py", artifact="cshanty/synth_samples")
    assert not at.exception
    assert "**26 rows**" in counts(at)
    assert at.selectbox(key="table").value == "synth_song_samples"


def test_expression_filters_and_lands_in_the_url(app) -> None:
    at = app("dashboard/views/table.py", artifact="cshanty/synth_samples")
    expression(at).input("instrument = 'flute'").run()
    assert "**6 rows**" in counts(at)
    token = at.query_params["q"]
    restored = app("dashboard/views/table.py", artifact="cshanty/synth_samples", q=token)
    assert "**6 rows**" in counts(restored)


def test_deep_link_with_filter_and_group(app) -> None:
    flute = shanty.Query(filters=(shanty.Filter("instrument", "=", "flute"),))
    at = app("dashboard/views/table.py", artifact="cshanty/synth_samples", q=flute.to_url_token())
    assert "**6 rows**" in counts(at)
    grouped = shanty.Query(group_by=shanty.GroupBy(("song_id",), (shanty.Aggregate("count"),), samples=2))
    at = app("dashboard/views/table.py", artifact="cshanty/synth_samples", q=grouped.to_url_token())
    assert "**7 groups**" in counts(at)


def test_grouping_widget(app) -> None:
    at = app("dashboard/views/table.py", artifact="cshanty/synth_samples")
    next(m for m in at.multiselect if m.label == "Group by").set_value(["instrument"]).run()
    assert "**4 groups**" in counts(at)


def test_bad_links_and_bad_expressions_are_explained(app) -> None:
    at = app("dashboard/views/table.py", artifact="cshanty/synth_samples", q="not-a-query")
    assert not at.exception and any("could not be read" in w.value for w in at.warning)
    assert "**26 rows**" in counts(at)
    expression(at).input("pitch_hz >").run()
    assert not at.exception and at.error and "Expected" in at.error[0].value


def test_export_prepares_a_download(app) -> None:
    at = app("dashboard/views/table.py", artifact="cshanty/synth_samples")
    prepare = next(b for b in at.button if b.label == "Prepare the export")
    prepare.click().run()
    assert not at.exception
    assert any("Download 26 rows" in str(getattr(b, "label", "")) for b in at.get("download_button"))


def test_artifacts_view_deep_link_and_files(app) -> None:
    at = app("dashboard/views/artifacts.py", project="cshanty", artifact="sample_songs", version="v0")
    assert not at.exception
    assert any("5 file(s)" in c.value for c in at.caption)
    at = app("dashboard/views/artifacts.py", project="cshanty", artifact="sample_songs", version="v1", files_q="orca")
    assert any("1 file(s)" in c.value for c in at.caption)


def test_editing_notes_and_aliases(app, demo_root: str) -> None:
    at = app("dashboard/views/artifacts.py", project="cshanty", artifact="sample_songs", version="v0")
    at.text_area[0].input("checked by ear")
    at.text_input[0].input("baseline, reviewed")
    at.button[0].click().run()
    assert not at.exception
    version = shanty.Api(demo_root).artifact("cshanty/sample_songs:reviewed")
    assert (version.version, version.description) == ("v0", "checked by ear")
    at.text_input[0].input("latest")
    at.button[0].click().run()
    assert at.error and "reserved" in at.error[0].value


def test_join_view_pairs_originals_with_every_instrument(app) -> None:
    at = app(
        "dashboard/views/join.py",
        l_artifact="cshanty/original_songs",
        r_artifact="cshanty/synth_samples",
        on="song_id",
    )
    assert not at.exception
    assert "**26 rows**" in counts(at)
    expression(at).input("synth.instrument = 'organ'").run()
    assert "**6 rows**" in counts(at)
    assert "q" in at.query_params and at.query_params["on"] == "song_id"


def test_join_can_be_saved_and_reopened(app, demo_root: str) -> None:
    at = app(
        "dashboard/views/join.py", l_artifact="cshanty/original_songs", r_artifact="cshanty/synth_samples", on="song_id"
    )
    name = next(t for t in at.text_input if t.label == "Artifact name")
    name.input("songs_join_test")
    next(b for b in at.button if b.label == "Log it").click().run()
    assert not at.exception and at.success
    joined = shanty.Api(demo_root).artifact("cshanty/songs_join_test:latest").get("original_synth")
    assert isinstance(joined, shanty.JoinedTable) and joined.left_keys == joined.right_keys == ("song_id",)
    assert (len(joined.table1), len(joined.table2)) == (7, 26)


def test_diff_view_names_the_added_songs(app) -> None:
    at = app("dashboard/views/diff.py", project="cshanty", artifact="sample_songs")
    assert not at.exception
    assert (at.selectbox(key="old").value, at.selectbox(key="new").value) == ("v0", "v1")
    assert any("2 change(s)" in c.value for c in at.caption)
    changes = changes_table(at, "v1")
    assert list(changes["v1: path"]) == ["bowhead_01.wav", "pilot_01.wav"] and set(changes["change"]) == {"added"}
    assert list(changes["v0: path"]) == ["", ""]  # side by side: nothing on the old side


def test_diff_view_plays_a_modified_file_a_b(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = tmp_path / "b"
    bucket.mkdir()
    (bucket / "song.wav").write_bytes(b"RIFF old take")
    root = str(tmp_path / "reg")
    for data in (b"RIFF old take", b"RIFF new take, longer"):
        (bucket / "song.wav").write_bytes(data)
        with shanty.init(project="p", root=root) as run:
            artifact = shanty.Artifact("takes", type="raw_data")
            artifact.add_reference(str(bucket))
            run.log_artifact(artifact)
    monkeypatch.setenv("SHANTY_ROOT", root)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"project": "p", "artifact": "takes", "kinds": "modified"})
    at.switch_page("dashboard/views/diff.py")
    at.run()
    assert not at.exception
    assert list(at.dataframe[-1].value["change"]) == ["modified"]
    assert at.selectbox(key="ab").value == "song.wav"


@pytest.fixture
def two_table_versions(tmp_path: Path) -> str:
    """A table logged twice: one row's audio and score changed, one row removed, one added."""
    bucket = tmp_path / "b"
    bucket.mkdir()
    for name in ("a", "b", "c", "d", "a2"):
        (bucket / f"{name}.wav").write_bytes(f"RIFF {name}".encode())
    root = str(tmp_path / "reg")
    versions = (
        [("s1", "a", 0.5), ("s2", "b", 0.7), ("s3", "c", 0.9)],
        [("s1", "a2", 0.6), ("s2", "b", 0.7), ("s4", "d", 0.1)],
    )
    for rows in versions:
        table = shanty.Table(columns=["song_id", "audio", "score"])
        for song, audio, score in rows:
            table.add_data(song, shanty.Audio(str(bucket / f"{audio}.wav")), score)
        with shanty.init(project="p", root=root) as run:
            artifact = shanty.Artifact("scores", type="dataset")
            artifact.add(table, "t")
            run.log_artifact(artifact)
    return root


def test_compare_view_shows_changed_cells_a_b(two_table_versions: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHANTY_ROOT", two_table_versions)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(
        {"a_artifact": "p/scores", "a_version": "v0", "b_artifact": "p/scores", "b_version": "v1", "key": "song_id"}
    )
    at.switch_page("dashboard/views/compare.py")
    at.run()
    assert not at.exception
    assert at.radio(key="kind").value == "changed"
    assert at.radio(key="kind").options == ["added (1)", "removed (1)", "changed (1)"]
    captions = [re.sub(r"\\(.)", r"\1", c.value) for c in at.caption]  # Markdown escapes of names removed
    assert any("A: p/scores:v0/t (3 rows) · B: p/scores:v1/t (3 rows)" in c for c in captions)
    assert at.query_params["key"] == "song_id"
    at.radio(key="kind").set_value("added").run()
    assert not at.exception and at.query_params["kind"] == "added"
    shown = [re.sub(r"\\(.)", r"\1", m.value) for m in at.markdown]  # as read: Markdown escapes of names removed
    side = [m for m in shown if m.startswith(("**A:", "**B:"))]
    assert side == ["**A: p/scores:v0/t** · 3 rows", "**B: p/scores:v1/t** · 3 rows"]


def test_saved_join_reopens(app, demo_root: str) -> None:
    at = app(
        "dashboard/views/join.py", l_artifact="cshanty/original_songs", r_artifact="cshanty/synth_samples", on="song_id"
    )
    next(t for t in at.text_input if t.label == "Artifact name").input("reopen_me")
    next(b for b in at.button if b.label == "Log it").click().run()
    at = app("dashboard/views/join.py", saved="cshanty/reopen_me:v0/original_synth")
    assert not at.exception
    assert at.selectbox(key="l_artifact").value == "cshanty/reopen_me"
    assert at.selectbox(key="l_table").value == "original_song_samples"
    assert at.selectbox(key="r_table").value == "synth_song_samples"
    assert "**26 rows**" in counts(at)


def test_join_on_differently_named_keys_saves_wandbs_key_pair_and_reopens(app, demo_root: str) -> None:
    # W&B's JoinedTable(t1, t2, ["song_id", "source_song"]): the view pairs keys named differently.
    with shanty.Run(project="pairs", job_type="test", root=demo_root) as run:
        left = shanty.Artifact("songs_meta", type="raw_data")
        left.add(shanty.Table(columns=["song_id", "genre"], data=[["s1", "folk"], ["s2", "jazz"]]), "meta")
        right = shanty.Artifact("renders", type="synth")
        right.add(shanty.Table(columns=["source_song", "take"], data=[["s1", 1], ["s1", 2], ["s2", 1]]), "takes")
        run.log_artifact(left)
        run.log_artifact(right)
    forget_registry_scans()  # the catalog is cached per process: earlier tests scanned this registry
    at = app("dashboard/views/join.py", l_artifact="pairs/songs_meta", r_artifact="pairs/renders")
    assert not at.exception
    assert "**3 rows**" in counts(at)  # no shared column: the keys are paired, first column with first column
    assert (at.selectbox(key="l_key").value, at.selectbox(key="r_key").value) == ("song_id", "source_song")
    assert at.query_params["l_key"] == "song_id" and at.query_params["r_key"] == "source_song"
    next(t for t in at.text_input if t.label == "Artifact name").input("paired")
    next(b for b in at.button if b.label == "Log it").click().run()
    joined_name = next(t for t in at.text_input if t.label == "Joined table name").value
    joined = shanty.Api(demo_root).artifact("pairs/paired:v0").get(joined_name)
    assert joined.join_key == ["song_id", "source_song"]
    at = app("dashboard/views/join.py", saved=f"pairs/paired:v0/{joined_name}")
    assert not at.exception and "**3 rows**" in counts(at)
