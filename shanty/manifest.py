"""Manifests: the list of entries a version holds, and its digest.

Stored as Parquet (columnar, so a million entries load in well under a
second; a large one is never turned into a Python object per entry, see
:mod:`shanty.manifest_rows`); exported and imported as W&B's ``wandb_manifest.json`` (v1). The
artifact digest uses W&B's algorithm (MD5 over sorted ``path:digest`` lines),
so a shanty version and a W&B version of the same files share a digest.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from .digests import file_matches
from .errors import InvalidInputError, MalformedError
from .manifest_rows import (
    BULK_BATCH_ROWS,
    MANIFEST_SCHEMA,
    BulkEntries,
    ManifestEntry,
    StoredEntries,
    check_entry_path,
    entries_of,
    merge_files,
    write_bulk,
)
from .parquet_bytes import read_parquet_bytes, write_parquet_bytes
from .storage import check_scheme, local_path

# The entry, its schema and the bulk files live in manifest_rows; they are named here as before.
__all__ = [
    "MANIFEST_SCHEMA",
    "BulkEntries",
    "Manifest",
    "ManifestEntry",
    "StoredEntries",
    "check_entry_path",
    "manifest_digest",
    "write_bulk",
]


def manifest_digest(pairs: Iterable[tuple[str, str]]) -> str:
    """W&B's artifact digest: hex MD5 over sorted ``path:digest`` lines."""
    md5 = hashlib.md5(b"wandb-artifact-manifest-v1\n")
    for path, digest in sorted(pairs):
        md5.update(f"{path}:{digest}\n".encode())
    return md5.hexdigest()


def _check_local_ref(item: dict[str, Any], path: str, where: str, allowed: bool) -> None:
    """Refuse a ``file://`` reference unless ``allowed``, and then unless the file holds the recorded bytes."""
    target = local_path(item["ref"])
    if target is None:
        return
    if not allowed:
        raise InvalidInputError(
            f"{where}: the entry {path!r} references a file on this machine ({item['ref']}); import a manifest "
            "with local files only if it is your own (shanty manifest import --allow-local-files)."
        )
    extra = item.get("extra") or {}
    # A digest that names no checksum (W&B's checksum=False writes the path) can only be held to the size
    if (
        not target.is_file()
        or file_matches(target, item["digest"], extra) is False
        or (item.get("size") and target.stat().st_size != item["size"])
    ):
        raise InvalidInputError(
            f"{where}: the entry {path!r} references {item['ref']}, which does not hold the bytes the manifest "
            "records; import it where that file is unchanged, or reference the file anew."
        )


