"""Run query specs on shanty tables (Parquet files) with DuckDB.

``run_query`` compiles a :class:`~shanty.query.Query`
(:mod:`shanty.query.compile`), fetches only the requested page and the total
of matching rows or groups (:func:`~shanty.query.database.fetch_page`), on
the shared database of :mod:`shanty.query.database`, which also reads
schemas (:func:`read_schema`). Column profiles are
:mod:`shanty.query.summaries`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from ..errors import MalformedError, QueryError
from .compile import QueryPlan, plan_query
from .database import (
    Source,
    Stamp,
    check_patterns,
    connection,
    fetch_page,
    first_line,
    read_schema,
    remote_reads,
    table_stamp,
)
from .paging import page_count
from .spec import Query
from .sql import bind_sources, unknown_column

__all__ = ["QueryResult", "result_schema", "run_query"]


@dataclass(frozen=True)
class QueryResult:
    """One page of a query's result.

    ``rows`` holds only the requested page (dicts keyed by ``columns``; media
    cells are dicts with ``uri``, ``entry``...; ``samples(<col>)`` cells are
    lists of them). ``total_rows`` counts all matching rows, or all groups
    when ``grouped``; ``page_count`` is 0 when nothing matches. A page past
    the end is empty with correct totals. ``media`` maps each media column to
    its kind; ``sources`` maps every column to the name of the source table
    its values come from (join keys and ``count``: the main table), so a
    caller can tell which table version a media cell belongs to.
    ``sql`` / ``params`` are the page statement, for debugging.
    """

    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    total_rows: int
    page: int
    page_size: int
    page_count: int
    media: Mapping[str, str]
    grouped: bool
    sql: str
    params: tuple[Any, ...]
    count_sql: str
    sources: Mapping[str, str]


def _plan(spec: Query, sources: Mapping[str, Source]) -> tuple[dict[str, Stamp], QueryPlan]:
    """The stamps of the tables ``spec`` reads (main table, and the joined one) and its compiled plan."""
    if not isinstance(spec, Query):
        raise QueryError(f"Expected a Query, not {type(spec).__name__}.")
    if not sources:
        raise QueryError("There is no table to query; give at least one source.")
    names = list(sources)
    used = names[:1]
    if spec.join is not None:
        if spec.join.source not in sources:
            raise unknown_column(spec.join.source, names, "table")
        used.append(spec.join.source)
    stamps = {name: table_stamp(sources[name]) for name in used}
    return stamps, plan_query(spec, {name: read_schema(stamps[name][0]) for name in used})


def result_schema(spec: Query, sources: Mapping[str, Source]) -> pa.Schema:
    """The Arrow schema of ``spec``'s result columns (exact types, whatever the rows hold) without
    reading any row; raises what :func:`run_query` raises."""
    stamps, plan = _plan(spec, sources)
    params = bind_sources(plan.page.params, {name: stamp[0] for name, stamp in stamps.items()})
    with connection() as cursor, remote_reads(params):
        try:
            relation = cursor.sql(f"SELECT * FROM ({plan.page.sql}) LIMIT 0", params=params)
            # DuckDB 2 renamed a relation's arrow() to to_arrow_table(); accept either.
            return (relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()).schema
        except duckdb.IOException as exc:
            raise MalformedError(f"Could not read the table files ({first_line(exc)}).") from None


def run_query(spec: Query, sources: Mapping[str, Source]) -> QueryResult:
    """Run ``spec`` over ``sources`` (table name -> Parquet file, or a
    :class:`~shanty.storage.in_place.RemoteFile` read in place; the first is the main table).

    The page is fetched first; the total comes from a separate count query
    (skipped when the page is short, hence the last), cached per file version
    so paging does not recount. Raises QueryError for mistakes in the spec, NotFoundError /
    MalformedError for missing or unreadable files.
    """
    stamps, plan = _plan(spec, sources)
    paths = {name: stamp[0] for name, stamp in stamps.items()}
    page_params = bind_sources(plan.page.params, paths)
    count_params = bind_sources(plan.count.params, paths)
    with connection() as cursor, remote_reads(page_params):
        check_patterns(cursor, plan.patterns)
        try:
            fetched, total = fetch_page(
                cursor,
                (plan.page.sql, page_params),
                (plan.count.sql, count_params),
                offset=spec.offset,
                limit=spec.page_size,
                version=tuple(stamps.values()),
            )
        except duckdb.IOException as exc:
            raise MalformedError(f"Could not read the table files ({first_line(exc)}).") from None
    return QueryResult(
        columns=plan.columns,
        rows=[dict(zip(plan.columns, row, strict=True)) for row in fetched],
        total_rows=total,
        page=spec.page,
        page_size=spec.page_size,
        page_count=page_count(total, spec.page_size),
        media=dict(plan.media),
        grouped=plan.grouped,
        sql=plan.page.sql,
        params=tuple(page_params),
        count_sql=plan.count.sql,
        sources=dict(plan.sources),
    )
