"""Run query specs on shanty tables (Parquet files) with DuckDB.

``run_query`` compiles a :class:`~shanty.query.Query` (see
:mod:`shanty.querycompile`), counts the matching rows (or groups) and fetches
only the requested page; ``read_schema`` reads a table's columns and media
map; ``column_summaries`` profiles each column, all computed by DuckDB.

One in-memory DuckDB database per process is shared, each call working on
its own cursor: DuckDB connections are not safe to share between threads,
cursors are. Threads, memory limit and spill directory are set once, from
``SHANTY_DUCKDB_THREADS`` / ``SHANTY_DUCKDB_MEMORY_LIMIT`` when given.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb

from ..errors import InvalidInputError, MalformedError, NotFoundError, QueryError
from ..settings import settings
from .compile import plan_query
from .spec import Query, TableSchema, bind_sources
from .sql import INTEGER_TYPES, Params, ResolvedColumn, kind_of_type, quote, unknown_column

__all__ = [
    "EXACT_DISTINCT_MAX_ROWS",
    "MEDIA_KINDS",
    "ColumnSummary",
    "Histogram",
    "QueryResult",
    "clear_caches",
    "column_summaries",
    "connection",
    "read_schema",
    "run_query",
    "table_stamp",
]

MEDIA_KINDS = ("audio", "image", "video")
_METADATA_KEY = b"shanty.table"
_CACHE_SIZE = 256
_GLOB_CHARS = set("*?[{")
_URI_FIELD = re.compile(r'(^|[(,]\s*)"?uri"?\s+VARCHAR\b', re.IGNORECASE)


def _settings() -> dict[str, Any]:
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

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._connection is None or self._pid != os.getpid():  # a forked child needs its own
                connection = duckdb.connect(":memory:", config=_settings())
                # Timestamps print and compare in UTC whatever the host's zone (ICU ships in the wheel).
                with suppress(duckdb.Error):
                    connection.execute("SET GLOBAL TimeZone = 'UTC'")
                self._connection, self._pid = connection, os.getpid()
            return self._connection.cursor()


_DATABASE = _Database()


@contextmanager
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB cursor on the shared database, closed on exit; use one per thread."""
    cursor = _DATABASE.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


class _LRU:
    """A small thread-safe cache keyed by file stamps, so a rewritten file is never served stale."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_SCHEMAS = _LRU(_CACHE_SIZE)
_COUNTS = _LRU(_CACHE_SIZE)


def clear_caches() -> None:
    """Forget cached schemas and row counts (they are keyed by file stamp, so this is rarely needed)."""
    _SCHEMAS.clear()
    _COUNTS.clear()


def _work_directory() -> Path:
    return Path(tempfile.gettempdir()) / f"shanty-duckdb-{os.getuid()}"


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


def table_stamp(path: str | os.PathLike[str]) -> tuple[str, int, int]:
    """(path to give DuckDB, mtime in ns, size) of an existing table file; NotFoundError otherwise.

    The path is absolute, or a link to it when the real name would read as a glob.
    """
    resolved = Path(path).expanduser().resolve()
    try:
        stat = resolved.stat()
    except OSError:
        raise NotFoundError(f"No table file at {str(path)!r}; check the path.") from None
    if not resolved.is_file():
        raise NotFoundError(f"{str(path)!r} is not a file; give the path of a table's Parquet file.")
    return _plain_path(str(resolved)), stat.st_mtime_ns, stat.st_size


def first_line(exc: Exception) -> str:
    """The first line of a DuckDB error, for one-sentence messages (the rest is a SQL excerpt)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def read_schema(path: str | os.PathLike[str]) -> TableSchema:
    """Columns (name -> DuckDB type, in file order) and media columns of the table at ``path``.

    The media map comes from the ``shanty.table`` Parquet metadata; a plain
    Parquet file without it is a table with no media columns. Raises
    NotFoundError for a missing file, MalformedError for anything unreadable.
    """
    stamp = table_stamp(path)
    cached = _SCHEMAS.get(stamp)
    if cached is not None:
        return cached
    with connection() as cursor:
        try:
            described = cursor.execute("DESCRIBE SELECT * FROM read_parquet($1)", [stamp[0]]).fetchall()
            metadata = cursor.execute("SELECT key, value FROM parquet_kv_metadata($1)", [stamp[0]]).fetchall()
        except duckdb.Error as exc:
            raise MalformedError(f"{str(path)!r} is not a readable Parquet table ({first_line(exc)}).") from None
    columns = {row[0]: row[1] for row in described}
    raw = next((value for key, value in metadata if key == _METADATA_KEY), None)
    schema = TableSchema(MappingProxyType(columns), MappingProxyType(_media_map(raw, columns, str(path))))
    _SCHEMAS.put(stamp, schema)
    return schema


