"""Tables inside artifacts: adding them (media become reference entries) and reading them back.

A table is stored by value as ``<name>.table.parquet``; a joined table as
``<name>.joined-table.json`` naming its two table entries and the key.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..digests import b64_to_hex, md5_b64_bytes
from ..errors import InvalidInputError, MalformedError, NotFoundError
from ..manifest import Manifest, ManifestEntry, check_entry_path
from ..progress import ProgressSink
from ..registry import Registry, cache_dir
from ..storage import storage_for
from .references import resolve_media
from .table import JoinedTable, Table

if TYPE_CHECKING:
    from ..artifact import Artifact

__all__ = [
    "JOINED_SUFFIX",
    "TABLE_SUFFIX",
    "add_joined_table",
    "add_table",
    "find_table_entry",
    "local_entry_file",
    "read_entry_bytes",
]

TABLE_SUFFIX = ".table.parquet"
JOINED_SUFFIX = ".joined-table.json"
_READABLE = (TABLE_SUFFIX, JOINED_SUFFIX, ".table.json")


def _entry_name(name: str, suffix: str) -> str:
    return check_entry_path(name if name.endswith(suffix) else name + suffix)


def add_table(artifact: Artifact, table: Table, name: str, progress_sink: ProgressSink | None = None) -> ManifestEntry:
    """Add ``table`` to a draft artifact; each media file becomes a reference entry."""
    known = {e.ref: e for e in artifact.manifest if e.ref is not None}
    entries = resolve_media(table.media_uris(), known, progress_sink)
    for entry in entries.values():
        artifact.manifest.add(entry)
    bound = table.with_entries({uri: entry.path for uri, entry in entries.items()})
    data = bound.to_parquet_bytes()
    entry = ManifestEntry(_entry_name(name, TABLE_SUFFIX), md5_b64_bytes(data), len(data))
    artifact.manifest.add(entry)
    artifact._blobs[entry.path] = data
    artifact._added_tables[id(table)] = entry.path
    return entry


def _table_path_in(artifact: Artifact, table: Table | str) -> str:
    if isinstance(table, str):
        for candidate in (table, table + TABLE_SUFFIX):
            if candidate in artifact.manifest.entries:
                return candidate
        raise NotFoundError(
            f"The artifact {artifact.name} has no table {table!r}; add it with artifact.add(table, {table!r}) first."
        )
    if id(table) in artifact._added_tables:
        return artifact._added_tables[id(table)]
    if table.source is not None:  # read from a logged version: carry it over with the media it plays
        version, path = table.source
        source = version.manifest.entries
        for media_path in table.media_entries():
            artifact.manifest.add(source[media_path])
        artifact.manifest.add(source[path])
        return path
    raise InvalidInputError(
        "Add both tables to the artifact (artifact.add(table, name)) before adding the JoinedTable."
    )


def add_joined_table(artifact: Artifact, joined: JoinedTable, name: str) -> ManifestEntry:
    """Add a joined table: a small JSON naming its two tables and the join key."""
    body = {
        "_type": "joined-table",
        "table1": _table_path_in(artifact, joined.table1),
        "table2": _table_path_in(artifact, joined.table2),
        "join_key": joined.join_key,
    }
    data = json.dumps(body, sort_keys=True).encode()
    entry = ManifestEntry(_entry_name(name, JOINED_SUFFIX), md5_b64_bytes(data), len(data))
    artifact.manifest.add(entry)
    artifact._blobs[entry.path] = data
    return entry


def find_table_entry(manifest: Manifest, name: str, owner: str) -> ManifestEntry:
    """The entry of table ``name`` (with or without its suffix)."""
    for candidate in (name, *(name + s for s in _READABLE)):
        if candidate in manifest.entries:
            return manifest.entries[candidate]
    tables = sorted(p for p in manifest.entries if p.endswith(_READABLE))
    raise NotFoundError(f"{owner} has no table {name!r}; its tables are: {', '.join(tables) or 'none'}.")


def local_entry_file(registry: Registry, entry: ManifestEntry) -> Path:
    """A local file holding the entry's bytes: the registry's own file when local, else a verified cache copy."""
    if entry.ref is None:
        uri = registry.uri(registry.object_key(b64_to_hex(entry.digest)))
        source_uri, version = uri, None
    else:
        source_uri, version = entry.ref, entry.object_version
    if source_uri.startswith("file://") and entry.ref is None:
        path = Path(source_uri[len("file://") :])
        if path.is_file():
            return path
        raise NotFoundError(
            f"The stored copy of {entry.path} is missing from the registry ({path}); the registry is damaged."
        )
    cached = (
        cache_dir()
        / "objects"
        / f"{b64_to_hex(entry.digest) if entry.ref is None else uuid.uuid5(uuid.NAMESPACE_URL, f'{entry.ref}#{entry.object_version}#{entry.digest}').hex}"
    )
    if not cached.is_file():
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=cached.parent, prefix=".part-")
        os.close(fd)
        try:
            storage_for(source_uri).download(source_uri, version, Path(temp))
            os.replace(temp, cached)
        finally:
            Path(temp).unlink(missing_ok=True)
    return cached


def read_entry_bytes(registry: Registry, entry: ManifestEntry) -> bytes:
    return local_entry_file(registry, entry).read_bytes()


def parse_joined(data: bytes, where: str) -> dict[str, Any]:
    try:
        body = json.loads(data)
        if body.get("_type") != "joined-table" or not {"table1", "table2", "join_key"} <= body.keys():
            raise ValueError
    except (ValueError, AttributeError) as exc:
        raise MalformedError(f"{where} is not a joined table; it is damaged.") from exc
    return body
