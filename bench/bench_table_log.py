"""Benchmark: build and log a 1,000,000-row table of Audio cells, against pandas building the same frame.

Per run, alternating, each in a fresh child process (so each peak RSS is its own):

The rows (row number, song id, instrument, score) are built first, not timed. Then, timed, as the
issue measured its baseline (``pandas build``: the audio column added and the frame written):

(a) pandas: the audio column (each row's file URI as text) added to the frame, ``to_parquet``;
(b) shanty: the same audio column added, then ``Table.from_pandas(frame, media={"audio": ...})``,
    ``artifact.add(table, ...)`` (media resolved to pinned reference entries, one per distinct file:
    each file hashed) and ``run.log_artifact`` (a fresh registry each run).

Prints the median [range] of both over ``--runs`` runs, the ratio against the 3x goal and shanty's
peak RSS against 500 MB (issue 16, item 4). ``--per-cell`` adds the per-cell path
(``Table(dataframe=...)`` of ``shanty.Audio`` objects) once, for comparison.

    python bench/bench_table_log.py [--rows 1000000] [--files 10000] [--runs 3] [--per-cell]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

os.environ.setdefault("SHANTY_PROGRESS", "0")

GOAL_RATIO = 3.0
GOAL_PEAK_MB = 500.0
SAMPLE_RATE = 16000


def build_rows(rows: int, files: int):  # -> pd.DataFrame
    """The rows both sides start from (not timed). Column by column, so only one column's Python values
    are alive at a time (pandas keeps text as Arrow strings)."""
    import pandas as pd

    frame = pd.DataFrame({"row": range(rows)})
    frame["song_id"] = [f"song_{i % files:06d}" for i in range(rows)]
    frame["instrument"] = [("flute", "sax", "violin", "organ")[i % 4] for i in range(rows)]
    frame["score"] = [(i * 7919 % 1000) / 1000 for i in range(rows)]
    return frame


def with_audio(frame, media: Path, rows: int, files: int):  # -> pd.DataFrame
    """The timed part both sides share: each row's audio file URI as a text column."""
    return frame.assign(audio=[f"file://{media}/song_{i % files:06d}.wav" for i in range(rows)])


def _reset_peak() -> None:
    # Linux: writing 5 to clear_refs resets VmHWM, so the next reading is the peak from here on.
    Path("/proc/self/clear_refs").write_text("5")


def child(side: str, work: Path, rows: int, files: int, run: int) -> dict[str, float]:
    """One measurement in this (fresh) process: seconds, its parts, and this process's peak RSS."""
    import pandas as pd  # noqa: F401 - imported before timing on both sides

    import shanty

    media = work / "bucket"
    out: dict[str, float] = {}
    rows_frame = build_rows(rows, files)
    gc.collect()
    out["frame_peak_mb"] = common.peak_rss_mb()
    _reset_peak()  # from here: the side's own peak, with the rows it starts from held in memory
    if side == "pandas":
        start = time.perf_counter()
        with_audio(rows_frame, media, rows, files).to_parquet(work / f"pandas-{run}.parquet")
        out["seconds"] = time.perf_counter() - start
    else:
        start = time.perf_counter()
        frame = with_audio(rows_frame, media, rows, files)
        if side == "shanty":
            table = shanty.Table.from_pandas(frame, media={"audio": {"kind": "audio", "sample_rate": SAMPLE_RATE}})
        else:  # per-cell: a shanty.Audio object per row, as before the columnar path
            cells = [shanty.Audio(uri, sample_rate=SAMPLE_RATE) for uri in frame["audio"]]
            table = shanty.Table(dataframe=frame.assign(audio=cells))
        built = time.perf_counter()
        artifact = shanty.Artifact("big", type="dataset")
        artifact.add(table, "big")
        added = time.perf_counter()
        with shanty.init(project="bench", root=str(work / f"registry-{side}-{run}")) as wandb_run:
            version = wandb_run.log_artifact(artifact)
        logged = time.perf_counter()
        out |= {"seconds": logged - start, "build": built - start, "add": added - built, "log": logged - added}
        out["entries"] = version.file_count
    out["peak_mb"] = common.peak_rss_mb()
    return out


def measure(side: str, work: Path, args: argparse.Namespace, run: int) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", side, "--work", str(work)]
    command += ["--rows", str(args.rows), "--files", str(args.files), "--run", str(run)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {side} child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(values: list[float], unit: str, digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} {unit} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=10_000, help="distinct media files the rows point at")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-cell", action="store_true", help="also time the per-cell path once")
    parser.add_argument("--child", choices=("pandas", "shanty", "per-cell"), help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--run", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.work, args.rows, args.files, args.run)))
        return
    work = Path(tempfile.mkdtemp(prefix="shanty-bench-table-"))
    try:
        media = work / "bucket"
        media.mkdir()
        for i in range(args.files):
            (media / f"song_{i:06d}.wav").write_bytes(b"RIFF" + i.to_bytes(8, "little") * 64)
        pandas_runs, shanty_runs = [], []
        for run in range(args.runs):  # alternate, and swap who goes first, so load drifts hit both sides
            order = ("pandas", "shanty") if run % 2 == 0 else ("shanty", "pandas")
            for side in order:
                result = measure(side, work, args, run)
                (pandas_runs if side == "pandas" else shanty_runs).append(result)
                print(
                    f"  run {run + 1} {side:<7} {result['seconds']:6.2f} s  peak {result['peak_mb']:6.0f} MB",
                    flush=True,
                )
        ratios = [s["seconds"] / p["seconds"] for p, s in zip(pandas_runs, shanty_runs, strict=True)]
        peaks = [s["peak_mb"] for s in shanty_runs]
        whole = [max(s["peak_mb"], s["frame_peak_mb"]) for s in shanty_runs]
        print(f"rows={args.rows:,} distinct media={args.files:,} entries={int(shanty_runs[0]['entries']):,}")
        print(f"{'(a) pandas: audio column + to_parquet':<44} {summary([p['seconds'] for p in pandas_runs], 's')}")
        print(f"{'    its peak RSS':<44} {summary([p['peak_mb'] for p in pandas_runs], 'MB', 0)}")
        print(
            f"{'(b) shanty: audio column + from_pandas + add + log':<44} {summary([s['seconds'] for s in shanty_runs], 's')}"
        )
        for part in ("build", "add", "log"):
            print(f"{'      ' + part:<44} {summary([s[part] for s in shanty_runs], 's')}")
        ok_ratio = "ok" if statistics.median(ratios) <= GOAL_RATIO else "MISSED"
        print(f"{'ratio (b)/(a), goal <= 3x':<44} {summary(ratios, 'x')}  {ok_ratio}")
        ok_peak = "ok" if max(peaks) <= GOAL_PEAK_MB else "MISSED"
        print(f"{'shanty peak RSS (frame held), goal <= 500':<44} {summary(peaks, 'MB', 0)}  {ok_peak}")
        print(f"{'    the process, building the frame too':<44} {summary(whole, 'MB', 0)}")
        if args.per_cell:
            result = measure("per-cell", work, args, 0)
            parts = ", ".join(f"{k} {result[k]:.2f} s" for k in ("build", "add", "log"))
            print(f"{'per-cell path (once)':<44} {result['seconds']:.2f} s ({parts}), peak {result['peak_mb']:.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
