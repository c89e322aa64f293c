"""Tables inside artifacts: packing them (media become reference entries) and reading them back.

A table is stored by value as ``<name>.table.parquet``; a joined table as
``<name>.joined-table.json`` naming its two table entries and the key.
Packing is pure: :func:`pack_table` and :func:`pack_joined` return a
:class:`Packed` (the entries to add and the bytes to store) and the artifact
stores it with ``Artifact.add_packed``, so this module never touches an
artifact's insides (and does not import it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..digests import md5_b64_bytes
from ..errors import InvalidInputError, MalformedError, NotFoundError
from ..manifest import Manifest, ManifestEntry, check_entry_path
from ..progress import ProgressSink
from .references import resolve_media
from .schema import JOINED_SUFFIX, TABLE_SUFFIX
from .table import JoinedTable, Table

__all__ = [
    "JOINED_SUFFIX",
    "TABLE_SUFFIX",
    "Packed",
    "find_table_entry",
    "pack_blob",
    "pack_joined",
    "pack_table",
    "parse_joined",
]

_READABLE = (TABLE_SUFFIX, JOINED_SUFFIX, ".table.json")


def _entry_name(name: str, suffix: str) -> str:
    return check_entry_path(name if name.endswith(suffix) else name + suffix)


@dataclass(frozen=True)
class Packed:
    """A table (or joined table) ready to be added to an artifact.

    ``entries`` go into the manifest in order (media references first, the
    table's own entry last); ``blob`` is stored by value at ``blob_path`` (the
    last entry) when the artifact is logged. ``table`` is the Table packed
    (None for a joined table), so the artifact can find it again by identity
    when a JoinedTable names it.
    """

    entries: tuple[ManifestEntry, ...]
    blob_path: str
    blob: bytes
    table: Table | None = None

    @property
    def entry(self) -> ManifestEntry:
        """The entry of the stored table file itself."""
        return self.entries[-1]


def _blob_entry(name: str, suffix: str, data: bytes) -> ManifestEntry:
    return ManifestEntry(_entry_name(name, suffix), md5_b64_bytes(data), len(data))


def pack_blob(path: str, data: bytes) -> Packed:
    """``data`` to be stored by value at entry ``path`` (a table file already bound to its entries, as an
    importer makes it). Raises InvalidInputError for a bad path."""
    entry = ManifestEntry(check_entry_path(path), md5_b64_bytes(data), len(data))
    return Packed((entry,), entry.path, data)


def pack_table(
    table: Table, name: str, known_entries: Mapping[str, ManifestEntry], progress_sink: ProgressSink | None = None
) -> Packed:
    """Pack ``table`` as ``name.table.parquet``: each media URI becomes a reference entry pinned to
    its object version (reusing ``known_entries``, keyed by ref, that the artifact already holds)
    and every cell names its entry.

    Raises NotFoundError when media files are missing and InvalidInputError for a bad name.
    """
    entries = resolve_media(table.media_uris(), known_entries, progress_sink)
    data = table.with_entries({uri: entry.path for uri, entry in entries.items()}).to_parquet_bytes()
    entry = _blob_entry(name, TABLE_SUFFIX, data)
    return Packed((*entries.values(), entry), entry.path, data, table)


def _table_reference(
    table: Table | str, entries: Mapping[str, ManifestEntry], added: Mapping[Table, str], owner: str
) -> tuple[str, list[ManifestEntry]]:
    """Where a joined table's side lives in the artifact, and the entries to carry over to get it there."""
    if isinstance(table, str):
        for candidate in (table, table + TABLE_SUFFIX):
            if candidate in entries:
                return candidate, []
        raise NotFoundError(
            f"The artifact {owner} has no table {table!r}; add it with artifact.add(table, {table!r}) first."
        )
    if table in added:
        return added[table], []
    if table.source is not None:  # read from a logged version: carry it over with the media it plays
        version, path = table.source
        source = version.manifest.entries
        return path, [*(source[media_path] for media_path in table.media_entries()), source[path]]
    raise InvalidInputError(
        "Add both tables to the artifact (artifact.add(table, name)) before adding the JoinedTable."
    )


def pack_joined(
    joined: JoinedTable, name: str, entries: Mapping[str, ManifestEntry], added: Mapping[Table, str], owner: str
) -> Packed:
    """Pack a joined table as ``name.joined-table.json``: a small JSON naming its two tables and the key.

    Each side is a table name found in ``entries`` (the artifact's manifest),
    a Table the artifact packed (``added``: Table -> its entry path), or a
    Table read from a logged version, whose entries are carried over.
    ``owner`` names the artifact in messages. Raises NotFoundError for an
    unknown name and InvalidInputError for a Table that was never added.
    """
    path1, carried1 = _table_reference(joined.table1, entries, added, owner)
    path2, carried2 = _table_reference(joined.table2, entries, added, owner)
    body = {"_type": "joined-table", "table1": path1, "table2": path2, "join_key": joined.join_key}
    data = json.dumps(body, sort_keys=True).encode()
    entry = _blob_entry(name, JOINED_SUFFIX, data)
    return Packed((*carried1, *carried2, entry), entry.path, data)


def find_table_entry(manifest: Manifest, name: str, owner: str) -> ManifestEntry:
    """The entry of table ``name`` (with or without its suffix); NotFoundError listing the tables if none."""
    for candidate in (name, *(name + s for s in _READABLE)):
        if candidate in manifest.entries:
            return manifest.entries[candidate]
    tables = sorted(p for p in manifest.entries if p.endswith(_READABLE))
    raise NotFoundError(f"{owner} has no table {name!r}; its tables are: {', '.join(tables) or 'none'}.")


def parse_joined(data: bytes, where: str) -> dict[str, Any]:
    """The body of a stored joined table (``table1``, ``table2``, ``join_key``); MalformedError if damaged."""
    try:
        body = json.loads(data)
        if body.get("_type") != "joined-table" or not {"table1", "table2", "join_key"} <= body.keys():
            raise ValueError
    except (ValueError, AttributeError) as exc:
        raise MalformedError(f"{where} is not a joined table; it is damaged.") from exc
    return body
