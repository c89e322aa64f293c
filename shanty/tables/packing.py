"""Tables inside artifacts: packing them (media become reference entries, in-memory media by-value
entries) and reading them back.

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
from pathlib import Path
from typing import Any

from ..digests import b64_to_hex, md5_b64_bytes, md5_b64_file
from ..errors import InvalidInputError, MalformedError, NotFoundError
from ..manifest import Manifest, ManifestEntry, check_entry_path
from ..progress import ProgressSink
from .cells import kind_for_path
from .encode import encoded_file, is_encoded
from .json_codec import media_json_suffixes
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
    files: tuple[tuple[str, Path], ...] = ()  # (entry path, local file) stored by value on log: encoded media

    @property
    def entry(self) -> ManifestEntry:
        """The entry of the stored table file itself."""
        return self.entries[-1]

    @property
    def media(self) -> tuple[ManifestEntry, ...]:
        """The entries of the media the table plays (every entry but the table file's)."""
        return self.entries[:-1]


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

    In-memory media (``encoded://`` URIs, see :mod:`shanty.tables.encode`) become by-value entries
    ``media/<kind>/<md5 hex><suffix>`` instead, content-addressed (the same bytes twice are one entry),
    their cache files listed in ``Packed.files`` to be stored on log (or, for a table read from a
    logged version on a machine without them, the entries carried over from that version).
    Raises NotFoundError when media files are missing and InvalidInputError for a bad name.
    """
    uris = table.media_uris()
    encoded = {uri: path for uri in uris if is_encoded(uri) and (path := encoded_file(uri)) is not None}
    by_value = {uri: _by_value_entry(path) for uri, path in encoded.items()}
    carried = {uri: _carried_entry(table, uri) for uri in uris if is_encoded(uri) and uri not in encoded}
    by_value.update(carried)
    resolved = resolve_media([u for u in uris if not is_encoded(u)], known_entries, progress_sink)
    data = table.with_entries({uri: e.path for uri, e in {**resolved, **by_value}.items()}).to_parquet_bytes()
    entry = _blob_entry(name, TABLE_SUFFIX, data)
    stored = {by_value[uri].path: (by_value[uri], path) for uri, path in encoded.items()}  # one per content
    files = tuple((entry_path, path) for entry_path, (_, path) in stored.items())
    media = (*resolved.values(), *(e for e, _ in stored.values()), *{e.path: e for e in carried.values()}.values())
    return Packed((*media, entry), entry.path, data, table, files)


def _carried_entry(table: Table, uri: str) -> ManifestEntry:
    """The by-value entry of encoded media this machine has no copy of, from the logged version the table
    was read from (its bytes are in that registry); NotFoundError when there is none."""
    name = uri.rsplit("/", 1)[-1]
    path = f"media/{kind_for_path(name) or 'file'}/{name}"
    entry = table.source[0].manifest.entries.get(path) if table.source is not None else None
    if entry is None or entry.ref is not None:
        raise NotFoundError(
            f"The in-memory media {uri} of this table are not on this machine; add the table read from its "
            "logged version (artifact.get) or create the media again."
        )
    return entry


def _by_value_entry(path: Path) -> ManifestEntry:
    # Hashed again rather than trusted from the file name: the cache is a folder anyone may touch.
    digest = md5_b64_file(path)
    suffix = path.suffix.lower()
    entry_path = f"media/{kind_for_path(path) or 'file'}/{b64_to_hex(digest)}{suffix}"
    return ManifestEntry(check_entry_path(entry_path), digest, path.stat().st_size)


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
    for candidate in (name, *(name + s for s in (*_READABLE, *media_json_suffixes()))):  # media objects too
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
