"""``file://`` storage: local folders used as buckets and as registry roots.

Digests are computed from content, on every core for a folder of many files (see
:mod:`shanty.storage.file_listing`). Local files have no object versions, so a file that
changed after it was logged can only be detected, not fetched as it was.

Symbolic links: a link to a file inside the referenced folder is referenced as
that file (its real path is recorded); a link leading outside the folder is
refused with one sentence, since following it would log, serve and download
a file the user never put there. Reads never follow a link (``O_NOFOLLOW``):
a recorded file later replaced by a link is gone, not followed.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidInputError, NotFoundError
from ..progress import Progress
from . import budget
from .base import ObjectInfo
from .budget import check_max_objects
from .file_hashing import DIGEST_CHARS, HashedBatch
from .file_listing import Chunk, Run, file_info, listed_chunks, read_errors
from .location import parse_location
from .stream import ByteStream

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FileStorage"]

_CHUNK = 256 * 1024  # ranged reads: a player's request is served in a few reads
# Files per Arrow batch of a listing: an Arrow call costs the same for 10 rows as for 2,000, and a
# caller can work on a batch while the next ones are hashed.
COLUMN_ROWS = 2048


def _path(uri: str) -> Path:
    location = parse_location(uri)
    if location.scheme != "file":
        raise InvalidInputError(f"{uri!r} is not a file:// URI.")
    return Path(location.key)


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


def to_infos(chunk: Chunk) -> list[ObjectInfo]:
    """A chunk of :func:`listed_chunks` as ObjectInfos."""
    if isinstance(chunk, list):
        return chunk
    runs, (sizes, digests, stamps, _) = chunk
    text, width = digests.decode("ascii"), DIGEST_CHARS
    paths = [(p, run.rel + n) for run in runs for p, n in zip(run.paths(), run.names, strict=True)]
    return [
        ObjectInfo("file://" + path, rel, size, text[i * width : (i + 1) * width], None, {"last_modified": stamp})
        for i, ((path, rel), size, stamp) in enumerate(
            zip(paths, memoryview(sizes).cast("q").tolist(), stamps.split("\n"), strict=True)
        )
    ]


def joined(chunks: Iterator[Chunk], rows: int) -> Iterator[Chunk]:
    """The hashed chunks joined into chunks of at least ``rows`` files (the last may hold fewer): an
    Arrow call costs tens of microseconds however many rows it takes, so :func:`to_columns` is
    given thousands at a time. Chunks of ObjectInfos pass as they are."""
    pending: list[tuple[list[Run], HashedBatch]] = []
    count = 0
    for chunk in chunks:
        if isinstance(chunk, list):
            yield chunk
            continue
        pending.append(chunk)
        count += len(chunk[1][0]) // 8
        if count >= rows:
            yield _join(pending)
            pending, count = [], 0
    if pending:
        yield _join(pending)


def _join(chunks: list[tuple[list[Run], HashedBatch]]) -> tuple[list[Run], HashedBatch]:
    if len(chunks) == 1:
        return chunks[0]
    runs = [run for batch, _ in chunks for run in batch]
    hashed = [h for _, h in chunks]
    return runs, (b"".join(h[0] for h in hashed), b"".join(h[1] for h in hashed), "\n".join(h[2] for h in hashed), None)


def to_columns(chunk: Chunk) -> pa.RecordBatch:
    """A chunk of :func:`listed_chunks` as a :data:`~shanty.storage.base.LISTING_SCHEMA` batch: the
    digests and sizes are the workers' buffers as they came, the rest a few Arrow calls per batch."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from .base import LISTING_SCHEMA

    if isinstance(chunk, list):
        extra = [json.dumps(dict(o.extra), sort_keys=True) if o.extra else None for o in chunk]
        columns = [[o.relpath for o in chunk], [o.digest for o in chunk], [o.size for o in chunk]]
        rows = [*columns, [o.uri for o in chunk], [o.object_version for o in chunk], extra]
        return pa.record_batch([pa.array(c, f.type) for c, f in zip(rows, LISTING_SCHEMA, strict=True)], LISTING_SCHEMA)
    runs, (sizes, digests, stamps, _) = chunk
    n = len(sizes) // 8
    offsets = np.arange(0, (n + 1) * DIGEST_CHARS, DIGEST_CHARS, dtype=np.int32)
    digest = pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(digests)])
    size = pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(sizes)])
    rels, uris = [], []
    for run in runs:  # a few runs per batch (a folder's files): the per-file work is Arrow's
        names = pa.array(run.names, pa.string())
        rels.append(pc.binary_join_element_wise(run.rel, names, "") if run.rel else names)
        if run.links:
            uris.append(pa.array(["file://" + p for p in run.paths()], pa.string()))
        else:
            uris.append(pc.binary_join_element_wise("file://" + run.prefix, names, ""))
    stamp = pc.split_pattern(pa.array([stamps], pa.string()), "\n").flatten()  # isoformat texts need no escaping
    return pa.record_batch(
        [
            pa.concat_arrays(rels),
            digest,
            size,
            pa.concat_arrays(uris),
            pa.nulls(n, pa.string()),
            pc.binary_join_element_wise('{"last_modified": "', stamp, '"}', ""),
        ],
        LISTING_SCHEMA,
    )


