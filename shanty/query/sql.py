"""SQL building blocks of the query family: quoting, parameters, resolved columns, conditions.

Every user value goes through :class:`Params` (a ``$n`` placeholder, wrapped
in a ``CAST`` to the type the value was coerced to, so DuckDB never guesses);
every identifier goes through :func:`quote` after it was found in a schema.
Values are coerced in Python against the column's kind
(:func:`~shanty.query.kinds.coerce_value`), so a bad value is a
:class:`~shanty.errors.QueryError` here instead of a DuckDB conversion error
in the middle of a page. Text operators are compiled from their row of the
operator table (:mod:`shanty.query.operators`).
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import QueryError
from .kinds import KIND_WORDS, at_position, coerce_value, kind_of_value, show_value
from .nodes import (
    And,
    Between,
    Column,
    Comparison,
    Condition,
    InList,
    IsNull,
    Literal,
    Not,
    Operand,
    Or,
    TextMatch,
    Truth,
)
from .operators import find_operator

__all__ = [
    "Params",
    "ResolvedColumn",
    "SourceParam",
    "bind_sources",
    "compile_condition",
    "quote",
    "unknown_column",
    "unused_name",
]

_TEMPORAL = {"date", "timestamp"}
_SQL_COMPARISON = {"=": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def quote(name: str) -> str:
    """A DuckDB identifier; safe for any text because embedded quotes are doubled."""
    return '"' + name.replace('"', '""') + '"'


def unused_name(base: str, *taken: Collection[str]) -> str:
    """``base``, with underscores appended until no collection in ``taken`` holds it (for internal columns)."""
    name = base
    while any(name in names for names in taken):
        name += "_"
    return name


@dataclass(frozen=True)
class ResolvedColumn:
    """A column of the relation being queried: its output name, SQL expression, kind and source table."""

    name: str
    sql: str
    kind: str
    type: str
    media: str | None = None
    source: str = ""  # the name of the table it comes from (a join key: the main table)

    @property
    def value_sql(self) -> str:
        """What comparisons and sorting see: the uri for media, the cell otherwise."""
        return f"struct_extract({self.sql}, 'uri')" if self.kind == "media" else self.sql

    @property
    def text_sql(self) -> str:
        """The cell as text, for the text operators."""
        if self.kind in ("media", "text"):
            return self.value_sql
        return f"CAST({self.sql} AS VARCHAR)"

    @property
    def value_kind(self) -> str:
        """The kind of :attr:`value_sql`: text for media (its uri), the column's kind otherwise."""
        return "text" if self.kind == "media" else self.kind

    @property
    def tz_aware(self) -> bool:
        """Whether the column holds timestamps with a time zone."""
        return "TIME ZONE" in self.type.upper() or self.type.upper() == "TIMESTAMPTZ"


Resolver = Callable[[str, str, "int | None"], ResolvedColumn]


def unknown_column(
    name: str, candidates: Iterable[str], what: str = "column", position: int | None = None
) -> QueryError:
    """The QueryError for a name that is not in ``candidates``, suggesting close matches (to raise)."""
    names = list(candidates)
    # Same name ignoring case, or the same column under a join prefix ('audio' -> 'synth.audio').
    close = [c for c in names if c != name and (c.lower() == name.lower() or c.endswith("." + name))]
    close += [c for c in difflib.get_close_matches(name, names, n=3, cutoff=0.6) if c not in close]
    if close:
        hint = "did you mean " + " or ".join(repr(c) for c in close[:3]) + "?"
    elif names:
        hint = "the columns are " + ", ".join(repr(c) for c in names[:12]) + (", ..." if len(names) > 12 else "") + "."
    else:
        hint = "there are no columns."
    return QueryError(f"Unknown {what} {name!r}{at_position(position)}; {hint}")


