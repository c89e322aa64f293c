"""Listing a local folder for referencing: the walk and the hashing (on every core when it pays), in
chunks that :mod:`shanty.storage.file` turns into ObjectInfos or Arrow batches of
:data:`~shanty.storage.base.LISTING_SCHEMA`.

The walk reads names and types only (``os.scandir``: no stat per file) and goes in the order of
the relative paths, a folder's files at a time, so chunks come sorted and a bulk manifest needs no
sorting pass. Hashing takes open + fstat + read + MD5 per file (:mod:`.file_hashing`); past
:data:`PARALLEL_MIN_FILES` files (or :data:`PARALLEL_MIN_BYTES`) it runs in worker processes
(:mod:`.file_pool`); a batch's answer is a few strings, not a Python object per file.

Symbolic links: a link to a file inside the referenced folder is listed at its own name with its
target's real path; a link leading outside raises InvalidInputError; linked folders are skipped (as
``os.walk`` does, which also prevents cycles); files are opened with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import itertools
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import NamedTuple

from ..digests import md5_b64_file
from ..errors import InvalidInputError, NotFoundError, StorageError
from ..progress import Progress
from . import budget
from .base import ObjectInfo
from .budget import ListingBudget
from .file_hashing import HashedBatch, batch_paths, hash_paths
from .file_pool import HashWorkers, can_start_workers, cores

__all__ = [
    "MAX_WORKERS",
    "PARALLEL_MIN_BYTES",
    "PARALLEL_MIN_FILES",
    "Chunk",
    "Run",
    "file_info",
    "listed_chunks",
    "read_errors",
]

BATCH = 256  # files hashed at a time in this process (and at most budget.STREAM_CHUNK, as every batch)
MAX_WORKERS = 8  # hashing processes at most (past a few, the caller building entries is the limit)
# Below this many files and bytes, hashing here is quicker than starting workers (about 10 ms each).
PARALLEL_MIN_FILES = 1024
PARALLEL_MIN_BYTES = 32 << 20
_SMALL = 1 << 20

MAX_BATCH_FILES = 512  # files per batch a worker hashes (small enough that the last batches end together)
BATCH_BYTES = 4 << 20  # bytes per batch: a few files of a few MiB each spread over the workers too
_SAMPLE = 64  # files in the first batch, and stat-ed to size the next ones before a worker reports


def file_info(path: str, relpath: str, checksum: bool = True) -> ObjectInfo:
    """One file as a listing reports it, read in this process (``checksum=False``: a size + mtime
    fingerprint instead of the MD5)."""
    # One open + fstat + read per small file: the syscalls are the cost here.
    with open(path, "rb") as handle:
        stat = os.fstat(handle.fileno())
        if not checksum:
            digest = f"{stat.st_size}-{stat.st_mtime_ns}"  # a fingerprint that still notices most edits
        elif stat.st_size <= _SMALL:
            digest = base64.b64encode(hashlib.md5(handle.read()).digest()).decode("ascii")
        else:
            digest = md5_b64_file(path)
    return ObjectInfo(
        uri="file://" + path,
        relpath=relpath,
        size=stat.st_size,
        digest=digest,
        object_version=None,
        extra={"last_modified": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat()},
    )


def _inside(link: str, real_root: str) -> str:
    """The real path of the file the link at ``link`` leads to; InvalidInputError when it lies outside
    ``real_root`` (the referenced folder, resolved)."""
    target = os.path.realpath(link)
    if os.path.commonpath([target, real_root]) != real_root:
        raise InvalidInputError(
            f"{link} is a symbolic link to a file outside the referenced folder; shanty does not follow it "
            "(it would log and serve a file you did not put there): copy the file in, or reference it directly."
        )
    return target


class Run(NamedTuple):
    """Files of one folder that come one after another in the listing: the folder's path with a
    trailing "/", its path below the referenced folder (the same, or ""), the file names in order,
    and the real path of each name that is a link (to a file inside the referenced folder)."""

    prefix: str
    rel: str
    names: list[str]
    links: dict[str, str]

    def paths(self) -> list[str]:
        """The paths to read, in order."""
        links, prefix = self.links, self.prefix
        if not links:
            return [prefix + n for n in self.names]
        return [links[n] if n in links else prefix + n for n in self.names]


Chunk = list[ObjectInfo] | tuple[list[Run], HashedBatch]  # fingerprinted objects, or a hashed batch


def _walk(root: str, counted: ListingBudget[str]) -> Iterator[Run]:
    """Every regular file below ``root`` as runs of a folder's files, in the order of the relative
    paths; each run is counted by ``counted`` (InvalidInputError past max_objects). Names and types
    only: no stat, no Python object per file but its name."""
    real_root = os.path.realpath(root)
    stack = [(root, "", *_entries(root, real_root), 0)]
    while stack:
        folder, rel, keys, links, folders, start = stack.pop()
        end = start
        if folders:
            while end < len(keys) and keys[end][-1] != "/":
                end += 1
        else:  # most folders hold files only: no need to look for the next sub-folder
            end = len(keys)
        if end < len(keys):  # a folder: its files come next, then the rest of this folder
            stack.append((folder, rel, keys, links, folders, end + 1))
            sub = os.path.join(folder, keys[end][:-1])
            stack.append((sub, rel + keys[end], *_entries(sub, real_root), 0))
        if end > start:
            names = keys[start:end] if start or end < len(keys) else keys
            counted.add(names)
            prefix = folder if folder.endswith("/") else folder + "/"
            yield Run(prefix, rel, names, {n: links[n] for n in names if n in links} if links else links)


def _entries(folder: str, real_root: str) -> tuple[list[str], dict[str, str], int]:
    """The folder's regular files (and links to files) and real sub-folders, each keyed so that
    sorting the keys sorts the relative paths below it: a folder's key ends with "/" ("b.wav" < "b/");
    the real path of each file that is a link (InvalidInputError for one leading outside); and the
    number of sub-folders."""
    keys: list[str] = []
    links: dict[str, str] = {}
    folders = 0
    with os.scandir(folder) as it:
        for entry in it:
            if entry.is_dir():
                if not entry.is_symlink():  # linked folders are skipped (as os.walk does): no cycles
                    keys.append(entry.name + "/")
                    folders += 1
            elif entry.is_file():  # skips broken links, sockets, fifos
                keys.append(entry.name)
                if entry.is_symlink():
                    links[entry.name] = _inside(entry.path, real_root)
    keys.sort()
    return keys, links, folders


@contextlib.contextmanager
def _listing_errors(uri: str) -> Iterator[None]:
    """Around walking the folder: a sub-folder shanty may not read is one StorageError sentence."""
    try:
        yield
    except PermissionError as exc:
        raise StorageError(f"Permission denied while listing {uri}: {exc.filename}; fix its permissions.") from exc


@contextlib.contextmanager
def read_errors() -> Iterator[None]:
    """Around reading listed files here: a file made unreadable or removed meanwhile is one StorageError
    sentence (the same :func:`_read_error` gives for a file a worker could not read)."""
    try:
        yield
    except OSError as exc:
        if exc.errno is None or exc.filename is None:
            raise
        raise _read_error(str(exc.filename), exc.errno, exc.strerror or "") from exc


def _read_error(path: str, code: int, reason: str) -> StorageError:
    """The one sentence for a listed file that could not be read (errno ``code``)."""
    if code in (errno.EACCES, errno.EPERM):
        return StorageError(f"Permission denied reading {path}; fix its permissions.")
    if code in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR):
        return StorageError(f"{path} vanished while it was being read; retry when the folder is stable.")
    if code == errno.ELOOP:
        return StorageError(
            f"{path} was replaced by a symbolic link while it was being read, which shanty does not follow; "
            "retry when the folder is stable."
        )
    return StorageError(f"Could not read {path} ({reason or os.strerror(code)}); check the file and retry.")


def listed_chunks(
    uri: str, root: str, max_objects: int | None, checksum: bool, progress: Progress | None
) -> Iterator[Chunk]:
    """The files below the folder ``root`` (named by ``uri``) in chunks, in relative-path order:
    ObjectInfo lists when ``checksum=False``, else (runs, hashed) pairs for :func:`to_infos` /
    :func:`to_columns`. StorageError for a file that could not be read (the first one), NotFoundError
    for an empty folder, InvalidInputError past ``max_objects``; progress advances by chunk."""
    counted: ListingBudget[str] = ListingBudget(uri, max_objects, None, narrower="folder", sink=_drop)
    found = 0
    for chunk in _chunks(_walk(root, counted), uri, checksum):
        if isinstance(chunk, tuple):
            runs, failure = chunk[0], chunk[1][3]
            if failure is not None:
                path = [p for run in runs for p in run.paths()][failure[0]]
                raise _read_error(path, failure[1], failure[2])
            count = len(chunk[1][0]) // 8
        else:
            count = len(chunk)
        found += count
        if progress:
            progress.advance(count)
        yield chunk
    if not found:
        raise NotFoundError(f"The folder {uri} contains no files; add files or reference another folder.")
    if progress:
        progress.set_total(found)


def _drop(items: object) -> None:
    """A budget's sink when the listing keeps its items itself."""


