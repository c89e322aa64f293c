"""Tables as JSON: shanty's own layout and W&B's ``*.table.json``.

Both use ``{"_type": "table", "columns": [...], "data": [[...], ...]}`` with
media cells as ``{"_type": "audio-file" | "image-file" | "video-file",
"path": ...}``. In shanty's JSON ``path`` is the media URI; in W&B's it is an
artifact entry path, resolved by the caller (``resolve_path``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..errors import MalformedError
from .cells import Audio, Image, Media, Video
from .table import Table

__all__ = ["MEDIA_TYPES", "table_from_json", "table_to_json"]

MEDIA_TYPES = {"audio-file": "audio", "image-file": "image", "video-file": "video"}
_TYPE_OF_KIND = {kind: t for t, kind in MEDIA_TYPES.items()}


def _cell_to_json(value: Any) -> Any:
    if isinstance(value, Media):
        cell = {
            "_type": _TYPE_OF_KIND[value.kind],
            **{k: v for k, v in value.to_cell().items() if v is not None and k != "uri"},
        }
        cell["path"] = value.uri
        return cell
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN / inf
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def table_to_json(table: Table) -> dict[str, Any]:
    """shanty's JSON layout of a table (media paths are URIs)."""
    return {
        "_type": "table",
        "columns": table.columns,
        "data": [[_cell_to_json(v) for v in row] for row in table.data],
        "ncols": len(table.columns),
        "nrows": len(table),
    }


PathResolver = Callable[[str], tuple[str, str | None]]


def _media(cell: dict[str, Any], resolve: PathResolver | None, where: str) -> Media:
    kind = MEDIA_TYPES[cell["_type"]]
    path = cell.get("path")
    if not isinstance(path, str) or not path:
        raise MalformedError(f"{where}: a {kind} cell has no path.")
    uri, entry = resolve(path) if resolve else (path, cell.get("entry"))
    caption = cell.get("caption")
    if kind == "audio":
        return Audio(uri, cell.get("sample_rate"), caption, entry)
    if kind == "image":
        return Image(uri, caption, entry)
    return Video(uri, cell.get("fps"), cell.get("format"), caption, entry)


def table_from_json(data: Any, resolve_path: PathResolver | None = None, where: str = "the table JSON") -> Table:
    """Read a table from shanty's or W&B's JSON layout.

    ``resolve_path`` maps a W&B media path to ``(uri, entry)``; without it,
    paths are taken as URIs. Cells of W&B types shanty does not model
    (histograms, molecules...) are kept as their JSON text.
    """
    if (
        not isinstance(data, dict)
        or data.get("_type") not in ("table", None)
        or not isinstance(data.get("columns"), list)
    ):
        raise MalformedError(f"{where} is not a table (it needs 'columns' and 'data').")
    columns, rows = data["columns"], data.get("data") or []
    if not isinstance(rows, list):
        raise MalformedError(f"{where}: 'data' must be a list of rows.")
    out = []
    for number, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(columns):
            raise MalformedError(
                f"{where}: row {number} has {len(row) if isinstance(row, list) else 'no'} values for {len(columns)} columns."
            )
        cells = []
        for value in row:
            if isinstance(value, dict) and value.get("_type") in MEDIA_TYPES:
                cells.append(_media(value, resolve_path, where))
            elif isinstance(value, (dict, list)):
                import json

                cells.append(json.dumps(value, sort_keys=True))
            else:
                cells.append(value)
        out.append(cells)
    return Table(columns=[str(c) for c in columns], data=out)
