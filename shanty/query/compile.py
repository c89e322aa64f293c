"""Compile a :class:`~shanty.query.Query` into DuckDB SQL with bound parameters.

Safety: user text reaches the SQL only as quoted identifiers that were first
found in the table schemas, or as ``$n`` parameters (the Parquet paths too,
as :class:`~shanty.query.SourceParam`). The rest of the SQL is ours.

Shape of a page query, chosen for pages of tables with millions of rows: each
source is a CTE over ``read_parquet`` with a row number; the page is first
found on narrow data (row numbers and sort keys, so DuckDB's top-N never
carries wide media structs), then only those rows are fetched, which DuckDB
turns into a row-number range filter on the Parquet scan. Ties are broken by
row number, so paging is deterministic. Grouped pages find their media
samples the same way: the first row numbers per group, then only those cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import QueryError
from .expr import Between, Column, Comparison, Condition, InList, IsNull, Literal, Not, TextMatch, parse_expression
from .spec import CompiledSQL, Filter, Query, SourceParam, TableSchema
from .sql import Params, ResolvedColumn, compile_condition, kind_of_type, quote, unknown_column

__all__ = ["QueryPlan", "plan_query"]

_JOIN_SQL = {"inner": "JOIN", "left": "LEFT JOIN", "outer": "FULL OUTER JOIN"}
_TEXT_OPS = {"contains": "contains", "starts_with": "startswith", "regex": "matches"}
_PAGE = "__shanty_page"


@dataclass(frozen=True)
class QueryPlan:
    """What the engine runs: the page and count statements, and the page's shape."""

    page: CompiledSQL
    count: CompiledSQL
    columns: tuple[str, ...]
    media: Mapping[str, str]  # output column -> media kind (``samples(...)`` columns hold lists)
    patterns: tuple[str, ...]  # regex literals, validated before running
    grouped: bool


@dataclass(frozen=True)
class _Source:
    name: str
    alias: str  # l or r
    cte: str
    row: str  # quoted row-number column added by the CTE
    schema: TableSchema

    def cte_sql(self, params: Params) -> str:
        numbering = "file_row_number"
        if "file_row_number" in self.schema.columns:
            # A column of that name shadows DuckDB's virtual one; number rows in scan order instead (slower).
            numbering = "row_number() OVER () - 1"
        path = params.bind(SourceParam(self.name))
        return f"{self.cte} AS NOT MATERIALIZED (SELECT *, {numbering} AS {self.row} FROM read_parquet({path}))"


def _source(name: str, index: int, schema: TableSchema) -> _Source:
    for column in schema.media:
        if column not in schema.columns:
            raise QueryError(f"The schema of {name!r} lists media column {column!r} but has no such column.")
    row = "__shanty_row"
    while row in schema.columns:
        row += "_"
    return _Source(name, "lr"[index], f"__shanty_src{index}", quote(row), schema)