def _media_map(raw: bytes | None, columns: Mapping[str, str], where: str) -> dict[str, str]:
    if raw is None:
        return {}
    try:
        info = json.loads(raw)
        version, media = info["version"], info.get("media", {})
    except (ValueError, TypeError, KeyError):
        raise MalformedError(f"The shanty.table metadata of {where!r} is not valid JSON; rewrite the table.") from None
    if version != 1:
        raise MalformedError(f"{where!r} was written by a newer shanty (table format {version!r}); upgrade shanty.")
    if not isinstance(media, dict):
        raise MalformedError(f"The media map in {where!r} is not a mapping; rewrite the table.")
    for column, kind in media.items():
        if kind not in MEDIA_KINDS:
            raise MalformedError(f"Column {column!r} of {where!r} has unknown media kind {kind!r}.")
        if column not in columns or not _URI_FIELD.search(columns[column].removeprefix("STRUCT(")):
            raise MalformedError(f"Media column {column!r} of {where!r} is missing or not a struct with a uri.")
    return dict(media)


@dataclass(frozen=True)
class QueryResult:
    """One page of a query's result.

    ``rows`` holds only the requested page (dicts keyed by ``columns``; media
    cells are dicts with ``uri``, ``entry``...; ``samples(<col>)`` cells are
    lists of them). ``total_rows`` counts all matching rows, or all groups
    when ``grouped``; ``page_count`` is 0 when nothing matches. A page past
    the end is empty with correct totals.
    ``sql`` / ``params`` are the page statement, for debugging.
    """

    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    total_rows: int
    page: int
    page_size: int
    page_count: int
    media: Mapping[str, str]
    grouped: bool
    sql: str
    params: tuple[Any, ...]
    count_sql: str


def _check_patterns(cursor: duckdb.DuckDBPyConnection, patterns: tuple[str, ...]) -> None:
    # DuckDB uses RE2, whose syntax differs from Python's re; ask it, before the real query.
    for pattern in patterns:
        try:
            cursor.execute("SELECT regexp_matches('', $1)", [pattern]).fetchall()
        except duckdb.InvalidInputException as exc:
            reason = first_line(exc).removeprefix("Invalid Input Error: ")
            raise QueryError(f"{pattern!r} is not a valid regular expression ({reason}); fix it.") from None


