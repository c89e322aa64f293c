"""Benchmark: diff two 1,000,000-entry manifests in Python and in DuckDB.

Writes two manifests in shanty's Parquet schema (sorted by path, as shanty
writes them; the new one with a share of entries added, removed, modified and
renamed, and some duplicate digests so renames have several candidates), then
times, each in its own subprocess so peak RSS is its own:

* Python: ``Manifest.from_parquet_bytes`` on both files and ``diff_manifests``;
  the first page, a page of one kind and a path search are list slices after that.
* DuckDB: ``diff_manifest_files`` (summary), the first page of changes, a page
  filtered by kind, a path search, a deep page, and the cached diff again.

    python bench/bench_version_diff.py [--entries 1000000] [--added 0.01] [--removed 0.01]
                                       [--modified 0.01] [--renamed 0.005]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common  # puts the checkout on sys.path first
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shanty.manifest import MANIFEST_SCHEMA

GENRES = ("ambient", "choir", "drone", "folk", "jazz", "rock")
SEARCH = "JAZZ/take_00012"  # matches ~0.02% of the paths, in a different case


def _write(path: Path, paths: list[str], digests: list[str], sizes: np.ndarray, rng: np.random.Generator) -> None:
    versions = [f"{v:016x}" for v in rng.integers(0, 2**63, len(paths))]
    table = pa.table(
        {
            "path": paths,
            "digest": digests,
            "size": sizes,
            "ref": [f"s3://bench-bucket/{p}" for p in paths],
            "version": versions,
            "extra": [f'{{"etag": "{d[:12]}", "last_modified": "2024-05-01T12:00:00Z"}}' for d in digests],
        },
        schema=MANIFEST_SCHEMA,
    )
    # Sorted by path and zstd-compressed, like Manifest.to_parquet_bytes.
    pq.write_table(table.sort_by("path"), path, compression="zstd")


def generate(work: Path, entries: int, fractions: dict[str, float], seed: int = 7) -> tuple[Path, Path]:
    """Write old.parquet and new.parquet; returns their paths."""
    rng = np.random.default_rng(seed)
    paths = [f"songs/{GENRES[i % len(GENRES)]}/take_{i:07d}.wav" for i in range(entries)]
    raw = rng.integers(0, 2**63, entries)
    copies = np.arange(0, entries - 1, 50)
    raw[copies] = raw[copies + 1]  # every 50th file is a copy of the next: renames get several candidates
    digests = [f"{v:016x}{v % 9973:06x}==" for v in raw]
    sizes = rng.integers(1_000, 50_000_000, entries)
    old = work / "old.parquet"
    _write(old, paths, digests, sizes, rng)

    fate = rng.random(entries)
    cut = np.cumsum([fractions["removed"], fractions["modified"], fractions["renamed"]])
    new_paths, new_digests, new_sizes = [], [], []
    for i in range(entries):
        if fate[i] < cut[0]:
            continue  # removed
        if fate[i] < cut[1]:  # modified: same path, new content
            new_paths.append(paths[i])
            new_digests.append(f"{raw[i] ^ 0x5A5A:016x}{i % 9973:06x}==")
            new_sizes.append(int(sizes[i]) + 1)
        elif fate[i] < cut[2]:  # renamed: same content, new path
            new_paths.append(paths[i].replace("take_", "final_"))
            new_digests.append(digests[i])
            new_sizes.append(int(sizes[i]))
        else:
            new_paths.append(paths[i])
            new_digests.append(digests[i])
            new_sizes.append(int(sizes[i]))
    for i in range(int(entries * fractions["added"])):
        new_paths.append(f"songs/new/take_{i:07d}.wav")
        new_digests.append(f"{rng.integers(0, 2**63):016x}added==")
        new_sizes.append(int(rng.integers(1_000, 50_000_000)))
    new = work / "new.parquet"
    _write(new, new_paths, new_digests, np.array(new_sizes, dtype=np.int64), rng)
    return old, new


# --- children: one implementation each, in its own process ---------------------------------------


def _timed(times: dict[str, float], name: str, fn):
    times[name], result = common.timed(fn)
    return result


def child_python(old: Path, new: Path) -> dict[str, Any]:
    from shanty.diff.manifests import ChangeKind, diff_manifests
    from shanty.manifest import Manifest

    base, times = common.peak_rss_mb(), {}
    start = time.perf_counter()
    manifests = _timed(
        times, "load", lambda: [Manifest.from_parquet_bytes(p.read_bytes(), where=str(p)) for p in (old, new)]
    )
    diff = _timed(times, "diff", lambda: diff_manifests(*manifests))
    times["summary"] = time.perf_counter() - start
    _timed(times, "first page", lambda: diff.changes[:100])
    _timed(times, "kind page", lambda: diff.of_kind(ChangeKind.MODIFIED)[:100])
    needle = SEARCH.lower()
    _timed(times, "path search", lambda: [c for c in diff.changes if needle in c.path.lower()][:100])
    return {"times": times, "summary": diff.summary.to_dict(), "base_mb": base, "peak_mb": common.peak_rss_mb()}


def child_duckdb(old: Path, new: Path) -> dict[str, Any]:
    from shanty.diff.manifest_files import diff_manifest_files
    from shanty.diff.manifests import ChangeKind
    from shanty.query.database import connection

    with connection() as cursor:  # open DuckDB first: its start-up is not the diff's cost
        cursor.execute("SELECT 1").fetchall()
    base, times = common.peak_rss_mb(), {}
    diff = _timed(times, "summary", lambda: diff_manifest_files(old, new))
    _timed(times, "first page", lambda: diff.changes(page_size=100))
    _timed(times, "kind page", lambda: diff.changes([ChangeKind.MODIFIED], page_size=100))
    _timed(times, "path search", lambda: diff.changes(path_contains=SEARCH, page_size=100))
    _timed(times, "deep page", lambda: diff.changes(page=diff.summary.new_files // 200, page_size=100))
    _timed(times, "summary again", lambda: diff_manifest_files(old, new))
    return {"times": times, "summary": diff.summary.to_dict(), "base_mb": base, "peak_mb": common.peak_rss_mb()}


CHILDREN = {"python": child_python, "duckdb": child_duckdb}


def _run_child(name: str, old: Path, new: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", name, str(old), str(new)], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"The {name} run failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    for kind, share in (("added", 0.01), ("removed", 0.01), ("modified", 0.01), ("renamed", 0.005)):
        parser.add_argument(f"--{kind}", type=float, default=share, help=f"share of entries {kind} (default {share})")
    parser.add_argument("--child", nargs=3, metavar=("IMPL", "OLD", "NEW"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, old, new = args.child
        print(json.dumps(CHILDREN[name](Path(old), Path(new))))
        return

    work = Path(tempfile.mkdtemp(prefix="shanty-bench-version-diff-"))
    try:
        fractions = {k: getattr(args, k) for k in ("added", "removed", "modified", "renamed")}
        start = time.perf_counter()
        old, new = generate(work, args.entries, fractions)
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 2**20:.1f} MiB" for p in (old, new))
        print(f"generated {args.entries:,} entries ({sizes}) in {time.perf_counter() - start:.1f} s")
        results = {name: _run_child(name, old, new) for name in CHILDREN}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    py, db = results["python"], results["duckdb"]
    summary = db["summary"]
    counts = ", ".join(f"{k} {summary[k]['count']:,}" for k in ("added", "removed", "modified", "renamed", "unchanged"))
    print(f"changes: {counts}")
    print(f"summaries identical: {py['summary'] == db['summary']}")
    print()
    print(f"{'step':<16}{'python s':>10}{'duckdb s':>10}{'python/duckdb':>15}")
    steps = ["summary", "first page", "kind page", "path search", "deep page", "summary again"]
    for step in steps:
        a, b = py["times"].get(step), db["times"].get(step)
        ratio = "" if a is None or not b else f"{a / b:.0f}x" if a >= 10 * b else f"{a / b:.2f}x"
        print(f"{step:<16}{'' if a is None else f'{a:.3f}':>10}{'' if b is None else f'{b:.3f}':>10}{ratio:>15}")
    print(f"  (python summary = load {py['times']['load']:.3f} s + diff {py['times']['diff']:.3f} s)")
    first = {name: r["times"]["summary"] + r["times"]["first page"] for name, r in results.items()}
    print(
        f"summary + first page: python {first['python']:.3f} s, duckdb {first['duckdb']:.3f} s "
        f"({first['python'] / first['duckdb']:.0f}x)"
    )
    for name, r in results.items():
        print(f"peak RSS {name:<7} {r['peak_mb']:7.0f} MiB (after imports {r['base_mb']:.0f} MiB)")


if __name__ == "__main__":
    main()
