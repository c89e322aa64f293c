"""Manifest entries as rows: the entry value, its Parquet schema and path check, and large sets of
entries held as sorted Parquet files, never as a Python object per entry.

:class:`BulkEntries` is such a file with its count, total size and W&B digest (:func:`write_bulk`
makes one from Arrow batches, :func:`merge_files` joins several); :class:`StoredEntries` is the
read-only path -> entry view of a stored one. :class:`shanty.manifest.Manifest` holds them.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import posixpath
import threading
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import InvalidInputError, MalformedError

__all__ = [
    "BULK_BATCH_ROWS",
    "MANIFEST_SCHEMA",
    "BulkEntries",
    "ManifestEntry",
    "StoredEntries",
    "check_entry_path",
    "entries_of",
    "merge_files",
    "write_bulk",
]

# The stored manifest: one row per entry (the engine diff reads these columns directly).
MANIFEST_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("digest", pa.string()),
        ("size", pa.int64()),
        ("ref", pa.string()),
        ("version", pa.string()),
        ("extra", pa.string()),
    ],
    metadata={"shanty.manifest": "1"},
)
BULK_BATCH_ROWS = 256 * 1024  # entries per batch when a manifest is read or written as Parquet
# Row groups of a bulk file: small enough that looking one path up decodes a few milliseconds' worth.
ROW_GROUP_ROWS = 16 * 1024
_KEPT_GROUPS = 4  # row groups a StoredEntries keeps decoded (a page of lookups often shares one)
# DuckDB's memory while it sorts bulk entries (it spills to disk beyond): keeps 10M entries under 2 GB.
MERGE_MEMORY = "400MB"


def check_entry_path(path: str) -> str:
    """Validate an entry path: relative, POSIX, no ``..``; returns it normalised.

    Entry paths become file names on download, so anything that could escape
    the download root is refused here, at the door.
    """
    if not isinstance(path, str) or not path or "\x00" in path:
        raise InvalidInputError(f"Entry path {path!r} is empty or invalid; give a relative path like 'songs/a.wav'.")
    norm = posixpath.normpath(path.replace("\\", "/"))
    if norm.startswith("/") or norm == "." or norm == ".." or norm.startswith("../"):
        raise InvalidInputError(f"Entry path {path!r} must stay inside the artifact; use a relative path without '..'.")
    return norm


@dataclass(frozen=True)
class ManifestEntry:
    """One file of an artifact version.

    ``ref`` is the referenced URI (None for files stored by value in the
    registry), ``object_version`` the object version to fetch (S3 VersionId, GCS
    generation; None when the store is unversioned), ``digest`` the content
    checksum in W&B's format, ``extra`` descriptive metadata (etag, md5,
    crc32c, last_modified, content_type).
    """

    path: str
    digest: str
    size: int
    ref: str | None = None
    object_version: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)


def entries_of(table: pa.Table) -> Iterator[ManifestEntry]:
    """The rows of a stored manifest table as entries; MalformedError for a table shanty did not write."""
    missing = {"path", "digest", "size"} - set(table.column_names)
    if missing:
        raise MalformedError(f"The manifest lacks the column(s) {sorted(missing)}; it was not written by shanty.")
    cols = {
        name: table.column(name).to_pylist() if name in table.column_names else [None] * table.num_rows
        for name in MANIFEST_SCHEMA.names
    }
    try:
        for path, digest, size, ref, version, extra in zip(*(cols[n] for n in MANIFEST_SCHEMA.names), strict=True):
            yield ManifestEntry(path, digest, int(size), ref, version, json.loads(extra) if extra else {})
    except (TypeError, ValueError) as exc:
        raise MalformedError(f"The manifest has an unreadable row ({exc}); it is damaged.") from exc


# --- bulk entries: a sorted Parquet file, never a Python object per entry ----------------------------
_ODD_PATH = r"(^|/)\.\.?(/|$)|//|\\|\x00|^/|/$|^$"  # what check_entry_path would change or refuse


@dataclass(frozen=True)
class BulkEntries:
    """Manifest entries in ``file`` (Parquet, :data:`MANIFEST_SCHEMA`, sorted by path, paths unique):
    their number, total size and W&B digest. The file lives as long as the draft that holds it."""

    file: Path
    count: int
    total_size: int
    digest: str


class _Writer:
    """Writes batches to a Parquet file, hashing ``path:digest`` lines as they pass; notes whether the
    batches were out of order or repeated a path (then the file must be merged again).

    Hashing and encoding (both release the GIL) run on a worker thread each while the caller makes the
    next batch (a query's next rows, the checks), one batch at a time so memory stays a batch ahead."""

    def __init__(self, dest: Path):
        self.dest, self.count, self.total, self.last = dest, 0, 0, None
        self.md5 = hashlib.md5(b"wandb-artifact-manifest-v1\n")
        self.disordered = False
        # No dictionaries: paths, refs, digests and versions are unique, so trying one costs a third of
        # the writing time for nothing (and the file is smaller without).
        self._out = pq.ParquetWriter(dest, MANIFEST_SCHEMA, compression="zstd", use_dictionary=False)
        self._hasher = ThreadPoolExecutor(1, thread_name_prefix="shanty-bulk-hash")
        self._encoder = ThreadPoolExecutor(1, thread_name_prefix="shanty-bulk-write")
        self._pending: list[Future[None]] = []

    def write(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        if not batch.schema.equals(MANIFEST_SCHEMA):
            batch = batch.cast(MANIFEST_SCHEMA)
        paths = batch.column("path")
        if self.last is not None and paths[0].as_py() <= self.last:
            self.disordered = True
        if batch.num_rows > 1 and pc.any(pc.less_equal(paths.slice(1), paths.slice(0, len(paths) - 1))).as_py():
            self.disordered = True
        self.last = paths[-1].as_py()
        self.count += batch.num_rows
        self.total += pc.sum(batch.column("size")).as_py() or 0
        self._wait()  # the previous batch is done: at most one is in the workers while this one is made
        self._pending = [
            self._hasher.submit(self._hash, batch),
            self._encoder.submit(self._out.write_batch, batch, row_group_size=ROW_GROUP_ROWS),
        ]

    def _hash(self, batch: pa.RecordBatch) -> None:
        """Hash the ``path:digest`` lines of ``batch`` (on the hashing thread, in the order batches came)."""
        lines = pc.binary_join_element_wise(
            pc.binary_join_element_wise(batch.column("path"), batch.column("digest"), ":"), "", "\n"
        )
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
        self.md5.update(memoryview(lines.buffers()[2])[offsets[0] : offsets[-1]])

    def _wait(self) -> None:
        pending, self._pending = self._pending, []
        for job in pending:
            job.result()

    def close(self) -> BulkEntries:
        """Finish the file (re-raising a failed write); the file is closed either way."""
        try:
            self._wait()
        finally:
            self._hasher.shutdown()
            self._encoder.shutdown()
            self._out.close()
        return BulkEntries(self.dest, self.count, self.total, self.md5.hexdigest())


def _normalised(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with every path as :func:`check_entry_path` makes it (InvalidInputError for a path
    leaving the artifact); only the rare odd paths are looked at in Python."""
    paths = batch.column("path")
    if not _may_be_odd(paths):
        return batch
    odd = pc.match_substring_regex(paths, _ODD_PATH)
    if not pc.any(odd).as_py():
        return batch
    fixed = [check_entry_path(p) if o else p for p, o in zip(paths.to_pylist(), odd.to_pylist(), strict=True)]
    return batch.set_column(0, "path", pa.array(fixed, pa.string()))


def _may_be_odd(paths: pa.Array) -> bool:
    """False when no path can match :data:`_ODD_PATH`: a few byte searches over all the paths' text at
    once (the regex costs as much as writing them). A pattern spanning two paths needs one of them to
    end or start with '/', which is looked at per path; a hit only means the regex decides."""
    if pc.any(pc.starts_with(paths, "/")).as_py() or pc.any(pc.starts_with(paths, ".")).as_py():
        return True
    if pc.any(pc.ends_with(paths, "/")).as_py() or pc.any(pc.equal(pc.binary_length(paths), 0)).as_py():
        return True
    if isinstance(paths, pa.ChunkedArray):
        return any(_may_be_odd(chunk) for chunk in paths.chunks)
    offsets = np.frombuffer(paths.buffers()[1], dtype=np.int32)[paths.offset : paths.offset + len(paths) + 1]
    text = paths.buffers()[2]
    text = b"" if text is None else text.to_pybytes()[offsets[0] : offsets[-1]]
    return any(pattern in text for pattern in (b"/.", b"//", b"\\", b"\x00"))


def write_bulk(batches: Iterable[pa.RecordBatch], dest: Path) -> BulkEntries:
    """Write entries (batches with the columns of :data:`MANIFEST_SCHEMA`, best sorted by path) to the
    Parquet file ``dest``, sorted, paths normalised and unique; returns what it holds. InvalidInputError
    for a path leaving the artifact or one path with two different contents."""
    writer = _Writer(dest)
    try:
        for batch in batches:
            writer.write(_normalised(batch.select(MANIFEST_SCHEMA.names)))
    finally:
        written = writer.close()
    if not writer.disordered:
        return written
    return merge_files([dest], dest.with_name(dest.stem + "-sorted.parquet"))


def _quoted_list(files: list[Path]) -> str:
    return "[" + ", ".join("'{}'".format(str(f).replace("'", "''")) for f in files) + "]"


def merge_files(files: list[Path], dest: Path | None = None) -> BulkEntries:
    """One sorted file of the entries of ``files``: identical repeats kept once, a path with two
    contents an InvalidInputError. DuckDB sorts within a memory limit, spilling to disk."""
    import duckdb  # the query engine's dependency; only large manifests need it here

    dest = dest or files[0].with_name(f"merged-{len(files)}-{files[-1].stem}.parquet")
    con = duckdb.connect(
        config={
            "memory_limit": MERGE_MEMORY,
            "temp_directory": str(dest.parent / "spill"),
            "preserve_insertion_order": False,
        }
    )
    try:
        source = f"read_parquet({_quoted_list(files)})"
        clash = con.execute(
            f"SELECT path FROM {source} GROUP BY path HAVING count(DISTINCT (digest, coalesce(ref, ''))) > 1 LIMIT 1"
        ).fetchall()
        if clash:
            raise InvalidInputError(
                f"Two different files would both be stored at {clash[0][0]!r}; pass name= to place one elsewhere."
            )
        names = ", ".join(MANIFEST_SCHEMA.names)
        reader = con.sql(
            f"SELECT {names} FROM (SELECT DISTINCT ON (path) {names} FROM {source}) ORDER BY path"
        ).to_arrow_reader(BULK_BATCH_ROWS)
        writer = _Writer(dest)
        try:
            for batch in reader:
                writer.write(batch)
        finally:
            merged = writer.close()
        return merged
    finally:
        con.close()


class StoredEntries(Mapping[str, ManifestEntry]):
    """Path -> entry of a large stored manifest, read from its sorted Parquet file on demand: a lookup
    finds the one row group whose path range can hold the path (from the footer's statistics) and
    reads it (the last few are kept), iteration streams the path column, and :meth:`values` /
    :meth:`items` read a batch of entries at a time. Read-only; safe to share between threads."""

    def __init__(self, bulk: BulkEntries):
        self.bulk = bulk
        self._lock = threading.Lock()
        self._file: pq.ParquetFile | None = None
        self._bounds: tuple[list[str], list[str]] | None = None  # per row group: first and last path
        self._groups: dict[int, pa.Table] = {}  # recently read row groups, oldest first

    def __len__(self) -> int:
        return self.bulk.count

    def _open(self) -> pq.ParquetFile:
        """The file and its row groups' path ranges (empty when a group lacks statistics: then lookups
        filter the whole file)."""
        if self._file is None:
            self._file = pq.ParquetFile(self.bulk.file)
            meta = self._file.metadata
            column = meta.schema.to_arrow_schema().get_field_index("path")
            firsts, lasts = [], []
            for group in range(meta.num_row_groups):
                stats = meta.row_group(group).column(column).statistics
                if column < 0 or stats is None or not stats.has_min_max:
                    firsts, lasts = [], []
                    break
                firsts.append(stats.min)
                lasts.append(stats.max)
            self._bounds = (firsts, lasts)
        return self._file

    def _row(self, path: object) -> pa.Table | None:
        """The one row at ``path``, or None."""
        if not isinstance(path, str):
            return None
        with self._lock:
            handle = self._open()
            firsts, lasts = self._bounds or ([], [])
            if not firsts:
                rows = pq.read_table(self.bulk.file, filters=[("path", "=", path)])
                return rows if rows.num_rows else None
            group = bisect.bisect_right(firsts, path) - 1
            if group < 0 or path > lasts[group]:
                return None
            table = self._groups.pop(group, None)
            if table is None:
                table = handle.read_row_group(group)
            self._groups[group] = table
            while len(self._groups) > _KEPT_GROUPS:
                del self._groups[next(iter(self._groups))]
        index = pc.index(table.column("path"), path).as_py()
        return table.slice(index, 1) if index >= 0 else None

    def __getitem__(self, path: str) -> ManifestEntry:
        row = self._row(path)
        if row is None:
            raise KeyError(path)
        return next(entries_of(row))

    def __contains__(self, path: object) -> bool:
        return self._row(path) is not None

    def __iter__(self) -> Iterator[str]:
        for batch in pq.ParquetFile(self.bulk.file).iter_batches(BULK_BATCH_ROWS, columns=["path"]):
            yield from batch.column(0).to_pylist()

    def values(self) -> Iterator[ManifestEntry]:  # type: ignore[override]  # a stream, not a view
        for batch in pq.ParquetFile(self.bulk.file).iter_batches(BULK_BATCH_ROWS):
            yield from entries_of(pa.Table.from_batches([batch]))

    def items(self) -> Iterator[tuple[str, ManifestEntry]]:  # type: ignore[override]
        return ((entry.path, entry) for entry in self.values())
