"""The storage Protocol every URI scheme implements, and the optional capabilities some add.

One small interface serves two jobs: *referencing* (list objects with their
checksum metadata, fetch one at a recorded version) and *holding a registry*
(read, write and create-if-absent small objects under a root). Backends
raise :mod:`shanty.errors` exceptions with one plain sentence each.

Optional capabilities are separate Protocols, so the core stays small and a
new scheme need not offer them; ask for them through the functions of
:mod:`shanty.storage` (``local_path``, ``open_range``, ``lists_metadata_only``):

* :class:`LocalPaths`: the object is a file on this machine (``file://``);
* :class:`RangedReads`: bytes ``[start, end)`` of one object version, streamed;
* :class:`BatchListing`: a listing handed on in chunks as it goes, so a prefix of
  millions of objects never exists as one list (:func:`object_batches` falls back
  to :meth:`Storage.list_objects` for schemes without it);
* :class:`ColumnListing`: the same chunks as Arrow record batches of
  :data:`LISTING_SCHEMA`, built from the store's pages without a Python object per object;
* ``metadata_listing = True``: listing a folder reads metadata only, so one
  listing is cheaper than a stat per object (buckets, not local folders,
  whose listing hashes every file).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import pyarrow as pa

from ..progress import Progress
from .stream import ByteStream

__all__ = [
    "LISTING_SCHEMA",
    "BatchListing",
    "ColumnListing",
    "LocalPaths",
    "ObjectInfo",
    "RangedReads",
    "Storage",
    "object_batches",
]

# ObjectInfo's fields as columns; ``extra`` is its mapping as ``json.dumps(extra, sort_keys=True)``, null if empty.
LISTING_SCHEMA = pa.schema(
    [
        ("relpath", pa.string()),
        ("digest", pa.string()),
        ("size", pa.int64()),
        ("uri", pa.string()),
        ("object_version", pa.string()),
        ("extra", pa.string()),
    ]
)


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object as seen by a listing, without its bytes.

    ``uri`` is the object's unpinned URI. ``relpath`` is its path below the
    listed prefix (its basename when a single object was named); it becomes
    the manifest entry path. ``object_version`` is the S3 VersionId / GCS
    generation, None when unversioned. ``extra`` holds checksum and
    descriptive metadata (etag, md5, crc32c, last_modified, content_type) as
    strings.
    """

    uri: str
    relpath: str
    size: int
    digest: str
    object_version: str | None = None
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
        """The object's current metadata (at ``version``, else the URI's pin, if given), or None if absent."""
        ...

    def download(self, uri: str, version: str | None, dest: Path) -> None:
        """Write the object's bytes (at ``version`` if given) to ``dest``. NotFoundError when it is gone."""
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

    def list_names(self, uri: str, start_after: str | None = None) -> list[str]:
        """Sorted names of the immediate children (objects and "folders") below ``uri/``; with
        ``start_after``, only the names after it (the store skips the rest: one request for a log's tail)."""
        ...

    def signed_url(self, uri: str, version: str | None, expires_in: int) -> str | None:
        """A URL a browser can GET for ``expires_in`` seconds, at ``version``.

        None when the store has no such URLs (``file://``: the app streams
        those itself behind its own signed token) or these credentials cannot
        sign them.
        """
        ...


@runtime_checkable
class LocalPaths(Protocol):
    """Optional capability: objects that are files on this machine."""

    def local_path(self, uri: str) -> Path | None:
        """The file behind ``uri`` (which may not exist), or None when ``uri`` has none."""
        ...


@runtime_checkable
class RangedReads(Protocol):
    """Optional capability: stream part of one object version without fetching the rest."""

    def open_range(self, uri: str, version: str | None, start: int, end: int, *, etag: str | None = None) -> ByteStream:
        """Bytes ``[start, end)`` (``0 <= start <= end``) of the object at ``version`` (else the URI's pin,
        else the current object).

        The first request is made here, so a missing object raises
        NotFoundError before any byte is sent on. ``etag`` is the ETag
        recorded for an object without a version: a backend that can make the
        read conditional on it (S3: If-Match) raises NotFoundError for a
        replaced object instead of reading other bytes. The stream yields
        exactly ``end - start`` bytes or raises StorageError.
        """
        ...


@runtime_checkable
class BatchListing(Protocol):
    """Optional capability: a listing handed on in chunks as it is made."""

    def list_object_batches(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> Iterator[list[ObjectInfo]]:
        """The objects :meth:`Storage.list_objects` returns, in chunks of a few thousand, in no particular
        order; only a few chunks are held at a time. The same errors, raised when met (NotFoundError for
        nothing there after the listing; InvalidInputError past ``max_objects`` possibly after some chunks).
        Closing the iterator early stops the listing."""
        ...


@runtime_checkable
class ColumnListing(Protocol):
    """Optional capability: a listing handed on as Arrow record batches (no Python object per object)."""

    def list_object_columns(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> Iterator[pa.RecordBatch]:
        """What :meth:`BatchListing.list_object_batches` yields, as :data:`LISTING_SCHEMA` batches (a page
        or so each, in no particular order), with the same errors."""
        ...


def object_batches(
    storage: Storage,
    uri: str,
    *,
    max_objects: int | None = None,
    checksum: bool = True,
    progress: Progress | None = None,
) -> Iterator[list[ObjectInfo]]:
    """``storage``'s listing of ``uri`` in chunks (see :class:`BatchListing`); a scheme without the
    capability lists whole and hands the list on as one chunk."""
    if isinstance(storage, BatchListing):
        yield from storage.list_object_batches(uri, max_objects=max_objects, checksum=checksum, progress=progress)
    else:
        yield storage.list_objects(uri, max_objects=max_objects, checksum=checksum, progress=progress)
