"""Compile a :class:`~shanty.query.Query` into DuckDB SQL with bound parameters.

Safety: user text reaches the SQL only as quoted identifiers that were first
found in the table schemas, or as ``$n`` parameters (the Parquet paths too,
as :class:`~shanty.query.sql.SourceParam`). The rest of the SQL is ours.

Shape of a page query, chosen for pages of tables with millions of rows: each
source is a CTE over ``read_parquet`` with a row number; the page is first
found on narrow data (row numbers and sort keys, so DuckDB's top-N never
carries wide media structs), then only those rows are fetched, which DuckDB
turns into a row-number range filter on the Parquet scan. Ties are broken by
row number, so paging is deterministic. Grouped pages find their media
samples the same way: the first row numbers per group, then only those cells.
Filters become conditions through the operator table
(:func:`~shanty.query.operators.filter_condition`), expressions through the
parser; both compile with :func:`~shanty.query.sql.compile_condition`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from ..errors import QueryError
from .expr import parse_expression
from .nodes import Condition
from .operators import filter_condition
from .relation import Relation
from .spec import Query, TableSchema
from .sql import Params, ResolvedColumn, compile_condition, quote, unknown_column

__all__ = ["CompiledSQL", "QueryPlan", "compile_count", "compile_query", "compile_rows", "plan_query"]

_PAGE = "__shanty_page"


class CompiledSQL(NamedTuple):
    """One DuckDB statement and its positional ``$n`` parameters (paths as SourceParam placeholders)."""

    sql: str
    params: tuple[Any, ...]


@dataclass(frozen=True)
class QueryPlan:
    """What the engine runs: the page and count statements, and the page's shape."""

    page: CompiledSQL
    count: CompiledSQL
    columns: tuple[str, ...]
    media: Mapping[str, str]  # output column -> media kind (``samples(...)`` columns hold lists)
    sources: Mapping[str, str]  # output column -> the source (table name) its values come from
    patterns: tuple[str, ...]  # regex literals, validated before running
    grouped: bool


class _Builder:
    """Shared state while compiling one statement: parameters and regex patterns."""

    def __init__(self, spec: Query, relation: Relation):
        self.spec, self.relation = spec, relation
        self.params = Params()
        self.patterns: list[str] = []
        self.ctes = relation.ctes(self.params)

    def where(self) -> str:
        spec, parts = self.spec, []
        if spec.rows is not None:  # a drawn selection: row numbers of the main table, one bound list
            parts.append(
                f"{self.relation.row_ids()[0]} IN (SELECT unnest({self.params.bind(list(spec.rows))}::BIGINT[]))"
            )
        if spec.filters:
            compiled = [self.condition(filter_condition(f.column, f.op, f.value)) for f in spec.filters]
            parts.append("(" + (" AND " if spec.match == "all" else " OR ").join(compiled) + ")")
        if spec.expression is not None and spec.expression.strip():
            parts.append(self.condition(parse_expression(spec.expression)))
        return f" WHERE {' AND '.join(parts)}" if parts else ""

    def condition(self, node: Condition) -> str:
        return compile_condition(node, self.relation.column, self.params, self.patterns)

    def limit(self) -> str:
        return f"LIMIT {self.params.bind(self.spec.page_size)} OFFSET {self.params.bind(self.spec.offset)}"

    def statement(self, body: str) -> CompiledSQL:
        return CompiledSQL(f"WITH {', '.join(self.ctes)} {body}", tuple(self.params.values))


def _direction(descending: bool) -> str:
    return "DESC NULLS LAST" if descending else "ASC NULLS LAST"


def _plan_rows(spec: Query, relation: Relation) -> QueryPlan:
    output = [relation.column(c, "selected column") for c in spec.columns or relation.columns]
    sorts = [(relation.column(s.column, "sort column"), s.descending) for s in spec.sort]
    rows = relation.row_ids()
    page = _Builder(spec, relation)
    where = page.where()
    picked = [f"{r} AS __r{i}" for i, r in enumerate(rows)] + [
        f"{c.value_sql} AS __k{i}" for i, (c, _) in enumerate(sorts)
    ]
    inner_order = [f"{c.value_sql} {_direction(d)}" for c, d in sorts] + [f"{r} ASC NULLS LAST" for r in rows]
    outer_order = [f"p.__k{i} {_direction(d)}" for i, (_, d) in enumerate(sorts)]
    outer_order += [f"p.__r{i} ASC NULLS LAST" for i in range(len(rows))]
    page.ctes.append(
        f"{_PAGE} AS MATERIALIZED (SELECT {', '.join(picked)} FROM {relation.from_sql}{where} "
        f"ORDER BY {', '.join(inner_order)} {page.limit()})"
    )
    fetch = relation.fetch_joins([f"p.__r{i}" for i in range(len(rows))])
    selected = ", ".join(f"{c.sql} AS {quote(c.name)}" for c in output)
    page_sql = page.statement(f"SELECT {selected} FROM {_PAGE} AS p {fetch} ORDER BY {', '.join(outer_order)}")

    count = _Builder(spec, relation)
    count_sql = count.statement(f"SELECT count(*) FROM {relation.from_sql}{count.where()}")
    media = {c.name: c.media for c in output if c.media}
    sources = {c.name: c.source for c in output}
    return QueryPlan(page_sql, count_sql, tuple(c.name for c in output), media, sources, tuple(page.patterns), False)


