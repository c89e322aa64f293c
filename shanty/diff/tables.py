"""Row-level diff of two versions of a table, computed in DuckDB.

With key columns, rows are matched by key (a full outer join): a key only in
the new table is *added*, only in the old one *removed*, in both with any
other shared cell different *changed* (with the names of those columns).
Without a key, rows are compared whole, by a 64-bit hash of their shared
columns: a row is *added* or *removed* as many times as its copies differ
(``RowChange.count``); there is no *changed* then. Columns present in only one
version are reported, not compared; a column whose type changed is compared
as text.

:class:`TableDiff` holds counts; its rows are fetched a page at a time with
:meth:`TableDiff.rows`, which queries the files again (they are versioned
artifacts and are not expected to change underneath). Schemas, row numbers
and pages are the query family's (:mod:`shanty.query.database`,
:mod:`shanty.query.paging`).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..errors import QueryError
from ..query.database import connection, numbered_rows, read_schema, remote_reads, table_stamp
from ..query.paging import check_page, page_offset
from ..query.sql import Params, quote, unknown_column, unused_name

__all__ = ["RowChange", "RowKind", "TableDiff", "diff_tables", "suggest_key"]


class RowKind(StrEnum):
    """How a row differs: only in the new table, only in the old one, or in both with other cells."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class RowChange:
    """One differing row: ``key`` (empty without a key), the old / new row (None when absent),
    the changed columns (changed rows only) and ``count``, the copies added or removed (hash mode)."""

    kind: RowKind
    key: Mapping[str, Any]
    old: Mapping[str, Any] | None
    new: Mapping[str, Any] | None
    changed_columns: tuple[str, ...] = ()
    count: int = 1


@dataclass(frozen=True)
class TableDiff:
    """Counts of a table diff; ``rows(kind, page, page_size)`` pages through the rows of a kind."""

    old_path: str
    new_path: str
    key: tuple[str, ...] | None
    added: int
    removed: int
    changed: int
    unchanged: int
    old_rows: int
    new_rows: int
    columns_added: tuple[str, ...]
    columns_removed: tuple[str, ...]
    columns_retyped: tuple[tuple[str, str, str], ...]  # (column, old type, new type)

    def count(self, kind: RowKind | str) -> int:
        """How many rows are of ``kind`` (ValueError for an unknown kind)."""
        return getattr(self, RowKind(kind).value)

    @property
    def identical(self) -> bool:
        """No row and no column differs."""
        return not (self.added or self.removed or self.changed or self.columns_added or self.columns_removed)

    def rows(self, kind: RowKind | str, page: int = 1, page_size: int = 50) -> list[RowChange]:
        """The rows of ``kind`` on ``page`` (1-based), ordered by key (or by position in their table).

        Raises QueryError for an unknown kind or a bad page (see
        :func:`~shanty.query.paging.check_page`).
        """
        try:
            kind = RowKind(kind)
        except ValueError:
            raise QueryError(f"Unknown row kind {kind!r}; use added, removed or changed.") from None
        check_page(page, page_size)
        plan = _Plan(self.old_path, self.new_path, self.key)
        return plan.rows(kind, page_size, page_offset(page, page_size))


def diff_tables(
    old_path: str | os.PathLike[str], new_path: str | os.PathLike[str], key: Sequence[str] | None = None
) -> TableDiff:
    """Compare two table files by ``key`` columns, or whole rows when ``key`` is None or empty.

    Raises QueryError when a key column is missing or a key value repeats on
    either side; NotFoundError / MalformedError for missing or unreadable files.
    """
    if isinstance(key, str):
        key = [key]
    plan = _Plan(table_stamp(old_path)[0], table_stamp(new_path)[0], tuple(key) if key else None)
    plan.check_keys()
    added, removed, changed, unchanged, old_rows, new_rows = plan.counts()
    return TableDiff(
        old_path=plan.old_path,
        new_path=plan.new_path,
        key=plan.key,
        added=added,
        removed=removed,
        changed=changed,
        unchanged=unchanged,
        old_rows=old_rows,
        new_rows=new_rows,
        columns_added=tuple(c for c in plan.new.columns if c not in plan.old.columns),
        columns_removed=tuple(c for c in plan.old.columns if c not in plan.new.columns),
        columns_retyped=tuple((c, plan.old.columns[c], plan.new.columns[c]) for c in plan.retyped),
    )


