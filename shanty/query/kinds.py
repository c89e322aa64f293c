"""Column kinds: how the query family classifies DuckDB types, and how a value is made to fit one.

A column's *kind* (number, text, bool, date, timestamp, time, media, null or
other) decides what a condition may compare it with; :func:`kind_of_type`
is the one classification, used by the compiler, the summaries,
:attr:`~shanty.query.TableSchema.kinds` and the dashboard's widgets.
:func:`coerce_value` turns a user value (often text typed in a form or an
expression) into the Python value of a kind, or raises a QueryError that says
what was expected, so a bad value never reaches DuckDB.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from ..errors import QueryError

__all__ = [
    "COLUMN_KINDS",
    "INTEGER_TYPES",
    "KIND_WORDS",
    "at_position",
    "coerce_value",
    "kind_of_type",
    "kind_of_value",
    "show_value",
]

INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)
# Each kind, as a message says what a column of it holds.
KIND_WORDS = {
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
COLUMN_KINDS = tuple(KIND_WORDS)
_INT_PATTERN = re.compile(r"[+-]?[0-9]+")


def kind_of_type(duck_type: str, media: str | None = None) -> str:
    """Classify a DuckDB type (as ``DESCRIBE`` prints it): one of :data:`COLUMN_KINDS`.

    ``media`` is the column's media kind, if any: a media column is ``media``
    whatever its struct type.
    """
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


def kind_of_value(value: Any) -> str:
    """The kind of a literal written in a condition: null, bool, number or text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    return "number" if isinstance(value, int | float) else "text"


def show_value(value: Any) -> str:
    """A value as the expression language writes it, for messages: null, true, 'text', 1.5."""
    if value is None or isinstance(value, bool):
        return str(value).lower() if value is not None else "null"
    return repr(value)


def at_position(position: int | None) -> str:
    """`` at position N`` for a message about expression text, or nothing for a filter."""
    return f" at position {position}" if position else ""


def coerce_value(
    value: Any, kind: str, *, about: str | None = None, tz_aware: bool | None = None, position: int | None = None
) -> Any:
    """``value`` as a Python value of column kind ``kind``; QueryError when it cannot be one.

    Text is parsed (``'7'`` for a number, ``'true'`` for a bool, ISO text for
    dates and times, which come back as ``datetime`` values: naive ones are
    UTC when ``tz_aware``, aware ones are moved to naive UTC when it is False).
    ``about`` starts the message (e.g. "Column 'plays' holds numbers");
    ``position`` places it in an expression. Null never compares: QueryError.
    """
    about = about or f"This comparison is on {kind}"
    where = at_position(position)
    if value is None:
        raise QueryError(f"Comparing with null never matches{where}; use 'is null' or 'is not null'.")
    if kind == "number":
        if isinstance(value, str) and _INT_PATTERN.fullmatch(value.strip()) and len(value) < 40:
            value = int(value)
        elif isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise QueryError(f"{about}; {show_value(value)}{where} is not a number.") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise QueryError(f"{about}; compare it with a number, not {show_value(value)}{where}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise QueryError(f"{about}; {show_value(value)}{where} is not a finite number.")
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise QueryError(f"The number {value}{where} is too large; use at most 19 digits.")
        return value
    if kind == "text":
        if isinstance(value, bool):
            raise QueryError(f"{about}; compare it with text, not {show_value(value)}{where}.")
        return value if isinstance(value, str) else str(value)
    if kind == "bool":
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if not isinstance(value, bool):
            raise QueryError(f"{about}; compare it with true or false, not {show_value(value)}{where}.")
        return value
    if kind in ("date", "timestamp", "time"):
        return _coerce_temporal(value, kind, about, tz_aware, where)
    if kind == "null":
        return value
    raise QueryError(f"{about}; use 'is null', 'is not null' or 'contains' on it{where}.")


def _coerce_temporal(value: Any, kind: str, about: str, tz_aware: bool | None, where: str) -> Any:
    example = "'12:30:00'" if kind == "time" else "'2024-05-01' or '2024-05-01T12:30:00'"
    if not isinstance(value, str):
        raise QueryError(f"{about}; compare it with text like {example}, not {show_value(value)}{where}.")
    text = value.strip()
    try:
        if kind == "time":
            return dt.time.fromisoformat(text)
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(f"{about}; {show_value(value)}{where} is not a date/time like {example}.") from None
    aware = tz_aware if tz_aware is not None else parsed.tzinfo is not None
    if aware and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)  # naive text means UTC, as the engine's session does
    elif not aware and parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed
