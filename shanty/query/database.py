"""The DuckDB side shared by queries, summaries and diffs: one database, file stamps, pages.

One in-memory DuckDB database per process is shared, each call working on
its own cursor (:func:`connection`): DuckDB connections are not safe to share
between threads, cursors are. Threads, memory limit and spill directory are
set once, from ``SHANTY_DUCKDB_THREADS`` / ``SHANTY_DUCKDB_MEMORY_LIMIT``
(:mod:`shanty.settings`).

Also here, so that the query engine and the diffs do these one way:

* :func:`table_stamp`: the path to give DuckDB for a file, plus what
  identifies its version (caches are keyed by it, so a rewritten file is
  never served stale); a source is a local file or a
  :class:`~shanty.storage.in_place.RemoteFile` (an object version in a
  bucket, which DuckDB reads in place through the file system that
  :mod:`shanty.storage.in_place` registers on the shared database);
* :func:`read_schema`: a table file's columns and media columns;
* :class:`LRU` and :func:`clear_caches`;
* :func:`numbered_rows`: a Parquet file with each row's number in the file;
* :func:`fetch_page`: one page and the total, counted once per statement;
* :func:`first_line`: a DuckDB error as one sentence.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb

from ..errors import InvalidInputError, MalformedError, NotFoundError, QueryError
from ..settings import settings
from ..storage.in_place import RemoteFile, duckdb_filesystem, read_failure, remote_file_at
from ..tables.schema import METADATA_KEY, parse_table_metadata
from .spec import TableSchema

__all__ = [
    "LRU",
    "Source",
    "Stamp",
    "clear_caches",
    "connection",
    "fetch_page",
    "first_line",
    "numbered_rows",
    "read_schema",
    "remote_reads",
    "table_stamp",
]

Stamp = tuple[str, int, int]  # (path to give DuckDB, mtime in ns, size): see table_stamp
Source = str | os.PathLike[str] | RemoteFile  # a table the engine reads: a local file or an object read in place
_GLOB_CHARS = set("*?[{")
_CACHE_SIZE = 256
_SHARED: list[LRU] = []  # the caches clear_caches() empties


def _work_directory() -> Path:
    return Path(tempfile.gettempdir()) / f"shanty-duckdb-{os.getuid()}"


def _config() -> dict[str, Any]:
    chosen = settings()
    return {
        "threads": chosen.duckdb_threads,
        "memory_limit": chosen.duckdb_memory_limit,
        "temp_directory": str(_work_directory() / "spill"),
    }


class _Database:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._pid = 0
        self._remote = False  # whether the connection can open RemoteFile paths

    def _open(self) -> duckdb.DuckDBPyConnection:
        # Call with the lock held.
        if self._connection is None or self._pid != os.getpid():  # a forked child needs its own
            connection = duckdb.connect(":memory:", config=_config())
            # Timestamps print and compare in UTC whatever the host's zone (ICU ships in the wheel).
            with suppress(duckdb.Error):
                connection.execute("SET GLOBAL TimeZone = 'UTC'")
            self._connection, self._pid, self._remote = connection, os.getpid(), False
        return self._connection

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._open().cursor()

    def read_remote_files(self) -> None:
        """Register the file system of objects read in place (once, when the first one is queried: local
        tables need neither it nor fsspec)."""
        with self._lock:
            connection = self._open()
            if not self._remote:
                remote = duckdb_filesystem()
                if remote is not None:
                    connection.register_filesystem(remote)
                self._remote = True


_DATABASE = _Database()


@contextmanager
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB cursor on the shared database, closed on exit; use one per thread."""
    cursor = _DATABASE.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


