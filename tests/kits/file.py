"""The ``file://`` kit: folders under pytest's tmp_path act as buckets."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from shanty.storage import storage_for
from shanty.storage.location import parse_location

_counter = itertools.count()


class FileKit:
    name = "file"

    def __init__(self, base: Path):
        self.base = base
        self.storage = storage_for("file:///")

    def new_bucket(self, versioned: bool = True) -> str:
        path = self.base / f"bucket-{next(_counter)}"
        path.mkdir(parents=True)
        return "file://" + str(path)

    def put(self, uri: str, data: bytes) -> None:
        if uri.endswith("/"):  # a bucket's "folder marker" is an empty folder on a file system
            Path(parse_location(uri).key).mkdir(parents=True, exist_ok=True)
            return
        path = Path(parse_location(uri).key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def current_version(self, uri: str) -> str | None:
        return None

    def pinned(self, uri: str, version: str) -> str:
        raise AssertionError("a file system keeps no versions to pin")

    def delete(self, uri: str) -> None:
        Path(parse_location(uri).key).unlink()

    def supports_versions(self, bucket_uri: str) -> bool:
        return False  # a file system keeps no old versions


@pytest.fixture
def file_kit(tmp_path: Path) -> FileKit:
    return FileKit(tmp_path / "buckets")
