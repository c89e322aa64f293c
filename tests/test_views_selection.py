"""Every view opens on the right thing, keeps your place, and says when a link is wrong (AppTest, demo workspace).

Moving between views goes through ``navigate``, which clears the query
parameters first, as Streamlit's navigation does in a browser; the browser
suite checks the same rules end to end.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import shanty
from dashboard.widgets.plain import plain
from tests.kits.apptest import navigate, notes

ARTIFACTS, TABLE, JOIN, DIFF, COMPARE = (
    f"dashboard/views/{v}.py" for v in ("artifacts", "table", "join", "diff", "compare")
)


def value(at, key: str):
    return at.selectbox(key=key).value


def changes_table(at, new: str):
    """The Diff view's side-by-side list of changes (the first table with the new version's paths)."""
    return next(d.value for d in at.dataframe if f"{new}: path" in d.value.columns)


def counts(at) -> str:
    return " ".join(m.value for m in at.markdown if "**" in m.value and "page" in m.value)


# --- meaningful defaults ------------------------------------------------------------------------------


def test_every_view_opens_on_something_without_a_link(app) -> None:
    at = app(ARTIFACTS)
    assert not at.exception and not notes(at)
    # The most recently changed artifact: the seed's v1 of sample_songs, at its latest version.
    assert (value(at, "project"), value(at, "artifact"), value(at, "version")) == ("cshanty", "sample_songs", "v1")
    at = app(TABLE)
    assert not at.exception and not notes(at)
    # The synthesized songs, as enriched last (measured columns and embeddings)
    assert value(at, "artifact") == "cshanty/synth_samples" and value(at, "version") == "v2"
    assert "**26 rows**" in counts(at)
    at = app(JOIN)
    assert not at.exception and not notes(at)
    assert (value(at, "l_artifact"), value(at, "r_artifact")) == ("cshanty/synth_samples", "cshanty/original_songs")
    assert at.multiselect(key="on").value == ["song_id"]
    at = app(COMPARE)
    assert not at.exception and not notes(at)
    sides = [(value(at, f"{s}_artifact"), value(at, f"{s}_version"), value(at, f"{s}_table")) for s in "ab"]
    assert sides == [("cshanty/synth_samples", v, "synth_song_samples") for v in ("v0", "v1")]
    assert at.multiselect(key="key").value == ["song_name"]  # the fewest columns that identify every row
    assert at.radio(key="kind").value == "changed"
    assert at.radio(key="kind").options == ["added (8)", "removed (2)", "changed (4)"]


def test_diff_opens_on_the_seed_story_with_no_input(app) -> None:
    at = app(DIFF)
    assert not at.exception and not notes(at)
    assert (value(at, "artifact"), value(at, "old"), value(at, "new")) == ("sample_songs", "v0", "v1")
    changes = changes_table(at, "v1")
    assert list(changes["v1: path"]) == ["bowhead_01.wav", "pilot_01.wav"]
    assert set(changes["change"]) == {"added"} and list(changes["v0: path"]) == ["", ""]
    assert list(changes["v1: size"]) == [shanty.human_size(s) for s in sizes("sample_songs:v1", changes["v1: path"])]


def sizes(ref: str, paths) -> list[int]:
    version = shanty.Api().artifact(f"cshanty/{ref}")
    return [version.manifest.entries[p].size for p in paths]


# --- one selection, shared ----------------------------------------------------------------------------


def test_a_pick_in_one_view_is_the_default_of_the_others(app) -> None:
    at = app(ARTIFACTS)
    at.selectbox(key="artifact").set_value("synth_samples").run()
    assert value(at, "version") == "v2"  # picking an artifact selects its latest version
    at.selectbox(key="version").set_value("v1").run()
    at = navigate(at, TABLE)
    assert (value(at, "artifact"), value(at, "version"), value(at, "table")) == (
        "cshanty/synth_samples",
        "v1",
        "synth_song_samples",
    )
    assert not notes(at) and at.query_params["artifact"] == "cshanty/synth_samples"  # and it is in the URL
    at = navigate(at, DIFF)
    assert (value(at, "artifact"), value(at, "old"), value(at, "new")) == ("synth_samples", "v0", "v1")
    at = navigate(at, COMPARE)
    assert (value(at, "a_version"), value(at, "b_version")) == ("v0", "v1")
    at = navigate(at, ARTIFACTS)
    assert (value(at, "artifact"), value(at, "version")) == ("synth_samples", "v1")


def test_a_picked_version_follows_and_another_artifact_starts_at_its_latest(app) -> None:
    at = app(ARTIFACTS)
    at.selectbox(key="version").set_value("v0").run()
    at = navigate(at, DIFF)
    # The selected version is the new side when it has a predecessor; v0 is compared with v1.
    assert (value(at, "artifact"), value(at, "old"), value(at, "new")) == ("sample_songs", "v0", "v1")
    at = navigate(at, ARTIFACTS)
    assert value(at, "version") == "v0"
    at.selectbox(key="artifact").set_value("original_songs").run()
    at.selectbox(key="artifact").set_value("sample_songs").run()
    assert value(at, "version") == "v1"  # not the v0 picked before: another artifact was picked in between


# --- wrong links get a sentence -------------------------------------------------------------------------


def test_an_unknown_artifact_in_a_link_is_named_with_what_exists(app) -> None:
    at = app(TABLE, artifact="cshanty/nope", version="v9")
    assert not at.exception
    said = notes(at)
    assert len(said) == 1  # the version belonged to the missing artifact: one sentence, not two
    assert (
        "'cshanty/nope'" in said[0] and "'cshanty/synth_samples'" in said[0] and "'cshanty/original_songs'" in said[0]
    )
    at.run()  # the note stays while the user has not picked anything else
    assert len(notes(at)) == 1
    at.selectbox(key="artifact").set_value("cshanty/original_songs").run()  # not the fallback: a pick
    assert notes(at) == []


def test_unknown_project_version_and_table_are_each_named(app) -> None:
    at = app(ARTIFACTS, project="nope")
    assert any("'nope'" in n and "'cshanty'" in n for n in notes(at))
    at = app(ARTIFACTS, project="cshanty", artifact="sample_songs", version="v9")
    assert any("'v9'" in n and "'v0'" in n and "'v1'" in n for n in notes(at))
    at = app(TABLE, artifact="cshanty/synth_samples", version="v1", table="nope")
    assert any("'nope'" in n and "'synth_song_samples'" in n for n in notes(at))
    assert value(at, "table") == "synth_song_samples"


def test_unknown_columns_and_damaged_queries_are_explained(app) -> None:
    bad_column = shanty.Query(filters=(shanty.Filter("nope", "=", 1),)).to_url_token()
    at = app(TABLE, artifact="cshanty/synth_samples", q=bad_column)
    assert at.error and "Unknown column 'nope'" in at.error[0].value
    at = app(TABLE, artifact="cshanty/synth_samples", q="z@@@")
    assert any("could not be read" in n for n in notes(at)) and "**26 rows**" in counts(at)
    at = app(COMPARE, key="nope")
    assert any("'nope'" in n and "'song_id'" in n for n in notes(at))


def test_pages_past_the_end_clamp_with_a_note(app) -> None:
    at = app(DIFF, project="cshanty", artifact="sample_songs", page="99999")
    assert any("Page 99,999 does not exist" in n for n in notes(at))
    assert at.number_input(key="page").value == 1 and any("page 1 of 1" in c.value for c in at.caption)
    at = app(TABLE, artifact="cshanty/synth_samples", q=shanty.Query(page=40, page_size=10).to_url_token())
    assert any("Page 40 does not exist: there are 3 pages" in n for n in notes(at))
    assert "page 3 of 3" in counts(at)
    at = app(COMPARE, kind="added", diff_page="7")
    assert any("Page 7 does not exist" in n for n in notes(at))
    assert any("added rows 1–8 of 8" in c.value for c in at.caption)


def test_compare_pages_through_many_rows(app, tmp_path: Path, monkeypatch) -> None:
    root = str(tmp_path / "reg")
    for rows in (range(3), range(40)):
        with shanty.init(project="p", root=root) as run:
            artifact = shanty.Artifact("numbers", type="dataset")
            artifact.add(shanty.Table(columns=["id", "x"], data=[[i, i * 1.5] for i in rows]), "t")
            run.log_artifact(artifact)
    monkeypatch.setenv("SHANTY_ROOT", root)
    at = app(COMPARE)
    assert at.radio(key="kind").options == ["added (37)", "removed (0)", "changed (0)"]
    assert any("added rows 1–25 of 37" in c.value for c in at.caption)
    at.number_input(key="diff_page").set_value(2).run()
    assert any("added rows 26–37 of 37" in c.value for c in at.caption)
    assert at.query_params["diff_page"] == "2"


def test_reset_clears_the_query_and_the_expression_text(app) -> None:
    at = app(TABLE, artifact="cshanty/synth_samples")
    box = next(t for t in at.text_input if t.label == "Expression")
    box.input("nope = 1").run()
    assert at.error
    next(b for b in at.button if b.label == "Reset the view").click().run()
    assert not at.error and "**26 rows**" in counts(at)
    assert next(t for t in at.text_input if t.label == "Expression").value == ""
    assert "q" not in at.query_params


def test_user_text_in_messages_never_becomes_a_link_or_an_image(app) -> None:
    bait = "[Your session expired - sign in again](https://evil.example/login) ![x](https://evil.example/x.png)"
    at = app(TABLE, artifact=bait)
    raw = [w.value for w in at.warning]
    assert raw and all("](" not in r and "\\[" in r for r in raw)  # the Markdown source has every bracket escaped
    assert any(bait in n for n in notes(at))  # and the reader sees the text exactly as it was sent
    column = "[click](https://evil.example)"
    at = app(
        TABLE, artifact="cshanty/synth_samples", q=shanty.Query(filters=(shanty.Filter(column, "=", 1),)).to_url_token()
    )
    assert at.error and "](" not in at.error[0].value and "evil" in at.error[0].value


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("[a](http://x)", r"\[a\]\(http\://x\)"),
        ("**bold** _it_ `code`", r"\*\*bold\*\* \_it\_ \`code\`"),
        (":red[alarm]", r"\:red\[alarm\]"),
        ("two\nlines", "two lines"),
        ("plain words 42", "plain words 42"),
    ],
)
def test_plain_escapes_markdown(text: str, shown: str) -> None:
    assert plain(text) == shown


# --- feedback and settings -------------------------------------------------------------------------------


def test_saving_says_so_and_latest_is_explained(app, demo_root: str) -> None:
    at = app(ARTIFACTS, project="cshanty", artifact="sample_songs")
    assert value(at, "version") == "v1"
    at.text_input[0].input("expanded, latest")
    next(b for b in at.button if b.label == "Save note and aliases").click().run()
    toasts = [t.value for t in at.toast]
    assert any("Saved the note and aliases" in t for t in toasts)
    assert any("'latest' needs no setting" in t for t in toasts)
    assert shanty.Api(demo_root).artifact("cshanty/sample_songs:latest").version == "v1"


def test_the_app_follows_the_system_theme_and_hides_the_deploy_button() -> None:
    config = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] in ("minimal", "viewer")
    theme = config.get("theme", {})
    assert "base" not in theme and {"light", "dark"} <= set(theme)  # both themes; the system picks


def test_values_are_formatted_for_people(app) -> None:
    at = app(ARTIFACTS)
    versions = at.dataframe[1].value
    assert list(versions["files"]) == ["7", "5"] and all(s.endswith(("KiB", "MiB")) for s in versions["size"])
    assert "—" in list(versions["job"]) or all(versions["job"])  # an empty value is a dash, never "None"
    files = at.dataframe[2].value
    assert not any(str(s).startswith(("/", "file://")) for s in files["source"])  # no machine paths
    assert "None" not in files.to_string()