class Manifest:
    """An ordered, path-keyed collection of :class:`ManifestEntry`.

    A large reference (a listing of many objects, an inventory report) joins as :class:`BulkEntries`,
    a sorted Parquet file, via :meth:`add_bulk`: ``len``, ``digest``, ``total_size``, :meth:`get`,
    :meth:`entry_batches`, :meth:`arrow_batches` and :meth:`bulk_file` (what the registry stores)
    never build a Python object per entry; reading a draft's :attr:`entries` or iterating it does.
    A large logged version's manifest is :meth:`stored`: read from its file, never loaded whole.
    """

    def __init__(self, entries: Iterable[ManifestEntry] = ()):
        self._entries: dict[str, ManifestEntry] = {}
        self._bulk: list[BulkEntries] = []
        self._merged: BulkEntries | None = None
        self._dir: Path | None = None  # see bulk_dir
        self._stored: StoredEntries | None = None  # see stored
        self._lookups: dict[Path, StoredEntries] = {}  # see get
        for entry in entries:
            self.add(entry)

    @classmethod
    def stored(cls, file: Path, count: int, total_size: int, digest: str) -> Manifest:
        """A stored version's manifest read from its Parquet ``file`` (sorted by path, as the registry
        stores it) without a Python object per entry: ``len``, ``digest`` and ``total_size`` are the
        given facts, :attr:`entries` is a read-only :class:`StoredEntries` view that looks paths up in
        the file, and iteration reads it a batch at a time. It cannot be changed (InvalidInputError)."""
        manifest = cls()
        manifest._bulk = [BulkEntries(Path(file), count, total_size, digest)]
        manifest._stored = StoredEntries(manifest._bulk[0])
        return manifest

    @property
    def entries(self) -> dict[str, ManifestEntry]:
        """Path -> entry; bulk entries of a draft become Python objects here (once), so large manifests
        avoid it; a stored large manifest (:meth:`stored`) gives a read-only view instead."""
        if self._stored is not None:
            return self._stored  # type: ignore[return-value]  # a Mapping, read-only
        if self._bulk:
            bulk, self._bulk, self._merged = self._bulk, [], None
            for part in bulk:
                for batch in pq.ParquetFile(part.file).iter_batches(BULK_BATCH_ROWS):
                    for entry in entries_of(pa.Table.from_batches([batch])):
                        self.add(entry)
        return self._entries

    def add(self, entry: ManifestEntry, *, replace: bool = False) -> None:
        """Add an entry; a second entry at the same path with other content is an error."""
        self._check_changeable()
        old = self._entries.get(entry.path)
        if old is not None and not replace and (old.digest != entry.digest or old.ref != entry.ref):
            raise InvalidInputError(
                f"Two different files would both be stored at {entry.path!r}; pass name= to place one elsewhere."
            )
        self._entries[entry.path] = entry
        self._merged = None

    def bulk_dir(self) -> Path:
        """A temporary folder for this manifest's bulk files, removed when the manifest is."""
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="shanty-manifest-"))
            weakref.finalize(self, shutil.rmtree, self._dir, True)
        return self._dir

    def add_bulk(self, bulk: BulkEntries) -> None:
        """Add entries held as a sorted Parquet file (see :func:`write_bulk`); clashes with other entries
        (same path, other content) raise InvalidInputError when the manifest is next measured or stored."""
        self._check_changeable()
        self._bulk.append(bulk)
        self._merged = None

    def _check_changeable(self) -> None:
        if self._stored is not None:
            raise InvalidInputError("A logged version's manifest cannot change; call new_draft() and change that.")

    def get(self, path: str) -> ManifestEntry | None:
        """The entry at ``path`` or None; bulk entries are looked up in their files, not loaded."""
        if self._stored is not None:
            return self._stored.get(path)
        found = self._entries.get(path)
        if found is None:
            for part in self._bulk:
                if part.file not in self._lookups:  # its footer is read once
                    self._lookups[part.file] = StoredEntries(part)
                found = self._lookups[part.file].get(path)
                if found is not None:
                    break
        return found

    def remove(self, path: str) -> None:
        """Drop the entry at ``path`` (KeyError if none); only one held in a bulk file makes the bulk
        entries Python objects (see :attr:`entries`)."""
        self._check_changeable()
        if path in self._entries:
            del self._entries[path]
            self._merged = None
        else:
            del self.entries[path]

    def __len__(self) -> int:
        return self._merge().count if self._bulk else len(self._entries)

    def __iter__(self) -> Iterator[ManifestEntry]:
        if self._stored is not None:
            return (entry for batch in self.entry_batches() for entry in batch)
        return iter(self.entries.values())

    def entry_batches(self, rows: int = BULK_BATCH_ROWS) -> Iterator[list[ManifestEntry]]:
        """The entries sorted by path, ``rows`` at a time: a manifest held as Parquet is read a batch at
        a time, so only a batch of entries exists at once (a draft's bulk entries are merged first)."""
        if self._bulk:
            for batch in pq.ParquetFile(self._merge().file).iter_batches(rows):
                yield list(entries_of(pa.Table.from_batches([batch])))
            return
        ordered = sorted(self._entries.values(), key=lambda e: e.path)
        for start in range(0, len(ordered), rows):
            yield ordered[start : start + rows]

    def arrow_batches(self, rows: int = BULK_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The entries as Arrow batches (:data:`MANIFEST_SCHEMA`) sorted by path, ``rows`` at a time."""
        if self._bulk:
            yield from pq.ParquetFile(self._merge().file).iter_batches(rows)
        else:
            yield from self._small_arrow().to_batches(rows)

    @property
    def digest(self) -> str:
        if self._bulk:
            return self._merge().digest
        return manifest_digest((e.path, e.digest) for e in self._entries.values())

    @property
    def total_size(self) -> int:
        return self._merge().total_size if self._bulk else sum(e.size for e in self._entries.values())

    def bulk_file(self) -> Path | None:
        """The whole manifest as one sorted Parquet file when it holds bulk entries, else None (then
        :meth:`to_parquet_bytes` is the way to store it). InvalidInputError on a path clash."""
        return self._merge().file if self._bulk else None

    def _merge(self) -> BulkEntries:
        if self._merged is None:
            parts = list(self._bulk)
            if self._entries:
                small = self.bulk_dir() / f"entries-{len(self._bulk)}-{len(self._entries)}.parquet"
                pq.write_table(self._small_arrow(), small, compression="zstd")
                parts.append(BulkEntries(small, len(self._entries), 0, ""))
            self._merged = parts[0] if len(parts) == 1 else merge_files([p.file for p in parts])
        return self._merged

    # --- Parquet -----------------------------------------------------------
    def to_arrow(self) -> pa.Table:
        if self._bulk:
            return pq.read_table(self._merge().file, schema=MANIFEST_SCHEMA)
        return self._small_arrow()

    def _small_arrow(self) -> pa.Table:
        ordered = sorted(self._entries.values(), key=lambda e: e.path)
        return pa.table(
            {
                "path": [e.path for e in ordered],
                "digest": [e.digest for e in ordered],
                "size": [e.size for e in ordered],
                "ref": [e.ref for e in ordered],
                "version": [e.object_version for e in ordered],
                "extra": [json.dumps(dict(e.extra), sort_keys=True) if e.extra else None for e in ordered],
            },
            schema=MANIFEST_SCHEMA,
        )

    def to_parquet_bytes(self) -> bytes:
        return write_parquet_bytes(self.to_arrow())

    @classmethod
    def from_arrow(cls, table: pa.Table) -> Manifest:
        manifest = cls()
        for entry in entries_of(table):
            manifest._entries[entry.path] = entry
        return manifest

    @classmethod
    def from_parquet_bytes(cls, data: bytes, where: str = "the manifest") -> Manifest:
        table = read_parquet_bytes(data, f"{where} is not a readable Parquet file; it is damaged or not a manifest.")
        return cls.from_arrow(table)

    # --- W&B wandb_manifest.json ---------------------------------------------
    def to_wandb_json(self) -> dict[str, Any]:
        """Export in W&B's manifest v1 layout (object version goes to ``extra.versionID``)."""
        contents: dict[str, Any] = {}
        for entry in (e for batch in self.entry_batches() for e in batch):  # sorted; bulk entries too
            item: dict[str, Any] = {"digest": entry.digest, "size": entry.size}
            if entry.ref is not None:
                item["ref"] = entry.ref
            extra = dict(entry.extra)
            if entry.object_version is not None:
                extra["versionID"] = entry.object_version
            if extra:
                item["extra"] = extra
            contents[entry.path] = item
        return {
            "version": 1,
            "storagePolicy": "wandb-storage-policy-v1",
            "storagePolicyConfig": {"storageLayout": "V2"},
            "contents": contents,
        }

    @classmethod
    def from_wandb_json(cls, data: Any, where: str = "wandb_manifest.json", *, local_files: bool = False) -> Manifest:
        """Import W&B's manifest v1; raises MalformedError naming what is wrong.

        A reference to a file on this machine (``file://``) is refused unless ``local_files``: a manifest
        from elsewhere must not make this registry serve ``/etc/passwd``. When allowed, the file must
        hold the bytes the manifest records (its MD5, or its size where the digest is no checksum), or
        the import is refused.
        """
        if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("contents"), dict):
            raise MalformedError(
                f"{where} is not a W&B manifest of version 1 (it needs 'version': 1 and a 'contents' object)."
            )
        manifest = cls()
        for path, item in data["contents"].items():
            if not isinstance(item, dict) or not isinstance(item.get("digest"), str):
                raise MalformedError(f"{where}: the entry {path!r} has no digest; the manifest is damaged.")
            size = item.get("size", 0)
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise MalformedError(f"{where}: the entry {path!r} has an invalid size {size!r}.")
            if item.get("ref") is not None and not isinstance(item["ref"], str):
                raise MalformedError(f"{where}: the entry {path!r} has a ref that is not a URI: {item['ref']!r}.")
            if item.get("ref") is not None:
                try:  # a reference no store here can serve (ftp://...) is refused at the door, not at download
                    check_scheme(item["ref"])
                except InvalidInputError as exc:
                    raise MalformedError(f"{where}: the entry {path!r}: {exc}") from None
                _check_local_ref(item, path, where, local_files)
            if item.get("extra") is not None and not isinstance(item["extra"], dict):
                raise MalformedError(f"{where}: the entry {path!r} has an 'extra' that is not an object.")
            extra = dict(item.get("extra") or {})
            version = extra.pop("versionID", None)
            try:
                clean = check_entry_path(path)
            except InvalidInputError as exc:
                raise MalformedError(f"{where}: {exc}") from exc
            manifest.add(
                ManifestEntry(
                    clean, item["digest"], size, item.get("ref"), None if version is None else str(version), extra
                )
            )
        return manifest
