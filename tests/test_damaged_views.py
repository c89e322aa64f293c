"""A damaged artifact log in the dashboard: named in one sentence, never a traceback, the rest usable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import shanty
from tests.kits.apptest import APP, notes


@pytest.fixture
def damaged_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "registry"
    monkeypatch.setenv("SHANTY_ROOT", str(root))
    monkeypatch.setenv("SHANTY_SECRET_FILE", str(tmp_path / "secret"))
    for name in ("songs", "broken"):
        media = tmp_path / f"{name}.wav"
        media.write_bytes(name.encode())
        with shanty.init(project="p", job_type="upload") as run:
            artifact = shanty.Artifact(name, type="raw_data")
            artifact.add_reference(str(media))
            version = run.log_artifact(artifact)
        version.description = f"about {name}"
        version.save()  # record 1: a note
    (root / "projects/p/artifacts/broken/log/0000000001.json").write_text("{torn")
    return root


def open_view(view: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(view)
    return at.run()


def test_the_artifacts_view_names_the_damaged_record_and_lists_the_rest(damaged_root: Path) -> None:
    at = open_view("dashboard/views/artifacts.py", project="p", artifact="songs")
    assert not at.exception
    warnings = [w for w in notes(at) if "broken" in w]
    assert len(warnings) == 1 and "0000000001.json" in warnings[0] and "read-only" in warnings[0]
    listed = next(d.value for d in at.dataframe if "artifact" in d.value.columns)
    assert sorted(listed["artifact"]) == ["broken", "songs"]  # its intact version still lists


def test_opening_the_damaged_artifact_is_one_sentence_not_a_traceback(damaged_root: Path) -> None:
    at = open_view("dashboard/views/artifacts.py", project="p", artifact="broken")
    assert not at.exception
    errors = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]  # as read: the Markdown escapes removed
    assert any("0000000001.json is not valid JSON" in e and "shanty doctor" in e for e in errors), errors
