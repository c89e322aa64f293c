"""Reading tables from JSON: shanty's own layout and W&B's ``*.table.json``.

Both use ``{"_type": "table", "columns": [...], "data": [[...], ...]}`` with
media cells as ``{"_type": <the kind's W&B type>, "path": ..., <fields>}``
(``audio-file``, ``image-file``, ``video-file``... see
:func:`~shanty.tables.cells.kind_for_wandb_type`). In shanty's JSON ``path`` is
the media URI; in W&B's it is an artifact entry path, resolved by the caller
(``resolve_path``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInputError, MalformedError
from .cells import Media, cell_kind, kind_for_wandb_type
from .table import Table

__all__ = ["PathResolver", "table_from_json"]

PathResolver = Callable[[str], tuple[str, str | None]]


def _media(kind: str, cell: dict[str, Any], resolve: PathResolver | None, where: str) -> Media:
    path = cell.get("path")
    if not isinstance(path, str) or not path:
        raise MalformedError(f"{where}: a {kind} cell has no path.")
    uri, entry = resolve(path) if resolve else (path, cell.get("entry"))
    try:
        return cell_kind(kind).media_class.from_cell({**cell, "uri": uri, "entry": entry})
    except (ValueError, TypeError, InvalidInputError) as exc:  # e.g. "sample_rate": "fast"
        raise MalformedError(f"{where}: a {kind} cell at {path!r} has a field of the wrong type ({exc}).") from None


def table_from_json(data: Any, resolve_path: PathResolver | None = None, where: str = "the table JSON") -> Table:
    """Read a table from shanty's or W&B's JSON layout.

    ``resolve_path`` maps a W&B media path to ``(uri, entry)``; without it,
    paths are taken as URIs (and an ``entry`` key, if any, is kept). Cells of
    W&B types shanty does not model (histograms, molecules...) are kept as
    their JSON text. Raises MalformedError naming ``where`` for anything that
    is not a table, rows of the wrong width and media cells without a path.
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
            kind = kind_for_wandb_type(value.get("_type")) if isinstance(value, dict) else None
            if kind is not None:
                cells.append(_media(kind, value, resolve_path, where))
            elif isinstance(value, (dict, list)):
                cells.append(json.dumps(value, sort_keys=True))
            else:
                cells.append(value)
        out.append(cells)
    return Table(columns=[str(c) for c in columns], data=out)
