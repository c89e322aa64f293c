"""Turn one page of query results into what the media table shows: signed media URLs.

Only the rows of the visible page are signed. A media cell becomes
``{"url", "caption", <one URL per preview of its kind>}`` (audio declares a
``waveform`` preview, see :mod:`shanty.tables.cells`); the browser never sees
its bucket URI or local path.
"""

from __future__ import annotations

from typing import Any

from dashboard.routes import PREVIEW_PREFIXES
from dashboard.routes.media import cell_urls
from shanty import ArtifactVersion, QueryResult
from shanty.tables.cells import cell_kind

__all__ = ["cells_for_page", "sign_cell"]


def sign_cell(cell: dict[str, Any] | None, kind: str, version: ArtifactVersion) -> dict[str, Any] | None:
    """One media cell (as stored) -> what the media table shows, signed for ``version``.

    None for an empty cell or one not bound to an entry. Adds a URL for each
    preview ``kind`` declares that has a route here (others are skipped: the
    renderer then shows the cell without it). Raises InvalidInputError for an
    unregistered kind.
    """
    if not isinstance(cell, dict) or not cell.get("entry"):
        return None
    previews = [preview for preview in cell_kind(kind).previews if preview in PREVIEW_PREFIXES]
    shown: dict[str, Any] = {**cell_urls(version, cell["entry"], previews), "caption": cell.get("caption")}
    return shown


def cells_for_page(result: QueryResult, versions: ArtifactVersion | dict[str, ArtifactVersion]) -> list[list[Any]]:
    """Rows as lists in column order, media cells signed for ``versions``.

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
            elif hasattr(value, "isoformat"):
                value = value.isoformat()
            out.append(value)
        rows.append(out)
    return rows