def run_query(spec: Query, sources: Mapping[str, str | os.PathLike[str]]) -> QueryResult:
    """Run ``spec`` over ``sources`` (table name -> Parquet path; the first is the main table).

    The page is fetched first; the total comes from a separate count query
    (skipped when the page is short, hence the last), cached per file version
    so paging does not recount. Raises QueryError for mistakes in the spec, NotFoundError /
    MalformedError for missing or unreadable files.
    """
    if not isinstance(spec, Query):
        raise QueryError(f"Expected a Query, not {type(spec).__name__}.")
    if not sources:
        raise QueryError("There is no table to query; give at least one source.")
    names = list(sources)
    used = names[:1]
    if spec.join is not None:
        if spec.join.source not in sources:
            raise unknown_column(spec.join.source, names, "table")
        used.append(spec.join.source)
    stamps = {name: table_stamp(sources[name]) for name in used}
    paths = {name: stamp[0] for name, stamp in stamps.items()}
    plan = plan_query(spec, {name: read_schema(paths[name]) for name in used})
    page_params = bind_sources(plan.page.params, paths)
    count_params = bind_sources(plan.count.params, paths)
    with connection() as cursor:
        _check_patterns(cursor, plan.patterns)
        try:
            count_key = (plan.count.sql, tuple(count_params), tuple(stamps.values()))
            total = _COUNTS.get(count_key)
            fetched: list[tuple] = []
            if total is None or spec.offset < total:
                fetched = cursor.execute(plan.page.sql, page_params).fetchall()
            if total is None:
                if 0 < len(fetched) < spec.page_size or (not fetched and not spec.offset):
                    total = spec.offset + len(fetched)  # a short page is the last one: no need to count
                else:
                    total = int(cursor.execute(plan.count.sql, count_params).fetchone()[0])
                _COUNTS.put(count_key, total)
        except duckdb.IOException as exc:
            raise MalformedError(f"Could not read the table files ({first_line(exc)}).") from None
    return QueryResult(
        columns=plan.columns,
        rows=[dict(zip(plan.columns, row, strict=True)) for row in fetched],
        total_rows=total,
        page=spec.page,
        page_size=spec.page_size,
        page_count=-(-total // spec.page_size),
        media=dict(plan.media),
        grouped=plan.grouped,
        sql=plan.page.sql,
        params=tuple(page_params),
        count_sql=plan.count.sql,
    )


# --- column summaries -----------------------------------------------------------
EXACT_DISTINCT_MAX_ROWS = 200_000  # above this, distinct counts are HyperLogLog estimates (a few % off)
_ORDERABLE = {"number", "text", "bool", "date", "timestamp", "time", "media"}
_TOP_KINDS = {"text", "bool", "media"}


@dataclass(frozen=True)
class Histogram:
    """Equal-width bins over the finite values: ``counts[i]`` values fall in ``[edges[i], edges[i+1])``
    (the last bin includes its upper edge). Integer columns with a small range get one bin per value."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class ColumnSummary:
    """Profile of one column. Media columns are profiled by uri (min, max, top values).

    ``distinct_approximate`` tells whether ``distinct_count`` is an estimate.
    ``top_values`` (text, bool and media) are (value, exact count), most
    frequent first; empty when (nearly) every value is distinct. ``min`` /
    ``max`` skip NaN; ``histogram`` is for numbers only.
    """

    name: str
    type: str
    kind: str
    media: str | None
    rows: int
    null_count: int
    distinct_count: int
    distinct_approximate: bool
    min: Any = None
    max: Any = None
    top_values: tuple[tuple[Any, int], ...] = ()
    histogram: Histogram | None = None


def column_summaries(
    source_path: str | os.PathLike[str], *, top_values: int = 10, bins: int = 20
) -> list[ColumnSummary]:
    """Profile every column of the table at ``source_path`` in three DuckDB passes.

    Pass one: null and distinct counts, min/max, top-value candidates
    (``approx_top_k``) and finite ranges; pass two: exact counts of those
    candidates; pass three: histograms. Nothing is loaded into pandas.
    """
    if not 1 <= top_values <= 100 or not 1 <= bins <= 1000:
        raise QueryError("top_values must be 1-100 and bins 1-1000.")
    path = table_stamp(source_path)[0]
    schema = read_schema(path)
    columns = [
        ResolvedColumn(name, quote(name), kind_of_type(type_, schema.media.get(name)), type_, schema.media.get(name))
        for name, type_ in schema.columns.items()
    ]
    with connection() as cursor:
        total = int(cursor.execute("SELECT count(*) FROM read_parquet($1)", [path]).fetchone()[0])
        exact = total <= EXACT_DISTINCT_MAX_ROWS
        parts: list[str] = []
        for column in columns:
            parts.extend(_stat_parts(column, exact, top_values))
        stats = cursor.execute(f"SELECT {', '.join(parts)} FROM read_parquet($1)", [path]).fetchone()
        per_column = [stats[i * 7 : i * 7 + 7] for i in range(len(columns))]
        tops = _top_counts(cursor, path, columns, per_column, top_values)
        histograms = _histograms(cursor, path, columns, per_column, bins)
    summaries = []
    for i, (column, (non_null, distinct, low, high, *_)) in enumerate(zip(columns, per_column, strict=True)):
        summaries.append(
            ColumnSummary(
                name=column.name,
                type=column.type,
                kind=column.kind,
                media=column.media,
                rows=total,
                null_count=total - int(non_null),
                distinct_count=int(distinct or 0),
                distinct_approximate=not exact,
                min=low,
                max=high,
                top_values=tops.get(i, ()),
                histogram=histograms.get(i),
            )
        )
    return summaries


def _stat_parts(column: ResolvedColumn, exact: bool, top: int) -> list[str]:
    value = column.value_sql
    parts = [f"count({value})", f"count(DISTINCT {value})" if exact else f"approx_count_distinct({value})"]
    if column.kind in _ORDERABLE:
        skip_nan = f" FILTER (WHERE NOT isnan({value}))" if column.type.upper() in ("FLOAT", "DOUBLE") else ""
        parts += [f"min({value}){skip_nan}", f"max({value}){skip_nan}"]
    else:
        parts += ["NULL", "NULL"]
    if column.kind == "number":
        as_double = f"CAST({value} AS DOUBLE)"
        parts += [
            f"min({as_double}) FILTER (WHERE isfinite({as_double}))",
            f"max({as_double}) FILTER (WHERE isfinite({as_double}))",
        ]
    else:
        parts += ["NULL", "NULL"]
    parts.append(f"approx_top_k({value}, {int(top)})" if column.kind in _TOP_KINDS else "NULL")
    return parts


def _top_counts(cursor, path: str, columns, per_column, top: int) -> dict[int, tuple[tuple[Any, int], ...]]:
    params, parts, wanted = Params(), [], []
    path_param = params.bind(path)
    for i, (column, (non_null, distinct, *_, candidates)) in enumerate(zip(columns, per_column, strict=True)):
        # When (nearly) every value is unique, a "top" list is noise: skip it.
        if not candidates or (non_null > top and distinct >= 0.95 * non_null):
            continue
        for candidate in candidates:
            if candidate is not None:
                parts.append(f"count(*) FILTER (WHERE {column.value_sql} = {params.typed(candidate)})")
                wanted.append((i, candidate))
    if not parts:
        return {}
    counts = cursor.execute(f"SELECT {', '.join(parts)} FROM read_parquet({path_param})", params.values).fetchone()
    found: dict[int, list[tuple[Any, int]]] = {}
    for (i, candidate), count in zip(wanted, counts, strict=True):
        if count:
            found.setdefault(i, []).append((candidate, int(count)))
    return {i: tuple(sorted(pairs, key=lambda p: (-p[1], str(p[0])))[:top]) for i, pairs in found.items()}


def _histograms(cursor, path: str, columns, per_column, bins: int) -> dict[int, Histogram]:
    params, parts, layout = Params(), [], []
    path_param = params.bind(path)
    for i, (column, stats) in enumerate(zip(columns, per_column, strict=True)):
        low, high = stats[4], stats[5]
        if column.kind != "number" or low is None:
            continue
        if column.type.upper() in INTEGER_TYPES and high - low < bins:
            count, width = int(high - low) + 1, 1.0
            edges = tuple(float(low + k) for k in range(count + 1))
        else:
            count, width = bins, ((high - low) / bins) or 1.0
            edges = tuple([low + k * width for k in range(bins)] + [high])
        as_double = f"CAST({column.value_sql} AS DOUBLE)"
        slot = f"floor(({as_double} - {params.typed(float(low))}) / {params.typed(width)})"
        # Clamp in DOUBLE and cast only finite values: DuckDB evaluates the argument before FILTER.
        clamped = f"least(greatest({slot}, 0), {params.typed(float(count - 1))})"
        parts.append(f"histogram(CAST(CASE WHEN isfinite({as_double}) THEN {clamped} END AS BIGINT))")
        layout.append((i, edges, count))
    if not parts:
        return {}
    maps = cursor.execute(f"SELECT {', '.join(parts)} FROM read_parquet({path_param})", params.values).fetchone()
    out = {}
    for (i, edges, count), bucket in zip(layout, maps, strict=True):
        bucket = bucket or {}
        out[i] = Histogram(edges, tuple(int(bucket.get(k, 0)) for k in range(count)))
    return out
