"""The media table: a Streamlit components-v2 element (plain JS and CSS, no build step).

``media_table(columns, rows, sort, key)`` renders one page; media cells are
dicts with a signed ``url``, a ``caption`` and one URL per preview of their
kind (``waveform`` for audio). Clicking a header returns ``{"column": name}``
as the ``sort`` trigger of that run.

The browser code is one ES module bundled here: ``media_table.js`` (the table,
and the ``RENDERERS`` registry) followed by every ``renderers/<kind>.js``,
each registering the renderer of one cell kind. Adding a kind's renderer is
adding its file; a kind without one is shown as a link.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

__all__ = ["bundle_js", "media_table"]

_HERE = Path(__file__).parent


def bundle_js() -> str:
    """The component's module: ``media_table.js`` then each ``renderers/*.js`` (sorted), so the
    renderers run after ``RENDERERS`` exists and before the table is first drawn."""
    parts = [_HERE / "media_table.js", *sorted((_HERE / "renderers").glob("*.js"))]
    return "\n".join(f"// --- {p.relative_to(_HERE)}\n{p.read_text()}" for p in parts)


_RENDER = st.components.v2.component(
    "shanty_media_table",
    js=bundle_js(),
    css=(_HERE / "media_table.css").read_text(),
)


def media_table(
    columns: list[dict[str, Any]],
    rows: list[list[Any]],
    sort: dict[str, Any] | None,
    key: str,
    highlight: list[list[int]] | None = None,
) -> dict[str, Any] | None:
    """Mount the table; returns the clicked header (``{"column": ...}``) on the run it was clicked, else None.

    ``highlight[r]`` lists the column indexes of row ``r`` to mark as changed.
    """
    data = {"columns": columns, "rows": rows, "sort": sort, "highlight": highlight}
    result = _RENDER(data=data, key=key, on_sort_change=lambda: None)
    return getattr(result, "sort", None)
