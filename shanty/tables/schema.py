"""The ``shanty.table`` Parquet schema metadata: which columns hold media, of which kind.

A shanty table file is plain Parquet plus one schema metadata entry,
``shanty.table`` = ``{"version": 1, "media": {column: kind}}``. This module is
its only writer and its only validator: :class:`~shanty.tables.Table` (reading
through Arrow) and the query engine (reading through DuckDB) both call
:func:`parse_table_metadata`, so a file one of them accepts the other accepts too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import pyarrow as pa

from ..errors import MalformedError
from .cells import kinds

__all__ = [
    "FORMAT_VERSION",
    "JOINED_SUFFIX",
    "METADATA_KEY",
    "TABLE_SUFFIX",
    "has_uri_field",
    "parse_table_metadata",
    "table_metadata",
]

# In an artifact a table named N is the entry N.table.parquet, a joined table N.joined-table.json.
TABLE_SUFFIX = ".table.parquet"
JOINED_SUFFIX = ".joined-table.json"
METADATA_KEY = b"shanty.table"
FORMAT_VERSION = 1
# A DuckDB struct type naming a text ``uri`` field: STRUCT(uri VARCHAR, ...) or STRUCT("uri" VARCHAR, ...).
_URI_FIELD = re.compile(r'(^|[(,]\s*)"?uri"?\s+VARCHAR\b', re.IGNORECASE)


def table_metadata(media: Mapping[str, str]) -> dict[bytes, bytes]:
    """The schema metadata entry marking ``media`` (column -> kind); merge it into a schema's metadata."""
    return {METADATA_KEY: json.dumps({"version": FORMAT_VERSION, "media": dict(media)}).encode()}


def has_uri_field(column_type: str | pa.DataType) -> bool:
    """Whether a column type is a struct with a text ``uri`` field, the least a media column must be.

    Takes an Arrow type or DuckDB's type text (as ``DESCRIBE`` prints it).
    """
    if isinstance(column_type, pa.DataType):
        if not pa.types.is_struct(column_type) or column_type.get_field_index("uri") < 0:
            return False
        uri = column_type.field("uri").type
        return pa.types.is_string(uri) or pa.types.is_large_string(uri)
    return bool(_URI_FIELD.search(column_type.removeprefix("STRUCT(")))


def parse_table_metadata(raw: bytes | None, columns: Mapping[str, str | pa.DataType], where: str) -> dict[str, str]:
    """The media map (column -> kind) of a table whose ``shanty.table`` metadata is ``raw``.

    ``columns`` maps every column name to its type (Arrow, or DuckDB's type
    text); ``where`` names the table in messages, quoted as it should appear.
    No metadata (a plain Parquet file) is a table without media columns.
    Raises MalformedError when the JSON is damaged, the format version is not
    one this shanty reads, a kind is not registered, or a media column is
    missing or not a struct with a uri.
    """
    if raw is None:
        return {}
    try:
        info = json.loads(raw)
        version, media = info["version"], info.get("media", {})
    except (ValueError, TypeError, KeyError, AttributeError):
        raise MalformedError(f"The shanty.table metadata of {where} is not valid JSON; rewrite the table.") from None
    if version != FORMAT_VERSION:
        raise MalformedError(f"{where} was written by a newer shanty (table format {version!r}); upgrade shanty.")
    if not isinstance(media, dict):
        raise MalformedError(f"The media map in {where} is not a mapping; rewrite the table.")
    known = {k.name for k in kinds()}
    for column, kind in media.items():
        if not isinstance(kind, str) or kind not in known:
            raise MalformedError(f"Column {column!r} of {where} has unknown media kind {kind!r}.")
        if column not in columns or not has_uri_field(columns[column]):
            raise MalformedError(f"Media column {column!r} of {where} is missing or not a struct with a uri.")
    return dict(media)
