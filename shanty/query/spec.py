"""The query spec: what the dashboard asks of a table, as plain data.

A :class:`Query` is a frozen value: filters, an optional text expression,
sort, group-by, join, column selection and the page to show. It round-trips
exactly through a plain dict (:meth:`Query.to_dict`) and through a compact
URL-safe token (:meth:`Query.to_url_token`) so the dashboard can keep it in
its address bar. Anything malformed, from a wrong key to a garbage token,
raises :class:`~shanty.errors.QueryError`, never a bare ``KeyError`` or
``binascii.Error``. A filter's operator is a row of
:mod:`shanty.query.operators`, which also decides the shape of its value.

:mod:`shanty.query.compile` turns a spec and the schemas of its tables into
DuckDB SQL where every identifier is checked and quoted and every user value
is a bound parameter; :mod:`shanty.query.run` runs it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from ..errors import QueryError
from .kinds import kind_of_type
from .operators import FILTER_OPS, find_operator
from .paging import check_page, page_offset

__all__ = [
    "AGGREGATE_FUNCTIONS",
    "FILTER_OPS",
    "JOIN_KINDS",
    "MATCH_MODES",
    "MAX_SAMPLES",
    "Aggregate",
    "Filter",
    "GroupBy",
    "Join",
    "Query",
    "Sort",
    "TableSchema",
]

# FILTER_OPS (from the operator table) is re-exported: it is the spec's vocabulary.
AGGREGATE_FUNCTIONS = ("count", "min", "max", "mean", "sum")
JOIN_KINDS = ("inner", "left", "outer")
MATCH_MODES = ("all", "any")
MAX_SAMPLES = 10
# Bounds that keep a hostile spec (or URL) cheap to reject and to compile.
_MAX_ITEMS = 200
_MAX_TEXT = 4_000
_MAX_TOKEN = 16_000


Scalar = str | int | float | bool | None


def _check_text(value: Any, what: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not allow_empty):
        raise QueryError(f"{what} must be a non-empty string, not {value!r}.")
    if len(value) > _MAX_TEXT:
        raise QueryError(f"{what} is {len(value)} characters long; keep it under {_MAX_TEXT}.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise QueryError(f"{what} contains characters that are not valid Unicode; remove them.") from None
    return value


def _check_scalar(value: Any, what: str) -> Scalar:
    # Dates are accepted for convenience and kept as ISO text so the spec stays
    # plain JSON and the round trip stays exact.
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QueryError(f"{what} is {value!r}; give a finite number.")
        return value
    if isinstance(value, str):
        return _check_text(value, what, allow_empty=True)
    raise QueryError(f"{what} must be text, a number, true/false or null, not {type(value).__name__}.")


def _check_int(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise QueryError(f"{what} must be a whole number from {low} to {high}, not {value!r}.")
    return value


def _names(values: Any, what: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise QueryError(f"{what} must be a list of column names, not {values!r}.")
    names = tuple(values)
    if not names and not allow_empty:
        raise QueryError(f"{what} needs at least one column name.")
    if len(names) > _MAX_ITEMS:
        raise QueryError(f"{what} lists {len(names)} columns; use at most {_MAX_ITEMS}.")
    for name in names:
        _check_text(name, f"A column name in {what}")
    if len(set(names)) != len(names):
        raise QueryError(f"{what} names a column twice; list each column once.")
    return names


@dataclass(frozen=True)
class Filter:
    """One condition on one column: ``column op value``.

    ``op`` is an operator's name or alias (see :mod:`shanty.query.operators`;
    an alias is stored as the canonical name, so ``starts_with`` reads back
    as ``startswith`` and ``regex`` as ``matches``). ``value`` has the
    operator's shape: a scalar for comparisons and text operators, a pair
    for ``between``, a tuple for ``in`` / ``not in`` and None for
    ``is_null`` / ``not_null``. Text operators (``contains`` is
    case-insensitive, ``startswith`` and ``matches`` are not) and
    comparisons on a media column apply to its uri. ``!=`` and ``not in``
    keep rows whose cell is null, like ``not (x = v)``.
    """

    column: str
    op: str
    value: Any = None

    def __post_init__(self) -> None:
        _check_text(self.column, "A filter's column")
        operator = find_operator(self.op)
        object.__setattr__(self, "op", operator.name)
        what = f"The value of the filter on {self.column!r}"
        value = self.value
        if operator.shape == "none":
            if value is not None:
                raise QueryError(f"The {self.op} filter on {self.column!r} takes no value; drop it.")
        elif operator.shape in ("pair", "list"):
            if isinstance(value, str | bytes) or not isinstance(value, Iterable):
                raise QueryError(f"{what} must be a list for {self.op!r}, not {value!r}.")
            items = tuple(_check_scalar(v, what) for v in value)
            if operator.shape == "pair" and len(items) != 2:
                raise QueryError(f"{what} must be two bounds [low, high] for {self.op!r}.")
            if len(items) > _MAX_ITEMS:
                raise QueryError(f"{what} lists {len(items)} values; use at most {_MAX_ITEMS}.")
            if any(v is None for v in items):
                raise QueryError(f"{what} contains null; use the is_null filter to match missing values.")
            object.__setattr__(self, "value", items)
        else:
            value = _check_scalar(value, what)
            if value is None:
                raise QueryError(f"{what} is null; use the is_null / not_null filters to match missing values.")
            object.__setattr__(self, "value", value)


@dataclass(frozen=True)
class Sort:
    """Order by ``column``; nulls always come last. Media columns sort by uri."""

    column: str
    descending: bool = False

    def __post_init__(self) -> None:
        _check_text(self.column, "A sort column")
        if not isinstance(self.descending, bool):
            raise QueryError(f"Sort 'descending' must be true or false, not {self.descending!r}.")


@dataclass(frozen=True)
class Aggregate:
    """``function`` over ``column`` within each group; ``count`` without a column counts rows."""

    function: str
    column: str | None = None

    def __post_init__(self) -> None:
        if self.function not in AGGREGATE_FUNCTIONS:
            raise QueryError(f"Unknown aggregate {self.function!r}; use one of {', '.join(AGGREGATE_FUNCTIONS)}.")
        if self.column is None:
            if self.function != "count":
                raise QueryError(f"The {self.function} aggregate needs a column.")
        else:
            _check_text(self.column, "An aggregate's column")

    @property
    def name(self) -> str:
        """The result column's name: ``count`` or ``function(column)``."""
        return self.function if self.column is None else f"{self.function}({self.column})"


