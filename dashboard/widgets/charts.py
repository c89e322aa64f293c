"""The dashboard's charts: change counts coloured by kind, histograms with their bins in order.

Colours are mid-tones that read on the light and the dark theme alike; a kind
has the same colour in every chart and table (``KIND_COLOURS``).
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from shanty import format_number
from shanty.query.summaries import Histogram

__all__ = ["KIND_COLOURS", "change_chart", "histogram_chart", "kind_background"]

KIND_COLOURS = {
    "added": "#2e9d5b",
    "removed": "#d64545",
    "modified": "#d99a1e",
    "changed": "#d99a1e",
    "renamed": "#3b82c4",
    "unchanged": "#8a8f98",
}


def kind_background(kind: str) -> str:
    """A CSS background for a table row of ``kind``: the kind's colour, faint enough for text on either theme."""
    colour = KIND_COLOURS.get(kind)
    return f"background-color: {colour}33" if colour and kind != "unchanged" else ""


def change_chart(counts: Mapping[str, int], noun: str = "files") -> alt.Chart:
    """Horizontal bars of ``counts`` (kind -> how many), each kind in its colour, in the given order."""
    frame = pd.DataFrame({"kind": list(counts), noun: list(counts.values())})
    frame["label"] = [format_number(n) for n in frame[noun]]
    kinds = list(counts)
    colour = alt.Color("kind:N", scale=alt.Scale(domain=kinds, range=[KIND_COLOURS.get(k, "#888888") for k in kinds]))
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("kind:N", sort=kinds, title=None, axis=alt.Axis(labelOverlap=False)),
            x=alt.X(f"{noun}:Q", title=noun, axis=alt.Axis(format="d", tickMinStep=1)),
            color=colour.legend(None),
            tooltip=["kind", alt.Tooltip(f"{noun}:Q", format=",")],
        )
    )
    labels = bars.mark_text(align="left", dx=4).encode(text="label:N", color=alt.value("gray"))
    return (bars + labels).properties(height=alt.Step(30))


def histogram_chart(histogram: Histogram) -> alt.Chart:
    """The bins of ``histogram`` left to right in value order, labelled with their bounds."""
    edges, counts = histogram.edges, histogram.counts
    labels = [f"{format_number(edges[i])} – {format_number(edges[i + 1])}" for i in range(len(counts))]
    frame = pd.DataFrame({"bin": labels, "rows": counts, "order": range(len(counts))})
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("bin:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelAngle=-40)),
            y=alt.Y("rows:Q", title="rows"),
            tooltip=["bin", alt.Tooltip("rows:Q", format=",")],
        )
        .properties(height=170)
    )
