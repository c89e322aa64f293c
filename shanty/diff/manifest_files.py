"""Diff two manifest files in DuckDB, a page of changes at a time.

:func:`diff_manifest_files` gives the same answer as
:func:`shanty.diff.diff_manifests` (same kinds, same rename pairing, same
totals) without loading the manifests into Python, so a dashboard can diff two
1,000,000-entry versions. DuckDB joins the two Parquet files by path and pairs
renames in SQL. The classified diff (kind, path, row numbers and sizes; no
digests, refs or extras) is materialised once into a table of the shared
in-memory database, keyed by both files' stamps, so a page is a filtered
top-N over that table. Only the entries on the requested page are read back
from the files, by row number, and parsed into
:class:`~shanty.manifest.ManifestEntry` values.

The last few diffs are kept (``_CACHED_DIFFS``); DuckDB spills their tables to
its temp directory beyond its memory limit, so memory stays bounded. A diff
whose table was evicted is rebuilt on its next page. The database, file
stamps, row numbering, paging and counting are the query family's
(:mod:`shanty.query.database`, :mod:`shanty.query.paging`).

Deliberate differences from ``diff_manifests``: an entry's ``extra`` JSON is
parsed only when its page is read (a damaged one raises then, not up front),
and a manifest with a null path, a null size or columns of the wrong type is
refused as malformed.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field

import duckdb

from ..errors import ConflictError, InvalidInputError, MalformedError, NotFoundError
from ..manifest import ManifestEntry
from ..query.database import LRU, Stamp, connection, fetch_page, first_line, numbered_rows, read_schema, table_stamp
from ..query.kinds import INTEGER_TYPES
from ..query.paging import MAX_PAGE_SIZE, check_page, page_count, page_offset
from ..query.sql import Params
from .manifests import Change, ChangeKind, Diff, DiffSummary, KindTotals

__all__ = ["ChangePage", "ManifestDiff", "clear_caches", "collect_changes", "diff_manifest_files"]

# A change kind is stored as its position in ChangeKind (one byte per row instead of a string).
_KINDS: tuple[ChangeKind, ...] = tuple(ChangeKind)
_CODE = {kind: code for code, kind in enumerate(_KINDS)}
_CACHED_DIFFS = 4
_SCHEMA = "shanty_version_diffs"
_TEXT = "VARCHAR"
_OPTIONAL = ("ref", "version", "extra")
# Errors DuckDB raises for a file it cannot parse (out-of-memory and interrupts are not among them).
_READ_ERRORS = (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException)


@dataclass(frozen=True)
class ChangePage:
    """One page of a manifest diff's changes, sorted by path (a rename by its new path).

    ``total`` counts every change matching the filters, ``page_count`` is 0
    when nothing matches; a page past the end is empty with correct totals.
    """

    changes: tuple[Change, ...]
    total: int
    page: int
    page_size: int
    page_count: int


@dataclass(frozen=True)
class ManifestDiff:
    """The summary of a diff between two manifest files; :meth:`changes` pages through its changes.

    A value: two diffs of the same file versions compare equal, and it can be
    pickled or cached. The files are versioned manifests and must not change
    underneath it; :meth:`changes` raises ConflictError if one did.
    """

    old_path: str
    new_path: str
    summary: DiffSummary
    _stamps: tuple[Stamp, Stamp] = field(repr=False)

    def count(self, kind: ChangeKind | str) -> int:
        """How many changes are of ``kind``."""
        return self.summary.kind(_kind(kind)).count

    def changes(
        self,
        kinds: Iterable[ChangeKind | str] | None = None,
        path_contains: str | None = None,
        page: int = 1,
        page_size: int = 100,
    ) -> ChangePage:
        """Page ``page`` (1-based) of the changes of ``kinds`` (all kinds when None, none when empty).

        ``path_contains`` keeps changes whose path (or, for a rename, old or
        new path) contains it, ignoring case; an empty one keeps all. Raises
        InvalidInputError for an unknown kind, QueryError (an InvalidInputError)
        for a bad page (see :func:`~shanty.query.paging.check_page`),
        ConflictError when a file changed since the diff was computed,
        MalformedError for an entry whose metadata is damaged.
        """
        if isinstance(kinds, str):  # one kind (a ChangeKind is a str too): not an iterable of letters
            kinds = [kinds]
        codes = sorted({_CODE[_kind(k)] for k in (_KINDS if kinds is None else kinds)})
        if path_contains is not None and not isinstance(path_contains, str):
            raise InvalidInputError(f"path_contains must be text, not {type(path_contains).__name__}.")
        check_page(page, page_size)
        # Entries are read back by row number, so a rewritten file would give wrong entries: refuse it.
        for given, stamp in zip((self.old_path, self.new_path), self._stamps, strict=True):
            if _stamp(given) != stamp:
                raise ConflictError(f"The manifest file {given!r} changed after it was diffed; diff it again.")
        needle = path_contains or None
        offset = page_offset(page, page_size)
        # Without a search the total is known from the summary: no count query.
        known = None if needle else sum(self.summary.kind(_KINDS[c]).count for c in codes)
        if not codes or (known is not None and offset >= known):
            changes, total = (), known or 0
        else:
            changes, total = _page(
                self._stamps, (self.old_path, self.new_path), codes, needle, page_size, offset, known
            )
        return ChangePage(changes, total, page, page_size, page_count(total, page_size))


def diff_manifest_files(old_path: str | os.PathLike[str], new_path: str | os.PathLike[str]) -> ManifestDiff:
    """Compare two manifest Parquet files (columns path, digest, size, ref, version, extra) in DuckDB.

    Same kinds, rename pairing and totals as ``diff_manifests`` on the loaded
    manifests. The classified diff is computed once per pair of file versions
    and cached, so calling this again, or paging, is cheap. Raises
    NotFoundError for a missing file, MalformedError for one that is not a
    readable manifest.
    """
    old, new = os.fspath(old_path), os.fspath(new_path)
    stamps = (_stamp(old), _stamp(new))
    return ManifestDiff(old, new, _DIFFS.get_or_build(stamps, (old, new)).summary, stamps)


def collect_changes(diff: ManifestDiff, kinds: Iterable[ChangeKind | str] | None = None) -> Diff:
    """Every change of ``kinds`` (all when None) of an engine diff as a :class:`Diff` (what
    ``diff_manifests`` returns), read page by page; the Change values are what it holds in memory."""
    changes: list[Change] = []
    page = 1
    while True:
        batch = diff.changes(kinds=kinds, page=page, page_size=MAX_PAGE_SIZE)
        changes.extend(batch.changes)
        if page >= batch.page_count:
            return Diff(tuple(changes), diff.summary)
        page += 1


# --- arguments and files -----------------------------------------------------------


def _kind(kind: ChangeKind | str) -> ChangeKind:
    try:
        return ChangeKind(kind)
    except ValueError:
        raise InvalidInputError(
            f"Unknown change kind {kind!r}; use {', '.join(k.value for k in ChangeKind)}."
        ) from None


def _stamp(path: str) -> Stamp:
    try:
        return table_stamp(path)
    except NotFoundError:
        raise NotFoundError(f"No manifest file at {path!r}; check the path.") from None


def _unreadable(where: str) -> MalformedError:
    return MalformedError(f"{where!r} is not a readable manifest Parquet file; it is damaged or not a manifest.")


@dataclass(frozen=True)
class _Side:
    """One manifest file as DuckDB reads it: its path, the columns it has, whether paths repeat."""

    path: str
    where: str
    optional: frozenset[str]  # which of the optional columns (_OPTIONAL) the file has
    columns: frozenset[str]  # every column name, for numbered_rows
    repeats: bool = False


def _inspect(path: str, where: str) -> _Side:
    try:
        columns = read_schema(path).columns
    except MalformedError:
        raise _unreadable(where) from None
    missing = sorted({"path", "digest", "size"} - set(columns))
    if missing:
        raise MalformedError(f"The manifest {where!r} lacks the column(s) {missing}; it was not written by shanty.")
    expected = {"path": {_TEXT}, "digest": {_TEXT}, "size": INTEGER_TYPES, "ref": {_TEXT}, "version": {_TEXT}}
    expected["extra"] = {_TEXT, "JSON"}  # a writer may tag the column with Parquet's JSON logical type
    for column, allowed in expected.items():
        if column in columns and columns[column] not in allowed:
            raise MalformedError(
                f"The {column!r} column of the manifest {where!r} holds {columns[column]}; it was not written by shanty."
            )
    return _Side(path, where, frozenset(c for c in _OPTIONAL if c in columns), frozenset(columns))


def _rows_of(side: _Side, columns: str, path_param: str) -> str:
    """The file's ``columns`` plus ``__row``, its row number (0-based, in file order)."""
    return numbered_rows(path_param, "__row", side.columns, columns)