def suggest_key(
    old_path: str | os.PathLike[str], new_path: str | os.PathLike[str], max_columns: int = 3
) -> tuple[str, ...]:
    """The key a person would match the rows of two tables by: the fewest plain (non-media) columns both
    tables have whose values identify every row on both sides, earlier columns first; ``()`` when no
    combination of up to ``max_columns`` does (then diff whole rows). One DuckDB pass per side."""
    old, new = (read_schema(table_stamp(p)[0]) for p in (old_path, new_path))
    shared = [c for c in old.columns if c in new.columns and c not in old.media and c not in new.media][:8]
    if not shared:
        return ()
    candidates = [
        combo for size in range(1, min(max_columns, len(shared)) + 1) for combo in itertools.combinations(shared, size)
    ]
    # count(DISTINCT (a, b)) of each candidate against count(*): unique candidates keep every row apart.
    parts = [f"count(DISTINCT ({', '.join(quote(c) for c in combo)},))" for combo in candidates]
    unique = set(candidates)
    with connection() as cursor, remote_reads((old_path, new_path)):
        for path in (table_stamp(old_path)[0], table_stamp(new_path)[0]):
            rows, *distinct = cursor.execute(
                f"SELECT count(*), {', '.join(parts)} FROM read_parquet($1)", [path]
            ).fetchone()
            unique &= {combo for combo, count in zip(candidates, distinct, strict=True) if count == rows}
    return next((combo for combo in candidates if combo in unique), ())


