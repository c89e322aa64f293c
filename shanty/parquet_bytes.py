"""Parquet to and from bytes, the way every stored manifest and table is written and read."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import MalformedError

__all__ = ["read_parquet_bytes", "write_parquet_bytes"]


# Rows per row group. A page read in place (shanty.storage.in_place) fetches whole row groups of the shown
# columns: 2^19 rows keeps a filtered first page of a 10M-row table under 10% of the file (measured by
# bench/bench_query_in_place.py: 8.2% against 13.5% at pyarrow's default 2^20), and costs little locally.
ROW_GROUP_ROWS = 1 << 19


def write_parquet_bytes(table: pa.Table) -> bytes:
    """``table`` as zstd-compressed Parquet bytes, in row groups of :data:`ROW_GROUP_ROWS` rows."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", row_group_size=ROW_GROUP_ROWS)
    return sink.getvalue()


def read_parquet_bytes(data: bytes, unreadable: str) -> pa.Table:
    """Parse Parquet bytes; MalformedError(``unreadable``) when they are not Parquet."""
    try:
        # Single-threaded on purpose: with pyarrow 26 a threaded read often leaves a pool
        # thread that aborts the interpreter at exit ("terminate called without an active exception").
        return pq.read_table(io.BytesIO(data), use_threads=False)
    except (pa.ArrowException, OSError) as exc:
        raise MalformedError(unreadable) from exc