@dataclass(frozen=True)
class GroupBy:
    """Group rows by ``columns``; each group gets ``aggregates`` and up to ``samples``
    media values per media column (``samples(<column>)``, first rows in table order)."""

    columns: tuple[str, ...]
    aggregates: tuple[Aggregate, ...] = (Aggregate("count"),)
    samples: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", _names(self.columns, "group_by columns"))
        aggregates = tuple(self.aggregates)
        if len(aggregates) > _MAX_ITEMS or not all(isinstance(a, Aggregate) for a in aggregates):
            raise QueryError("group_by aggregates must be a list of Aggregate values.")
        object.__setattr__(self, "aggregates", aggregates)
        _check_int(self.samples, "group_by samples", 0, MAX_SAMPLES)


@dataclass(frozen=True)
class Join:
    """Join the main table with the table named ``source``: ``on`` names the main table's key columns,
    ``right_on`` the joined table's (same count, pairwise; None = the same names, the usual case;
    W&B's ``JoinedTable(t1, t2, ["left_k", "right_k"])`` is ``on=("left_k",), right_on=("right_k",)``).

    ``source`` is a key of the sources given to the run. Key columns appear
    once, unprefixed and named as in the main table (coalesced for outer joins);
    every other column is named ``<source>.<column>``, e.g. ``synth.audio`` (the
    naming lives in :mod:`shanty.query.relation`: :func:`~shanty.query.relation.relation_schema`).
    """

    source: str
    on: tuple[str, ...]
    how: str = "inner"
    right_on: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _check_text(self.source, "The joined table's name")
        object.__setattr__(self, "on", _names(self.on, "join keys"))
        if self.right_on is not None:
            right = _names(self.right_on, "right join keys")
            if len(right) != len(self.on):
                raise QueryError(
                    f"The join pairs {len(self.on)} key column(s) of the main table with {len(right)} of the "
                    "joined table; give one right key per left key."
                )
            object.__setattr__(self, "right_on", None if right == self.on else right)
        if self.how not in JOIN_KINDS:
            raise QueryError(f"Unknown join kind {self.how!r}; use one of {', '.join(JOIN_KINDS)}.")