class _Plan:
    """SQL for one diff; every column name comes from the files' schemas and is quoted."""

    def __init__(self, old_path: str, new_path: str, key: tuple[str, ...] | None):
        self.old_path, self.new_path, self.key = old_path, new_path, key
        self.old, self.new = read_schema(old_path), read_schema(new_path)
        self.shared = [c for c in self.old.columns if c in self.new.columns]
        self.retyped = [c for c in self.shared if self.old.columns[c] != self.new.columns[c]]
        for column in key or ():
            for side, schema in (("old", self.old), ("new", self.new)):
                if column not in schema.columns:
                    raise unknown_column(column, schema.columns, f"key column in the {side} table")
        self.compared = [c for c in self.shared if c not in (key or ())]
        if key is None and not self.shared:
            raise QueryError("The two tables share no column, so their rows cannot be compared; give a key.")
        # Internal column names that cannot collide with the tables' own.
        self.here = unused_name("__shanty_here", self.old.columns, self.new.columns)
        self.rn = unused_name("__shanty_rn", self.old.columns, self.new.columns)

    def value(self, alias: str, column: str) -> str:
        sql = f"{alias}.{quote(column)}"
        return f"CAST({sql} AS VARCHAR)" if column in self.retyped else sql

    def differs(self, column: str) -> str:
        return f"({self.value('o', column)} IS DISTINCT FROM {self.value('n', column)})"

    # --- keyed ---------------------------------------------------------------
    def keyed_from(self, params: Params) -> str:
        assert self.key is not None
        old, new = params.bind(self.old_path), params.bind(self.new_path)
        here = quote(self.here)
        on = " AND ".join(f"{self.value('o', k)} IS NOT DISTINCT FROM {self.value('n', k)}" for k in self.key)
        return (
            f"(SELECT *, TRUE AS {here} FROM read_parquet({old})) AS o FULL OUTER JOIN "
            f"(SELECT *, TRUE AS {here} FROM read_parquet({new})) AS n ON {on}"
        )

    def keyed_conditions(self) -> dict[str, str]:
        here = quote(self.here)
        any_diff = " OR ".join(self.differs(c) for c in self.compared) or "FALSE"
        both = f"o.{here} AND n.{here}"
        return {
            "added": f"o.{here} IS NULL",
            "removed": f"n.{here} IS NULL",
            "changed": f"{both} AND ({any_diff})",
            "unchanged": f"{both} AND NOT ({any_diff})",
        }

    def check_keys(self) -> None:
        if self.key is None:
            return
        keys = ", ".join(quote(k) for k in self.key)
        with connection() as cursor, remote_reads((self.old_path, self.new_path)):
            for side, path in (("old", self.old_path), ("new", self.new_path)):
                sql = f"SELECT {keys}, count(*) FROM read_parquet($1) GROUP BY ALL HAVING count(*) > 1 LIMIT 1"
                repeated = cursor.execute(sql, [path]).fetchone()
                if repeated is not None:
                    value = repeated[0] if len(self.key) == 1 else tuple(repeated[:-1])
                    names = repr(self.key[0]) if len(self.key) == 1 else repr(self.key)
                    raise QueryError(
                        f"The key {names} is not unique in the {side} table: {value!r} appears {repeated[-1]} times; "
                        "choose key columns that identify each row, or diff without a key."
                    )

    # --- counts and rows -------------------------------------------------------
    def counts(self) -> tuple[int, int, int, int, int, int]:
        params = Params()
        if self.key is not None:
            conditions = self.keyed_conditions()
            parts = ", ".join(
                f"count(*) FILTER (WHERE {conditions[k]})" for k in ("added", "removed", "changed", "unchanged")
            )
            sql = f"SELECT {parts} FROM {self.keyed_from(params)}"
        else:
            sql = (
                f"{self.hash_ctes(params)} SELECT COALESCE(sum(__delta) FILTER (WHERE __delta > 0), 0), "
                "COALESCE(-sum(__delta) FILTER (WHERE __delta < 0), 0), 0, COALESCE(sum(__same), 0) FROM __shanty_d"
            )
        with connection() as cursor, remote_reads((self.old_path, self.new_path)):
            added, removed, changed, unchanged = (int(v) for v in cursor.execute(sql, params.values).fetchone())
        return added, removed, changed, unchanged, removed + changed + unchanged, added + changed + unchanged

    def rows(self, kind: RowKind, limit: int, offset: int) -> list[RowChange]:
        if self.key is None:
            return [] if kind is RowKind.CHANGED else self.hashed_rows(kind, limit, offset)
        params = Params()
        old_cols, new_cols = list(self.old.columns), list(self.new.columns)
        picked = [f"COALESCE(o.{quote(k)}, n.{quote(k)})" for k in self.key]
        picked += [f"o.{quote(c)}" for c in old_cols] + [f"n.{quote(c)}" for c in new_cols]
        picked += [self.differs(c) for c in self.compared]
        order = ", ".join(f"{p} ASC NULLS LAST" for p in picked[: len(self.key)])
        sql = (
            f"SELECT {', '.join(picked)} FROM {self.keyed_from(params)} WHERE {self.keyed_conditions()[kind.value]} "
            f"ORDER BY {order} LIMIT {params.bind(limit)} OFFSET {params.bind(offset)}"
        )
        with connection() as cursor, remote_reads((self.old_path, self.new_path)):
            fetched = cursor.execute(sql, params.values).fetchall()
        out = []
        k, o = len(self.key), len(old_cols)
        for row in fetched:
            old = dict(zip(old_cols, row[k : k + o], strict=True)) if kind is not RowKind.ADDED else None
            new = (
                dict(zip(new_cols, row[k + o : k + o + len(new_cols)], strict=True))
                if kind is not RowKind.REMOVED
                else None
            )
            flags = row[k + o + len(new_cols) :]
            changed = (
                tuple(c for c, flag in zip(self.compared, flags, strict=True) if flag)
                if kind is RowKind.CHANGED
                else ()
            )
            out.append(RowChange(kind, dict(zip(self.key, row[:k], strict=True)), old, new, changed))
        return out

    # --- whole rows ----------------------------------------------------------------
    def hash_ctes(self, params: Params) -> str:
        old, new = params.bind(self.old_path), params.bind(self.new_path)
        hashes = {alias: ", ".join(self.value(alias, c) for c in self.shared) for alias in ("o", "n")}
        parts = []
        for alias, path, schema in (("o", old, self.old), ("n", new, self.new)):
            rows = numbered_rows(path, quote(self.rn), schema.columns)
            parts.append(
                f"__shanty_{alias}c AS (SELECT hash({hashes[alias]}) AS __h, count(*) AS __n, "
                f"min({quote(self.rn)}) AS __first FROM {rows} AS {alias} GROUP BY __h)"
            )
        parts.append(
            "__shanty_d AS (SELECT COALESCE(n.__n, 0) - COALESCE(o.__n, 0) AS __delta, "
            "least(COALESCE(n.__n, 0), COALESCE(o.__n, 0)) AS __same, o.__first AS __old_first, "
            "n.__first AS __new_first FROM __shanty_oc AS o FULL OUTER JOIN __shanty_nc AS n ON o.__h = n.__h)"
        )
        return "WITH " + ", ".join(parts)

    def hashed_rows(self, kind: RowKind, limit: int, offset: int) -> list[RowChange]:
        params = Params()
        ctes = self.hash_ctes(params)
        added = kind is RowKind.ADDED
        schema, path = (self.new, self.new_path) if added else (self.old, self.old_path)
        first, sign = ("__new_first", "") if added else ("__old_first", "-")
        columns = list(schema.columns)
        sql = (
            f"{ctes}, __shanty_page AS MATERIALIZED (SELECT {first} AS __r, {sign}__delta AS __count FROM __shanty_d "
            f"WHERE {sign}__delta > 0 ORDER BY __r LIMIT {params.bind(limit)} OFFSET {params.bind(offset)}) "
            f"SELECT {', '.join(f's.{quote(c)}' for c in columns)}, p.__count FROM __shanty_page AS p "
            f"JOIN {numbered_rows(params.bind(path), quote(self.rn), schema.columns)} AS s "
            f"ON s.{quote(self.rn)} = p.__r ORDER BY p.__r"
        )
        with connection() as cursor, remote_reads((self.old_path, self.new_path)):
            fetched = cursor.execute(sql, params.values).fetchall()
        out = []
        for row in fetched:
            cells = dict(zip(columns, row[:-1], strict=True))
            out.append(RowChange(kind, {}, None if added else cells, cells if added else None, (), int(row[-1])))
        return out