class FileStorage:
    """Storage over the local file system; also offers ``local_path`` and ``open_range``."""

    scheme = "file"

    def list_objects(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> list[ObjectInfo]:
        """See :meth:`Storage.list_objects`; digests are read from the bytes unless ``checksum=False``."""
        chunks = self.list_object_batches(uri, max_objects=max_objects, checksum=checksum, progress=progress)
        return [info for chunk in chunks for info in chunk]  # in relative-path order: the walk goes in it

    def list_object_batches(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> Iterator[list[ObjectInfo]]:
        """See :meth:`~shanty.storage.base.BatchListing.list_object_batches`: the folder is walked and
        hashed a batch at a time (on every core when there is enough to hash, see
        :mod:`shanty.storage.file_listing`); chunks come in the order of the relative paths."""
        for chunk in self._chunks(uri, max_objects, checksum, progress):
            yield to_infos(chunk)

    def list_object_columns(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> Iterator[pa.RecordBatch]:
        """See :meth:`~shanty.storage.base.ColumnListing.list_object_columns`: :meth:`list_object_batches`
        as Arrow batches, in the same order, built without a Python object per file."""
        for chunk in joined(self._chunks(uri, max_objects, checksum, progress), min(COLUMN_ROWS, budget.STREAM_CHUNK)):
            yield to_columns(chunk)

    def _chunks(self, uri: str, max_objects: int | None, checksum: bool, progress: Progress | None) -> Iterator[Chunk]:
        root = _path(uri)
        check_max_objects(max_objects, uri)
        if root.is_file():  # a file named on purpose: a link to it is followed, and its target recorded
            with read_errors():
                info = file_info(os.path.realpath(root), root.name, checksum)
            if progress:
                progress.set_total(1)
                progress.advance()
            yield [info]
            return
        if not root.is_dir():
            raise NotFoundError(
                f"Nothing exists at {uri}; check the path (a folder is referenced with all files below it)."
            )
        yield from listed_chunks(uri, str(root), max_objects, checksum, progress)

    def stat(self, uri: str, version: str | None = None) -> ObjectInfo | None:
        """See :meth:`Storage.stat`; ``version`` is ignored (files have none)."""
        path = _path(uri)
        if not path.is_file():
            return None
        return file_info(str(path), path.name)

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

    def list_names(self, uri: str, start_after: str | None = None) -> list[str]:
        """See :meth:`Storage.list_names`; hidden names (temp files) are left out, a missing folder is empty."""
        path = _path(uri)
        try:
            names = sorted(name for name in os.listdir(path) if not name.startswith("."))
            return names if start_after is None else [n for n in names if n > start_after]
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
