"""The storage Protocol every URI scheme implements.

One small interface serves two jobs: *referencing* (list objects with their
checksum metadata, fetch one at a recorded version) and *holding a registry*
(read, write and create-if-absent small objects under a root). Backends
raise :mod:`shanty.errors` exceptions with one plain sentence each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..progress import Progress

__all__ = ["ObjectInfo", "Storage"]


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object as seen by a listing, without its bytes.

    ``relpath`` is the object's path below the listed prefix (its basename when
    a single object was named); it becomes the manifest entry path.
    ``version`` is the S3 VersionId / GCS generation, None when unversioned.
    ``extra`` holds checksum and descriptive metadata (etag, md5, crc32c,
    last_modified, content_type) as strings.
    """

    uri: str
    relpath: str
    size: int
    digest: str
    version: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class Storage(Protocol):
    """What shanty needs from a storage scheme."""

    scheme: str

    def list_objects(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> list[ObjectInfo]:
        """Objects at ``uri``: the object itself if one has that exact name, else
        every object below ``uri + '/'`` (a prefix ends at a ``/`` boundary).

        With ``checksum=False`` a backend that would have to read bytes for a
        digest (``file://``) uses a size+mtime fingerprint instead.

        Raises NotFoundError when nothing is there, InvalidInputError when more
        than ``max_objects`` objects are found (never a silent cut).
        """
        ...

    def stat(self, uri: str, version: str | None = None) -> ObjectInfo | None:
        """The object's current metadata (at ``version`` if given), or None if absent."""
        ...

    def download(self, uri: str, version: str | None, dest: Path) -> None:
        """Write the object's bytes (at ``version`` if given) to ``dest``."""
        ...

    def read_bytes(self, uri: str) -> bytes:
        """Read a small object whole. Raises NotFoundError if absent."""
        ...

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Write an object whole, atomically: readers see old or new, never half."""
        ...

    def create_if_absent(self, uri: str, data: bytes) -> bool:
        """Atomically create an object with ``data``; False if it already exists."""
        ...

    def exists(self, uri: str) -> bool:
        """Whether an object exists at exactly ``uri``."""
        ...

    def list_names(self, uri: str) -> list[str]:
        """Sorted names of the immediate children (objects and "folders") below ``uri/``."""
        ...

    def signed_url(self, uri: str, version: str | None, expires_in: int) -> str | None:
        """A URL a browser can GET for ``expires_in`` seconds, at ``version``.

        None when the store has no such URLs (``file://``: the app streams
        those itself behind its own signed token).
        """
        ...