# --- building the classified diff ----------------------------------------------------


def _source(side: _Side, param: str) -> str:
    rows = _rows_of(side, "path, digest, size", param)
    if not side.repeats:
        return rows
    # Manifest.from_arrow keeps the last entry of a repeated path; so does this (slow, so only when needed).
    return f"(SELECT * FROM {rows} QUALIFY row_number() OVER (PARTITION BY path ORDER BY __row DESC) = 1)"


def _build_sql(table: str, old: _Side, new: _Side) -> str:
    a, r, m, n, u = (
        _CODE[k]
        for k in (ChangeKind.ADDED, ChangeKind.REMOVED, ChangeKind.MODIFIED, ChangeKind.RENAMED, ChangeKind.UNCHANGED)
    )
    # Renames: the k-th removed entry of digest d (in path order) pairs with the k-th added entry of
    # digest d, exactly as diff_manifests pops candidates. IS NOT DISTINCT FROM: a null digest is a digest.
    return f"""
CREATE TABLE {table} AS
WITH o AS {_source(old, "$1")},
n AS {_source(new, "$2")},
j AS (
    SELECT o.path AS old_path, n.path AS new_path, o.digest AS old_digest, n.digest AS new_digest,
           o.size AS old_size, n.size AS new_size, o.__row AS old_row, n.__row AS new_row
    FROM o FULL OUTER JOIN n ON o.path = n.path
),
gone AS (
    SELECT old_path, old_digest, old_size, old_row,
           row_number() OVER (PARTITION BY old_digest ORDER BY old_path) AS rank
    FROM j WHERE new_path IS NULL
),
fresh AS (
    SELECT new_path, new_digest, new_size, new_row,
           row_number() OVER (PARTITION BY new_digest ORDER BY new_path) AS rank
    FROM j WHERE old_path IS NULL
)
SELECT CAST(CASE WHEN old_digest IS NOT DISTINCT FROM new_digest THEN {u} ELSE {m} END AS UTINYINT) AS kind,
       new_path AS path, CAST(NULL AS VARCHAR) AS moved_from, old_row, new_row, old_size, new_size
FROM j WHERE old_path IS NOT NULL AND new_path IS NOT NULL
UNION ALL
SELECT CAST(CASE WHEN g.old_path IS NULL THEN {a} WHEN f.new_path IS NULL THEN {r} ELSE {n} END AS UTINYINT),
       coalesce(f.new_path, g.old_path), CASE WHEN f.new_path IS NOT NULL THEN g.old_path END,
       g.old_row, f.new_row, g.old_size, f.new_size
FROM gone AS g FULL OUTER JOIN fresh AS f ON g.old_digest IS NOT DISTINCT FROM f.new_digest AND g.rank = f.rank
"""


