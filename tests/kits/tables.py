"""Shanty table files built directly with pyarrow, for the query-engine tests.

Writing them without ``shanty.tables`` keeps the file-format contract (media
structs + ``shanty.table`` schema metadata) tested from both sides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

MEDIA_TYPE = pa.struct(
    [
        ("uri", pa.string()),
        ("entry", pa.string()),
        ("caption", pa.string()),
        ("sample_rate", pa.int64()),
        ("fps", pa.float64()),
        ("format", pa.string()),
    ]
)


def media(uri: str | None, **fields: Any) -> dict[str, Any] | None:
    """A media cell as stored (all six fields) or None."""
    if uri is None:
        return None
    return {"uri": uri, "entry": None, "caption": None, "sample_rate": None, "fps": None, "format": None, **fields}


def write_table(path: Path, columns: dict[str, Any], media_kinds: dict[str, str] | None = None) -> Path:
    """Write a shanty table: ``columns`` maps name -> list or pyarrow array; media columns take uris or dicts."""
    media_kinds = media_kinds or {}
    arrays = {}
    for name, values in columns.items():
        if name in media_kinds and not isinstance(values, pa.Array):
            cells = [media(v) if isinstance(v, str) or v is None else v for v in values]
            values = pa.array(cells, type=MEDIA_TYPE)
        arrays[name] = values if isinstance(values, pa.Array) else pa.array(values)
    table = pa.table(arrays)
    meta = {b"shanty.table": json.dumps({"version": 1, "media": media_kinds}).encode()}
    pq.write_table(table.replace_schema_metadata(meta), path)
    return path
