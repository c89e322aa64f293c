"""The condition AST: what filters and expressions mean, as frozen values.

:mod:`shanty.query.expr` parses expression text into these nodes,
:mod:`shanty.query.operators` builds them from spec filters, and
:mod:`shanty.query.sql` compiles them to SQL with bound parameters. Nothing
here evaluates anything. ``position`` (1-based; None when built from a
filter) is for error messages only, so it takes no part in equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "And",
    "Between",
    "Column",
    "Comparison",
    "Condition",
    "InList",
    "IsNull",
    "Literal",
    "Not",
    "Operand",
    "Or",
    "TextMatch",
    "Truth",
]


@dataclass(frozen=True)
class Column:
    """A column of the queried relation, by its result name (``synth.audio`` after a join)."""

    name: str
    position: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Literal:
    """A value written in the condition: text, a number, true / false or null."""

    value: str | int | float | bool | None
    position: int | None = field(default=None, compare=False)


Operand = Column | Literal


@dataclass(frozen=True)
class Comparison:
    """``left op right`` with ``op`` one of the comparison operators' names (``=``, ``!=``, ``<`` ...)."""

    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True)
class TextMatch:
    """``subject op pattern`` with ``op`` the name of a text operator (``contains``, ``startswith`` ...)."""

    op: str
    subject: Operand
    pattern: Operand


@dataclass(frozen=True)
class InList:
    """``subject in (values...)``; an empty list matches nothing."""

    subject: Operand
    values: tuple[Operand, ...]


@dataclass(frozen=True)
class Between:
    """``subject between low and high``, both bounds included."""

    subject: Operand
    low: Operand
    high: Operand


@dataclass(frozen=True)
class IsNull:
    """``subject is null`` (``is not null`` when ``negated``)."""

    subject: Operand
    negated: bool = False


@dataclass(frozen=True)
class Truth:
    """A bare boolean operand used as a condition."""

    operand: Operand


@dataclass(frozen=True)
class Not:
    """The negation of a condition: true where it is false or null."""

    operand: Condition


@dataclass(frozen=True)
class And:
    """All of ``operands``."""

    operands: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    """Any of ``operands``."""

    operands: tuple[Condition, ...]


Condition = Comparison | TextMatch | InList | Between | IsNull | Truth | Not | And | Or
