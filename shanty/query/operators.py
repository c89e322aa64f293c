"""The filter operators, one row each; everything else about operators is derived from this table.

A row says what an operator is called (its canonical name, and aliases
accepted everywhere: specs, URL tokens, expressions), the shape of its value,
how it becomes a condition of the AST (:mod:`shanty.query.nodes`), how the
expression language writes it, how the UI reads a value typed for it, and,
for text operators, which DuckDB function tests it. From the table come:

* :data:`FILTER_OPS` and the validation of :class:`~shanty.query.Filter`
  (:mod:`shanty.query.spec`),
* the keywords and symbols of the expression parser (:mod:`shanty.query.expr`),
* the conditions the compiler builds from filters (:func:`filter_condition`)
  and the SQL of text operators (:mod:`shanty.query.sql`),
* the UI's parsing of a typed value (:func:`parse_filter_text`).

So a new operator is one row here plus one case in the operator tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import QueryError
from .kinds import KIND_WORDS, coerce_value
from .nodes import Between, Column, Comparison, Condition, InList, IsNull, Literal, Not, TextMatch

__all__ = [
    "FILTER_OPS",
    "OPERATORS",
    "SHAPES",
    "Operator",
    "filter_condition",
    "find_operator",
    "parse_filter_text",
    "spellings",
]

# What a filter's value is: nothing, one scalar, two bounds, or a list of scalars.
SHAPES = ("none", "scalar", "pair", "list")


@dataclass(frozen=True)
class Operator:
    """One filter operator.

    ``build(operator, column, value)`` makes the condition the filter means.
    ``syntax`` says how the expression language writes it: ``"symbol"``
    (``a >= 1``), ``"word"`` (a keyword, ``a contains 'x'``, negated as
    ``a not contains 'x'``), or ``""`` when the grammar has its own form
    (``a in (...)``, ``a between x and y``, ``a is null``).
    ``text_value``: the UI keeps a typed value as text (a pattern) instead
    of converting it to the column's kind. Text operators (``word`` syntax)
    name the DuckDB ``function(subject as text, pattern)`` that tests them,
    whether it ignores case, and whether the pattern is a regular expression
    (which must then be a quoted literal, validated before the query runs).
    """

    name: str
    shape: str
    build: Callable[[Operator, Column, Any], Condition]
    aliases: tuple[str, ...] = ()
    syntax: str = ""
    text_value: bool = False
    function: str | None = None
    ignore_case: bool = False
    regex: bool = False

    def __post_init__(self) -> None:
        # The table is code, but a wrong row should fail at import, not in the middle of a query.
        if self.shape not in SHAPES or self.syntax not in ("", "symbol", "word"):
            raise ValueError(f"operator {self.name!r}: bad shape {self.shape!r} or syntax {self.syntax!r}")
        if (self.syntax == "word") != (self.function is not None):
            raise ValueError(f"operator {self.name!r}: a word operator, and only one, names its SQL function")

    def condition(self, column: str, value: Any) -> Condition:
        """The condition ``column <this operator> value``; ``value`` already has this operator's shape."""
        return self.build(self, Column(column), value)


def _comparison(op: Operator, column: Column, value: Any) -> Condition:
    return Comparison(op.name, column, Literal(value))


def _text_match(op: Operator, column: Column, value: Any) -> Condition:
    return TextMatch(op.name, column, Literal(value))


def _between(op: Operator, column: Column, value: Any) -> Condition:
    return Between(column, Literal(value[0]), Literal(value[1]))


def _in(op: Operator, column: Column, value: Any) -> Condition:
    return InList(column, tuple(Literal(v) for v in value))


def _not_in(op: Operator, column: Column, value: Any) -> Condition:
    return Not(_in(op, column, value))


def _is_null(op: Operator, column: Column, value: Any) -> Condition:
    return IsNull(column, negated=op.name == "not_null")


def _symbol(name: str, *aliases: str) -> Operator:
    """A comparison, written as a symbol: ``a >= 1``."""
    return Operator(name, "scalar", _comparison, aliases, syntax="symbol")


def _word(name: str, *aliases: str, sql: str, ignore_case: bool = False, regex: bool = False) -> Operator:
    """A text operator, written as a keyword and tested by the DuckDB function ``sql(text, pattern)``."""
    return Operator(
        name,
        "scalar",
        _text_match,
        aliases,
        "word",
        text_value=True,
        function=sql,
        ignore_case=ignore_case,
        regex=regex,
    )


OPERATORS: tuple[Operator, ...] = (
    _symbol("=", "=="),
    _symbol("!=", "<>"),
    _symbol("<"),
    _symbol("<="),
    _symbol(">"),
    _symbol(">="),
    Operator("between", "pair", _between),
    Operator("in", "list", _in),
    Operator("not in", "list", _not_in),
    _word("contains", sql="contains", ignore_case=True),
    _word("startswith", "starts_with", sql="starts_with"),
    _word("endswith", "ends_with", sql="ends_with"),
    _word("matches", "regex", sql="regexp_matches", regex=True),
    Operator("is_null", "none", _is_null),
    Operator("not_null", "none", _is_null),
)

FILTER_OPS = tuple(op.name for op in OPERATORS)
_BY_SPELLING = {spelling: op for op in OPERATORS for spelling in (op.name, *op.aliases)}
if len(_BY_SPELLING) != sum(1 + len(op.aliases) for op in OPERATORS):
    raise ValueError("two operators share a name or an alias")


def find_operator(name: str) -> Operator:
    """The operator called ``name`` (its canonical name or an alias); QueryError listing the names otherwise."""
    found = _BY_SPELLING.get(name) if isinstance(name, str) else None
    if found is None:
        raise QueryError(f"Unknown filter operator {name!r}; use one of {', '.join(FILTER_OPS)}.")
    return found


def spellings(syntax: str) -> dict[str, str]:
    """Every name and alias of the operators written with ``syntax`` (``"symbol"`` or ``"word"``) -> canonical name."""
    return {s: op.name for op in OPERATORS if op.syntax == syntax for s in (op.name, *op.aliases)}


def filter_condition(column: str, op: str, value: Any) -> Condition:
    """The condition a filter ``column op value`` means (``value`` shaped as :class:`~shanty.query.Filter` keeps it)."""
    return find_operator(op).condition(column, value)


def parse_filter_text(op: str, raw: str, kind: str, column: str | None = None) -> Any:
    """The value of a filter typed as text in a form, ready for ``Filter(column, op, value)``.

    ``kind`` is the column's kind (see :attr:`~shanty.query.TableSchema.kinds`).
    No-value operators give None; ``in`` / ``not in`` a list and ``between``
    two values, from comma-separated text; text operators keep the text as
    typed; otherwise the trimmed text, converted to a number or true/false
    for columns of those kinds (dates and other kinds stay text: the compiler
    checks them against the column). ``column`` names the column in messages.
    Raises QueryError for an unknown operator or a value that does not fit.
    """
    operator = find_operator(op)
    if operator.shape == "none":
        return None
    if operator.shape in ("pair", "list"):
        parts = [part for part in raw.split(",") if part.strip()]
        if operator.shape == "pair" and len(parts) != 2:
            raise QueryError(f"{operator.name} takes two values separated by a comma, e.g. 1, 5.")
        return [_typed(part, kind, column) for part in parts]
    return raw if operator.text_value else _typed(raw, kind, column)


def _typed(raw: str, kind: str, column: str | None) -> Any:
    text = raw.strip()
    if kind not in ("number", "bool"):
        return text
    about = f"Column {column!r} holds {KIND_WORDS[kind]}" if column else None
    return coerce_value(text, kind, about=about)
