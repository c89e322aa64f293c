"""The file calls of W&B's artifact API: new_file, remove, get_entry(...).download(), files, verify, checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

import shanty as wandb
from shanty.errors import ChangedObjectError, InvalidInputError, NotFoundError


@pytest.fixture
def logged(tmp_path: Path) -> wandb.ArtifactVersion:
    """p/bundle:v0 with a file added by path, one written with new_file, and a table; one file removed."""
    (tmp_path / "a.wav").write_bytes(b"audio bytes")
    (tmp_path / "drop.txt").write_text("not wanted")
    with wandb.init(project="p", job_type="pack") as run:
        artifact = wandb.Artifact("bundle", type="dataset")
        artifact.add_file(str(tmp_path / "a.wav"), name="audio/a.wav")
        artifact.add_file(str(tmp_path / "drop.txt"))
        with artifact.new_file("notes/readme.txt") as handle:
            handle.write("hello")
        with artifact.new_file("raw.bin", mode="wb") as handle:
            handle.write(b"\x00\x01")
        artifact.add(wandb.Table(columns=["x"], data=[[1]]), "scores")
        artifact.remove("drop.txt")
        return run.log_artifact(artifact)


def test_files_and_entries_download_one_at_a_time(logged: wandb.ArtifactVersion, tmp_path: Path) -> None:
    names = [f.name for f in logged.files()]
    assert names == ["audio/a.wav", "notes/readme.txt", "raw.bin", "scores.table.parquet"]
    entry = logged.get_entry("notes/readme.txt")
    assert entry.size == 5 and entry.path == "notes/readme.txt" and entry.digest
    local = entry.download(tmp_path / "one")
    assert Path(local) == tmp_path / "one" / "notes" / "readme.txt" and Path(local).read_text() == "hello"
    assert Path(logged.get_path("raw.bin").download(tmp_path / "one")).read_bytes() == b"\x00\x01"
    with pytest.raises(NotFoundError, match=r"no entry 'drop\.txt'"):
        logged.get_entry("drop.txt")


def test_verify_and_checkout(logged: wandb.ArtifactVersion, tmp_path: Path) -> None:
    folder = Path(logged.download(tmp_path / "dl"))
    logged.verify(folder)  # exactly its files, exactly their bytes
    (folder / "audio" / "a.wav").write_bytes(b"edited")
    (folder / "notes" / "readme.txt").unlink()
    (folder / "stray.txt").write_text("x")
    with pytest.raises(ChangedObjectError) as caught:
        logged.verify(folder)
    message = str(caught.value)
    assert "missing: notes/readme.txt" in message and "different: audio/a.wav" in message
    assert "not in it: stray.txt" in message
    assert Path(logged.checkout(folder)) == folder
    logged.verify(folder)
    assert not (folder / "stray.txt").exists()


def test_draft_file_mistakes_are_one_sentence_and_change_nothing(tmp_path: Path) -> None:
    artifact = wandb.Artifact("draft", type="dataset")
    with artifact.new_file("a.txt") as handle:
        handle.write("a")
    with pytest.raises(InvalidInputError, match=r"already has a file 'a\.txt'"), artifact.new_file("a.txt"):
        pass
    with pytest.raises(InvalidInputError, match="mode 'w' or 'wb'"), artifact.new_file("b.txt", mode="r"):
        pass
    with pytest.raises(RuntimeError), artifact.new_file("c.txt") as handle:
        handle.write("half")
        raise RuntimeError("the block failed")
    with pytest.raises(NotFoundError, match="no file 'nope'"):
        artifact.remove("nope")
    with pytest.raises(InvalidInputError, match=r"\.\."), artifact.new_file("../escape.txt"):
        pass
    assert list(artifact.manifest.entries) == ["a.txt"]
