"""Edits of a logged version that W&B scripts make (``metadata[...] = ...; save()``) are stored, read back by a
fresh process, and a bad edit writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import shanty
from shanty.errors import InvalidInputError, MalformedError


@pytest.fixture
def version(tmp_path: Path) -> shanty.ArtifactVersion:
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    (bucket / "a.wav").write_bytes(b"audio")
    with shanty.init(project="p", job_type="upload") as run:
        artifact = shanty.Artifact("songs", type="raw_data", metadata={"source": "test", "nested": {"n": 1}})
        artifact.add_reference(str(bucket))
        return run.log_artifact(artifact)


def log_records(version: shanty.ArtifactVersion) -> list[Path]:
    """The artifact's log records, oldest first (the registry is the local folder $SHANTY_ROOT)."""
    records = sorted(Path(os.environ["SHANTY_ROOT"], "projects", "p", "artifacts", "songs", "log").glob("*.json"))
    assert records, "the log of the logged version is where the registry keeps it"
    return records


def read_back_in_a_fresh_process(root: str) -> dict:
    code = textwrap.dedent(
        f"""
        import json, shanty
        print(json.dumps(shanty.Api({root!r}).artifact("p/songs:v0").metadata))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_metadata_edits_are_saved_as_wandb_scripts_make_them(version: shanty.ArtifactVersion) -> None:
    version.metadata["accuracy"] = 0.91
    version.metadata["nested"]["n"] = 2
    version.save()
    expected = {"source": "test", "nested": {"n": 2}, "accuracy": 0.91}
    assert version.metadata == expected
    assert shanty.Api().artifact("p/songs:v0").metadata == expected
    assert read_back_in_a_fresh_process(shanty.Api().root) == expected


def test_an_unchanged_save_writes_nothing(version: shanty.ArtifactVersion) -> None:
    before = log_records(version)
    version.save()
    version.metadata = dict(version.metadata)  # equal, but another object
    version.save()
    assert log_records(version) == before


def test_metadata_that_is_not_json_is_refused_and_nothing_is_written(version: shanty.ArtifactVersion) -> None:
    before = log_records(version)
    version.metadata["when"] = object()
    version.aliases.append("best")
    with pytest.raises(InvalidInputError, match="not JSON-serialisable"):
        version.save()
    assert log_records(version) == before
    fresh = shanty.Api().artifact("p/songs:v0")
    assert "when" not in fresh.metadata and "best" not in fresh.aliases


def test_a_damaged_metadata_record_is_named(version: shanty.ArtifactVersion) -> None:
    version.metadata["x"] = 1
    version.save()
    record = log_records(version)[-1]
    body = json.loads(record.read_text())
    assert body["op"] == "metadata"
    record.write_text(json.dumps({**body, "metadata": "not a dict"}))
    with pytest.raises(MalformedError, match="metadata of the wrong type"):
        shanty.Api().artifact("p/songs:v0")


def test_aliases_follow_wandbs_rules(version: shanty.ArtifactVersion) -> None:
    version.aliases += ["epoch 1", "best-model_v2.0", "état"]
    version.save()
    for alias in ("epoch 1", "best-model_v2.0", "état"):
        assert shanty.Api().artifact(f"p/songs:{alias}").version == "v0"


@pytest.mark.parametrize("alias", ["a/b", "a:b", " epoch", "epoch ", "", "x" * 129, "tab\there", "v3"])
def test_aliases_that_would_be_ambiguous_are_refused_and_nothing_is_written(
    version: shanty.ArtifactVersion, alias: str
) -> None:
    before = log_records(version)
    version.aliases.append(alias)
    with pytest.raises(InvalidInputError):
        version.save()
    assert log_records(version) == before


def test_log_artifact_wait_returns_the_logged_version(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"audio")
    with shanty.init(project="p", job_type="upload") as run:
        artifact = shanty.Artifact("waited", type="raw_data")
        artifact.add_file(str(tmp_path / "a.wav"))
        logged = run.log_artifact(artifact).wait()
    assert logged.qualified_name == "p/waited:v0" and logged.digest == artifact.wait().digest
