"""SQL building blocks for the query compiler: quoting, parameters, column kinds, conditions.

Every user value goes through :class:`Params` (a ``$n`` placeholder, wrapped
in a ``CAST`` to the type the value was coerced to, so DuckDB never guesses);
every identifier goes through :func:`quote` after it was found in a schema.
Values are coerced in Python against the column's kind, so a bad value is a
:class:`~shanty.query.QueryError` here instead of a DuckDB conversion error
in the middle of a page.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import QueryError
from .expr import (
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

__all__ = [
    "INTEGER_TYPES",
    "Params",
    "ResolvedColumn",
    "compile_condition",
    "kind_of_type",
    "quote",
    "unknown_column",
]

INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
_KIND_WORDS = {
    "number": "numbers",
    "text": "text",
    "media": "media (compared by uri)",
    "bool": "true/false values",
    "date": "dates",
    "timestamp": "timestamps",
    "time": "times of day",
    "null": "only nulls",
    "other": "values that cannot be compared",
}
_TEMPORAL = {"date", "timestamp"}
_INT_PATTERN = re.compile(r"[+-]?[0-9]+")
_SQL_COMPARISON = {"=": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def quote(name: str) -> str:
    """A DuckDB identifier; safe for any text because embedded quotes are doubled."""
    return '"' + name.replace('"', '""') + '"'


def kind_of_type(duck_type: str, media: str | None = None) -> str:
    """Classify a DuckDB type: number, text, bool, date, timestamp, time, media, null or other."""
    if media:
        return "media"
    upper = duck_type.upper().strip()
    if upper == "BOOLEAN":
        return "bool"
    if upper in INTEGER_TYPES or upper in ("FLOAT", "DOUBLE", "REAL") or upper.startswith("DECIMAL"):
        return "number"
    if upper == "VARCHAR":
        return "text"
    if upper == "DATE":
        return "date"
    if upper.startswith("TIMESTAMP"):
        return "timestamp"
    if upper == "TIME":
        return "time"
    if upper.strip('"') == "NULL":
        return "null"
    return "other"


@dataclass(frozen=True)
class ResolvedColumn:
    """A column of the relation being queried: its output name, SQL expression and kind."""

    name: str
    sql: str
    kind: str
    type: str
    media: str | None = None

    @property
    def value_sql(self) -> str:
        """What comparisons and sorting see: the uri for media, the cell otherwise."""
        return f"struct_extract({self.sql}, 'uri')" if self.kind == "media" else self.sql

    @property
    def text_sql(self) -> str:
        """The cell as text, for contains / startswith / matches."""
        if self.kind in ("media", "text"):
            return self.value_sql
        return f"CAST({self.sql} AS VARCHAR)"

    @property
    def value_kind(self) -> str:
        return "text" if self.kind == "media" else self.kind

    @property
    def tz_aware(self) -> bool:
        return "TIME ZONE" in self.type.upper() or self.type.upper() == "TIMESTAMPTZ"


Resolver = Callable[[str, str, "int | None"], ResolvedColumn]


def unknown_column(name: str, candidates: Iterable[str], what: str = "column", position: int | None = None):
    """The QueryError for a name that is not in ``candidates``, suggesting close matches."""
    names = list(candidates)
    # Same name ignoring case, or the same column under a join prefix ('audio' -> 'synth.audio').
    close = [c for c in names if c != name and (c.lower() == name.lower() or c.endswith("." + name))]
    close += [c for c in difflib.get_close_matches(name, names, n=3, cutoff=0.6) if c not in close]
    where = f" at position {position}" if position else ""
    if close:
        hint = "did you mean " + " or ".join(repr(c) for c in close[:3]) + "?"
    elif names:
        hint = "the columns are " + ", ".join(repr(c) for c in names[:12]) + (", ..." if len(names) > 12 else "") + "."
    else:
        hint = "there are no columns."
    return QueryError(f"Unknown {what} {name!r}{where}; {hint}")


class Params:
    """Positional ``$n`` parameters, in the order they were bound."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def bind(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"

    def typed(self, value: Any) -> str:
        return f"CAST({self.bind(value)} AS {_sql_type(value)})"


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


def _literal_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    return "number" if isinstance(value, int | float) else "text"


def _show(value: Any) -> str:
    """A value as the expression language writes it: null, true, 'text', 1.5."""
    if value is None or isinstance(value, bool):
        return str(value).lower() if value is not None else "null"
    return repr(value)


def _at(position: int | None) -> str:
    return f" at position {position}" if position else ""


