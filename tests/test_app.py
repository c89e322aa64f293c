"""Dashboard smoke tests with Streamlit's AppTest (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import shanty

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_artifacts_page_lists_versions(tmp_path: Path) -> None:
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    (bucket / "a.wav").write_bytes(b"a")
    with shanty.init(project="songs") as run:
        artifact = shanty.Artifact("sample_songs", type="raw_data", description="<b>note</b>")
        artifact.add_reference(str(bucket))
        run.log_artifact(artifact, aliases=["best"])
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert at.selectbox(key="project").value == "songs"
    versions = at.dataframe[1].value
    assert list(versions["version"]) == ["v0"] and versions["aliases"][0] == "latest, best"


def test_configured_empty_registry_is_not_filled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert any("registry is empty" in info.value for info in at.info)
    assert shanty.Api().projects() == []
    at.button[0].click().run()
    assert shanty.Api().projects() == ["cshanty"]


def test_unconfigured_dashboard_builds_the_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dashboard.workspace as workspace

    monkeypatch.delenv("SHANTY_ROOT")
    monkeypatch.setattr(workspace, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(workspace, "DEMO_ROOT", tmp_path / "data" / "registry")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    at.selectbox(key="artifact").set_value("sample_songs").run()
    versions = at.dataframe[1].value
    assert list(versions["version"]) == ["v1", "v0"]
    assert list(versions["files"]) == ["7", "5"]  # formatted for people
    assert (tmp_path / "data" / "media" / "bucket" / "song_metadata.csv").exists()
