"""Column statistics for the media table's headers, from the engine's summaries of the filtered rows.

The numbers come from :func:`shanty.query_summaries` (one DuckDB profile of
the rows the view's filters keep; cached here, per query and table version);
this module only shapes them for the browser: bins with labels, the most
frequent values with counts, all formatted for people. A click in the header
sends back the raw bin edges or value, which become a Filter. Statistics are
kept per process (:class:`_Store`), so a view whose statistics are known
draws them with its rows.
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from itertools import pairwise
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.widgets.query_controls import filter_value
from shanty import ColumnSummary, Query, QueryResult, ShantyError, format_number, format_value, query_summaries
from shanty.query.kinds import INTEGER_TYPES

__all__ = ["header_stats"]

_TOP_SHOWN = 10


def _stamp(path: str | os.PathLike[str]) -> tuple[str, float]:
    try:
        return str(path), Path(path).stat().st_mtime
    except (OSError, TypeError):  # TypeError: an object read in place, whose name already names its version
        return str(path), 0.0


class _Store:
    """Statistics already worked out, per (rows, table versions, columns), for every session of the
    process: a view that finds its statistics here draws them at once; one that does not shows its
    rows first and the statistics a moment later (see :func:`header_stats`). Only immutable facts:
    a logged table's file never changes (a rewritten one has another mtime, so another key), so no
    replica ever shows statistics another writer made stale."""

    def __init__(self, size: int = 128) -> None:
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: Hashable) -> dict[str, dict[str, Any]] | None:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key: Hashable, value: dict[str, dict[str, Any]]) -> None:
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)


@st.cache_resource
def _store() -> _Store:
    return _Store()


def _discrete(summary: ColumnSummary) -> bool:
    histogram = summary.histogram
    edges = histogram.edges if histogram else ()
    return summary.type.upper() in INTEGER_TYPES and len(edges) > 1 and all(b - a == 1 for a, b in pairwise(edges))


def _histogram(summary: ColumnSummary) -> dict[str, Any]:
    histogram = summary.histogram
    assert histogram is not None
    discrete = _discrete(summary)
    edges = [e if math.isfinite(e) else None for e in histogram.edges]
    if discrete:
        edges = [int(e) for e in histogram.edges]
        labels = [format_number(e) for e in edges[:-1]]
    else:
        labels = [f"{format_number(lo, 3)} to {format_number(hi, 3)}" for lo, hi in pairwise(histogram.edges)]
    return {
        "type": "histogram",
        "edges": edges,
        "counts": list(histogram.counts),
        "labels": labels,
        "discrete": discrete,
    }


def _top(summary: ColumnSummary, timezone: str | None) -> dict[str, Any]:
    values = [
        {
            "label": format_value(value, timezone),
            "value": filter_value(value),
            "count": count,
            "count_label": format_number(count),
        }
        for value, count in summary.top_values
    ]
    non_null = summary.rows - summary.null_count
    rest = summary.distinct_count - len(values)
    about = "about " if summary.distinct_approximate else ""
    more = f"and {about}{format_number(rest)} more value{'s' if rest != 1 else ''}" if rest > 0 and non_null else ""
    return {"type": "top", "values": values, "rows": summary.rows, "more": more}


def header_stats(
    query: Query,
    result: QueryResult,
    sources: Mapping[str, str | os.PathLike[str]],
    timezone: str | None = None,
    *,
    wait: bool = True,
) -> dict[str, dict[str, Any]] | None:
    """Per shown column, the statistics its header draws, for the rows ``query`` keeps: a histogram
    (numbers) or the most frequent values (text, booleans). Media columns get none; a grouped view
    profiles its group keys over the filtered rows. Empty when the engine cannot (the view then shows
    headers without statistics rather than failing).

    With ``wait=False``, statistics not worked out before are not computed: None says so (the view
    shows its rows, then calls again with ``wait=True``, which keeps them for every later call).
    """
    if result.grouped:
        assert query.group_by is not None
        wanted = tuple(c for c in query.group_by.columns if c not in result.media)
        rows = dataclasses.replace(query, group_by=None, columns=None, sort=(), page=1)
    else:
        wanted = tuple(c for c in result.columns if c not in result.media)
        rows = dataclasses.replace(query, sort=(), page=1, page_size=Query().page_size)
    if not wanted:
        return {}
    items = tuple((name, str(path)) for name, path in sources.items())
    # The table files' (path, mtime) are part of the key: a rewritten table is profiled again.
    key = (rows.to_url_token(), items, tuple(_stamp(path) for _, path in items), wanted, timezone)
    known = _store().get(key)
    if known is not None or not wait:
        return known
    try:
        summaries = query_summaries(rows, dict(items), columns=wanted, top_values=_TOP_SHOWN)
    except ShantyError:
        summaries = []
    out = {}
    for summary in summaries:
        if summary.histogram is not None and summary.rows:
            out[summary.name] = _histogram(summary)
        elif summary.top_values:
            out[summary.name] = _top(summary, timezone)
    _store().put(key, out)
    return out