def _aggregate_sql(function: str, column: ResolvedColumn | None) -> str:
    if column is None:
        return "count(*)"
    if function in ("count", "min", "max"):
        return f"{function}({column.value_sql})"
    casts = {"number": column.sql, "bool": f"CAST({column.sql} AS INTEGER)", "null": f"CAST({column.sql} AS DOUBLE)"}
    if column.kind not in casts:
        raise QueryError(
            f"{function} needs a column of numbers or true/false values; {column.name!r} holds {column.type}."
        )
    return f"{'avg' if function == 'mean' else 'sum'}({casts[column.kind]})"


def _plan_grouped(spec: Query, relation: Relation) -> QueryPlan:
    group = spec.group_by
    assert group is not None
    keys = [relation.column(c, "group column") for c in group.columns]
    aggregates = [
        (a.name, _aggregate_sql(a.function, relation.column(a.column, "aggregated column") if a.column else None))
        for a in group.aggregates
    ]
    samples = [c for c in relation.columns.values() if c.kind == "media" and c.name not in group.columns]
    samples = samples if group.samples else []
    # output name -> (expression on the page CTE, its value for sorting on the page CTE, inner sort expression)
    outputs: dict[str, tuple[str, str | None, str | None]] = {}
    for i, key in enumerate(keys):
        on_page = f"p.__g{i}"
        outputs[key.name] = (on_page, f"struct_extract({on_page}, 'uri')" if key.kind == "media" else on_page, None)
    for i, (name, sql) in enumerate(aggregates):
        if name in outputs:
            raise QueryError(f"Two result columns would both be named {name!r}; drop the duplicate aggregate.")
        outputs[name] = (f"p.__a{i}", f"p.__a{i}", sql)
    for i, column in enumerate(samples):
        outputs[f"samples({column.name})"] = (f"COALESCE(f.__m{i}, [])", None, None)
    for name in spec.columns or ():
        if name not in outputs:
            raise unknown_column(name, outputs, "selected column")
    inner_sorts, outer_sorts = [], []
    for item in spec.sort:
        if item.column not in outputs or outputs[item.column][1] is None:
            raise unknown_column(item.column, [n for n, o in outputs.items() if o[1] is not None], "sort column")
        # A group key sorts by its value (uri for media), an aggregate by its expression.
        is_key = item.column in group.columns
        inner = relation.column(item.column).value_sql if is_key else outputs[item.column][2]
        inner_sorts.append(f"{inner} {_direction(item.descending)}")
        outer_sorts.append(f"{outputs[item.column][1]} {_direction(item.descending)}")
    inner_sorts += [f"{k.sql} ASC NULLS LAST" for k in keys]
    outer_sorts += [f"p.__g{i} ASC NULLS LAST" for i in range(len(keys))]

    page = _Builder(spec, relation)
    where = page.where()
    picked = [f"{k.sql} AS __g{i}" for i, k in enumerate(keys)] + [
        f"{s} AS __a{i}" for i, (_, s) in enumerate(aggregates)
    ]
    rows = relation.row_ids()
    row_id = rows[0] if len(rows) == 1 else f"struct_pack(l := {rows[0]}, r := {rows[1]})"
    if samples:
        how_many = page.params.bind(group.samples)
        picked += [
            f"min({row_id}, {how_many}) FILTER (WHERE {c.value_sql} IS NOT NULL) AS __s{i}"
            for i, c in enumerate(samples)
        ]
    group_sql = ", ".join(k.sql for k in keys)
    page.ctes.append(
        f"{_PAGE} AS MATERIALIZED (SELECT row_number() OVER () AS __ord, * FROM (SELECT {', '.join(picked)} "
        f"FROM {relation.from_sql}{where} GROUP BY {group_sql} ORDER BY {', '.join(inner_sorts)} {page.limit()}))"
    )
    body_from = f"{_PAGE} AS p"
    if samples:
        page.ctes.append(
            "__shanty_picked AS ("
            + " UNION ALL ".join(
                f"SELECT __ord, {i} AS __col, unnest(__s{i}) AS __id FROM {_PAGE}" for i in range(len(samples))
            )
            + ")"
        )
        refs = ["q.__id"] if len(rows) == 1 else ["struct_extract(q.__id, 'l')", "struct_extract(q.__id, 'r')"]
        lists = ", ".join(
            f"list({c.sql} ORDER BY q.__id) FILTER (WHERE q.__col = {i}) AS __m{i}" for i, c in enumerate(samples)
        )
        page.ctes.append(
            f"__shanty_fetched AS (SELECT q.__ord, {lists} FROM __shanty_picked AS q "
            f"{relation.fetch_joins(refs)} GROUP BY q.__ord)"
        )
        body_from += " LEFT JOIN __shanty_fetched AS f ON f.__ord = p.__ord"
    names = list(spec.columns or outputs)
    selected = ", ".join(f"{outputs[n][0]} AS {quote(n)}" for n in names)
    page_sql = page.statement(f"SELECT {selected} FROM {body_from} ORDER BY {', '.join(outer_sorts)}")

    count = _Builder(spec, relation)
    count_sql = count.statement(
        f"SELECT count(*) FROM (SELECT 1 FROM {relation.from_sql}{count.where()} GROUP BY {group_sql})"
    )
    media = {k.name: k.media for k in keys if k.media}
    media.update({f"samples({c.name})": c.media for c in samples})
    media = {n: m for n, m in media.items() if n in names and m}
    # A group key or a sample comes from its column's table; an aggregate from its column's (count: the main one).
    main = relation.sources[0].name
    sources = {k.name: k.source for k in keys}
    sources.update({a.name: relation.column(a.column).source if a.column else main for a in group.aggregates})
    sources.update({f"samples({c.name})": c.source for c in samples})
    sources = {n: sources[n] for n in names}
    return QueryPlan(page_sql, count_sql, tuple(names), media, sources, tuple(page.patterns), True)


