"""Turn one page of query results into what the media table shows: signed media URLs.

Only the rows of the visible page are signed. A media cell becomes
``{"url", "waveform" (audio), "caption"}``; the browser never sees its bucket
URI or local path.
"""

from __future__ import annotations

from typing import Any

from dashboard.routes.media import media_url
from dashboard.routes.waveform import waveform_url
from shanty import ArtifactVersion, QueryResult


def sign_cell(cell: dict[str, Any] | None, kind: str, version: ArtifactVersion) -> dict[str, Any] | None:
    """One media cell (as stored) -> what the media table shows, signed for ``version``."""
    if not isinstance(cell, dict) or not cell.get("entry"):
        return None
    url = media_url(version, cell["entry"], absolute=False)
    shown: dict[str, Any] = {"url": url, "caption": cell.get("caption")}
    if kind == "audio":
        shown["waveform"] = waveform_url(url)
    return shown


def cells_for_page(result: QueryResult, versions: ArtifactVersion | dict[str, ArtifactVersion]) -> list[list[Any]]:
    """Rows as lists in column order, media cells signed for ``versions``.

    ``versions`` is the version holding the table, or for a joined result a
    mapping from column prefix (``"synth"`` in ``synth.audio``) to version,
    with ``""`` for unprefixed columns.
    """
    rows = []
    for row in result.rows:
        out = []
        for column in result.columns:
            value = row[column]
            kind = result.media.get(column)
            if kind:
                version = (
                    versions
                    if isinstance(versions, ArtifactVersion)
                    else versions.get(column.split(".", 1)[0] if "." in column else "", versions.get(""))
                )
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
