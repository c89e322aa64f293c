"""What the map view shows under the map: the similarity map itself (cached per process), the rows a
selection keeps, and a list of rows from one or two tables (the neighbours of a row) to play."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.widgets.media_links import cells_for_page, sign_cell, table_columns
from dashboard.widgets.media_table import media_table
from dashboard.widgets.paging import fit_page, page_input
from shanty import Api, MapSource, Query, SimilarityMap, format_number, format_value, run_query, similarity_map

__all__ = [
    "PALETTE",
    "cached_map",
    "legend_of",
    "lines_of",
    "points_of",
    "row_list",
    "selected_rows",
    "source_media_column",
]

# Tableau 10: distinct in light and dark, the first two far apart (the two tables of a two-table map).
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
PAGE_SIZE = 10


@st.cache_resource(max_entries=8, show_spinner="Placing the rows on the map...")
def cached_map(
    root: str, tables: tuple[tuple[str, str, str], ...], color: str | None, method: str, pair: str | None
) -> SimilarityMap:
    """The library's map of ``tables`` (``(version ref, table, embedding column)``), kept per process: a
    logged version never changes, so its map never goes stale."""
    api = Api(root)
    sources = [MapSource(api.artifact(ref), table, column) for ref, table, column in tables]
    return similarity_map(sources, color, method=method, pair_on=pair)


def legend_of(found: SimilarityMap) -> list[dict[str, str]]:
    """The map's legend with a colour per entry (cycling the palette past 10; grey for empty values)."""
    return [
        {"label": label, "color": "#9e9e9e" if label == "(empty)" else PALETTE[i % len(PALETTE)]}
        for i, label in enumerate(found.legend)
    ]


def points_of(found: SimilarityMap) -> pd.DataFrame:
    """What travels to the browser: coordinates, colour index, and a hover label while there are few points."""
    shown = np.isfinite(found.x)
    frame = pd.DataFrame(
        {
            "x": np.where(shown, found.x, 0.0).astype(np.float32),
            "y": np.where(shown, found.y, 0.0).astype(np.float32),
            "color": found.color,
        }
    )
    if found.labels is not None:
        names = [posixpath.basename(s.table) for s in found.sources]
        two = len(found.sources) > 1
        frame["label"] = [
            f"{label} · {found.legend[c]}" + (f" ({names[s]})" if two else "")
            for label, c, s in zip(found.labels, found.color, found.source, strict=True)
        ]
    return frame


def lines_of(found: SimilarityMap) -> pd.DataFrame | None:
    """The partner lines as the map takes them (point positions ``a`` and ``b``), or None."""
    if len(found.lines) == 0:
        return None
    return pd.DataFrame({"a": found.lines[:, 0], "b": found.lines[:, 1]})


def source_media_column(source: MapSource, media: dict[str, str]) -> str | None:
    """The media column an embedding column describes (``audio`` for ``audio_embedding``), else the first."""
    stem = source.column.removesuffix("_embedding")
    return stem if stem in media else next(iter(media), None)


def selected_rows(source: MapSource, rows: Sequence[int], key: str) -> None:
    """The rows of one table that a selection keeps, a page at a time, playable."""
    path = source.version.table_source(source.table)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = fit_page(key, pages)
    result = run_query(Query(rows=tuple(rows), page=page, page_size=PAGE_SIZE), {source.table: path})
    line = st.columns([5, 1], vertical_alignment="center")
    line[0].markdown(f"**{format_number(len(rows))} rows** of {source.title} · page {page:,} of {pages:,}")
    with line[1]:
        page_input(key, pages, label_visibility="collapsed")
    media_table(
        table_columns(result),
        cells_for_page(result, source.version, st.context.timezone),
        key=f"{key}-table",
        view_key=f"map|{source.title}|{','.join(result.columns)}",
        pinned=list(result.columns[:1]),
    )


def row_list(found: SimilarityMap, points: Sequence[tuple[int, float | None]], key: str, color_name: str) -> None:
    """Rows named by map point, in the given order, as one playable table: rank, distance, the table,
    the row's media (the column its embedding describes), its label and its value of ``color_name``
    (not when the map is coloured by table: the table column says it)."""
    by_table = color_name == "(table)"
    columns = ["rank", "distance", "table", "media", "label"] + ([] if by_table else [color_name])
    kinds: dict[str, str | None] = {c: None for c in columns}
    rows: list[list[Any]] = []
    for rank, (point, distance) in enumerate(points):
        source = found.sources[int(found.source[point])]
        path = source.version.table_source(source.table)
        result = run_query(Query(rows=(int(found.row[point]),), page_size=1), {source.table: path})
        if not result.rows:
            continue
        row = result.rows[0]
        media_column = source_media_column(source, result.media)
        kind = result.media.get(media_column) if media_column else None
        kinds["media"] = kinds["media"] or kind
        cell = sign_cell(row.get(media_column), kind, source.version) if kind else None
        rows.append(
            [
                "this row" if distance is None else format_number(rank),
                None if distance is None else format_value(round(distance, 4)),
                source.title,
                cell,
                found.labels[point] if found.labels is not None else f"row {int(found.row[point]):,}",
            ]
            + ([] if by_table else [found.legend[int(found.color[point])]])
        )
    specs = [
        {"name": c, "kind": kinds[c], "numeric": c == "distance", "sortable": False, "filterable": False}
        | {"groupable": False, "stats": None, "partner": None}
        for c in columns
    ]
    media_table(specs, rows, key=key, view_key=f"map-list|{key}", pinned=["rank"])
