"""Registry semantics on the local backend (the cross-backend suite covers storage)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import shanty
from shanty.cli import main
from shanty.errors import InvalidInputError, MalformedError, NotFoundError


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    path = tmp_path / "bucket"
    path.mkdir()
    for i in range(3):
        (path / f"{i}.wav").write_bytes(f"audio {i}".encode())
    return path


def log(
    bucket: Path, aliases=None, description=None, name="songs_ds", type="raw_data", project="p"
) -> shanty.ArtifactVersion:
    with shanty.init(project=project, job_type="upload") as run:
        artifact = shanty.Artifact(name, type=type, description=description, metadata={"source": "test"})
        artifact.add_reference(str(bucket))
        return run.log_artifact(artifact, aliases=aliases)


def test_aliases_are_unique_and_move(bucket: Path) -> None:
    v0 = log(bucket, aliases=["best", "prod"])
    (bucket / "3.wav").write_bytes(b"more")
    v1 = log(bucket, aliases=["best"])
    api = shanty.Api()
    assert api.artifact("p/songs_ds:best").version == "v1"
    assert api.artifact("p/songs_ds:prod").version == "v0"
    assert api.artifact("p/songs_ds:latest").version == "v1"
    assert [v.aliases for v in api.versions("p/songs_ds")] == [["prod"], ["latest", "best"]]
    assert (v0.version, v1.version) == ("v0", "v1")


def test_relogging_identical_contents_applies_aliases_only(bucket: Path) -> None:
    log(bucket)
    (bucket / "3.wav").write_bytes(b"more")
    log(bucket)
    (bucket / "3.wav").unlink()
    back = log(bucket, aliases=["restored"])  # same content as v0
    assert back.version == "v0" and "restored" in back.aliases
    assert len(shanty.Api().versions("p/songs_ds")) == 2


def test_note_and_aliases_are_editable_after_logging(bucket: Path) -> None:
    log(bucket, description="first take")
    version = shanty.Api().artifact("p/songs_ds:v0")
    assert version.description == "first take"
    version.description = "five whale songs"
    version.aliases.append("golden")
    version.save()
    again = shanty.Api().artifact("p/songs_ds:golden")
    assert (again.version, again.description) == ("v0", "five whale songs")
    again.aliases.remove("golden")
    again.save()
    with pytest.raises(NotFoundError, match="no alias 'golden'"):
        shanty.Api().artifact("p/songs_ds:golden")


def test_metadata_and_lineage_are_recorded(bucket: Path) -> None:
    logged = log(bucket)
    with shanty.init(project="p", job_type="train") as run:
        used = run.use_artifact("songs_ds:latest")
    assert used.metadata == {"source": "test"}
    assert logged.logged_by().job_type == "upload"
    assert [r.job_type for r in used.used_by()] == ["train"]
    assert {r.state for r in shanty.Api().runs("p")} == {"finished"}
    assert logged.info.job_type == "upload"


def test_latest_and_empty_aliases_are_accepted_as_wandb_does(bucket: Path) -> None:
    # W&B scripts pass "latest" and "" (YOLOv5: `"best" if best_model else ""`); "latest" is derived here.
    logged = log(bucket, aliases=["latest", "", "best"])
    assert logged.aliases == ["latest", "best"]


@pytest.mark.parametrize("alias", ["v3", "bad/alias", " padded"])
def test_reserved_or_invalid_aliases_are_refused(bucket: Path, alias: str) -> None:
    with pytest.raises(InvalidInputError):
        log(bucket, aliases=[alias])
    assert shanty.Api().registry.artifact_names("p") == []
    with pytest.raises(NotFoundError):
        shanty.Api().versions("p/songs_ds")


def test_type_is_fixed_per_artifact(bucket: Path) -> None:
    log(bucket)
    (bucket / "x.wav").write_bytes(b"x")
    manifests = Path(os.environ["SHANTY_ROOT"]) / "manifests"
    stored = sorted(manifests.iterdir())
    with pytest.raises(InvalidInputError, match="has type 'raw_data'"):
        log(bucket, type="model")
    assert len(shanty.Api().versions("p/songs_ds")) == 1
    assert sorted(manifests.iterdir()) == stored  # the refused commit stored no manifest (no orphan)


@pytest.mark.parametrize(
    "ref, error",
    [
        ("p/nothing:latest", NotFoundError),
        ("p/songs_ds:v9", NotFoundError),
        ("p/songs_ds:nope", NotFoundError),
        ("a/b/c/d", InvalidInputError),
        ("p/bad name", InvalidInputError),
    ],
)
def test_bad_references_are_clear_errors(bucket: Path, ref: str, error: type) -> None:
    log(bucket)
    with pytest.raises(error):
        shanty.Api().artifact(ref)


def test_wandb_entity_prefix_is_accepted(bucket: Path) -> None:
    log(bucket)
    assert shanty.Api().artifact("my-entity/p/songs_ds:v0").version == "v0"


def test_empty_or_missing_sources_are_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    artifact = shanty.Artifact("x", type="raw_data")
    with pytest.raises(NotFoundError, match="contains no files"):
        artifact.add_reference(str(tmp_path / "empty"))
    with pytest.raises(NotFoundError, match="Nothing exists"):
        artifact.add_reference(str(tmp_path / "missing"))
    with shanty.init(project="p") as run, pytest.raises(InvalidInputError, match="no files"):
        run.log_artifact(artifact)
    with pytest.raises(shanty.InvalidInputError, match="Unknown URI scheme ftp://"):
        artifact.add_reference("ftp://host/file")


def test_prefix_stops_at_a_path_boundary(tmp_path: Path) -> None:
    (tmp_path / "song").mkdir()
    (tmp_path / "song" / "a.wav").write_bytes(b"a")
    (tmp_path / "songs2").mkdir()
    (tmp_path / "songs2" / "b.wav").write_bytes(b"b")
    entries = shanty.Artifact("x", type="raw_data").add_reference(f"file://{tmp_path}/song")
    assert [e.path for e in entries] == ["a.wav"]


def test_files_by_value_are_stored_and_downloaded(tmp_path: Path) -> None:
    source = tmp_path / "local"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "x.txt").write_text("by value")
    (source / "y.txt").write_text("also")
    with shanty.init(project="p") as run:
        artifact = shanty.Artifact("values", type="dataset")
        artifact.add_dir(source, name="data")
        run.log_artifact(artifact)
    (source / "sub" / "x.txt").write_text("changed afterwards")  # stored copy is unaffected
    folder = Path(shanty.Api().artifact("p/values:latest").download(tmp_path / "out"))
    assert (folder / "data" / "sub" / "x.txt").read_text() == "by value"


def test_damaged_log_record_is_a_clear_error_and_nothing_is_lost(bucket: Path) -> None:
    log(bucket)
    record = Path(os.environ["SHANTY_ROOT"]) / "projects/p/artifacts/songs_ds/log/0000000000.json"
    good = record.read_bytes()
    record.write_text("{not json")
    with pytest.raises(MalformedError, match=r"0000000000\.json"):
        shanty.Api().versions("p/songs_ds")
    record.write_text(json.dumps({"op": "version"}))
    with pytest.raises(MalformedError, match="missing"):
        shanty.Api().versions("p/songs_ds")
    record.write_bytes(good)
    assert shanty.Api().artifact("p/songs_ds:v0").file_count == 3


CRASHING_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    import shanty
    from shanty.storage import file as file_storage

    # Die the hard way (SIGKILL) at the moment the version record would be
    # linked into place: the content is written, the claim is not made.
    def killed_link(src, dst):
        os.kill(os.getpid(), signal.SIGKILL)

    run = shanty.init(project="p", job_type="crash")
    artifact = shanty.Artifact("songs_ds", type="raw_data")
    artifact.add_reference(sys.argv[1])
    file_storage.os.link = killed_link
    run.log_artifact(artifact)
    """
)


