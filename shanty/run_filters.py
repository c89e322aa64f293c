"""W&B's run filters (``Api().runs(path, filters={...})``): MongoDB-style queries, evaluated in Python.

A filter is a mapping of field paths to conditions, combined with ``$and``
/ ``$or`` / ``$nor``::

    {"state": "finished", "config.lr": {"$lt": 0.01}, "summary_metrics.acc": {"$gte": 0.9}}

Field paths name a run document (see :func:`matches`): ``id``, ``name`` /
``display_name``, ``state``, ``job_type``, ``created_at``, ``tags``,
``config.<key>`` (W&B's ``config.<key>.value`` too) and
``summary_metrics.<key>`` (``summary.<key>`` too); dots go into nested dicts.
Operators live in one table, :data:`OPERATORS`; nothing reaches ``eval``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .errors import InvalidInputError

__all__ = ["OPERATORS", "check_filters", "matches", "run_document", "sort_key"]

_MISSING = object()


def _compare(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def run(value: Any, operand: Any) -> bool:
        if value is _MISSING or value is None:
            return False
        try:
            return bool(test(value, operand))
        except TypeError:  # a number against text: no match, as in MongoDB
            return False

    return run


def _equal(value: Any, operand: Any) -> bool:
    if isinstance(value, list) and not isinstance(operand, list):
        return operand in value  # MongoDB: a list field matches when it holds the value (tags)
    return value is not _MISSING and value == operand


def _in(value: Any, operand: Any) -> bool:
    return any(_equal(value, item) for item in operand)


def _regex(value: Any, operand: Any) -> bool:
    return isinstance(value, str) and re.search(operand, value) is not None


# name -> (test(value, operand), what the operand must be, check of the operand)
OPERATORS: dict[str, tuple[Callable[[Any, Any], bool], str, Callable[[Any], bool]]] = {
    "$eq": (_equal, "a value", lambda o: True),
    "$ne": (lambda v, o: not _equal(v, o), "a value", lambda o: True),
    "$gt": (_compare(lambda v, o: v > o), "a number, text or date", lambda o: o is not None),
    "$gte": (_compare(lambda v, o: v >= o), "a number, text or date", lambda o: o is not None),
    "$lt": (_compare(lambda v, o: v < o), "a number, text or date", lambda o: o is not None),
    "$lte": (_compare(lambda v, o: v <= o), "a number, text or date", lambda o: o is not None),
    "$in": (_in, "a list", lambda o: isinstance(o, list)),
    "$nin": (lambda v, o: not _in(v, o), "a list", lambda o: isinstance(o, list)),
    "$exists": (lambda v, o: (v is not _MISSING) == bool(o), "true or false", lambda o: isinstance(o, bool)),
    "$regex": (_regex, "a regular expression", lambda o: isinstance(o, str) and _compiles(o)),
}
_COMBINERS = ("$and", "$or", "$nor")
_ALIASES = {"display_name": "name", "summary": "summary_metrics"}


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def check_filters(filters: Any) -> None:
    """InvalidInputError naming the first unknown operator or badly shaped condition in ``filters``."""
    if not isinstance(filters, Mapping):
        raise InvalidInputError(f"Run filters are a dict such as {{'state': 'finished'}}, not {filters!r}.")
    for key, condition in filters.items():
        if key in _COMBINERS:
            if not isinstance(condition, list) or not condition:
                raise InvalidInputError(f"{key} takes a non-empty list of filters, not {condition!r}.")
            for item in condition:
                check_filters(item)
        elif key == "$not":
            check_filters(condition)
        elif key.startswith("$"):
            raise InvalidInputError(f"Unknown run filter {key!r}; use one of {', '.join([*_COMBINERS, '$not'])}.")
        elif isinstance(condition, Mapping) and any(k.startswith("$") for k in condition):
            for op, operand in condition.items():
                if op == "$not":
                    check_filters({key: operand})
                    continue
                if op not in OPERATORS:
                    raise InvalidInputError(
                        f"Unknown operator {op!r} on {key!r}; use one of {', '.join([*OPERATORS, '$not'])}."
                    )
                _, what, fits = OPERATORS[op]
                if not fits(operand):
                    raise InvalidInputError(f"{op} on {key!r} takes {what}, not {operand!r}.")


def _lookup(document: Mapping[str, Any], path: str) -> Any:
    head, _, rest = path.partition(".")
    value: Any = document.get(_ALIASES.get(head, head), _MISSING)
    for part in rest.split(".") if rest else ():
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif part == "value" and head == "config" and value is not _MISSING:
            continue  # W&B writes config.<key>.value: here config values are stored bare
        else:
            return _MISSING
    return value


def _holds(value: Any, condition: Any) -> bool:
    if isinstance(condition, Mapping) and any(k.startswith("$") for k in condition):
        return all(
            not _holds(value, operand) if op == "$not" else OPERATORS[op][0](value, operand)
            for op, operand in condition.items()
        )
    return _equal(value, condition)


def matches(document: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    """Whether the run ``document`` (``{"id", "name", "state", "job_type", "created_at", "tags",
    "config": {...}, "summary_metrics": {...}}``) satisfies ``filters`` (checked first with
    :func:`check_filters`; an empty mapping matches every run)."""
    for key, condition in filters.items():
        if key == "$and":
            ok = all(matches(document, item) for item in condition)
        elif key == "$or":
            ok = any(matches(document, item) for item in condition)
        elif key == "$nor":
            ok = not any(matches(document, item) for item in condition)
        elif key == "$not":
            ok = not matches(document, condition)
        else:
            ok = _holds(_lookup(document, key), condition)
        if not ok:
            return False
    return True


def run_document(run: Any) -> dict[str, Any]:
    """The document filters read for a run record (a RunInfo, or anything with its fields)."""
    return {
        "id": run.id,
        "name": run.name,
        "state": run.state,
        "job_type": run.job_type,
        "created_at": run.started_at,
        "finished_at": run.finished_at,
        "tags": list(getattr(run, "tags", ()) or ()),
        "config": dict(run.config),
        "summary_metrics": dict(run.summary),
    }


def sort_key(document: Mapping[str, Any], path: str, descending: bool) -> tuple[Any, ...]:
    """A key ordering documents by the field at ``path`` (numbers before text; missing values last
    either way)."""
    value = _lookup(document, path)
    if value is _MISSING or value is None or isinstance(value, Mapping | list):
        return (1, 0, 0)
    if isinstance(value, bool | int | float):
        return (0, 0, -value if descending else value)
    text = str(value)
    return (0, 1, _Reversed(text) if descending else text)


class _Reversed:
    """Text that sorts backwards (for descending order in one ascending sort)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __lt__(self, other: _Reversed) -> bool:
        return self.text > other.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.text == other.text
