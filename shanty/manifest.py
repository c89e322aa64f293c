"""Manifests: the list of entries a version holds, and its digest.

Stored as Parquet (columnar, so a million entries load in well under a
second); exported and imported as W&B's ``wandb_manifest.json`` (v1). The
artifact digest uses W&B's algorithm (MD5 over sorted ``path:digest`` lines),
so a shanty version and a W&B version of the same files share a digest.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from .errors import InvalidInputError, MalformedError
from .parquet_bytes import read_parquet_bytes, write_parquet_bytes

__all__ = ["MANIFEST_SCHEMA", "Manifest", "ManifestEntry", "check_entry_path", "manifest_digest"]

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


def manifest_digest(pairs: Iterable[tuple[str, str]]) -> str:
    """W&B's artifact digest: hex MD5 over sorted ``path:digest`` lines."""
    md5 = hashlib.md5(b"wandb-artifact-manifest-v1\n")
    for path, digest in sorted(pairs):
        md5.update(f"{path}:{digest}\n".encode())
    return md5.hexdigest()


class Manifest:
    """An ordered, path-keyed collection of :class:`ManifestEntry`."""

    def __init__(self, entries: Iterable[ManifestEntry] = ()):
        self.entries: dict[str, ManifestEntry] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: ManifestEntry, *, replace: bool = False) -> None:
        """Add an entry; a second entry at the same path with other content is an error."""
        old = self.entries.get(entry.path)
        if old is not None and not replace and (old.digest != entry.digest or old.ref != entry.ref):
            raise InvalidInputError(
                f"Two different files would both be stored at {entry.path!r}; pass name= to place one elsewhere."
            )
        self.entries[entry.path] = entry

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[ManifestEntry]:
        return iter(self.entries.values())

    @property
    def digest(self) -> str:
        return manifest_digest((e.path, e.digest) for e in self.entries.values())

    @property
    def total_size(self) -> int:
        return sum(e.size for e in self.entries.values())

    # --- Parquet -----------------------------------------------------------
    def to_arrow(self) -> pa.Table:
        ordered = sorted(self.entries.values(), key=lambda e: e.path)
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
        missing = {"path", "digest", "size"} - set(table.column_names)
        if missing:
            raise MalformedError(f"The manifest lacks the column(s) {sorted(missing)}; it was not written by shanty.")
        cols = {
            name: table.column(name).to_pylist() if name in table.column_names else [None] * table.num_rows
            for name in MANIFEST_SCHEMA.names
        }
        manifest = cls()
        try:
            for path, digest, size, ref, version, extra in zip(*(cols[n] for n in MANIFEST_SCHEMA.names), strict=True):
                manifest.entries[path] = ManifestEntry(
                    path, digest, int(size), ref, version, json.loads(extra) if extra else {}
                )
        except (TypeError, ValueError) as exc:
            raise MalformedError(f"The manifest has an unreadable row ({exc}); it is damaged.") from exc
        return manifest

    @classmethod
    def from_parquet_bytes(cls, data: bytes, where: str = "the manifest") -> Manifest:
        table = read_parquet_bytes(data, f"{where} is not a readable Parquet file; it is damaged or not a manifest.")
        return cls.from_arrow(table)

    # --- W&B wandb_manifest.json ---------------------------------------------
    def to_wandb_json(self) -> dict[str, Any]:
        """Export in W&B's manifest v1 layout (object version goes to ``extra.versionID``)."""
        contents: dict[str, Any] = {}
        for entry in sorted(self.entries.values(), key=lambda e: e.path):
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
    def from_wandb_json(cls, data: Any, where: str = "wandb_manifest.json") -> Manifest:
        """Import W&B's manifest v1; raises MalformedError naming what is wrong."""
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
