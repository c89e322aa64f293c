"""Harness page for tests/browser/test_scatter_map_e2e.py: the scatter map over deterministic points.

``?n=<count>`` picks how many points (default 900: three Gaussian blobs of
about 300 around BLOBS' centres, then one lonely point at LONELY, the last
row); ``?sel=<polygon JSON>`` starts with that selection, as a URL would. The
page does what the similarity view does with the result: it keeps the drawn
selection and passes it back as ``selection=``, rings the clicked point with
``focus=``, and prints the MapEvent, with the number of points the server
finds inside the selection, as JSON in a code block.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.widgets.scatter_map import scatter_map  # the test runs this with the repo root on PYTHONPATH

BLOBS = [("flute", (-6.0, 0.0), "#1f77b4"), ("drum", (6.0, 0.0), "#ff7f0e"), ("voice", (0.0, 9.0), "#2ca02c")]
LONELY = (9.0, 12.0)


@st.cache_data
def make_points(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(14)  # labels for n <= 50,000 only, as the view sends them
    per = (n - 1) // len(BLOBS)
    xs, ys, colors, labels = [], [], [], []
    for group, (name, (cx, cy), _) in enumerate(BLOBS):
        count = per if group < len(BLOBS) - 1 else n - 1 - per * (len(BLOBS) - 1)
        xs.append(rng.normal(cx, 0.6, count))
        ys.append(rng.normal(cy, 0.6, count))
        colors.append(np.full(count, group))
        if n <= 50_000:
            labels.extend(f"{name} #{i}" for i in range(count))
    xs.append([LONELY[0]])
    ys.append([LONELY[1]])
    colors.append([0])
    frame = pd.DataFrame(
        {
            "x": np.concatenate(xs).astype(np.float32),
            "y": np.concatenate(ys).astype(np.float32),
            "color": np.concatenate(colors).astype(np.int32),
        }
    )
    if n <= 50_000:
        frame["label"] = [*labels, "lonely <b>point</b>"]  # markup that must show as text
    return frame


def count_inside(frame: pd.DataFrame, polygon: list[list[float]] | None) -> int:
    """Points inside ``polygon`` (even-odd), as the server side would count them."""
    if not polygon or len(polygon) < 3:
        return 0
    x, y = frame["x"].to_numpy(np.float64), frame["y"].to_numpy(np.float64)
    inside = np.zeros(len(frame), dtype=bool)
    for (xi, yi), (xj, yj) in zip(polygon, polygon[-1:] + polygon[:-1], strict=True):
        with np.errstate(divide="ignore", invalid="ignore"):
            crosses = ((yi > y) != (yj > y)) & (x < (xj - xi) * (y - yi) / (yj - yi) + xi)
        inside ^= crosses
    return int(inside.sum())


n = int(st.query_params.get("n", "900"))
points = make_points(n)
lines = (
    pd.DataFrame({"a": np.arange(0, 20, dtype=np.int32), "b": np.arange(300, 320, dtype=np.int32)})
    if n < 5000
    else None
)
if "selection" not in st.session_state and "sel" in st.query_params:
    st.session_state["selection"] = json.loads(st.query_params["sel"])  # as the view reads it from its URL
st.session_state.setdefault("runs", 0)
st.session_state["runs"] += 1
event = scatter_map(
    points,
    key="map",
    legend=[{"label": name, "color": colour} for name, _, colour in BLOBS],
    lines=lines,
    selection=st.session_state.get("selection"),
    focus=st.session_state.get("focus"),
    x_label="umap 1",
    y_label="umap 2",
    height=480,
)
if event.changed:
    st.session_state["selection"] = event.selection
if event.clicked is not None:
    st.session_state["focus"] = event.clicked
inside = count_inside(points, event.selection if event.changed else st.session_state.get("selection"))
st.code(json.dumps({"run": st.session_state["runs"], "inside": inside, **asdict(event)}), language="json")
