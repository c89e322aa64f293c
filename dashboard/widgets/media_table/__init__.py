"""The media table: a Streamlit components-v2 element (plain JS and CSS, no build step).

``media_table(columns, rows, key=...)`` renders one page, densely: media cells
are dicts with a signed ``url``, a ``caption``, a ``name`` and one URL per
preview of their kind (``waveform`` and ``spectrogram`` for audio, ``poster``
for video). In the browser, without a rerun: one A/B player for the table,
the row inspector, pinned / resized / hidden columns, thumbnail size,
spectrogram toggles. Back to Python comes one trigger, the user's *action*
on the query (``{"type": "sort" | "filter" | "filter_text" | "group" |
"open_group" | "page", ...}``), which :func:`dashboard.widgets.query_controls.apply_action`
turns into a new Query.

The browser code is one ES module bundled here: ``media_table.js`` (the table,
the ``RENDERERS`` and ``BIG`` registries), then ``parts/*.js`` (header,
player, inspector), then every ``renderers/<kind>.js``, each registering the
renderers of one cell kind. Adding a kind's renderer is adding its file; a
kind without one is shown as a link.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

__all__ = ["bundle_js", "media_table"]

_HERE = Path(__file__).parent


def bundle_js() -> str:
    """The component's module: ``media_table.js``, each ``parts/*.js``, then each ``renderers/*.js`` (sorted),
    so the renderers run after ``RENDERERS`` exists and before the table is first drawn."""
    parts = [
        _HERE / "media_table.js",
        *sorted((_HERE / "parts").glob("*.js")),
        *sorted((_HERE / "renderers").glob("*.js")),
    ]
    return "\n".join(f"// --- {p.relative_to(_HERE)}\n{p.read_text()}" for p in parts)


_RENDER = st.components.v2.component(
    "shanty_media_table",
    js=bundle_js(),
    css=(_HERE / "media_table.css").read_text(),
)


def media_table(
    columns: list[dict[str, Any]],
    rows: list[list[Any]],
    *,
    key: str,
    view_key: str,
    sort: dict[str, Any] | None = None,
    highlight: list[list[int]] | None = None,
    pinned: list[str] | None = None,
    grouped: bool = False,
    operators: list[str] | None = None,
    paging: dict[str, Any] | None = None,
    open_row: int | None = None,
    group_keys: list[dict[str, Any]] | None = None,
    stats_pending: bool = False,
) -> dict[str, Any] | None:
    """Mount the table; returns the user's action on the run it happened, else None.

    ``columns[i]`` is ``{"name", "kind", "numeric", "sortable", "filterable",
    "groupable", "stats"}`` (see :func:`dashboard.widgets.media_links.table_columns`);
    ``highlight[r]`` lists the column indexes of row ``r`` to mark as changed;
    ``pinned`` names the columns stuck to the left until the user changes it;
    ``view_key`` names what the browser remembers (widths, pins) per view;
    ``paging`` is ``{"offset", "total", "has_next", "has_previous"}`` when the
    inspector may step into the next page; ``open_row`` opens that row of the
    page in the inspector (negative: from the end), once; ``group_keys[r]`` are
    grouped row ``r``'s key values (sent back when the group is opened);
    ``stats_pending`` says the header statistics are on their way.
    """
    paging = paging or {}
    data = {
        "columns": columns,
        "rows": rows,
        "sort": sort,
        "highlight": highlight,
        "pinned": pinned or [],
        "grouped": grouped,
        "can_open_groups": grouped and group_keys is not None,
        "operators": operators,
        "view_key": view_key,
        "row_offset": paging.get("offset", 0),
        "total": paging.get("total"),
        "can_page": bool(paging),
        "has_next": paging.get("has_next", False),
        "has_previous": paging.get("has_previous", False),
        "open_row": open_row,
        "group_keys": group_keys,
        "stats_pending": stats_pending,
    }
    result = _RENDER(data=data, key=key, on_action_change=lambda: None)
    return getattr(result, "action", None)
