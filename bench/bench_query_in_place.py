"""Benchmark: the first filtered page of a large table in a bucket registry, read in place vs. downloaded first.

Run by hand (not part of the test suite)::

    python bench/bench_query_in_place.py [--rows 10000000] [--repeat 3] [--store s3|gcs|both]
                                         [--dir /tmp/shanty-bench-in-place]

For each store (default: both) it starts a local server in a subprocess (moto's
S3 server; fake-gcs-server, started as tests/kits/gcs.py starts it), writes a
table of ``--rows`` rows (row groups of 2^19 rows, as shanty writes tables: see
shanty/parquet_bytes.py; an audio media column and a caption, like
bench_query's synth table), logs it into an ``s3://`` or ``gs://`` bucket
registry, then times in one process, caches cleared before every run:

(a) in place: ``ArtifactVersion.table_source`` + ``run_query`` (DuckDB reads the
    footer and the row groups it needs through ranged GETs; the cache stays empty);
(b) the baseline: ``ArtifactVersion.table_file`` (download the whole file into a
    fresh cache, verify its MD5) + ``run_query`` on the local copy.

For each query it prints the median seconds, the bytes read (in place: counted
at the ranged reads; baseline: the file) and the ratios. Goal for the filtered
first page: under 2 s and under 10% of the file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401 - puts the checkout on sys.path
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from bench_query import INSTRUMENTS, _meta
from bench_s3_reference import configure_environment, start_server

from shanty.parquet_bytes import ROW_GROUP_ROWS as ROW_GROUP  # the row groups shanty writes tables in

GOAL_SECONDS = 2.0
GOAL_FRACTION = 0.10


def _audio(ids: np.ndarray, rng: np.random.Generator) -> pa.Array:
    # Every field of shanty's media struct, filled the way a logged audio column is (1% empty cells).
    from shanty.tables.cells import MEDIA_STRUCT

    n = len(ids)
    given = {
        "uri": pa.array([f"s3://bench/synth/{i:09d}.wav" for i in ids.tolist()], pa.string()),
        "entry": pa.array([f"synth/{i:09d}.wav" for i in ids.tolist()], pa.string()),
        "sample_rate": pa.array(np.full(n, 44_100), pa.int64()),
        "format": pa.array(np.full(n, "wav")),
    }
    fields = list(MEDIA_STRUCT)
    children = [given.get(f.name, pa.nulls(n, f.type)) for f in fields]
    return pa.StructArray.from_arrays(children, fields=fields, mask=pa.array(rng.random(n) < 0.01))


def generate(directory: Path, rows: int, row_group: int) -> Path:
    """The table file (reused when present), written one row group at a time."""
    path = directory / f"in-place-{rows}-{row_group}.table.parquet"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(rows)
    writer = None
    for start in range(0, rows, row_group):
        ids = np.arange(start, min(start + row_group, rows))
        n = len(ids)
        table = pa.table(
            {
                "id": ids,
                "instrument": INSTRUMENTS[rng.integers(0, len(INSTRUMENTS), n)],
                "score": pa.array(rng.random(n), mask=rng.random(n) < 0.01),
                "duration": rng.integers(5, 600, n),
                "caption": pa.array([f"take {i} of a {INSTRUMENTS[i % 8]} line" for i in ids.tolist()]),
                "audio": _audio(ids, rng),
            }
        ).replace_schema_metadata(_meta())
        if writer is None:
            writer = pq.ParquetWriter(path.with_suffix(".tmp"), table.schema, compression="zstd")
        writer.write_table(table, row_group_size=row_group)
    writer.close()
    path.with_suffix(".tmp").rename(path)
    return path


def log_table(root: str, file: Path):
    import shanty

    with shanty.init(project="bench", root=root) as run:
        artifact = shanty.Artifact("big", type="dataset")
        artifact.add_file(str(file), name="synth.table.parquet")
        return run.log_artifact(artifact)


BUCKET = "bench-in-place"
SERVERS = {"s3": "moto", "gcs": "fake-gcs-server"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--row-group", type=int, default=ROW_GROUP, help="rows per row group (default: shanty's)")
    parser.add_argument("--store", choices=["s3", "gcs", "both"], default="both", help="which local server(s)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "shanty-bench-in-place")
    args = parser.parse_args()

    file = generate(args.dir, args.rows, args.row_group)
    for store in ("s3", "gcs") if args.store == "both" else (args.store,):
        bench_store(store, file, args.rows, args.repeat)


def bench_store(store: str, file: Path, rows: int, repeat: int) -> None:
    """Start ``store``'s local server, log ``file`` into a bucket registry on it and time the queries."""
    from shanty.storage import reset_storage_cache

    size = file.stat().st_size
    server = SERVERS[store]
    scratch = tempfile.mkdtemp(prefix="shanty-bench-")
    stop, small_object = _start(store, scratch)
    try:
        os.environ["SHANTY_CACHE"] = os.path.join(scratch, "cache")  # starts empty: nothing may land in it
        reset_storage_cache()  # clients are built from the environment just set
        started = time.perf_counter()
        version = log_table(f"{'s3' if store == 's3' else 'gs'}://{BUCKET}/registry", file)
        print(
            f"\n[{store}, {server}] {rows:,} rows, {size / 2**20:.1f} MiB, "
            f"{pq.ParquetFile(file).num_row_groups} row groups; logged in {time.perf_counter() - started:.1f} s"
        )
        small, big = server_latency(version, small_object)
        print(
            f"{server} answers a 1 KiB ranged GET of this object in {big * 1000:.0f} ms ({small * 1000:.0f} ms "
            "for a 1 MiB object). Where its cost per request grows with the object (S3's and GCS's does not), "
            "'less server' takes that difference off each GET made in place: an estimate of the time on a "
            "store without it."
        )
        run(version, size, rows, repeat, scratch, max(0.0, big - small))
    finally:
        stop()
        shutil.rmtree(scratch, ignore_errors=True)
        reset_storage_cache()


