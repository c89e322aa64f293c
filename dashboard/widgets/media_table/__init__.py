"""The media table: a Streamlit components-v2 element (plain JS and CSS, no build step).

``media_table(columns, rows, sort, key)`` renders one page; media cells are
dicts with a signed ``url`` (and ``waveform`` for audio). Clicking a header
returns ``{"column": name}`` as the ``sort`` trigger of that run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

_HERE = Path(__file__).parent
_RENDER = st.components.v2.component(
    "shanty_media_table",
    js=(_HERE / "media_table.js").read_text(),
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
