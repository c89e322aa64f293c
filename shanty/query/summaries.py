"""Column summaries: a profile of every column of a table, computed by DuckDB.

:func:`column_summaries` reads the table in three passes (counts and ranges,
exact counts of the most frequent values, histograms) and loads nothing into
pandas; columns are classified by :func:`~shanty.query.kinds.kind_of_type`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import duckdb

from ..errors import QueryError
from .compile import compile_rows
from .database import check_patterns, connection, read_schema, table_stamp
from .kinds import INTEGER_TYPES, kind_of_type
from .spec import Query
from .sql import Params, ResolvedColumn, bind_sources, quote

__all__ = ["EXACT_DISTINCT_MAX_ROWS", "ColumnSummary", "Histogram", "column_summaries"]

EXACT_DISTINCT_MAX_ROWS = 200_000  # above this, distinct counts are HyperLogLog estimates (a few % off)
_ORDERABLE = {"number", "text", "bool", "date", "timestamp", "time", "media"}
_TOP_KINDS = {"text", "bool", "media"}


@dataclass(frozen=True)
class Histogram:
    """Equal-width bins over the finite values: ``counts[i]`` values fall in ``[edges[i], edges[i+1])``
    (the last bin includes its upper edge). Integer columns with a small range get one bin per value."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class ColumnSummary:
    """Profile of one column. Media columns are profiled by uri (min, max, top values).

    ``distinct_approximate`` tells whether ``distinct_count`` is an estimate.
    ``top_values`` (text, bool and media) are (value, exact count), most
    frequent first; empty when (nearly) every value is distinct. ``min`` /
    ``max`` skip NaN; ``histogram`` is for numbers only.
    """

    name: str
    type: str
    kind: str
    media: str | None
    rows: int
    null_count: int
    distinct_count: int
    distinct_approximate: bool
    min: Any = None
    max: Any = None
    top_values: tuple[tuple[Any, int], ...] = ()
    histogram: Histogram | None = None


@dataclass(frozen=True)
class _Rows:
    """What the summaries read: ``FROM <sql>``, its own ``$1..$n`` being ``params``."""

    sql: str
    params: tuple[Any, ...]

    def bind(self) -> Params:
        """Parameters for a statement over these rows: theirs first, then the statement's own."""
        params = Params()
        params.values.extend(self.params)
        return params


def _rows(path: str, schema: Any, where: Query | None) -> tuple[_Rows, tuple[str, ...]]:
    if where is None or not (where.filters or (where.expression or "").strip()):
        return _Rows("read_parquet($1)", (path,)), ()
    compiled, patterns = compile_rows(where, schema, "table")
    return _Rows(f"({compiled.sql})", tuple(bind_sources(compiled.params, {"table": path}))), patterns


def column_summaries(
    source_path: str | os.PathLike[str], *, where: Query | None = None, top_values: int = 10, bins: int = 20
) -> list[ColumnSummary]:
    """Profile every column of the table at ``source_path`` in three DuckDB passes.

    With ``where``, only the rows its filters and expression keep are
    profiled (what the view shows; its sort, grouping and page do not
    matter). Pass one: null and distinct counts, min/max, top-value
    candidates (``approx_top_k``) and finite ranges; pass two: exact counts
    of those candidates; pass three: histograms, bins in ascending order.
    Nothing is loaded into pandas. Raises QueryError for a bad ``where``.
    """
    if not 1 <= top_values <= 100 or not 1 <= bins <= 1000:
        raise QueryError("top_values must be 1-100 and bins 1-1000.")
    path = table_stamp(source_path)[0]
    schema = read_schema(path)
    rows, patterns = _rows(path, schema, where)
    columns = [
        ResolvedColumn(name, quote(name), kind_of_type(type_, schema.media.get(name)), type_, schema.media.get(name))
        for name, type_ in schema.columns.items()
    ]
    with connection() as cursor:
        check_patterns(cursor, patterns)
        total = int(cursor.execute(f"SELECT count(*) FROM {rows.sql}", list(rows.params)).fetchone()[0])
        exact = total <= EXACT_DISTINCT_MAX_ROWS
        parts: list[str] = []
        for column in columns:
            parts.extend(_stat_parts(column, exact, top_values))
        stats = cursor.execute(f"SELECT {', '.join(parts)} FROM {rows.sql}", list(rows.params)).fetchone()
        per_column = [stats[i * 7 : i * 7 + 7] for i in range(len(columns))]
        tops = _top_counts(cursor, rows, columns, per_column, top_values)
        histograms = _histograms(cursor, rows, columns, per_column, bins)
    summaries = []
    for i, (column, (non_null, distinct, low, high, *_)) in enumerate(zip(columns, per_column, strict=True)):
        summaries.append(
            ColumnSummary(
                name=column.name,
                type=column.type,
                kind=column.kind,
                media=column.media,
                rows=total,
                null_count=total - int(non_null),
                distinct_count=int(distinct or 0),
                distinct_approximate=not exact,
                min=low,
                max=high,
                top_values=tops.get(i, ()),
                histogram=histograms.get(i),
            )
        )
    return summaries


