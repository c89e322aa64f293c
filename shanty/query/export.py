"""Export every row a query matches (not just one page) as CSV or Parquet.

Rows are fetched through :func:`shanty.query.run.run_query` page by page (the
same validated, parameterised SQL the table view uses) and streamed to the
file, so memory stays bounded by one page whatever the table size.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InvalidInputError
from ..progress import Progress, ProgressSink
from .database import Source
from .paging import MAX_PAGE_SIZE
from .run import result_schema, run_query
from .spec import Query

__all__ = ["EXPORT_FORMATS", "export_query"]

EXPORT_FORMATS = ("csv", "parquet")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    # A spreadsheet wants the media's URI, not a struct.
    if isinstance(value, dict) and "uri" in value:
        value = value["uri"]
    elif isinstance(value, list):
        value = ";".join(str(_csv_cell(v)) for v in value)
    # Text that a spreadsheet would run as a formula (=HYPERLINK(...)) is written as text (OWASP's advice).
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class _CsvSink:
    """Rows as CSV with a header line; media cells as their URI."""

    def __init__(self, target: Path, columns: tuple[str, ...]):
        self._handle = open(target, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._writer = csv.writer(self._handle)
        self._writer.writerow(columns)

    def write(self, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
        self._writer.writerows([_csv_cell(row[c]) for c in columns] for row in rows)

    def close(self) -> None:
        self._handle.close()


class _ParquetSink:
    """Rows as one Parquet file, written a batch at a time with the result's own column types (a column
    that is empty in the first pages keeps its type)."""

    def __init__(self, target: Path, schema: pa.Schema):
        self._writer = pq.ParquetWriter(target, schema, compression="zstd")

    def write(self, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
        if rows:
            self._writer.write_table(pa.Table.from_pylist(rows, schema=self._writer.schema))

    def close(self) -> None:
        if self._writer.is_open:  # closed once when done, again (harmlessly) on the way out
            self._writer.close()


def export_query(
    spec: Query,
    sources: Mapping[str, Source],
    target: str | os.PathLike[str],
    format: str = "csv",
    progress_sink: ProgressSink | None = None,
) -> int:
    """Write all rows matching ``spec`` (its page and page size are ignored) to ``target``.

    Returns the number of rows written. Media cells become their URI in CSV
    (text a spreadsheet would run as a formula is prefixed with ``'``) and
    stay structs in Parquet. The file appears complete or not at all: it is
    written beside ``target`` and renamed when the last row is in.
    """
    if format not in EXPORT_FORMATS:
        raise InvalidInputError(f"Cannot export as {format!r}; choose one of {', '.join(EXPORT_FORMATS)}.")
    page = dataclasses.replace(spec, page=1, page_size=MAX_PAGE_SIZE)
    result = run_query(page, sources)
    target = Path(target)
    temp = target.with_name(f".{target.name}.part-{uuid.uuid4().hex}")
    sink = _CsvSink(temp, result.columns) if format == "csv" else _ParquetSink(temp, result_schema(page, sources))
    written = 0
    try:
        with Progress("export", result.total_rows, progress_sink, unit="row") as bar:
            while True:
                sink.write(result.columns, result.rows)
                written += len(result.rows)
                bar.advance(len(result.rows))
                if result.page >= result.page_count:
                    break
                result = run_query(dataclasses.replace(page, page=result.page + 1), sources)
        sink.close()
        os.replace(temp, target)
        return written
    finally:
        sink.close()
        temp.unlink(missing_ok=True)
