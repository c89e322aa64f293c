"""Benchmark: log a 1,000,000-row table of Audio cells.

Times building the Table from a DataFrame, ``artifact.add`` (media resolved
to pinned reference entries) and ``log_artifact``, against writing the same
frame with pandas ``to_parquet`` (no media resolution) in the same run.

    python bench/bench_table_log.py [--rows 1000000] [--files 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import common  # noqa: F401 - puts the checkout on sys.path

os.environ.setdefault("SHANTY_PROGRESS", "0")

import pandas as pd

import shanty


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=10_000, help="distinct media files the rows point at")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shanty-bench-table-"))
    try:
        media = work / "bucket"
        media.mkdir()
        for i in range(args.files):
            (media / f"song_{i:06d}.wav").write_bytes(b"RIFF" + i.to_bytes(8, "little") * 64)
        ids = [i % args.files for i in range(args.rows)]
        frame_plain = pd.DataFrame(
            {
                "row": range(args.rows),
                "song_id": [f"song_{i:06d}" for i in ids],
                "instrument": [("flute", "sax", "violin", "organ")[i % 4] for i in range(args.rows)],
                "score": [(i * 7919 % 1000) / 1000 for i in range(args.rows)],
            }
        )
        start = time.perf_counter()
        frame_plain.assign(audio=[f"file://{media}/song_{i:06d}.wav" for i in ids]).to_parquet(work / "pandas.parquet")
        pandas_s = time.perf_counter() - start

        start = time.perf_counter()
        frame = frame_plain.assign(
            audio=[shanty.Audio(f"file://{media}/song_{i:06d}.wav", sample_rate=16000) for i in ids]
        )
        table = shanty.Table(dataframe=frame)
        built_s = time.perf_counter() - start
        artifact = shanty.Artifact("big", type="dataset")
        start = time.perf_counter()
        artifact.add(table, "big")
        add_s = time.perf_counter() - start
        start = time.perf_counter()
        with shanty.init(project="bench", root=str(work / "registry")) as run:
            version = run.log_artifact(artifact)
        log_s = time.perf_counter() - start
        total = built_s + add_s + log_s
        print(f"rows={args.rows:,} distinct media={args.files:,} entries={version.file_count:,}")
        print(f"{'pandas to_parquet (no media)':<36} {pandas_s:7.2f} s")
        print(f"{'shanty Table(dataframe=...)':<36} {built_s:7.2f} s")
        print(f"{'shanty artifact.add(table)':<36} {add_s:7.2f} s")
        print(f"{'shanty log_artifact':<36} {log_s:7.2f} s")
        print(f"{'shanty total':<36} {total:7.2f} s   ({total / pandas_s:.1f}x pandas to_parquet)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
