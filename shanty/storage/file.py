"""``file://`` storage: local folders used as buckets and as registry roots.

Digests are computed from content (streamed, in parallel threads: reading and
hashing release the GIL). Local files have no object versions, so a file that
changed after it was logged can only be detected, not fetched as it was.

Symbolic links: a link to a file inside the referenced folder is referenced as
that file (its real path is recorded); a link leading outside the folder is
refused with one sentence, since following it would log, serve and download
a file the user never put there. Reads never follow a link (``O_NOFOLLOW``):
a recorded file later replaced by a link is gone, not followed.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from ..digests import md5_b64_file
from ..errors import InvalidInputError, NotFoundError, StorageError
from ..progress import Progress
from .base import ObjectInfo
from .budget import ListingBudget, check_max_objects, stream_listing
from .location import parse_location
from .stream import ByteStream

__all__ = ["FileStorage"]

HASH_WORKERS = min(8, (os.cpu_count() or 2) * 2)
BATCH = 256  # files per task: a future per file costs more than hashing a small file
PARALLEL_MIN_AVG_BYTES = 256 * 1024


_SMALL = 1 << 20
_CHUNK = 256 * 1024  # ranged reads: a player's request is served in a few reads


def _path(uri: str) -> Path:
    location = parse_location(uri)
    if location.scheme != "file":
        raise InvalidInputError(f"{uri!r} is not a file:// URI.")
    return Path(location.key)


def _info(path: str, relpath: str, checksum: bool = True) -> ObjectInfo:
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


def _open_file(path: Path | str, uri: str):
    """``path`` opened for reading without following a link; NotFoundError when it is missing or a link."""
    try:
        return os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
        raise NotFoundError(f"{uri} no longer exists.") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotFoundError(
                f"{uri} was replaced by a symbolic link after it was logged; it is not followed."
            ) from exc
        raise


def _walk(root: str, budget: ListingBudget[tuple[str, str]]) -> tuple[list[tuple[str, str]], int]:
    """(real path, relative POSIX path) of every regular file below ``root``, sorted; and their total size.

    A link to a file inside ``root`` is listed at its own name with its target's real path; a link
    leading outside raises InvalidInputError (see :func:`_inside`).
    """
    total = 0
    real_root = os.path.realpath(root)
    stack = [(root, "")]
    while stack:
        folder, rel = stack.pop()
        with os.scandir(folder) as it:
            items = sorted(it, key=lambda e: e.name, reverse=True)
        for item in items:
            if item.is_dir():  # linked folders are skipped (as os.walk does), which also prevents cycles
                if not item.is_symlink():
                    stack.append((item.path, f"{rel}{item.name}/"))
            elif item.is_file():  # skips broken symlinks, sockets, fifos
                path = _inside(item.path, real_root) if item.is_symlink() else item.path
                budget.add([(path, rel + item.name)])
                total += item.stat().st_size
    return sorted(budget.items, key=lambda pair: pair[1]), total


@contextlib.contextmanager
def _read_errors() -> Iterator[None]:
    """Around hashing listed files: a file made unreadable or removed meanwhile is one StorageError sentence."""
    try:
        yield
    except PermissionError as exc:
        raise StorageError(f"Permission denied reading {exc.filename}; fix its permissions.") from exc
    except FileNotFoundError as exc:
        raise StorageError(
            f"{exc.filename} vanished while it was being read; retry when the folder is stable."
        ) from exc


def _slices(items: list[tuple[str, str]], size: int) -> list[list[tuple[str, str]]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _average_size(files: list[tuple[str, str]]) -> float:
    """Mean size of the files (real path, relpath); a file gone meanwhile counts as empty."""
    total = 0
    for path, _ in files:
        with contextlib.suppress(OSError):
            total += os.stat(path).st_size
    return total / max(1, len(files))


class FileStorage:
    """Storage over the local file system; also offers ``local_path`` and ``open_range``."""

    scheme = "file"

    def list_objects(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> list[ObjectInfo]:
        """See :meth:`Storage.list_objects`; digests are read from the bytes unless ``checksum=False``."""
        root = _path(uri)
        check_max_objects(max_objects, uri)
        if root.is_file():  # a file named on purpose: a link to it is followed, and its target recorded
            info = _info(os.path.realpath(root), root.name, checksum)
            if progress:
                progress.set_total(1)
                progress.advance()
            return [info]
        if not root.is_dir():
            raise NotFoundError(
                f"Nothing exists at {uri}; check the path (a folder is referenced with all files below it)."
            )
        try:
            files, total_bytes = _walk(str(root), ListingBudget(uri, max_objects, None, narrower="folder"))
        except PermissionError as exc:
            raise StorageError(f"Permission denied while listing {uri}: {exc.filename}; fix its permissions.") from exc
        if not files:
            raise NotFoundError(f"The folder {uri} contains no files; add files or reference another folder.")
        if progress:
            progress.set_total(len(files))

        def hash_batch(batch: list[tuple[str, str]]) -> list[ObjectInfo]:
            infos = [_info(path, rel, checksum) for path, rel in batch]
            if progress:
                progress.advance(len(infos))
            return infos

        batches = [files[i : i + BATCH] for i in range(0, len(files), BATCH)]
        # Threads pay off only when hashing dominates (hashlib releases the GIL on
        # large buffers); for small files they fight over the GIL and run slower
        # than one thread (measured: 20,000 x 4 KiB files, 0.39 s alone vs 0.69 s on 4 threads).
        workers = HASH_WORKERS if checksum and total_bytes / len(files) >= PARALLEL_MIN_AVG_BYTES else 1
        with _read_errors(), ThreadPoolExecutor(workers) as pool:
            return [info for infos in pool.map(hash_batch, batches) for info in infos]

    def list_object_batches(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> Iterator[list[ObjectInfo]]:
        """See :meth:`~shanty.storage.base.BatchListing.list_object_batches`: the folder is walked and
        hashed a chunk at a time, so only a chunk of files is held."""
        root = _path(uri)
        check_max_objects(max_objects, uri)
        if not root.is_dir():  # one file, or list_objects' NotFoundError
            yield self.list_objects(uri, max_objects=max_objects, checksum=checksum, progress=progress)
            return

        def run(budget: ListingBudget[tuple[str, str]]) -> None:
            try:
                _walk(str(root), budget)
            except PermissionError as exc:
                raise StorageError(
                    f"Permission denied while listing {uri}: {exc.filename}; fix its permissions."
                ) from exc

        def hash_batch(batch: list[tuple[str, str]]) -> list[ObjectInfo]:
            return [_info(path, rel, checksum) for path, rel in batch]

        found = 0
        with ThreadPoolExecutor(HASH_WORKERS if checksum else 1) as pool:
            for chunk in stream_listing(uri, max_objects, None, run, narrower="folder"):
                with _read_errors():
                    # Threads only when hashing dominates, as list_objects decides (see there).
                    if checksum and _average_size(chunk) >= PARALLEL_MIN_AVG_BYTES:
                        infos = [i for part in pool.map(hash_batch, _slices(chunk, BATCH)) for i in part]
                    else:
                        infos = hash_batch(chunk)
                found += len(infos)
                if progress:
                    progress.advance(len(infos))
                yield infos
        if not found:
            raise NotFoundError(f"The folder {uri} contains no files; add files or reference another folder.")
        if progress:
            progress.set_total(found)

    def stat(self, uri: str, version: str | None = None) -> ObjectInfo | None:
        """See :meth:`Storage.stat`; ``version`` is ignored (files have none)."""
        path = _path(uri)
        if not path.is_file():
            return None
        return _info(str(path), path.name)

    def download(self, uri: str, version: str | None, dest: Path) -> None:
        """Copy the file to ``dest``; ``version`` is ignored (files have none)."""
        with _open_file(_path(uri), uri) as source, open(dest, "wb") as target:
            shutil.copyfileobj(source, target, 1 << 20)

    def read_bytes(self, uri: str) -> bytes:
        """See :meth:`Storage.read_bytes`."""
        try:
            return _path(uri).read_bytes()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise NotFoundError(f"{uri} does not exist.") from exc

    def _temp_beside(self, path: Path, data: bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex}"
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return temp

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Write through a temp file and an atomic rename (creating folders as needed)."""
        path = _path(uri)
        temp = self._temp_beside(path, data)
        os.replace(temp, path)  # atomic: readers see the old or the new file

    def create_if_absent(self, uri: str, data: bytes) -> bool:
        """See :meth:`Storage.create_if_absent`."""
        # Write the full content to a temp file, then hard-link it into place:
        # link() fails if the name exists, so the claim and the content land in
        # one atomic step and a killed writer leaves only an ignored temp file.
        path = _path(uri)
        temp = self._temp_beside(path, data)
        try:
            os.link(temp, path)
            return True
        except FileExistsError:
            return False
        finally:
            temp.unlink(missing_ok=True)

    def exists(self, uri: str) -> bool:
        """Whether a regular file is at ``uri``."""
        return _path(uri).is_file()

    def list_names(self, uri: str) -> list[str]:
        """See :meth:`Storage.list_names`; hidden names (temp files) are left out, a missing folder is empty."""
        path = _path(uri)
        try:
            return sorted(name for name in os.listdir(path) if not name.startswith("."))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def signed_url(self, uri: str, version: str | None, expires_in: int) -> str | None:
        """None: local files are served by the app's own signed media route."""
        return None

    # --- optional capabilities -----------------------------------------------------
    def local_path(self, uri: str) -> Path | None:
        """The file ``uri`` names (it may not exist)."""
        return _path(uri)

    def open_range(self, uri: str, version: str | None, start: int, end: int, *, etag: str | None = None) -> ByteStream:
        """See :meth:`RangedReads.open_range`; ``version`` and ``etag`` are ignored (files have neither)."""
        handle = _open_file(_path(uri), uri)  # closed by the ByteStream
        handle.seek(start)

        def chunks() -> Iterator[bytes]:
            left = end - start
            while left > 0 and (chunk := handle.read(min(_CHUNK, left))):
                left -= len(chunk)
                yield chunk

        return ByteStream(chunks(), handle.close, end - start)
