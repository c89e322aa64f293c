"""Benchmark: shanty's query engine against pandas on tables of 1M and 10M rows.

Generates (once, in chunks) a "synth" table of N rows with an audio media
column and an "original" table of N/4 songs, then times, spec in and page
out: filter + sort + first page, a page in the middle of a sort, a text search, group by with
media samples, a join (first page and full count) and column summaries.
The same operations run in pandas, reading the Parquet files (pyarrow
dtypes) and on frames already in memory, plus plain DuckDB SQL for scale.
Each contender runs in its own subprocess, which reports its peak RSS.

    python bench/bench_query.py [--rows 1000000 10000000] [--repeat 3] [--dir /tmp/shanty-bench]

Times are the best of ``--repeat`` runs with shanty's caches cleared before
each (so every run includes the count query); "first" is the first run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import common
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shanty.tables.cells import MEDIA_STRUCT as MEDIA

INSTRUMENTS = np.array(["piano", "violin", "drums", "bass", "flute", "guitar", "cello", "harp"])
GENRES = np.array(["rock", "jazz", "pop", "folk", "classical"])
CHUNK = 500_000
CONTENDERS = ("shanty", "duckdb-sql", "pandas-read", "pandas-memory")
OPERATIONS = ("filter+sort page", "deep page", "text search", "group by", "join page+count", "summaries")
GOALS = {  # seconds, per rows
    1_000_000: {"filter+sort page": 0.1, "group by": 0.05, "join page+count": 0.05},
    10_000_000: {"filter+sort page": 0.5, "group by": 0.5, "join page+count": 0.5},
}


def _meta() -> dict[bytes, bytes]:
    return {b"shanty.table": json.dumps({"version": 1, "media": {"audio": "audio"}}).encode()}


def _audio(prefix: str, ids: np.ndarray, rng: np.random.Generator) -> pa.Array:
    n = len(ids)
    uris = pa.array([f"s3://bench/{prefix}/{i:09d}.wav" for i in ids.tolist()], pa.string())
    fields = [
        uris,
        pa.array([f"{prefix}/{i:09d}.wav" for i in ids.tolist()], pa.string()),
        pa.nulls(n, pa.string()),
        pa.array(np.full(n, 44_100), pa.int64()),
        pa.nulls(n, pa.float64()),
        pa.array(np.full(n, "wav")),
    ]
    return pa.StructArray.from_arrays(fields, fields=list(MEDIA), mask=pa.array(rng.random(n) < 0.01))


def generate(directory: Path, rows: int) -> dict[str, Path]:
    """Write synth (rows) and original (rows / 4) tables chunk by chunk; reuse them when present."""
    paths = {"synth": directory / f"synth-{rows}.parquet", "original": directory / f"original-{rows}.parquet"}
    if all(p.exists() for p in paths.values()):
        return paths
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(rows)
    for name, count in (("synth", rows), ("original", rows // 4)):
        writer = None
        for start in range(0, count, CHUNK):
            ids = np.arange(start, min(start + CHUNK, count))
            n = len(ids)
            if name == "synth":
                score = pa.array(rng.random(n), mask=rng.random(n) < 0.01)
                columns = {
                    "id": ids,
                    "song_id": ids // 4,
                    "instrument": INSTRUMENTS[rng.integers(0, len(INSTRUMENTS), n)],
                    "score": score,
                    "duration": rng.integers(5, 600, n),
                    "created": pa.array(np.datetime64("2024-01-01") + ids.astype("timedelta64[s]")),
                    "audio": _audio("synth", ids, rng),
                }
            else:
                columns = {"song_id": ids, "genre": GENRES[ids % len(GENRES)], "audio": _audio("orig", ids, rng)}
            table = pa.table(columns).replace_schema_metadata(_meta())
            if writer is None:
                writer = pq.ParquetWriter(paths[name].with_suffix(".tmp"), table.schema, compression="zstd")
            writer.write_table(table, row_group_size=122_880)
        writer.close()
        paths[name].with_suffix(".tmp").rename(paths[name])
    return paths


# --- contenders (each runs in a child process) -------------------------------------
def _shanty_ops(paths: dict[str, Path], middle: int) -> dict[str, Callable[[], object]]:
    from shanty.query.run import run_query
    from shanty.query.spec import Aggregate, Filter, GroupBy, Join, Query, Sort
    from shanty.query.summaries import column_summaries

    main = {"synth": paths["synth"]}
    both = {"synth": paths["synth"], "original": paths["original"]}
    filtered = Query(
        filters=(Filter("instrument", "=", "piano"), Filter("score", ">", 0.5)), sort=(Sort("duration", True),)
    )
    return {
        "filter+sort page": lambda: run_query(filtered, main),
        "deep page": lambda: run_query(Query(sort=(Sort("score"),), page=middle // 50 + 1), main),
        "text search": lambda: run_query(Query(expression="audio contains '0000123'", sort=(Sort("score"),)), main),
        "group by": lambda: run_query(
            Query(
                group_by=GroupBy(
                    ("instrument",),
                    (Aggregate("count"), Aggregate("mean", "score"), Aggregate("max", "duration")),
                    samples=3,
                )
            ),
            main,
        ),
        "join page+count": lambda: run_query(Query(join=Join("original", ("song_id",))), both),
        "summaries": lambda: column_summaries(paths["synth"]),
    }


def _duckdb_ops(paths: dict[str, Path], middle: int) -> dict[str, Callable[[], object]]:
    import duckdb

    db = duckdb.connect()
    synth, original = str(paths["synth"]), str(paths["original"])

    def run(sql: str, *params: object) -> object:
        return db.execute(sql, list(params)).fetchall()

    where = "FROM read_parquet($1) WHERE instrument = 'piano' AND score > 0.5"
    join = "FROM read_parquet($1) s JOIN read_parquet($2) o USING (song_id)"
    return {
        "filter+sort page": lambda: (
            run(f"SELECT * {where} ORDER BY duration DESC LIMIT 50", synth),
            run(f"SELECT count(*) {where}", synth),
        ),
        "deep page": lambda: run("SELECT * FROM read_parquet($1) ORDER BY score LIMIT 50 OFFSET $2", synth, middle),
        "text search": lambda: run(
            "SELECT * FROM read_parquet($1) WHERE contains(audio.uri, '0000123') ORDER BY score LIMIT 50", synth
        ),
        "group by": lambda: run(
            "SELECT instrument, count(*), avg(score), max(duration), min_by(audio, id, 3) FROM read_parquet($1) "
            "GROUP BY instrument ORDER BY instrument LIMIT 50",
            synth,
        ),
        "join page+count": lambda: (
            run(f"SELECT * {join} LIMIT 50", synth, original),
            run(f"SELECT count(*) {join}", synth, original),
        ),
    }


def _pandas_frame_ops(load: Callable[[], tuple], middle: int) -> dict[str, Callable[[], object]]:
    def filter_sort():
        synth, _ = load()
        hit = synth[(synth["instrument"] == "piano") & (synth["score"] > 0.5)]
        return len(hit), hit.sort_values("duration", ascending=False, kind="stable").head(50)

    def deep_page():
        synth, _ = load()
        return synth.sort_values("score", kind="stable").iloc[middle : middle + 50]

    def text_search():
        synth, _ = load()
        uri = synth["audio"].struct.field("uri")
        hit = synth[uri.str.contains("0000123", regex=False).fillna(False)]
        return len(hit), hit.sort_values("score", kind="stable").head(50)

    def group_by():
        synth, _ = load()
        groups = synth.groupby("instrument", sort=True)
        return groups.agg(count=("id", "size"), mean=("score", "mean"), most=("duration", "max")), groups.head(3)

    def join():
        synth, original = load()
        joined = synth.merge(original, on="song_id", suffixes=(".synth", ".original"))
        return len(joined), joined.head(50)

    def summaries():
        synth, _ = load()
        out = {}
        for name in synth.columns:
            column = synth[name].struct.field("uri") if name == "audio" else synth[name]
            out[name] = (column.isna().sum(), column.nunique(), column.min(), column.max())
            if name in ("instrument", "audio"):
                out[name] += (column.value_counts().head(10),)
            elif name in ("score", "duration", "id", "song_id"):
                out[name] += (np.histogram(column.dropna().to_numpy(dtype="float64"), bins=20),)
        return out

    return {
        "filter+sort page": filter_sort,
        "deep page": deep_page,
        "text search": text_search,
        "group by": group_by,
        "join page+count": join,
        "summaries": summaries,
    }


def _pandas_reader(paths: dict[str, Path], keep: bool) -> Callable[[], tuple]:
    import pandas as pd

    def read() -> tuple:
        return tuple(pd.read_parquet(paths[n], dtype_backend="pyarrow") for n in ("synth", "original"))

    if not keep:
        return read
    frames = read()
    return lambda: frames


def child(contender: str, rows: int, directory: Path, repeat: int) -> None:
    paths = generate(directory, rows)
    if contender == "shanty":
        from shanty.query.database import clear_caches

        ops, reset = _shanty_ops(paths, rows // 2), clear_caches
    elif contender == "duckdb-sql":
        ops, reset = _duckdb_ops(paths, rows // 2), lambda: None
    else:
        reader = _pandas_reader(paths, keep=contender == "pandas-memory")
        ops, reset = _pandas_frame_ops(reader, rows // 2), lambda: None
    results: dict[str, object] = {}
    for name, op in ops.items():
        times = []
        for _ in range(repeat):
            reset()
            start = time.perf_counter()
            op()
            times.append(time.perf_counter() - start)
        results[name] = {"first": times[0], "best": min(times)}
    results["peak_rss_mb"] = common.peak_rss_mb()
    print(json.dumps(results))


# --- parent ------------------------------------------------------------------------------
def run_child(contender: str, rows: int, directory: Path, repeat: int) -> dict:
    command = [sys.executable, __file__, "--child", contender, "--rows", str(rows), "--dir", str(directory)]
    done = subprocess.run([*command, "--repeat", str(repeat)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(rows: int, results: dict[str, dict]) -> None:
    print(f"\n=== {rows:,} rows (seconds: best of runs / first run; peak RSS per contender) ===")
    print(f"{'operation':<18}" + "".join(f"{c:>22}" for c in CONTENDERS) + f"{'pandas-read/shanty':>20}{'goal':>8}")
    for op in OPERATIONS:
        line = f"{op:<18}"
        for contender in CONTENDERS:
            cell = results[contender].get(op)
            line += f"{cell['best']:>12.3f} /{cell['first']:>7.3f}" if cell else f"{'-':>22}"
        shanty, pandas = results["shanty"].get(op), results["pandas-read"].get(op)
        line += f"{pandas['best'] / shanty['best']:>19.1f}x" if shanty and pandas else f"{'-':>20}"
        goal = GOALS.get(rows, {}).get(op)
        if goal is not None and shanty:
            line += f"{'met' if shanty['best'] < goal else 'MISSED':>8} (<{goal}s)"
        print(line)
    print(
        f"{'peak RSS (MB)':<18}" + "".join(f"{results[c].get('peak_rss_mb', float('nan')):>22.0f}" for c in CONTENDERS)
    )
    for contender in CONTENDERS:
        if "error" in results[contender]:
            print(f"  {contender} failed: {results[contender]['error']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/shanty-bench"))
    parser.add_argument("--contenders", nargs="+", default=list(CONTENDERS), choices=CONTENDERS)
    parser.add_argument("--child", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows[0], args.dir, args.repeat)
        return
    print(f"cpus={os.cpu_count()} load={os.getloadavg()[0]:.2f}")
    for rows in args.rows:
        start = time.perf_counter()
        paths = generate(args.dir, rows)
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.0f} MB" for p in paths.values())
        print(f"tables for {rows:,} rows ready in {time.perf_counter() - start:.1f}s ({sizes})")
        results = {c: run_child(c, rows, args.dir, args.repeat) if c in args.contenders else {} for c in CONTENDERS}
        report(rows, results)


if __name__ == "__main__":
    main()