class Params:
    """Positional ``$n`` parameters, in the order they were bound."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def bind(self, value: Any) -> str:
        """Add ``value``; returns its placeholder."""
        self.values.append(value)
        return f"${len(self.values)}"

    def typed(self, value: Any) -> str:
        """Add ``value``; returns its placeholder cast to the SQL type of the Python value."""
        return f"CAST({self.bind(value)} AS {_sql_type(value)})"


@dataclass(frozen=True)
class SourceParam:
    """Placeholder parameter for the Parquet path of source ``name``; see :func:`bind_sources`.

    Compiled SQL names its tables this way so that it does not depend on
    where the files are, and can be cached and compared.
    """

    name: str


def bind_sources(params: Iterable[Any], paths: Mapping[str, Any]) -> list[Any]:
    """Replace every :class:`SourceParam` with the path of its table, ready for ``execute``."""
    return [str(paths[p.name]) if isinstance(p, SourceParam) else p for p in params]


def _sql_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "BIGINT"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, dt.datetime):
        return "TIMESTAMPTZ" if value.tzinfo is not None else "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    if isinstance(value, dt.time):
        return "TIME"
    return "VARCHAR"


def _comparable(a: str, b: str) -> bool:
    return a == b != "other" or {a, b} <= _TEMPORAL or ("null" in (a, b) and "other" not in (a, b))


def _unify(operands: list[Operand], resolve: Resolver, params: Params) -> list[str]:
    """SQL for operands that are compared with each other, checking that their kinds agree."""
    columns = [resolve(o.name, "column", o.position) if isinstance(o, Column) else None for o in operands]
    target = next((c for c in columns if c is not None and c.kind != "null"), None)
    if target is not None:
        kind = target.value_kind
        if kind == "other":
            raise QueryError(
                f"Column {target.name!r} holds {target.type} values{at_position(operands[0].position)}; "
                "only 'is null', 'is not null' and 'contains' work on it."
            )
        for column, operand in zip(columns, operands, strict=True):
            if column is not None and not _comparable(kind, column.value_kind):
                raise QueryError(
                    f"Column {target.name!r} holds {KIND_WORDS[target.kind]} but {column.name!r} holds "
                    f"{KIND_WORDS[column.kind]}{at_position(operand.position)}; compare columns of the same kind."
                )
    else:
        kinds = {kind_of_value(o.value) for o in operands if isinstance(o, Literal) and o.value is not None}
        kind = kinds.pop() if len(kinds) == 1 else ("text" if not kinds else "")
        if not kind:
            raise QueryError(
                f"Cannot compare values of different kinds{at_position(operands[0].position)}; quote or fix one."
            )
    about = f"Column {target.name!r} holds {KIND_WORDS[target.kind]}" if target else None
    out = []
    for column, operand in zip(columns, operands, strict=True):
        if column is not None:
            out.append(column.value_sql)
        else:
            assert isinstance(operand, Literal)
            value = coerce_value(
                operand.value,
                kind,
                about=about,
                tz_aware=target.tz_aware if target else None,
                position=operand.position,
            )
            out.append(params.typed(value))
    return out


def _text(operand: Operand, resolve: Resolver, params: Params, what: str) -> str:
    if isinstance(operand, Column):
        return resolve(operand.name, "column", operand.position).text_sql
    if operand.value is None:
        raise QueryError(f"The {what} is null{at_position(operand.position)}; give text.")
    value = operand.value
    return params.typed(str(value).lower() if isinstance(value, bool) else str(value))


def compile_condition(node: Condition, resolve: Resolver, params: Params, patterns: list[str]) -> str:
    """SQL for a condition AST; null cells make a test false, and ``not`` turns that into true.

    ``resolve(name, what, position)`` finds a column (or raises QueryError);
    values are bound in ``params``; ``patterns`` collects regex literals so
    the engine can validate them before running. Raises QueryError when
    operands do not fit their columns.
    """
    if isinstance(node, And | Or):
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(compile_condition(o, resolve, params, patterns) for o in node.operands) + ")"
    if isinstance(node, Not):
        # IS NOT TRUE keeps rows where the inner test is null: not (x = 1) matches x = null.
        return f"(({compile_condition(node.operand, resolve, params, patterns)}) IS NOT TRUE)"
    if isinstance(node, Comparison):
        left, right = _unify([node.left, node.right], resolve, params)
        if node.op == "!=":
            return f"(({left} = {right}) IS NOT TRUE)"
        return f"({left} {_SQL_COMPARISON[node.op]} {right})"
    if isinstance(node, Between):
        subject, low, high = _unify([node.subject, node.low, node.high], resolve, params)
        return f"({subject} BETWEEN {low} AND {high})"
    if isinstance(node, InList):
        if not node.values:
            _unify([node.subject], resolve, params)  # still check the column exists
            return "FALSE"
        subject, *values = _unify([node.subject, *node.values], resolve, params)
        return f"({subject} IN ({', '.join(values)}))"
    if isinstance(node, IsNull):
        test = "IS NOT NULL" if node.negated else "IS NULL"
        if isinstance(node.subject, Column):
            column = resolve(node.subject.name, "column", node.subject.position)
            return f"({column.value_sql} {test})"
        return "TRUE" if (node.subject.value is None) != node.negated else "FALSE"
    if isinstance(node, TextMatch):
        return _text_match(node, resolve, params, patterns)
    if isinstance(node, Truth):
        return _truth(node.operand, resolve, params)
    raise TypeError(f"not a condition node: {node!r}")


def _text_match(node: TextMatch, resolve: Resolver, params: Params, patterns: list[str]) -> str:
    operator = find_operator(node.op)
    if operator.function is None:
        raise TypeError(f"{node.op!r} is not a text operator")
    subject = _text(node.subject, resolve, params, f"text searched by {operator.name}")
    pattern = node.pattern
    if operator.regex:
        if not isinstance(pattern, Literal) or not isinstance(pattern.value, str):
            raise QueryError(
                f"'{operator.name}' needs a quoted regular expression{at_position(pattern.position)}, like '^a.*b$'."
            )
        patterns.append(pattern.value)
        pattern_sql = params.typed(pattern.value)
    else:
        pattern_sql = _text(pattern, resolve, params, f"{operator.name} pattern")
    # A literal pattern with no letters needs no lower() (twice as fast on big tables).
    if operator.ignore_case and not (
        isinstance(pattern, Literal) and str(pattern.value).lower() == str(pattern.value).upper()
    ):
        subject, pattern_sql = f"lower({subject})", f"lower({pattern_sql})"
    return f"{operator.function}({subject}, {pattern_sql})"


def _truth(operand: Operand, resolve: Resolver, params: Params) -> str:
    if isinstance(operand, Column):
        column = resolve(operand.name, "column", operand.position)
        if column.kind == "bool":
            return column.sql
        if column.kind == "null":
            return f"CAST({column.sql} AS BOOLEAN)"
        raise QueryError(
            f"Column {operand.name!r}{at_position(operand.position)} holds {KIND_WORDS[column.kind]}, "
            f"not true/false; compare it with something, e.g. {operand.name} = ..."
        )
    if isinstance(operand.value, bool):
        return params.typed(operand.value)
    raise QueryError(
        f"{show_value(operand.value)}{at_position(operand.position)} is not a condition; compare it with a column."
    )