def _check(cursor: duckdb.DuckDBPyConnection, side: _Side) -> _Side:
    """Refuse null paths and sizes (diff_manifests cannot sort or sum them); note repeated paths."""
    sql = "SELECT count(*), count(path), count(size), count(DISTINCT path) FROM read_parquet($1)"
    try:
        rows, paths, sizes, distinct = cursor.execute(sql, [side.path]).fetchone()
    except _READ_ERRORS:
        raise _unreadable(side.where) from None
    if paths < rows or sizes < rows:
        raise MalformedError(f"The manifest {side.where!r} has entries without a path or a size; it is damaged.")
    return _Side(side.path, side.where, side.optional, side.columns, repeats=distinct < rows)


@dataclass(frozen=True)
class _Built:
    """A classified diff: its table (one row per change, no entry details), summary and files."""

    table: str
    summary: DiffSummary
    old: _Side
    new: _Side


def _build(table: str, stamps: tuple[Stamp, Stamp], wheres: tuple[str, str]) -> _Built:
    with connection() as cursor:
        old, new = (_check(cursor, _inspect(s[0], w)) for s, w in zip(stamps, wheres, strict=True))
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {_SCHEMA}")
        try:
            cursor.execute(_build_sql(table, old, new), [old.path, new.path])
        except _READ_ERRORS as exc:
            raise MalformedError(
                f"Could not read the manifests {wheres[0]!r} and {wheres[1]!r} ({first_line(exc)})."
            ) from None
        sql = (
            f"SELECT kind, count(*), coalesce(sum(old_size), 0), coalesce(sum(new_size), 0) FROM {table} GROUP BY kind"
        )
        totals = {_KINDS[code]: KindTotals(int(c), int(o), int(n)) for code, c, o, n in cursor.execute(sql).fetchall()}
    per_kind = {kind: totals.get(kind, KindTotals()) for kind in _KINDS}
    # Every old entry is removed, modified, renamed or unchanged; every new one added, modified, renamed or unchanged.
    with_old = [t for k, t in per_kind.items() if k is not ChangeKind.ADDED]
    with_new = [t for k, t in per_kind.items() if k is not ChangeKind.REMOVED]
    summary = DiffSummary(
        **{kind.value: t for kind, t in per_kind.items()},
        old_files=sum(t.count for t in with_old),
        new_files=sum(t.count for t in with_new),
        old_bytes=sum(t.old_bytes for t in with_old),
        new_bytes=sum(t.new_bytes for t in with_new),
    )
    return _Built(table, summary, old, new)


