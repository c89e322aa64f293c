"""Symbolic links in referenced local folders: followed inside the folder, refused outside it, never
followed when served or downloaded (issue 15, item 2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import shanty
from shanty.errors import InvalidInputError, MediaGoneError, NotFoundError
from tests.test_serve import media_server, token_of


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """A bucket folder with one song, and a secret outside it."""
    bucket, outside = tmp_path / "bucket", tmp_path / "outside"
    (bucket / "sub").mkdir(parents=True)
    outside.mkdir()
    (bucket / "sub" / "real.wav").write_bytes(b"RIFF a real song")
    (outside / "secret.txt").write_bytes(b"the neighbour's password")
    return bucket, outside


def log(bucket: Path, how: str = "reference") -> shanty.ArtifactVersion:
    with shanty.init(project="p") as run:
        artifact = shanty.Artifact("songs", type="raw_data")
        artifact.add_reference(str(bucket)) if how == "reference" else artifact.add_dir(str(bucket))
        return run.log_artifact(artifact)


@pytest.mark.parametrize("how", ["reference", "add_dir"])
def test_a_link_out_of_the_folder_is_refused_and_nothing_is_logged(folders, how: str) -> None:
    bucket, outside = folders
    os.symlink(outside / "secret.txt", bucket / "song.wav")
    with pytest.raises(
        InvalidInputError, match=r"song\.wav is a symbolic link to a file outside the referenced folder"
    ):
        log(bucket, how)
    assert shanty.Api().artifact_collections("p") == []
    os.symlink(outside, bucket / "linked")  # a linked folder is not walked at all, inside or out
    (bucket / "song.wav").unlink()
    version = log(bucket, how)
    assert sorted(version.manifest.entries) == ["sub/real.wav"]


@pytest.mark.parametrize("how", ["reference", "add_dir"])
def test_a_link_inside_the_folder_is_the_file_it_names(folders, tmp_path: Path, how: str) -> None:
    bucket, _ = folders
    os.symlink(bucket / "sub" / "real.wav", bucket / "alias.wav")
    version = log(bucket, how)
    assert sorted(version.manifest.entries) == ["alias.wav", "sub/real.wav"]
    alias = version.manifest.entries["alias.wav"]
    if how == "reference":  # the real file is recorded, so serving reads a regular file
        assert alias.ref == f"file://{bucket / 'sub' / 'real.wav'}"
    folder = Path(version.download(str(tmp_path / "down")))
    assert (folder / "alias.wav").read_bytes() == b"RIFF a real song" and not (folder / "alias.wav").is_symlink()


def test_a_logged_file_replaced_by_a_link_is_never_followed(folders, tmp_path: Path) -> None:
    bucket, outside = folders
    version = log(bucket)
    song = bucket / "sub" / "real.wav"
    song.unlink()
    os.symlink(outside / "secret.txt", song)
    server = media_server(version._registry.root)
    with pytest.raises(MediaGoneError):
        server.resolve(token_of(server.url_for(version, "sub/real.wav")))
    assert server.why_unplayable(version, "sub/real.wav") is not None
    storage = shanty.storage.storage_for(f"file://{song}")
    with pytest.raises(NotFoundError, match="symbolic link"):
        storage.open_range(f"file://{song}", None, 0, 4)
    with pytest.raises(NotFoundError, match="symbolic link"):
        storage.download(f"file://{song}", None, tmp_path / "copy")
    with pytest.raises(shanty.ShantyError):
        version.download(str(tmp_path / "down"))
    copies = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink() and p.parent != outside]
    assert [p for p in copies if p.read_bytes() == b"the neighbour's password"] == []  # no copy anywhere