@dataclass(frozen=True)
class Query:
    """Everything the table view asks for; the defaults show page 1 of the whole table.

    ``filters`` (combined by ``match``) and ``expression`` (see
    :mod:`shanty.query.expr`) are ANDed and apply to rows, before any grouping
    or after the join (so joined columns are named ``table.column``, see
    :func:`shanty.query.relation.relation_schema`). ``sort`` names result
    columns (group keys and aggregate names when grouping); rows that tie
    keep table order. ``columns`` picks and orders the result columns. Pages
    are 1-based (see :func:`shanty.query.paging.check_page`). ``rows``, when
    given, keeps only those 0-based row numbers of the main table (a selection
    drawn on a similarity map), before everything else.
    """

    filters: tuple[Filter, ...] = ()
    match: str = "all"
    expression: str | None = None
    sort: tuple[Sort, ...] = ()
    group_by: GroupBy | None = None
    join: Join | None = None
    columns: tuple[str, ...] | None = None
    page: int = 1
    page_size: int = 50
    rows: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        for name, kind in (("filters", Filter), ("sort", Sort)):
            items = getattr(self, name)
            items = tuple(items) if isinstance(items, Iterable) else items
            if not isinstance(items, tuple) or len(items) > _MAX_ITEMS or not all(isinstance(i, kind) for i in items):
                raise QueryError(f"Query {name} must be a list of {kind.__name__} values (at most {_MAX_ITEMS}).")
            object.__setattr__(self, name, items)
        if self.match not in MATCH_MODES:
            raise QueryError(f"Query match must be 'all' or 'any', not {self.match!r}.")
        if self.expression is not None:
            _check_text(self.expression, "The expression", allow_empty=True)
        if self.group_by is not None and not isinstance(self.group_by, GroupBy):
            raise QueryError("Query group_by must be a GroupBy value.")
        if self.join is not None and not isinstance(self.join, Join):
            raise QueryError("Query join must be a Join value.")
        if self.columns is not None:
            object.__setattr__(self, "columns", _names(self.columns, "Query columns"))
        check_page(self.page, self.page_size)
        if self.rows is not None:
            rows = self.rows
            if isinstance(rows, str | bytes) or not isinstance(rows, Iterable):
                raise QueryError("Query rows must be a list of row numbers.")
            rows = tuple(rows)
            if not all(isinstance(r, int) and not isinstance(r, bool) and r >= 0 for r in rows):
                raise QueryError("Query rows must be row numbers: whole numbers from 0.")
            object.__setattr__(self, "rows", rows)

    @property
    def offset(self) -> int:
        """How many result rows come before this page."""
        return page_offset(self.page, self.page_size)

    # --- plain dict ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict holding only the fields that differ from the defaults."""
        out: dict[str, Any] = {}
        if self.filters:
            out["filters"] = [_filter_to_dict(f) for f in self.filters]
        if self.match != "all":
            out["match"] = self.match
        if self.expression is not None:
            out["expression"] = self.expression
        if self.sort:
            out["sort"] = [{"column": s.column, **({"descending": True} if s.descending else {})} for s in self.sort]
        if self.group_by is not None:
            group = self.group_by
            out["group_by"] = {
                "columns": list(group.columns),
                "aggregates": [{"function": a.function, "column": a.column} for a in group.aggregates],
                "samples": group.samples,
            }
        if self.join is not None:
            out["join"] = {"source": self.join.source, "on": list(self.join.on), "how": self.join.how}
            if self.join.right_on is not None:
                out["join"]["right_on"] = list(self.join.right_on)
        if self.columns is not None:
            out["columns"] = list(self.columns)
        if self.page != 1:
            out["page"] = self.page
        if self.page_size != 50:
            out["page_size"] = self.page_size
        if self.rows is not None:
            out["rows"] = list(self.rows)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Query:
        """Rebuild a query from :meth:`to_dict` output; any malformed input raises QueryError."""
        raw = _keys(data, "The query", {f.name for f in fields(cls)})
        args: dict[str, Any] = {}
        if "filters" in raw:
            args["filters"] = tuple(
                Filter(**_keys(f, "A filter", {"column", "op", "value"}, {"column", "op"}))
                for f in _items(raw["filters"], "filters")
            )
        if "sort" in raw:
            args["sort"] = tuple(
                Sort(**_keys(s, "A sort entry", {"column", "descending"}, {"column"}))
                for s in _items(raw["sort"], "sort")
            )
        if raw.get("group_by") is not None:
            group = _keys(raw["group_by"], "group_by", {"columns", "aggregates", "samples"}, {"columns"})
            if "aggregates" in group:
                group["aggregates"] = tuple(
                    Aggregate(**_keys(a, "An aggregate", {"function", "column"}, {"function"}))
                    for a in _items(group["aggregates"], "aggregates")
                )
            args["group_by"] = GroupBy(**group)
        if raw.get("join") is not None:
            args["join"] = Join(**_keys(raw["join"], "join", {"source", "on", "how", "right_on"}, {"source", "on"}))
        for name in ("match", "expression", "columns", "page", "page_size", "rows"):
            if name in raw:
                args[name] = raw[name]
        return cls(**args)

    # --- URL token -----------------------------------------------------------
    def to_url_token(self) -> str:
        """A compact URL-safe string (base64url of JSON, zlib-compressed when that is shorter)."""
        text = json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        packed = zlib.compress(text, 9)
        prefix, payload = ("z", packed) if len(packed) < len(text) else ("j", text)
        return prefix + base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")

    @classmethod
    def from_url_token(cls, token: Any) -> Query:
        """Inverse of :meth:`to_url_token`; a damaged or foreign token raises QueryError."""
        if not isinstance(token, str) or not 1 <= len(token) <= _MAX_TOKEN:
            raise QueryError("The query in the link is empty or too long; reset the view to start again.")
        try:
            payload = base64.urlsafe_b64decode(token[1:] + "=" * (-len(token[1:]) % 4))
            if token[0] == "z":
                inflater = zlib.decompressobj()
                payload = inflater.decompress(payload, 16 * _MAX_TOKEN)
                if inflater.unconsumed_tail or not inflater.eof:
                    raise ValueError("truncated or oversized")
            elif token[0] != "j":
                raise ValueError("unknown prefix")
            data = json.loads(payload.decode("utf-8"))
        except (ValueError, binascii.Error, zlib.error, UnicodeDecodeError, RecursionError):
            raise QueryError("The query in the link is damaged; reset the view to start again.") from None
        return cls.from_dict(data)


