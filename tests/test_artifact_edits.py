"""Edits of a logged version that W&B scripts make (``metadata[...] = ...; save()``) are stored, read back by a
fresh process, and a bad edit writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import shanty
from shanty.errors import InvalidInputError, MalformedError, NotFoundError


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
    with pytest.raises(MalformedError, match=r"metadata of the wrong type.*read-only.*shanty doctor"):
        shanty.Api().artifact("p/songs:latest")  # the damaged record might have been about any version
    assert shanty.Api().artifact("p/songs:v0").version == "v0"  # a pinned number still reads
    pinned = shanty.Api().artifact("p/songs:v0")
    pinned.description = "an edit"
    with pytest.raises(MalformedError, match=r"metadata of the wrong type.*nothing can be written"):
        pinned.save()
    assert log_records(version)[-1] == record  # nothing appended after the damage


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


def read_version_in_a_fresh_process(root: str, ref: str = "p/songs:v0") -> dict:
    code = textwrap.dedent(
        f"""
        import json, shanty
        v = shanty.Api({root!r}).artifact({ref!r})
        print(json.dumps({{"tags": v.tags, "ttl": v.ttl and v.ttl.total_seconds(), "metadata": v.metadata}}))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_tags_and_ttl_edits_persist_for_a_fresh_process(version: shanty.ArtifactVersion) -> None:
    version.tags = ["baseline", "epoch 1"]
    version.ttl = timedelta(days=30)
    version.metadata["k"] = 1
    version.save()
    back = read_version_in_a_fresh_process(os.environ["SHANTY_ROOT"])
    assert back == {"tags": ["baseline", "epoch 1"], "ttl": 30 * 86400.0, "metadata": {**version.metadata}}
    version.ttl = None
    version.tags.remove("baseline")
    version.save()
    assert read_version_in_a_fresh_process(os.environ["SHANTY_ROOT"])["tags"] == ["epoch 1"]
    assert shanty.Api().artifact("p/songs:v0").ttl is None


def test_tags_and_ttl_given_when_logging(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("x")
    with shanty.init(project="p") as run:
        draft = shanty.Artifact("notes", type="text")
        draft.add_file(tmp_path / "x.txt")
        draft.ttl = timedelta(hours=2)
        logged = run.log_artifact(draft, tags=["raw"])
    fresh = shanty.Api().artifact("p/notes:latest")
    assert (fresh.tags, fresh.ttl) == (["raw"], timedelta(hours=2)) == (logged.tags, logged.ttl)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda v: setattr(v, "tags", ["a/b"]), "Invalid tag 'a/b'"),
        (lambda v: setattr(v, "tags", [" leading space"]), "Invalid tag"),
        (lambda v: setattr(v, "ttl", 30), "ttl is a positive datetime.timedelta"),
        (lambda v: setattr(v, "ttl", timedelta(seconds=-1)), "ttl is a positive"),
    ],
)
def test_bad_tags_and_ttl_are_refused_and_nothing_is_written(version: shanty.ArtifactVersion, edit, message) -> None:
    before = log_records(version)
    edit(version)
    version.metadata["also"] = "not saved"
    with pytest.raises(InvalidInputError, match=message):
        version.save()
    assert log_records(version) == before


def test_delete_hides_the_version_keeps_its_number_and_guards_aliases(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    with shanty.init(project="p") as run:
        for content in ("one", "two", "three"):
            (folder / "x.txt").write_text(content)
            draft = shanty.Artifact("d", type="data")
            draft.add_dir(folder)
            run.log_artifact(draft, aliases=["best"] if content == "two" else None)
    api = shanty.Api()
    v1 = api.artifact("p/d:v1")
    with pytest.raises(InvalidInputError, match="has the aliases best; call delete\\(delete_aliases=True\\)"):
        v1.delete()
    assert [v.version for v in api.versions("p/d")] == ["v0", "v1", "v2"]
    v1.delete(delete_aliases=True)
    assert [v.version for v in api.versions("p/d")] == ["v0", "v2"]
    with pytest.raises(NotFoundError, match="p/d:v1 was deleted"):
        api.artifact("p/d:v1")
    with pytest.raises(NotFoundError, match="no alias 'best'"):
        api.artifact("p/d:best")
    api.artifact("p/d:v2").delete()  # latest moves back to the newest version left
    assert api.artifact("p/d:latest").version == "v0"
    (folder / "x.txt").write_text("four")
    with shanty.init(project="p") as run:
        draft = shanty.Artifact("d", type="data")
        draft.add_dir(folder)
        assert run.log_artifact(draft).version == "v3"  # numbers are never reused
    (folder / "x.txt").write_text("two")
    with shanty.init(project="p") as run:
        draft = shanty.Artifact("d", type="data")
        draft.add_dir(folder)
        assert run.log_artifact(draft).version == "v4"  # the contents of a deleted version log anew


def test_an_expired_version_reads_as_deleted(version: shanty.ArtifactVersion) -> None:
    version.ttl = timedelta(days=1)
    version.save()
    registry = shanty.Api().registry
    state = registry._state("p", "songs")
    created = datetime.fromisoformat(version.created_at)
    assert state.gone(0, now=created + timedelta(hours=23)) is None
    assert state.gone(0, now=created + timedelta(days=1, seconds=1)) == "expired"
    assert state.live(now=created + timedelta(days=2)) == []


def test_link_puts_the_version_into_a_collection(version: shanty.ArtifactVersion) -> None:
    linked = version.link("my-entity/wandb-registry-dataset/whale-songs", aliases=["production"])
    assert linked.qualified_name == "wandb-registry-dataset/whale-songs:v0"
    assert linked.digest == version.digest and linked.metadata["linked_from"] == "p/songs:v0"
    fresh = shanty.Api().artifact("wandb-registry-dataset/whale-songs:production")
    assert sorted(fresh.manifest.entries) == sorted(version.manifest.entries)
    with pytest.raises(InvalidInputError, match="Link to 'project/collection'"):
        version.link("just-a-name")
