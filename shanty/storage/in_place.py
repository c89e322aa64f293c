"""Objects in a bucket read in place: a file name DuckDB opens, served by ranged reads of one object version.

DuckDB cannot reach S3 or GCS here without its ``httpfs`` extension (a
download this machine may not make), but it reads any file system registered
with it as an fsspec file system. :func:`duckdb_filesystem` is that file
system: a file it opens is a :class:`RemoteFile` (an object at a recorded
version), and every read becomes one :func:`shanty.storage.open_range`, so
DuckDB's own Parquet reader reads the footer, then only the row groups and
columns a query needs, with the same credentials, endpoints, retries, errors
and version pins as every other read of that store.

Why not a ``pyarrow.dataset`` over ``pyarrow.fs``: DuckDB scans a registered
Arrow dataset without ``file_row_number``, which the engine's pages are built
on (a page is found on narrow data by row number, then fetched by a row-number
range that skips the other row groups); numbering an Arrow scan with a window
function would read every column of every row. And ``pyarrow.fs`` cannot open
an S3 VersionId (Arrow's pull request for it, apache/arrow#13987, was closed
unmerged), while ``open_range`` reads exactly the recorded version (S3
VersionId, or If-Match on the recorded ETag; GCS generation), so no check
before a scan and no fallback to a download are needed: a replaced or deleted
object version fails the read with the store's one sentence.

The name DuckDB sees is ``shanty-object://<key>/<object name>``, ``key`` a hash
of (uri, version, digest): one name per object version, so caches keyed by
name (the engine's schemas and counts, the footers and ranges kept here) never
serve another version. Every statement reads the footer again and a page's
count reads the page's columns again, so footers and recent ranges (up to
128 MiB) are kept in memory. fsspec is in the ``s3`` / ``gcs`` extras; without
it :func:`remote_file` returns None and callers download the object instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import NotFoundError, ShantyError
from . import local_path, open_range, parse_location, storage_for
from .base import RangedReads
from .cache import cached_copy, cached_file

__all__ = [
    "PROTOCOL",
    "ReadCount",
    "RemoteFile",
    "duckdb_filesystem",
    "forget_footers",
    "read_count",
    "read_failure",
    "remote_file",
    "remote_file_at",
    "scan_source",
]

PROTOCOL = "shanty-object"
_MIN_READ = 32 * 1024  # smaller reads fetch this much: a footer's length then the footer, small chunks
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # an object version never changes: one fixed time for all
_TAILS = 256  # footers kept (the last _MIN_READ bytes of each file): DuckDB reads one per statement
_KEPT_BYTES = 128 << 20  # ranges kept in memory: a page's count and the next pages read the same column chunks


@dataclass(frozen=True)
class RemoteFile:
    """One object version that DuckDB reads in place: give it :attr:`path` (e.g. in ``read_parquet``).

    ``etag`` is the recorded ETag of an object without a version (reads are
    then conditional on it, where the store can do that); ``digest`` only
    tells versions apart in the name (bytes read in part cannot be checked
    against a whole-file digest: the version pin is what guarantees them).
    """

    uri: str
    version: str | None
    size: int
    digest: str | None = None
    etag: str | None = None

    @property
    def path(self) -> str:
        """The file name DuckDB opens (through :func:`duckdb_filesystem`), one per object version."""
        key = hashlib.sha256("\0".join((self.uri, self.version or "", self.digest or "", self.etag or "")).encode())
        name = parse_location(self.uri).name or "object"
        # DuckDB would read *, ?, [ and { in a file name as a glob: keep only plain characters.
        plain = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
        return f"{PROTOCOL}://{key.hexdigest()[:40]}/{plain}"

    def __str__(self) -> str:
        # Its DuckDB name: what callers that key caches by ``str(source)`` or pass it on as text need.
        return self.path


@dataclass(frozen=True)
class ReadCount:
    """What reading one :class:`RemoteFile` in place has cost so far: ranged requests and bytes received."""

    requests: int = 0
    bytes: int = 0


_known: dict[str, RemoteFile] = {}  # DuckDB name -> object (small, and the same names come back)
_counts: dict[str, ReadCount] = {}
_tails: OrderedDict[str, bytes] = OrderedDict()  # DuckDB name -> the file's last bytes (immutable)
_ranges: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()  # (name, start, end) -> bytes, newest last
_kept = [0]  # bytes held in _ranges
_failures: dict[str, ShantyError] = {}  # DuckDB name -> why its last read failed, for read_failure()
_lock = threading.Lock()


def _fsspec_ready() -> bool:
    try:
        import fsspec  # noqa: F401 - only whether it is there
    except ImportError:
        return False
    return True


def remote_file(
    uri: str, version: str | None, *, size: int | None = None, digest: str | None = None, etag: str | None = None
) -> RemoteFile | None:
    """``uri`` at ``version`` as a :class:`RemoteFile` DuckDB can read in place, or None when this store
    (or this installation, without fsspec) cannot read ranges, so the caller copies the object instead.

    ``size`` is the recorded size; None asks the store (one request; NotFoundError when the object is gone).
    """
    backend = storage_for(uri)
    if not isinstance(backend, RangedReads) or not _fsspec_ready():
        return None
    if size is None:
        info = backend.stat(uri, version)
        if info is None:
            raise NotFoundError(f"{uri} is gone; it was deleted or replaced after it was recorded.")
        size = info.size
    found = RemoteFile(parse_location(uri).uri, version, int(size), digest, etag)
    with _lock:
        _known.setdefault(found.path, found)
    return found


def scan_source(
    uri: str,
    version: str | None,
    *,
    size: int | None = None,
    digest: str | None = None,
    extra: Mapping[str, object] | None = None,
) -> Path | RemoteFile:
    """What the query engine should read for the object at ``version``: a copy already in the local cache,
    else the object in place (:func:`remote_file`), else a verified copy made now (a local file, which is
    fast to copy and is checked against ``digest``; a store without ranged reads).

    ``size``, ``digest`` and ``extra`` are as recorded (``extra["etag"]`` makes reads of an unversioned
    object conditional on it). Raises what :func:`~shanty.storage.cache.cached_file` raises.
    """
    copied = cached_copy(uri, version, digest)
    if copied is not None:
        return copied
    if local_path(uri) is None:
        etag = (extra or {}).get("etag") if version is None else None
        remote = remote_file(uri, version, size=size, digest=digest, etag=str(etag) if etag else None)
        if remote is not None:
            return remote
    return cached_file(uri, version, digest, extra)


def remote_file_at(path: Any) -> RemoteFile | None:
    """The :class:`RemoteFile` whose :attr:`~RemoteFile.path` is ``path``, or None for any other name."""
    if not isinstance(path, str) or not path.startswith(f"{PROTOCOL}://"):
        return None
    with _lock:
        return _known.get(path)


def read_count(remote: RemoteFile) -> ReadCount:
    """Requests made and bytes received reading ``remote`` in place in this process (for benchmarks, tests)."""
    with _lock:
        return _counts.get(remote.path, ReadCount())


def read_failure(paths: Iterable[object]) -> ShantyError | None:
    """Why a read of one of ``paths`` (DuckDB names) failed inside DuckDB, forgotten once asked; None if none did.

    DuckDB turns an error raised by a file system into a traceback in its own
    message; the engine asks here for the store's one-sentence error instead.
    """
    with _lock:
        for path in paths:
            if isinstance(path, str) and path in _failures:
                return _failures.pop(path)
    return None


def forget_footers() -> None:
    """Drop the kept footers and ranges, so the next statement reads them again (a cold start, for benchmarks)."""
    with _lock:
        _tails.clear()
        _ranges.clear()
        _kept[0] = 0


def _count(path: str, received: int) -> None:
    with _lock:
        seen = _counts.get(path, ReadCount())
        _counts[path] = ReadCount(seen.requests + 1, seen.bytes + received)


class _ObjectReader:
    """A read-only binary file over ranged reads. DuckDB may use one from several threads (seek, then read),
    so each thread keeps its own position; the last block read is kept for the small reads that follow."""

    def __init__(self, remote: RemoteFile):
        self.remote = remote
        self._where = threading.local()
        self._block: tuple[int, bytes] = (0, b"")
        self._block_lock = threading.Lock()
        self.closed = False

    def seek(self, position: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.tell(), 2: self.remote.size}[whence]
        self._where.position = max(0, base + int(position))
        return self._where.position

    def tell(self) -> int:
        return getattr(self._where, "position", 0)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, length: int = -1) -> bytes:
        start = self.tell()
        end = self.remote.size if length is None or length < 0 else min(self.remote.size, start + length)
        if start >= end:
            return b""
        with self._block_lock:
            block_start, block = self._block
        if block_start <= start and end <= block_start + len(block):
            data = block[start - block_start : end - block_start]
        else:
            data = self._fetch(start, end)
        self._where.position = start + len(data)
        return data

    def _fetch(self, start: int, end: int) -> bytes:
        size, path = self.remote.size, self.remote.path
        tail_start = max(0, size - _MIN_READ)
        if start >= tail_start:  # the footer: every statement reads it again, so it is kept per file
            with _lock:
                tail = _tails.get(path)
                if tail is not None:
                    _tails.move_to_end(path)
            if tail is None:
                tail = self._get(tail_start, size)
                with _lock:
                    _tails[path] = tail
                    while len(_tails) > _TAILS:
                        _tails.popitem(last=False)
            return tail[start - tail_start : end - tail_start]
        if end - start >= _MIN_READ:
            return self._get(start, end)
        # A small read (a page header, a small column chunk): fetch a block from it, kept for the next one.
        low, high = start, min(size, start + _MIN_READ)
        block = self._get(low, high)
        with self._block_lock:
            self._block = (low, block)
        return block[start - low : end - low]

    def _get(self, start: int, end: int) -> bytes:
        remote = self.remote
        key = (remote.path, start, end)
        with _lock:
            data = _ranges.get(key)
            if data is not None:
                _ranges.move_to_end(key)
                return data
        try:
            with open_range(remote.uri, remote.version, start, end, etag=remote.etag) as stream:
                data = stream.read()
        except ShantyError as exc:
            with _lock:
                _failures[remote.path] = exc
            raise
        _count(remote.path, len(data))
        if len(data) <= _KEPT_BYTES // 8:  # DuckDB asks for the same column chunks again: keep them a while
            with _lock:
                if key not in _ranges:
                    _ranges[key] = data
                    _kept[0] += len(data)
                while _kept[0] > _KEPT_BYTES:
                    _kept[0] -= len(_ranges.popitem(last=False)[1])
        return data

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> _ObjectReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_filesystem: Any = None


def duckdb_filesystem() -> Any:
    """The fsspec file system to register with DuckDB (``register_filesystem``) so that it can open every
    :attr:`RemoteFile.path`; None without fsspec. One instance per process."""
    global _filesystem
    if not _fsspec_ready():
        return None
    with _lock:
        if _filesystem is None:
            _filesystem = _make_filesystem()
        return _filesystem


def _make_filesystem() -> Any:
    import fsspec

    class ObjectFileSystem(fsspec.AbstractFileSystem):  # type: ignore[misc] - fsspec ships no types
        """Read-only: the :class:`RemoteFile` objects this process named, by their DuckDB names."""

        protocol = PROTOCOL
        cachable = False

        def _remote(self, path: str) -> RemoteFile | None:
            return remote_file_at(self.unstrip_protocol(self._strip_protocol(path)))

        def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> _ObjectReader:
            remote = self._remote(path)
            if remote is None or "r" not in mode or "+" in mode:
                raise FileNotFoundError(f"{path} names no object this process can read in place.")
            return _ObjectReader(remote)

        def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
            remote = self._remote(path)
            if remote is None:
                raise FileNotFoundError(path)
            return {"name": self._strip_protocol(path), "size": remote.size, "type": "file"}

        def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
            found = self.info(path)
            return [found] if detail else [found["name"]]

        def glob(self, path: str, **kwargs: Any) -> list[str]:
            # Names are plain (no glob characters): a name matches itself or nothing.
            return [self._strip_protocol(path)] if self._remote(path) is not None else []

        def modified(self, path: str) -> dt.datetime:
            return _EPOCH

    return ObjectFileSystem()
