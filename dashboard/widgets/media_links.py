"""Turn one page of query results into what the media table shows: signed media URLs.

Only the rows of the visible page are signed. A media cell becomes
``{"url", "caption", <one URL per preview of its kind>}`` (audio declares a
``waveform`` preview, see :mod:`shanty.tables.cells`); the browser never sees
its bucket URI or local path.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any

from dashboard.routes import PREVIEW_PREFIXES
from dashboard.routes.media import cell_urls
from shanty import ArtifactVersion, QueryResult, format_value
from shanty.tables.cells import cell_kind

__all__ = ["cells_for_page", "sign_cell", "table_columns"]


def sign_cell(cell: dict[str, Any] | None, kind: str, version: ArtifactVersion) -> dict[str, Any] | None:
    """One media cell (as stored) -> what the media table shows, signed for ``version``.

    None for an empty cell or one not bound to an entry. Adds a URL for each
    preview ``kind`` declares that has a route here (others are skipped: the
    renderer then shows the cell without it), and the cell's ``name``: its
    entry path in the artifact. Raises InvalidInputError for an unregistered kind.
    """
    if not isinstance(cell, dict) or not cell.get("entry"):
        return None
    previews = [preview for preview in cell_kind(kind).previews if preview in PREVIEW_PREFIXES]
    urls = cell_urls(version, cell["entry"], previews)
    return {**urls, "caption": cell.get("caption"), "name": posixpath.basename(cell["entry"])}


def table_columns(result: QueryResult) -> list[dict[str, Any]]:
    """The media table's column specs for ``result``: name, media kind, and whether the column holds
    numbers (right-aligned), judged from the page's values."""
    return [
        {"name": c, "kind": result.media.get(c), "numeric": _numeric(row[c] for row in result.rows)}
        for c in result.columns
    ]


def _numeric(values: Iterable[Any]) -> bool:
    seen = [v for v in values if v is not None]
    return bool(seen) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in seen)


def cells_for_page(
    result: QueryResult, versions: ArtifactVersion | dict[str, ArtifactVersion], timezone: str | None = None
) -> list[list[Any]]:
    """Rows as lists in column order: media cells signed for ``versions``, every other value formatted
    for people (:func:`shanty.format_value`, times in ``timezone``; None stays None).

    ``versions`` is the version holding the table, or for a joined result a
    mapping from source name (as given to ``run_query``) to version: each
    column's source comes from ``result.sources``.
    """
    rows = []
    for row in result.rows:
        out = []
        for column in result.columns:
            value = row[column]
            kind = result.media.get(column)
            if kind:
                version = versions if isinstance(versions, ArtifactVersion) else versions[result.sources[column]]
                value = (
                    [sign_cell(v, kind, version) for v in value]
                    if isinstance(value, list)
                    else sign_cell(value, kind, version)
                )
            elif value is not None:
                value = format_value(value, timezone)
            out.append(value)
        rows.append(out)
    return rows