class LRU:
    """A small thread-safe least-recently-used cache.

    Key it by file stamps (:func:`table_stamp`) so a rewritten file is never
    served stale. ``shared=True`` registers it with :func:`clear_caches`.
    """

    def __init__(self, size: int, *, shared: bool = False) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        if shared:
            _SHARED.append(self)

    def get(self, key: Hashable) -> Any:
        """The value cached under ``key`` (now the most recent), or None."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def put(self, key: Hashable, value: Any) -> list[Any]:
        """Cache ``value`` under ``key``; returns the values evicted to make room (oldest first)."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            return [self._items.popitem(last=False)[1] for _ in range(len(self._items) - self._size)]

    def pop(self, key: Hashable) -> Any:
        """Forget ``key``; returns its value, or None."""
        with self._lock:
            return self._items.pop(key, None)

    def clear(self) -> list[Any]:
        """Forget everything; returns the values that were cached."""
        with self._lock:
            values = list(self._items.values())
            self._items.clear()
            return values


_COUNTS = LRU(_CACHE_SIZE, shared=True)
_SCHEMAS = LRU(_CACHE_SIZE, shared=True)


def clear_caches() -> None:
    """Forget cached schemas and row counts (they are keyed by file stamp, so this is rarely needed)."""
    for cache in _SHARED:
        cache.clear()


def _plain_path(resolved: str) -> str:
    """``resolved``, or a symlink to it whose name DuckDB will not read as a glob pattern."""
    if not _GLOB_CHARS & set(resolved):
        return resolved
    # DuckDB expands *, ? and [...] in read_parquet paths: 't[1].parquet' would read 't1.parquet'.
    links = _work_directory() / "links"
    links.mkdir(parents=True, exist_ok=True, mode=0o700)
    if _GLOB_CHARS & set(str(links)) or links.stat().st_uid != os.getuid():
        raise InvalidInputError(f"Cannot read {resolved!r} safely: its name contains *, ?, [ or {{; rename it.")
    link = links / f"{hashlib.sha256(resolved.encode()).hexdigest()[:32]}.parquet"
    if not link.is_symlink() or os.readlink(link) != resolved:
        temporary = links / f"{link.stem}.{os.getpid()}.{threading.get_ident()}.tmp"
        temporary.unlink(missing_ok=True)
        os.symlink(resolved, temporary)
        os.replace(temporary, link)
    return str(link)


def table_stamp(path: Source) -> Stamp:
    """(path to give DuckDB, mtime in ns, size) of an existing table file; NotFoundError otherwise.

    The path is absolute, or a link to it when the real name would read as a glob. A
    :class:`~shanty.storage.in_place.RemoteFile` (or its :attr:`~shanty.storage.in_place.RemoteFile.path`)
    gives its own name, which already names one object version, mtime 0 and its recorded size.
    """
    remote = path if isinstance(path, RemoteFile) else remote_file_at(path)
    if remote is not None:
        _DATABASE.read_remote_files()
        return remote.path, 0, remote.size
    resolved = Path(path).expanduser().resolve()
    try:
        stat = resolved.stat()
    except OSError:
        raise NotFoundError(f"No table file at {str(path)!r}; check the path.") from None
    if not resolved.is_file():
        raise NotFoundError(f"{str(path)!r} is not a file; give the path of a table's Parquet file.")
    return _plain_path(str(resolved)), stat.st_mtime_ns, stat.st_size


@contextmanager
def remote_reads(paths: Iterable[object]) -> Iterator[None]:
    """Around DuckDB statements reading ``paths``: a failed read of an object in a bucket (its version gone,
    the store down) raises the store's own one-sentence error instead of DuckDB's traceback."""
    try:
        yield
    except duckdb.Error as exc:
        failure = read_failure(paths)
        if failure is not None:
            raise failure from exc
        raise


def check_patterns(cursor: duckdb.DuckDBPyConnection, patterns: Collection[str]) -> None:
    """QueryError for the first of ``patterns`` DuckDB cannot compile as a regular expression.

    DuckDB uses RE2, whose syntax differs from Python's re: ask it, before the real query runs.
    """
    for pattern in patterns:
        try:
            cursor.execute("SELECT regexp_matches('', $1)", [pattern]).fetchall()
        except duckdb.InvalidInputException as exc:
            reason = first_line(exc).removeprefix("Invalid Input Error: ")
            raise QueryError(f"{pattern!r} is not a valid regular expression ({reason}); fix it.") from None