def _start(store: str, scratch: str):
    """The server for ``store``, running, with a bucket named BUCKET and the environment pointing at it;
    returns (stop, the URI of a 1 MiB object in the bucket)."""
    if store == "s3":
        server, endpoint = start_server()
        configure_environment(endpoint, scratch)
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key="small", Body=bytes(1 << 20))

        def stop() -> None:
            server.terminate()
            server.wait(timeout=30)

        return stop, f"s3://{BUCKET}/small"
    from tests.kits.gcs import FakeGcs, plain_client  # how the tests start it (memory backend, free port)

    fake = FakeGcs().start()
    os.environ.update(STORAGE_EMULATOR_HOST=fake.url, SHANTY_PROGRESS="0")
    bucket = plain_client().create_bucket(BUCKET)
    bucket.blob("small").upload_from_string(bytes(1 << 20))
    return fake.stop, f"gs://{BUCKET}/small"


def server_latency(version, small_object: str, tries: int = 10) -> tuple[float, float]:
    """Seconds per 1 KiB ranged GET from the server: of a 1 MiB object, and of the table's object."""
    from shanty.storage import open_range

    table = version.table_source("synth")
    timings = []
    for uri, at in ((small_object, None), (table.uri, table.version)):
        with open_range(uri, at, 0, 1024) as body:  # untimed: the first request pays for the connection
            body.read()
        started = time.perf_counter()
        for _ in range(tries):
            with open_range(uri, at, 0, 1024) as body:
                body.read()
        timings.append((time.perf_counter() - started) / tries)
    return timings[0], timings[1]


def run(version, size: int, rows: int, repeat: int, scratch: str, server_overhead: float) -> None:
    from shanty import Filter, Query, Sort, run_query
    from shanty.query.database import clear_caches
    from shanty.storage.in_place import RemoteFile, forget_footers, read_count

    queries = {
        "filtered first page": Query(filters=(Filter("instrument", "=", "piano"),)),
        "two filters, a number": Query(filters=(Filter("instrument", "=", "piano"), Filter("score", ">", 0.5))),
        "id range page": Query(filters=(Filter("id", "between", [rows * 7 // 10, rows * 7 // 10 + 999]),)),
        "filtered + sorted page": Query(
            filters=(Filter("instrument", "=", "piano"),), sort=(Sort("duration", descending=True),)
        ),
    }
    print(
        f"{'query':<24}{'in place s':>11}{'less srv':>10}{'GETs':>6}{'read MiB':>10}{'% file':>8}"
        f"{'download s':>12}{'speed-up':>10}  goal"
    )
    for label, spec in queries.items():
        in_place, read, requests, rows = [], 0, 0, None
        for _ in range(repeat):
            clear_caches()
            forget_footers()
            started = time.perf_counter()
            source = version.table_source("synth")
            assert isinstance(source, RemoteFile), source
            before = read_count(source)
            result = run_query(spec, {"synth": source})
            in_place.append(time.perf_counter() - started)
            read, requests = read_count(source).bytes - before.bytes, read_count(source).requests - before.requests
            rows = (result.total_rows, result.rows)
        cache_left = [p for p in Path(os.environ["SHANTY_CACHE"]).rglob("*") if p.is_file()]
        assert not cache_left, "querying in place downloaded something"
        downloaded = []
        for attempt in range(repeat):
            os.environ["SHANTY_CACHE"] = os.path.join(scratch, f"cache-{label}-{attempt}")
            clear_caches()
            started = time.perf_counter()
            result = run_query(spec, {"synth": version.table_file("synth")})
            downloaded.append(time.perf_counter() - started)
            assert (result.total_rows, result.rows) == rows, "in place and downloaded results differ"
        os.environ["SHANTY_CACHE"] = os.path.join(scratch, "cache")
        seconds, baseline = sorted(in_place)[len(in_place) // 2], sorted(downloaded)[len(downloaded) // 2]
        fraction = read / size
        adjusted = max(0.0, seconds - requests * server_overhead)
        goal = ""
        if label == "filtered first page":
            verdicts = [
                f"{fraction:.1%} of the file: {'met' if fraction < GOAL_FRACTION else 'MISSED'}",
                f"{seconds:.2f} s: {'met' if seconds < GOAL_SECONDS else 'MISSED'}",
                f"less server {adjusted:.2f} s: {'met' if adjusted < GOAL_SECONDS else 'MISSED'}",
            ]
            goal = f"(< {GOAL_FRACTION:.0%}, < {GOAL_SECONDS:g} s) " + "; ".join(verdicts)
        print(
            f"{label:<24}{seconds:>11.3f}{adjusted:>10.3f}{requests:>6}{read / 2**20:>10.1f}{fraction:>8.1%}{baseline:>12.3f}"
            f"{baseline / seconds:>9.1f}x  {goal}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