def _coerce(value: Any, target: ResolvedColumn | None, kind: str, position: int | None) -> Any:
    """``value`` as a Python value of ``kind`` (the kind of ``target``, when a column sets it)."""
    about = f"Column {target.name!r} holds {_KIND_WORDS[target.kind]}" if target else f"This comparison is on {kind}"
    if value is None:
        raise QueryError(f"Comparing with null never matches{_at(position)}; use 'is null' or 'is not null'.")
    if kind == "number":
        if isinstance(value, str) and _INT_PATTERN.fullmatch(value.strip()) and len(value) < 40:
            value = int(value)
        elif isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise QueryError(f"{about}; {_show(value)}{_at(position)} is not a number.") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise QueryError(f"{about}; compare it with a number, not {_show(value)}{_at(position)}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise QueryError(f"{about}; {_show(value)}{_at(position)} is not a finite number.")
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise QueryError(f"The number {value}{_at(position)} is too large; use at most 19 digits.")
        return value
    if kind == "text":
        if isinstance(value, bool):
            raise QueryError(f"{about}; compare it with text, not {_show(value)}{_at(position)}.")
        return value if isinstance(value, str) else str(value)
    if kind == "bool":
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise QueryError(f"{about}; compare it with true or false, not {_show(value)}{_at(position)}.")
        return value
    if kind in ("date", "timestamp", "time"):
        return _coerce_temporal(value, target, kind, about, position)
    if kind == "null":
        return value
    raise QueryError(f"{about}; use 'is null', 'is not null' or 'contains' on it{_at(position)}.")


def _coerce_temporal(value: Any, target: ResolvedColumn | None, kind: str, about: str, position: int | None) -> Any:
    example = "'12:30:00'" if kind == "time" else "'2024-05-01' or '2024-05-01T12:30:00'"
    if not isinstance(value, str):
        raise QueryError(f"{about}; compare it with text like {example}, not {_show(value)}{_at(position)}.")
    text = value.strip()
    try:
        if kind == "time":
            return dt.time.fromisoformat(text)
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(f"{about}; {_show(value)}{_at(position)} is not a date/time like {example}.") from None
    aware = target.tz_aware if target else parsed.tzinfo is not None
    if aware and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)  # naive text means UTC, as the engine's session does
    elif not aware and parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


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
                f"Column {target.name!r} holds {target.type} values{_at(operands[0].position)}; "
                "only 'is null', 'is not null' and 'contains' work on it."
            )
        for column, operand in zip(columns, operands, strict=True):
            if column is not None and not _comparable(kind, column.value_kind):
                raise QueryError(
                    f"Column {target.name!r} holds {_KIND_WORDS[target.kind]} but {column.name!r} holds "
                    f"{_KIND_WORDS[column.kind]}{_at(operand.position)}; compare columns of the same kind."
                )
    else:
        kinds = {_literal_kind(o.value) for o in operands if isinstance(o, Literal) and o.value is not None}
        kind = kinds.pop() if len(kinds) == 1 else ("text" if not kinds else "")
        if not kind:
            raise QueryError(f"Cannot compare values of different kinds{_at(operands[0].position)}; quote or fix one.")
    out = []
    for column, operand in zip(columns, operands, strict=True):
        if column is not None:
            out.append(column.value_sql)
        else:
            assert isinstance(operand, Literal)
            out.append(params.typed(_coerce(operand.value, target, kind, operand.position)))
    return out


def _text(operand: Operand, resolve: Resolver, params: Params, what: str) -> str:
    if isinstance(operand, Column):
        return resolve(operand.name, "column", operand.position).text_sql
    if operand.value is None:
        raise QueryError(f"The {what} is null{_at(operand.position)}; give text.")
    value = operand.value
    return params.typed(str(value).lower() if isinstance(value, bool) else str(value))


def compile_condition(node: Condition, resolve: Resolver, params: Params, patterns: list[str]) -> str:
    """SQL for a condition AST; null cells make a test false, and ``not`` turns that into true.

    ``patterns`` collects regex literals so the engine can validate them first.
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
    subject = _text(node.subject, resolve, params, f"text searched by {node.op}")
    pattern = node.pattern
    if node.op == "matches":
        if not isinstance(pattern, Literal) or not isinstance(pattern.value, str):
            raise QueryError(f"'matches' needs a quoted regular expression{_at(_position(pattern))}, like '^a.*b$'.")
        patterns.append(pattern.value)
        return f"regexp_matches({subject}, {params.typed(pattern.value)})"
    pattern_sql = _text(pattern, resolve, params, f"{node.op} pattern")
    if node.op == "startswith":
        return f"starts_with({subject}, {pattern_sql})"
    # contains ignores case; a pattern with no letters needs no lower() (twice as fast on big tables).
    if isinstance(pattern, Literal) and str(pattern.value).lower() == str(pattern.value).upper():
        return f"contains({subject}, {pattern_sql})"
    return f"contains(lower({subject}), lower({pattern_sql}))"


def _truth(operand: Operand, resolve: Resolver, params: Params) -> str:
    if isinstance(operand, Column):
        column = resolve(operand.name, "column", operand.position)
        if column.kind == "bool":
            return column.sql
        if column.kind == "null":
            return f"CAST({column.sql} AS BOOLEAN)"
        raise QueryError(
            f"Column {operand.name!r}{_at(operand.position)} holds {_KIND_WORDS[column.kind]}, not true/false; "
            f"compare it with something, e.g. {operand.name} = ..."
        )
    if isinstance(operand.value, bool):
        return params.typed(operand.value)
    raise QueryError(f"{_show(operand.value)}{_at(operand.position)} is not a condition; compare it with a column.")


def _position(operand: Operand) -> int | None:
    return operand.position