def first_line(exc: Exception) -> str:
    """The first line of a DuckDB error, for one-sentence messages (the rest is a SQL excerpt)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def read_schema(path: Source) -> TableSchema:
    """Columns (name -> DuckDB type, in file order) and media columns of the table at ``path`` (a
    :data:`Source`: an object in a bucket is read in place, its footer only).

    The media map comes from the ``shanty.table`` Parquet metadata; a plain
    Parquet file without it is a table with no media columns. Cached per
    file version. Raises NotFoundError for a missing file, MalformedError for
    anything unreadable.
    """
    stamp = table_stamp(path)
    cached = _SCHEMAS.get(stamp)
    if cached is not None:
        return cached
    remote = remote_file_at(stamp[0])
    shown = remote.uri if remote is not None else str(path)
    with connection() as cursor:
        try:
            described = cursor.execute("DESCRIBE SELECT * FROM read_parquet($1)", [stamp[0]]).fetchall()
            metadata = cursor.execute("SELECT key, value FROM parquet_kv_metadata($1)", [stamp[0]]).fetchall()
        except duckdb.Error as exc:
            failure = read_failure([stamp[0]])  # the store's own sentence, for an object read in place
            if failure is not None:
                raise failure from None
            raise MalformedError(f"{shown!r} is not a readable Parquet table ({first_line(exc)}).") from None
    columns = {row[0]: row[1] for row in described}
    raw = next((value for key, value in metadata if key == METADATA_KEY), None)
    schema = TableSchema(MappingProxyType(columns), MappingProxyType(_media_map(raw, columns, shown)))
    _SCHEMAS.put(stamp, schema)
    return schema


def _media_map(raw: bytes | None, columns: Mapping[str, str], where: str) -> dict[str, str]:
    # One validator for the shanty.table metadata, shared with shanty.tables.Table.
    return parse_table_metadata(raw, columns, repr(where))


def numbered_rows(path_sql: str, row: str, file_columns: Collection[str], select: str = "*") -> str:
    """A subquery: ``select`` from the Parquet file at ``path_sql`` plus ``row``, its 0-based row number.

    ``path_sql`` is a bound parameter (``$1``), ``row`` a quoted name that no
    column of the file has, ``file_columns`` the file's column names. The
    number is DuckDB's ``file_row_number``, which lets a filter on it skip
    most of the file; when the file has a column of that very name, which
    shadows DuckDB's, rows are numbered in scan order instead (slower, but a
    plain scan keeps file order, so the numbers agree from query to query).
    """
    numbering = "row_number() OVER () - 1" if "file_row_number" in file_columns else "file_row_number"
    return f"(SELECT {select}, {numbering} AS {row} FROM read_parquet({path_sql}))"


def fetch_page(
    cursor: duckdb.DuckDBPyConnection,
    page: tuple[str, Sequence[Any]],
    count: tuple[str, Sequence[Any]],
    *,
    offset: int,
    limit: int,
    known: int | None = None,
    version: Hashable = None,
) -> tuple[list[tuple[Any, ...]], int]:
    """The rows of one page and the total number of rows, each a ``(sql, params)`` statement.

    ``page`` returns at most ``limit`` rows starting at ``offset``; ``count``
    returns one number. A ``known`` total is trusted; else the total is
    cached per count statement and ``version`` (the stamps of the files it
    reads, unless its SQL names something never reused), so paging does not
    recount, and it is not counted at all when the page is short (hence the
    last). Past the known end, no query runs.
    """
    key = (count[0], tuple(tuple(p) if isinstance(p, list) else p for p in count[1]), version)
    total = known if known is not None else _COUNTS.get(key)
    rows: list[tuple[Any, ...]] = []
    if total is None or offset < total:
        rows = cursor.execute(page[0], list(page[1])).fetchall()
    if total is None:
        if 0 < len(rows) < limit or (not rows and not offset):
            total = offset + len(rows)  # a short page is the last one: no need to count
        else:
            total = int(cursor.execute(count[0], list(count[1])).fetchone()[0])
        _COUNTS.put(key, total)
    return rows, total
