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
from dashboard.widgets.query_controls import filter_value
from shanty import ArtifactVersion, QueryResult, format_value, human_size
from shanty.tables.cells import cell_kind

__all__ = ["cells_for_page", "group_keys", "sign_cell", "table_columns"]


def sign_cell(cell: dict[str, Any] | None, kind: str, version: ArtifactVersion) -> dict[str, Any] | None:
    """One media cell (as stored) -> what the media table shows, signed for ``version``.

    None for an empty cell or one not bound to an entry. Adds a URL for each
    preview ``kind`` declares that has a route here (others are skipped: the
    renderer then shows the cell without it), and the cell's ``name``: its
    entry path in the artifact. Raises InvalidInputError for an unregistered kind.
    """
    if not isinstance(cell, dict) or not cell.get("entry"):
        return None
    spec = cell_kind(kind)
    previews = [preview for preview in spec.previews if preview in PREVIEW_PREFIXES]
    urls = cell_urls(version, cell["entry"], previews)
    entry = version.manifest.entries.get(cell["entry"])
    # What the inspector tells about the bytes: the entry and its pinned object, never its bucket URI.
    facts = {
        "entry": cell["entry"],
        "object_version": entry.object_version if entry else None,
        "size": human_size(entry.size) if entry and entry.size is not None else None,
        "digest": entry.digest if entry else None,
    }
    own = {name: cell.get(name) for name, _ in spec.fields if cell.get(name) is not None}  # e.g. fps, sample_rate
    return {**own, **urls, **facts, "caption": cell.get("caption"), "name": posixpath.basename(cell["entry"])}


def table_columns(
    result: QueryResult, stats: dict[str, dict[str, Any]] | None = None, group_keys: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """The media table's column specs for ``result``: name, media kind, whether the column holds numbers
    (right-aligned, judged from the page's values), what its header offers (sort; filter and group
    for row columns; grouped results sort by keys and aggregates, filter by keys) and its ``stats``."""
    stats = stats or {}
    specs = []
    for c in result.columns:
        kind = result.media.get(c)
        samples = result.grouped and c not in group_keys and kind is not None
        specs.append(
            {
                "name": c,
                "kind": kind,
                "numeric": _numeric(row[c] for row in result.rows),
                "sortable": not samples,
                "filterable": c in group_keys if result.grouped else True,
                "groupable": not result.grouped and kind is None,
                "stats": stats.get(c),
                "partner": _partner(result, c),
            }
        )
    return specs


def _partner(result: QueryResult, column: str) -> int | None:
    """The column whose cell the A/B player pairs with ``column``'s: the first media column of the same
    kind from the other table of a join (original vs synthesized); None leaves it to the browser."""
    kind = result.media.get(column)
    if kind is None or result.grouped:
        return None
    for index, other in enumerate(result.columns):
        if (
            other != column
            and result.media.get(other) == kind
            and result.sources.get(other) != result.sources.get(column)
        ):
            return index
    return None


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


def group_keys(result: QueryResult, keys: tuple[str, ...]) -> list[dict[str, Any]] | None:
    """Per grouped row, its key values as a filter takes them back (:func:`filter_value`); None for rows
    that are not groups."""
    if not result.grouped:
        return None
    return [{key: filter_value(row[key]) for key in keys} for row in result.rows]