def _stat_parts(column: ResolvedColumn, exact: bool, top: int) -> list[str]:
    value = column.value_sql
    parts = [f"count({value})", f"count(DISTINCT {value})" if exact else f"approx_count_distinct({value})"]
    if column.kind in _ORDERABLE:
        skip_nan = f" FILTER (WHERE NOT isnan({value}))" if column.type.upper() in ("FLOAT", "DOUBLE") else ""
        parts += [f"min({value}){skip_nan}", f"max({value}){skip_nan}"]
    else:
        parts += ["NULL", "NULL"]
    if column.kind == "number":
        as_double = f"CAST({value} AS DOUBLE)"
        parts += [
            f"min({as_double}) FILTER (WHERE isfinite({as_double}))",
            f"max({as_double}) FILTER (WHERE isfinite({as_double}))",
        ]
    else:
        parts += ["NULL", "NULL"]
    parts.append(f"approx_top_k({value}, {int(top)})" if column.kind in _TOP_KINDS else "NULL")
    return parts


def _top_counts(
    cursor: duckdb.DuckDBPyConnection, rows: _Rows, columns: list[ResolvedColumn], per_column: list[Any], top: int
) -> dict[int, tuple[tuple[Any, int], ...]]:
    params, parts, wanted = rows.bind(), [], []
    for i, (column, (non_null, distinct, *_, candidates)) in enumerate(zip(columns, per_column, strict=True)):
        # When (nearly) every value is unique, a "top" list is noise: skip it.
        if not candidates or (non_null > top and distinct >= 0.95 * non_null):
            continue
        for candidate in candidates:
            if candidate is not None:
                parts.append(f"count(*) FILTER (WHERE {column.value_sql} = {params.typed(candidate)})")
                wanted.append((i, candidate))
    if not parts:
        return {}
    counts = cursor.execute(f"SELECT {', '.join(parts)} FROM {rows.sql}", params.values).fetchone()
    found: dict[int, list[tuple[Any, int]]] = {}
    for (i, candidate), count in zip(wanted, counts, strict=True):
        if count:
            found.setdefault(i, []).append((candidate, int(count)))
    return {i: tuple(sorted(pairs, key=lambda p: (-p[1], str(p[0])))[:top]) for i, pairs in found.items()}


def _histograms(
    cursor: duckdb.DuckDBPyConnection, rows: _Rows, columns: list[ResolvedColumn], per_column: list[Any], bins: int
) -> dict[int, Histogram]:
    params, parts, layout = rows.bind(), [], []
    for i, (column, stats) in enumerate(zip(columns, per_column, strict=True)):
        low, high = stats[4], stats[5]
        if column.kind != "number" or low is None:
            continue
        if column.type.upper() in INTEGER_TYPES and high - low < bins:
            count, width = int(high - low) + 1, 1.0
            edges = tuple(float(low + k) for k in range(count + 1))
        else:
            count, width = bins, ((high - low) / bins) or 1.0
            edges = tuple([low + k * width for k in range(bins)] + [high])
        as_double = f"CAST({column.value_sql} AS DOUBLE)"
        slot = f"floor(({as_double} - {params.typed(float(low))}) / {params.typed(width)})"
        # Clamp in DOUBLE and cast only finite values: DuckDB evaluates the argument before FILTER.
        clamped = f"least(greatest({slot}, 0), {params.typed(float(count - 1))})"
        parts.append(f"histogram(CAST(CASE WHEN isfinite({as_double}) THEN {clamped} END AS BIGINT))")
        layout.append((i, edges, count))
    if not parts:
        return {}
    maps = cursor.execute(f"SELECT {', '.join(parts)} FROM {rows.sql}", params.values).fetchone()
    out = {}
    for (i, edges, count), bucket in zip(layout, maps, strict=True):
        bucket = bucket or {}
        out[i] = Histogram(edges, tuple(int(bucket.get(k, 0)) for k in range(count)))
    return out