def test_writer_killed_mid_commit_leaves_no_half_version(bucket: Path) -> None:
    log(bucket)
    (bucket / "new.wav").write_bytes(b"new")
    proc = subprocess.run([sys.executable, "-c", CRASHING_WRITER, str(bucket)], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    versions = shanty.Api().versions("p/songs_ds")
    assert [v.version for v in versions] == ["v0"]
    assert log(bucket).version == "v1"  # the next writer is not blocked
    assert shanty.Api().artifact("p/songs_ds:v1").file_count == 4


def test_a_gap_in_the_log_makes_it_read_only_until_doctor_fills_it(bucket: Path) -> None:
    log(bucket)
    (bucket / "x.wav").write_bytes(b"x")
    log(bucket)
    folder = Path(os.environ["SHANTY_ROOT"]) / "projects/p/artifacts/songs_ds/log"
    (folder / "0000000001.json").rename(folder / "0000000005.json")  # e.g. restored from a backup
    (bucket / "y.wav").write_bytes(b"y")
    with pytest.raises(MalformedError, match=r"0000000001\.json to 0000000004\.json is missing from the log"):
        log(bucket)
    assert main(["doctor", "--repair"]) == 0
    assert shanty.Api().artifact("p/songs_ds:latest").version == "v1"  # its number is in its record
    assert log(bucket).version == "v2"
    assert sorted(p.name for p in folder.iterdir()) == [f"{i:010d}.json" for i in range(7)]


def test_recent_artifacts_put_the_most_recently_changed_first(bucket: Path) -> None:
    log(bucket, name="first")
    log(bucket, name="second", project="q")
    (bucket / "new.wav").write_bytes(b"more")
    log(bucket, name="first")  # first gets a v1: now the most recently changed
    api = shanty.Api()
    assert [(a.project, a.name) for a in api.recent_artifacts()] == [("p", "first"), ("q", "second")]
    assert [a.name for a in api.recent_artifacts(min_versions=2)] == ["first"]
    assert [a.name for a in api.recent_artifacts("q")] == ["second"]
    assert api.recent_artifacts("q", min_versions=2) == []
