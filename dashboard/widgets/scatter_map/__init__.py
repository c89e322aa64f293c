"""The similarity map: a components-v2 scatter plot of up to a million points, drawn with WebGL.

``scatter_map(points, key=..., legend=...)`` mounts it. The points travel as
one Arrow table (``x``, ``y`` float32, ``color`` int32, optional ``label``):
Streamlit turns a DataFrame at the first level of ``data`` into an Arrow blob
and the browser receives an Apache Arrow JS ``Table``, whose float32 columns
are read as ``Float32Array`` views without copying. Partner lines travel the
same way (``a``, ``b`` int32).

In the browser, without a rerun: wheel zoom, pan, hover (a uniform grid
index, so the nearest point under the cursor is found in constant time),
legend toggles, the reset view. Back to Python come the user's selection (a
polygon in data coordinates: the lasso simplified to at most 200 vertices, a
box as its 4 corners; ``[]`` once cleared) as state, and a clicked point's
position as a trigger. Never a list of point indices: the server decides
which rows lie inside, so a selection stays small enough for a URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from shanty.errors import InvalidInputError

__all__ = ["MapEvent", "bundle_js", "scatter_map"]

_HERE = Path(__file__).parent


def bundle_js() -> str:
    """The component's module: ``scatter_map.js``, then each ``parts/*.js`` (geometry, interaction, render)."""
    parts = [_HERE / "scatter_map.js", *sorted((_HERE / "parts").glob("*.js"))]
    return "\n".join(f"// --- {p.relative_to(_HERE)}\n{p.read_text()}" for p in parts)


_RENDER = st.components.v2.component(
    "shanty_scatter_map",
    js=bundle_js(),
    css=(_HERE / "scatter_map.css").read_text(),
)


@dataclass(frozen=True)
class MapEvent:
    """What the user did on the map, as seen on this run.

    ``selection`` is the polygon the user last drew, in data coordinates
    (``[]`` once cleared, None if they never drew one); ``clicked`` is the
    position in ``points`` of the point clicked just before this run (a
    trigger: None on every other run); ``changed`` says the selection changed
    on this run.
    """

    selection: list[list[float]] | None
    clicked: int | None
    changed: bool


def _changed_flag(key: str) -> str:
    return f"_shanty_scatter_map_changed:{key}"


def _points_frame(points: pd.DataFrame) -> pd.DataFrame:
    missing = [name for name in ("x", "y", "color") if name not in points.columns]
    if missing:
        raise InvalidInputError(f"The map's points need columns x, y and color; add {', '.join(missing)}.")
    # Exactly the columns the browser reads, with the dtypes it expects, so a million points stay 12 MB.
    frame = pd.DataFrame(
        {
            "x": np.asarray(points["x"], dtype=np.float32),
            "y": np.asarray(points["y"], dtype=np.float32),
            "color": np.asarray(points["color"], dtype=np.int32),
        }
    )
    if "label" in points.columns:
        frame["label"] = points["label"].astype("string").to_numpy()
    return frame


def _lines_frame(lines: pd.DataFrame | None, count: int) -> pd.DataFrame | None:
    if lines is None or len(lines) == 0:
        return None
    if "a" not in lines.columns or "b" not in lines.columns:
        raise InvalidInputError("The map's lines need columns a and b (point positions); add them.")
    a = np.asarray(lines["a"], dtype=np.int32)
    b = np.asarray(lines["b"], dtype=np.int32)
    inside = (a >= 0) & (a < count) & (b >= 0) & (b < count)
    return pd.DataFrame({"a": a[inside], "b": b[inside]})


def _polygon(value: Any) -> list[list[float]] | None:
    if value is None:
        return None
    return [[float(x), float(y)] for x, y in value]


def scatter_map(
    points: pd.DataFrame,
    *,
    key: str,
    legend: list[dict],
    lines: pd.DataFrame | None = None,
    selection: list[list[float]] | None = None,
    focus: int | None = None,
    x_label: str = "",
    y_label: str = "",
    height: int = 560,
) -> MapEvent:
    """Mount the map; returns what the user did (:class:`MapEvent`).

    ``points`` has columns ``x``, ``y`` (data coordinates), ``color`` (an
    index into ``legend``) and optionally ``label`` (hover text); a point is
    named by its position in ``points``. ``legend[i]`` is ``{"label",
    "color"}`` (a CSS hex colour). ``lines`` (columns ``a``, ``b``: point
    positions) draws a thin line between each pair. ``selection`` is a
    polygon in data coordinates to show as selected (the points inside are
    highlighted, the rest dimmed) whenever it differs from what was last
    passed, except on the run right after the user drew (theirs stays);
    ``focus`` rings one point (a clicked point is ringed at once). Raises
    InvalidInputError when a required column is missing.
    """
    frame = _points_frame(points)
    flag = _changed_flag(key)

    def note_change() -> None:
        # Runs before this run's script: remember that (and what) the user just drew.
        state = st.session_state.get(key)
        st.session_state[flag] = {"selection": state.get("selection") if hasattr(state, "get") else None}

    # On the run right after the user drew, the caller's ``selection`` still holds the one before (it learns
    # of the new one only from this call's result): show the user's, or the browser would redraw the old one.
    change = st.session_state.pop(flag, None)
    if change is not None:
        selection = change["selection"]

    data = {
        "points": frame,
        "lines": _lines_frame(lines, len(frame)),
        "legend": [
            {"label": str(item.get("label", "")), "color": str(item.get("color", "#888888"))} for item in legend
        ],
        "selection": _polygon(selection),
        "focus": None if focus is None else int(focus),
        "x_label": x_label,
        "y_label": y_label,
        "height": int(height),
    }
    result = _RENDER(
        data=data,
        key=key,
        on_selection_change=note_change,
        on_clicked_change=lambda: None,
    )
    clicked = getattr(result, "clicked", None)
    return MapEvent(
        selection=_polygon(getattr(result, "selection", None)),
        clicked=None if clicked is None else int(clicked),
        changed=change is not None,
    )