class _DiffTables:
    """The classified diffs of the last few file pairs, as tables of the shared DuckDB database.

    Keyed by both files' stamps (so a rewritten file is never served stale)
    and the process id (a forked child has its own, empty, database). Plain
    tables, not TEMP ones: those would be private to the cursor that made them.
    An evicted diff's table is dropped.
    """

    def __init__(self, size: int) -> None:
        self._built = LRU(size)
        # One build at a time: each holds hash tables over both files, and two at once would spill.
        self._build_lock = threading.Lock()
        self._names = itertools.count()

    def get_or_build(self, stamps: tuple[Stamp, Stamp], wheres: tuple[str, str]) -> _Built:
        key = (stamps, os.getpid())
        found = self._built.get(key)
        if found is not None:
            return found
        with self._build_lock:
            found = self._built.get(key)  # another thread may have built it while this one waited
            if found is not None:
                return found
            table = f"{_SCHEMA}.diff_{os.getpid()}_{next(self._names)}"
            try:
                built = _build(table, stamps, wheres)
            except BaseException:
                _drop(table)
                raise
            evicted = self._built.put(key, built)
        for old in evicted:
            _drop(old.table)
        return built

    def forget(self, stamps: tuple[Stamp, Stamp]) -> None:
        self._built.pop((stamps, os.getpid()))

    def clear(self) -> None:
        for built in self._built.clear():
            _drop(built.table)


_DIFFS = _DiffTables(_CACHED_DIFFS)