class _Relation:
    """The main table, or the join of two, seen as one set of named columns."""

    def __init__(self, spec: Query, schemas: Mapping[str, TableSchema]):
        if not schemas:
            raise QueryError("There is no table to query; give at least one source.")
        names = list(schemas)
        main = _source(names[0], 0, schemas[names[0]])
        self.sources = [main]
        self.columns: dict[str, ResolvedColumn] = {}
        join = spec.join
        if join is None:
            for name, type_ in main.schema.columns.items():
                self._add(name, f"l.{quote(name)}", type_, main.schema.media.get(name))
            self.from_sql = f"{main.cte} AS l"
            return
        if join.source not in schemas:
            raise unknown_column(join.source, names, "table")
        if join.source == main.name:
            raise QueryError(f"Table {main.name!r} cannot be joined with itself; give the second copy another name.")
        other = _source(join.source, 1, schemas[join.source])
        self.sources.append(other)
        conditions = []
        for key in join.on:
            left, right = (_key_column(side, key) for side in (main, other))
            if not (left.kind == right.kind != "other" or {left.kind, right.kind} <= {"date", "timestamp"}):
                raise QueryError(
                    f"Join key {key!r} holds {left.kind} values in {main.name!r} but {right.kind} values in "
                    f"{other.name!r}; join on columns of the same kind."
                )
            conditions.append(f"{left.sql} = {right.sql}")
            sql = f"l.{quote(key)}" if join.how != "outer" else f"COALESCE(l.{quote(key)}, r.{quote(key)})"
            self._add(key, sql, main.schema.columns[key], main.schema.media.get(key))
        for side in (main, other):
            for name, type_ in side.schema.columns.items():
                if name not in join.on:
                    self._add(f"{side.name}.{name}", f"{side.alias}.{quote(name)}", type_, side.schema.media.get(name))
        self.from_sql = f"{main.cte} AS l {_JOIN_SQL[join.how]} {other.cte} AS r ON {' AND '.join(conditions)}"

    def _add(self, name: str, sql: str, type_: str, media: str | None) -> None:
        if name in self.columns:
            raise QueryError(f"Two columns of the joined table would both be named {name!r}; rename one of them.")
        self.columns[name] = ResolvedColumn(name, sql, kind_of_type(type_, media), type_, media)

    def column(self, name: str, what: str = "column", position: int | None = None) -> ResolvedColumn:
        if name not in self.columns:
            raise unknown_column(name, self.columns, what, position)
        return self.columns[name]

    def ctes(self, params: Params) -> list[str]:
        return [source.cte_sql(params) for source in self.sources]

    def row_ids(self) -> list[str]:
        return [f"{source.alias}.{source.row}" for source in self.sources]

    def fetch_joins(self, row_refs: list[str]) -> str:
        """Joins that bring back the full rows whose row numbers are ``row_refs``."""
        return " ".join(
            f"LEFT JOIN {s.cte} AS {s.alias} ON {s.alias}.{s.row} = {ref}"
            for s, ref in zip(self.sources, row_refs, strict=True)
        )


def _key_column(side: _Source, key: str) -> ResolvedColumn:
    if key not in side.schema.columns:
        raise unknown_column(key, side.schema.columns, f"join key in table {side.name!r}")
    type_, media = side.schema.columns[key], side.schema.media.get(key)
    column = ResolvedColumn(key, f"{side.alias}.{quote(key)}", kind_of_type(type_, media), type_, media)
    # Media keys join on their uri: the same file with another caption is the same media.
    return ResolvedColumn(key, column.value_sql, column.value_kind, type_, media)


def _filter_condition(item: Filter) -> Condition:
    column, op, value = Column(item.column), item.op, item.value
    if op in ("is_null", "not_null"):
        return IsNull(column, negated=op == "not_null")
    if op == "between":
        return Between(column, Literal(value[0]), Literal(value[1]))
    if op in ("in", "not in"):
        condition: Condition = InList(column, tuple(Literal(v) for v in value))
        return Not(condition) if op == "not in" else condition
    if op in _TEXT_OPS:
        return TextMatch(_TEXT_OPS[op], column, Literal(value))
    return Comparison(op, column, Literal(value))


class _Builder:
    """Shared state while compiling one statement: parameters and regex patterns."""

    def __init__(self, spec: Query, relation: _Relation):
        self.spec, self.relation = spec, relation
        self.params = Params()
        self.patterns: list[str] = []
        self.ctes = relation.ctes(self.params)

    def where(self) -> str:
        spec, parts = self.spec, []
        if spec.filters:
            compiled = [self.condition(_filter_condition(f)) for f in spec.filters]
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


def _plan_rows(spec: Query, relation: _Relation) -> QueryPlan:
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
    return QueryPlan(page_sql, count_sql, tuple(c.name for c in output), media, tuple(page.patterns), False)


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


def _plan_grouped(spec: Query, relation: _Relation) -> QueryPlan:
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
    return QueryPlan(page_sql, count_sql, tuple(names), media, tuple(page.patterns), True)


def plan_query(spec: Query, schemas: Mapping[str, TableSchema | Mapping[str, str]]) -> QueryPlan:
    """Check ``spec`` against ``schemas`` (name -> schema, the first is the main table) and compile it.

    Raises QueryError for unknown tables or columns (naming close matches),
    values that do not fit their column, and expressions that do not parse.
    """
    if not isinstance(spec, Query):
        raise QueryError(f"Expected a Query, not {type(spec).__name__}.")
    relation = _Relation(spec, {name: TableSchema.coerce(schema) for name, schema in schemas.items()})
    return _plan_grouped(spec, relation) if spec.group_by is not None else _plan_rows(spec, relation)
