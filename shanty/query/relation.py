"""What a query reads: the main table, or two tables joined, seen as one set of named columns.

The naming of joined columns lives here and only here: key columns keep
their name (coalesced for outer joins) and belong to the main table; every
other column is ``<source name>.<column>``, e.g. ``synth.audio``.
:func:`relation_schema` gives that joined schema to the dashboard's widgets,
:func:`join_prefix` the short source names the dashboard gives two tables,
and the compiler (:mod:`shanty.query.compile`) resolves names through
:class:`Relation`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..errors import QueryError
from .database import numbered_rows
from .kinds import kind_of_type
from .spec import Query, TableSchema
from .sql import Params, ResolvedColumn, SourceParam, quote, unknown_column, unused_name

__all__ = ["Relation", "join_prefix", "relation_schema"]

_JOIN_SQL = {"inner": "JOIN", "left": "LEFT JOIN", "outer": "FULL OUTER JOIN"}


def join_prefix(table_name: str, other: str | None = None) -> str:
    """A short source name for a table in a join: ``synth_song_samples`` -> ``synth``.

    The table name up to its first ``_`` (other characters than letters,
    digits and ``_`` count as ``_``), ``t`` when that is empty; ``other`` is
    the prefix already taken by the other side, and a clash gets a ``2``.
    """
    name = re.sub(r"[^A-Za-z0-9_]", "_", table_name).split("_")[0] or "t"
    return name + "2" if name == other else name


@dataclass(frozen=True)
class _Source:
    name: str
    alias: str  # l or r
    cte: str
    row: str  # quoted row-number column added by the CTE
    schema: TableSchema

    def cte_sql(self, params: Params) -> str:
        rows = numbered_rows(params.bind(SourceParam(self.name)), self.row, self.schema.columns)
        return f"{self.cte} AS NOT MATERIALIZED {rows}"


def _source(name: str, index: int, schema: TableSchema) -> _Source:
    for column in schema.media:
        if column not in schema.columns:
            raise QueryError(f"The schema of {name!r} lists media column {column!r} but has no such column.")
    row = unused_name("__shanty_row", schema.columns)
    return _Source(name, "lr"[index], f"__shanty_src{index}", quote(row), schema)


class Relation:
    """The columns a query over ``schemas`` sees (name -> :class:`ResolvedColumn`, in result order).

    ``schemas`` maps source name -> schema, the first being the main table;
    only the main table and ``spec.join``'s table are read. Raises QueryError
    for an unknown joined table, a self-join, missing or mismatched keys and
    colliding result names.
    """

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
                self._add(name, f"l.{quote(name)}", type_, main.schema.media.get(name), main.name)
            self.from_sql = f"{main.cte} AS l"
            return
        if join.source not in schemas:
            raise unknown_column(join.source, names, "table")
        if join.source == main.name:
            raise QueryError(f"Table {main.name!r} cannot be joined with itself; give the second copy another name.")
        other = _source(join.source, 1, schemas[join.source])
        self.sources.append(other)
        conditions = []
        right_keys = join.right_on or join.on
        for key, right_key in zip(join.on, right_keys, strict=True):
            left, right = _key_column(main, key), _key_column(other, right_key)
            if not (left.kind == right.kind != "other" or {left.kind, right.kind} <= {"date", "timestamp"}):
                named = repr(key) if key == right_key else f"{key!r} = {right_key!r}"
                raise QueryError(
                    f"Join key {named} holds {left.kind} values in {main.name!r} but {right.kind} values in "
                    f"{other.name!r}; join on columns of the same kind."
                )
            conditions.append(f"{left.sql} = {right.sql}")
            sql = f"l.{quote(key)}" if join.how != "outer" else f"COALESCE(l.{quote(key)}, r.{quote(right_key)})"
            self._add(key, sql, main.schema.columns[key], main.schema.media.get(key), main.name)
        for side, keys in ((main, join.on), (other, right_keys)):
            for name, type_ in side.schema.columns.items():
                if name not in keys:
                    sql = f"{side.alias}.{quote(name)}"
                    self._add(f"{side.name}.{name}", sql, type_, side.schema.media.get(name), side.name)
        self.from_sql = f"{main.cte} AS l {_JOIN_SQL[join.how]} {other.cte} AS r ON {' AND '.join(conditions)}"

    def _add(self, name: str, sql: str, type_: str, media: str | None, source: str) -> None:
        if name in self.columns:
            raise QueryError(f"Two columns of the joined table would both be named {name!r}; rename one of them.")
        self.columns[name] = ResolvedColumn(name, sql, kind_of_type(type_, media), type_, media, source)

    def column(self, name: str, what: str = "column", position: int | None = None) -> ResolvedColumn:
        """The column called ``name``; QueryError naming close matches when there is none."""
        if name not in self.columns:
            raise unknown_column(name, self.columns, what, position)
        return self.columns[name]

    def ctes(self, params: Params) -> list[str]:
        """The sources' CTEs (``read_parquet`` with row numbers), their paths bound in ``params``."""
        return [source.cte_sql(params) for source in self.sources]

    def row_ids(self) -> list[str]:
        """SQL of each source's row number, main table first."""
        return [f"{source.alias}.{source.row}" for source in self.sources]

    def fetch_joins(self, row_refs: list[str]) -> str:
        """Joins that bring back the full rows whose row numbers are ``row_refs``."""
        return " ".join(
            f"LEFT JOIN {s.cte} AS {s.alias} ON {s.alias}.{s.row} = {ref}"
            for s, ref in zip(self.sources, row_refs, strict=True)
        )

    def schema(self) -> TableSchema:
        """The columns as a :class:`TableSchema` (result name -> DuckDB type, media columns -> kind)."""
        return TableSchema(
            MappingProxyType({name: c.type for name, c in self.columns.items()}),
            MappingProxyType({name: c.media for name, c in self.columns.items() if c.media}),
            MappingProxyType({name: c.source for name, c in self.columns.items()} if len(self.sources) > 1 else {}),
        )


def _key_column(side: _Source, key: str) -> ResolvedColumn:
    if key not in side.schema.columns:
        raise unknown_column(key, side.schema.columns, f"join key in table {side.name!r}")
    type_, media = side.schema.columns[key], side.schema.media.get(key)
    column = ResolvedColumn(key, f"{side.alias}.{quote(key)}", kind_of_type(type_, media), type_, media, side.name)
    # Media keys join on their uri: the same file with another caption is the same media.
    return ResolvedColumn(key, column.value_sql, column.value_kind, type_, media, side.name)


def relation_schema(spec: Query, schemas: Mapping[str, TableSchema | Mapping[str, str]]) -> TableSchema:
    """The schema a query with ``spec``'s join sees over ``schemas`` (source name -> schema, main table first).

    Without a join, the main table's schema; with one, the keys (unprefixed,
    of the main table) then ``<source>.<column>`` for every other column of
    both tables, named exactly as :func:`~shanty.query.run_query` names its
    result columns. Only ``spec.join`` matters. Raises QueryError as a query
    with that join would (unknown table or key, keys of different kinds).
    """
    return Relation(spec, {name: TableSchema.coerce(schema) for name, schema in schemas.items()}).schema()
