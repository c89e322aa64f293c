"""Turn one page of query results into what the media table shows: signed media URLs.

Only the rows of the visible page are signed. A media cell becomes
``{"url", "caption", <one URL per preview of its kind>}`` (audio declares a
``waveform`` preview, see :mod:`shanty.tables.cells`); the browser never sees
its bucket URI or local path. An image cell's annotations come along
(:func:`annotations`): boxes and classes as data, each mask as a URL signed
for the mask's own entry.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable
from typing import Any

from dashboard.routes import PREVIEW_PREFIXES
from dashboard.routes.media import cell_urls
from dashboard.widgets.query_controls import filter_value
from shanty import ArtifactVersion, QueryResult, format_value, human_size
from shanty.errors import NotFoundError
from shanty.media.mask import class_colour_hex
from shanty.tables.cells import cell_kind

__all__ = ["annotations", "cells_for_page", "group_keys", "sign_cell", "table_columns"]


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
    own = {
        name: cell.get(name) for name, _ in spec.fields if cell.get(name) is not None and name not in _ANNOTATIONS
    }  # e.g. fps, sample_rate
    notes = annotations(cell, version)
    return {**own, **notes, **urls, **facts, "caption": cell.get("caption"), "name": posixpath.basename(cell["entry"])}


_ANNOTATIONS = ("boxes", "masks", "classes")  # an image cell's JSON text fields, shown as overlays


def _parsed(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None  # not ours to judge here: the cell's other parts still show


def annotations(cell: dict[str, Any], version: ArtifactVersion) -> dict[str, Any]:
    """An image cell's overlays as the browser draws them (``{}`` when it has none).

    ``boxes`` and ``classes`` are passed on parsed (W&B's layout, see
    shanty/tables/cells.py); each mask group becomes ``{"url", "class_labels"}``
    where ``url`` is the mask route's URL signed for the mask's own entry of
    ``version`` (a group whose entry the version does not hold is left out,
    so only objects of the version are ever served). ``class_colors`` maps
    every class id named anywhere in the cell to its colour
    (:func:`shanty.media.mask.class_colour_hex`, the masks' palette).
    """
    boxes, masks, classes = (_parsed(cell.get(name)) for name in _ANNOTATIONS)
    out: dict[str, Any] = {}
    ids: set[int] = set()
    if isinstance(boxes, dict) and boxes:
        out["boxes"] = boxes
        for group in boxes.values():
            if isinstance(group, dict):
                ids.update(_ids(group.get("class_labels")))
                ids.update(b["class_id"] for b in group.get("box_data") or () if isinstance(b.get("class_id"), int))
    if isinstance(masks, dict):
        signed = {}
        for name, group in masks.items():
            entry = group.get("entry") if isinstance(group, dict) else None
            if not entry:
                continue
            try:
                url = cell_urls(version, entry, ["mask"])["mask"]
            except NotFoundError:
                continue
            signed[name] = {"url": url, "class_labels": group.get("class_labels") or {}}
            ids.update(_ids(group.get("class_labels")))
        if signed:
            out["masks"] = signed
    if isinstance(classes, list) and classes:
        out["classes"] = classes
        ids.update(c["id"] for c in classes if isinstance(c, dict) and isinstance(c.get("id"), int))
    if out:
        out["class_colors"] = {str(i): class_colour_hex(i) for i in sorted(ids)}
    return out


def _ids(labels: Any) -> set[int]:
    return {int(k) for k in labels if str(k).lstrip("-").isdigit()} if isinstance(labels, dict) else set()


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