def _chunks(runs: Iterator[Run], uri: str, checksum: bool) -> Iterator[Chunk]:
    """Hash in worker processes when it pays (enough files or bytes, more than one core), else here."""
    head: list[Run] = []
    count = 0
    with _listing_errors(uri):
        for run in runs:
            head.append(run)
            count += len(run.names)
            if count >= PARALLEL_MIN_FILES:
                break
    listing = itertools.chain(head, runs)
    workers = min(cores(), MAX_WORKERS)
    if checksum and workers > 1 and can_start_workers() and _worth_workers(head):
        try:
            pool: HashWorkers[list[Run]] = HashWorkers(workers)
        except OSError:  # no interpreter to start (an embedded Python): hash here
            pass
        else:
            with pool, _listing_errors(uri):
                yield from pool.run(_batches(listing, _batch_sizes(pool, head)))
            return
    size = min(BATCH, budget.STREAM_CHUNK)
    with _listing_errors(uri):
        if checksum:
            for batch, payload in _batches(listing, lambda: size):
                yield batch, hash_paths(batch_paths(payload))
            return
        for run in listing:
            paths = run.paths()
            for start in range(0, len(paths), size):
                with read_errors():
                    yield [
                        file_info(path, run.rel + name, checksum=False)
                        for path, name in zip(paths[start : start + size], run.names[start : start + size], strict=True)
                    ]