def _filter_to_dict(item: Filter) -> dict[str, Any]:
    out: dict[str, Any] = {"column": item.column, "op": item.op}
    if item.value is not None:
        out["value"] = list(item.value) if isinstance(item.value, tuple) else item.value
    return out


def _keys(data: Any, what: str, allowed: set[str], required: Iterable[str] = ()) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise QueryError(f"{what} must be a mapping of fields, not {type(data).__name__}.")
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise QueryError(f"{what} has unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}.")
    missing = [k for k in required if k not in data]
    if missing:
        raise QueryError(f"{what} lacks the field(s) {', '.join(missing)}.")
    return dict(data)


def _items(data: Any, what: str) -> list[Any]:
    if not isinstance(data, list):
        raise QueryError(f"The query's {what} must be a list, not {type(data).__name__}.")
    if len(data) > _MAX_ITEMS:
        raise QueryError(f"The query's {what} has {len(data)} entries; use at most {_MAX_ITEMS}.")
    return data


@dataclass(frozen=True)
class TableSchema:
    """Columns of one table in file order (name -> DuckDB type) and its media columns (name -> kind).

    ``sources`` maps each column of a joined schema (see
    :func:`shanty.query.relation_schema`) to the source table it comes from;
    it is empty for a single table.
    """

    columns: Mapping[str, str]
    media: Mapping[str, str] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def coerce(cls, value: TableSchema | Mapping[str, str]) -> TableSchema:
        """Accept a TableSchema or a bare ``{column: type}`` mapping (no media columns)."""
        return value if isinstance(value, TableSchema) else cls(dict(value))

    @property
    def kinds(self) -> Mapping[str, str]:
        """Column -> kind (number, text, bool, date, timestamp, time, media, null or other), in file order.

        What a widget needs to know about a column: which can be averaged
        (``number``), which hold media, which a value typed as text must be
        converted for (see :func:`shanty.query.operators.parse_filter_text`).
        """
        return MappingProxyType({c: kind_of_type(t, self.media.get(c)) for c, t in self.columns.items()})