def plan_query(spec: Query, schemas: Mapping[str, TableSchema | Mapping[str, str]]) -> QueryPlan:
    """Check ``spec`` against ``schemas`` (name -> schema, the first is the main table) and compile it.

    Raises QueryError for unknown tables or columns (naming close matches),
    values that do not fit their column, and expressions that do not parse.
    """
    if not isinstance(spec, Query):
        raise QueryError(f"Expected a Query, not {type(spec).__name__}.")
    relation = Relation(spec, {name: TableSchema.coerce(schema) for name, schema in schemas.items()})
    return _plan_grouped(spec, relation) if spec.group_by is not None else _plan_rows(spec, relation)


def compile_query(spec: Query, schemas: Mapping[str, TableSchema | Mapping[str, str]]) -> CompiledSQL:
    """SQL for the requested page of ``spec`` over ``schemas`` (name -> schema; the first is the main table).

    Identifiers are checked against the schemas (unknown -> QueryError with
    close matches) and quoted; user values, including the Parquet paths
    (:class:`~shanty.query.sql.SourceParam`, see
    :func:`~shanty.query.sql.bind_sources`), are bound parameters.
    """
    return plan_query(spec, schemas).page


def compile_count(spec: Query, schemas: Mapping[str, TableSchema | Mapping[str, str]]) -> CompiledSQL:
    """SQL returning one number: the rows matching ``spec`` (or the groups, when it groups)."""
    return plan_query(spec, schemas).count


def compile_rows(
    spec: Query, schemas: Mapping[str, TableSchema | Mapping[str, str]]
) -> tuple[CompiledSQL, tuple[str, ...]]:
    """SQL selecting every row that ``spec``'s join, filters and expression keep, with the columns it
    shows (``spec.columns``, else all, joined names as :func:`plan_query` names them); sort, grouping and
    page are ignored: the rows a summary of "what the view shows" profiles. ``schemas`` is as for
    :func:`plan_query`. Returns the statement and its regex literals (validate them before running).
    Raises QueryError as :func:`compile_query` does.
    """
    rows_only = replace(spec, group_by=None, sort=(), page=1)
    relation = Relation(rows_only, {name: TableSchema.coerce(schema) for name, schema in schemas.items()})
    builder = _Builder(rows_only, relation)
    where = builder.where()
    shown = [relation.column(c, "selected column") for c in rows_only.columns or relation.columns]
    columns = ", ".join(f"{c.sql} AS {quote(c.name)}" for c in shown)
    return builder.statement(f"SELECT {columns} FROM {relation.from_sql}{where}"), tuple(builder.patterns)