def _worth_workers(head: list[Run]) -> bool:
    count = sum(len(run.names) for run in head)
    return count >= PARALLEL_MIN_FILES or sum(_size(p) for run in head for p in run.paths()) >= PARALLEL_MIN_BYTES


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _batch_sizes(pool: HashWorkers[list[Run]], head: list[Run]) -> Callable[[], int]:
    """Files in the next batch: about BATCH_BYTES, by the mean size of the files hashed so far (before
    the first answer, of a sample of the first files, stat-ed once)."""
    sampled: list[float] = []

    def size_of_next() -> int:
        average = pool.bytes_per_file
        if average is None:
            if not sampled:
                sample = [p for run in head[:_SAMPLE] for p in run.paths()[:_SAMPLE]][:_SAMPLE]
                sampled.append(sum(_size(p) for p in sample) / max(1, len(sample)))
            average = sampled[0]
        return max(1, min(MAX_BATCH_FILES, budget.STREAM_CHUNK, int(BATCH_BYTES / max(average, 1.0))))

    return size_of_next


def _batches(runs: Iterator[Run], size_of_next: Callable[[], int]) -> Iterator[tuple[list[Run], bytes]]:
    """The runs cut into batches of ``size_of_next()`` files (asked before each batch), each with its
    :func:`~.file_hashing.batch_paths` payload."""
    pending: list[Run] = []
    count, size = 0, min(size_of_next(), _SAMPLE)  # small at first: large files spread over the workers
    for run in runs:
        start, names = 0, run.names
        while len(names) - start >= size - count:
            take = size - count
            pending.append(
                run if start == 0 and take == len(names) else run._replace(names=names[start : start + take])
            )
            start += take
            yield pending, _payload(pending)
            pending, count, size = [], 0, size_of_next()
        if start < len(names):
            pending.append(run if start == 0 else run._replace(names=names[start:]))
            count += len(names) - start
    if pending:
        yield pending, _payload(pending)


_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def _payload(batch: list[Run]) -> bytes:
    """The batch as :func:`~.file_hashing.batch_paths` reads it: one join and one encode per batch."""
    runs = [
        run.prefix + "\0" + "\0".join([run.links.get(n, n) for n in run.names] if run.links else run.names)
        for run in batch
    ]
    return "\0\0".join(runs).encode(_FS_ENCODING, _FS_ERRORS)