def clear_caches() -> None:
    """Drop every cached diff table (they are keyed by file stamps, so this is only to free memory)."""
    _DIFFS.clear()


def _drop(table: str) -> None:
    with connection() as cursor, suppress(duckdb.Error):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


# --- pages ------------------------------------------------------------------------------

_Row = tuple[int, int | None, int | None]  # kind code, old row number, new row number


def _page(
    stamps: tuple[Stamp, Stamp],
    wheres: tuple[str, str],
    codes: list[int],
    needle: str | None,
    limit: int,
    offset: int,
    known: int | None,
) -> tuple[tuple[Change, ...], int]:
    """The page's changes in path order, and the total matching."""
    for attempt in (1, 2):
        built = _DIFFS.get_or_build(stamps, wheres)
        try:
            rows, total = _query_page(built.table, codes, needle, limit, offset, known)
        except duckdb.CatalogException:
            # Evicted (and dropped) by another thread between lookup and query: build it again, once.
            _DIFFS.forget(stamps)
            if attempt == 2:
                raise
            continue
        with connection() as cursor:
            old = _read_entries(cursor, built.old, [o for _, o, _ in rows if o is not None])
            new = _read_entries(cursor, built.new, [n for _, _, n in rows if n is not None])
        changes = tuple(
            Change(_KINDS[k], None if o is None else old[o], None if n is None else new[n]) for k, o, n in rows
        )
        return changes, total
    raise AssertionError("unreachable")


def _query_page(
    table: str, codes: list[int], needle: str | None, limit: int, offset: int, known: int | None
) -> tuple[list[_Row], int]:
    params = Params()
    conditions = []
    if len(codes) < len(_KINDS):
        conditions.append(f"kind IN ({', '.join(params.bind(c) for c in codes)})")
    if needle is not None:
        # Both sides lowered by DuckDB, so needle and paths fold case the same way; bound, never pasted.
        lowered = f"lower({params.bind(needle)})"
        conditions.append(f"(contains(lower(path), {lowered}) OR contains(lower(moved_from), {lowered}))")
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    count = (f"SELECT count(*) FROM {table} {where}", list(params.values))
    # Paths are unique in the table (a removed path is in no new manifest, an added one in no old one).
    sql = (
        f"SELECT kind, old_row, new_row FROM {table} {where} "
        f"ORDER BY path LIMIT {params.bind(limit)} OFFSET {params.bind(offset)}"
    )
    with connection() as cursor:
        # Totals are cached by statement: the table's name is never reused, so it stands for the files' version.
        rows, total = fetch_page(cursor, (sql, params.values), count, offset=offset, limit=limit, known=known)
    return [(int(k), o, n) for k, o, n in rows], total


def _read_entries(cursor: duckdb.DuckDBPyConnection, side: _Side, numbers: list[int]) -> dict[int, ManifestEntry]:
    """The entries at row ``numbers`` of one file; DuckDB skips most of the file by row number."""
    if not numbers:
        return {}
    picked = ", ".join(["path", "digest", "size"] + [c if c in side.optional else f"NULL AS {c}" for c in _OPTIONAL])
    sql = (
        f"SELECT __row, path, digest, size, {', '.join(_OPTIONAL)} FROM {_rows_of(side, picked, '$1')} "
        "WHERE __row IN (SELECT unnest($2))"
    )
    try:
        fetched = cursor.execute(sql, [side.path, numbers]).fetchall()
    except _READ_ERRORS:
        raise _unreadable(side.where) from None
    entries = {}
    for row, path, digest, size, ref, version, extra in fetched:
        try:
            parsed = json.loads(extra) if extra else {}
        except ValueError:
            raise MalformedError(
                f"The entry {path!r} of the manifest {side.where!r} has unreadable extra metadata; it is damaged."
            ) from None
        entries[row] = ManifestEntry(path, digest, int(size), ref, version, parsed)
    return entries
