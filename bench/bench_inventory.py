"""Inventory-scale references: an N-object S3 Inventory report becomes a logged version; time and peak memory.

    python bench/bench_inventory.py [--objects 10000000] [--format parquet|csv] [--curve]

The report (manifest.json plus data files in AWS's layout, versioned rows with delete markers) is
generated locally with DuckDB, then ``Artifact.add_reference(uri, inventory=report)`` and the commit
to a local registry run in a child process, whose peak RSS and CPU time (user + system, every thread;
steadier than wall time on a shared machine) are read from ``getrusage``. ``--curve`` runs 1M then
the given size. Goal: 10M objects in < 60 s and < 2 GB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO  # noqa: F401 - puts the checkout on sys.path

SHARDS = 8


def make_report(folder: Path, objects: int, fmt: str) -> Path:
    """An S3 Inventory report of ``objects`` live objects (plus 1% delete markers) in ``folder``."""
    import duckdb

    base = folder / "inv" / "bench" / "daily"
    (base / "data").mkdir(parents=True)
    files = []
    con = duckdb.connect()
    for shard in range(SHARDS):
        rows = f"""
            SELECT 'bench' AS bucket, 'media/' || (i % 1000)::VARCHAR || '/' || lpad(i::VARCHAR, 10, '0') || '.wav' AS key,
                   md5('v' || i::VARCHAR) AS version_id, true AS is_latest, false AS is_delete_marker,
                   (1000 + i % 5000)::BIGINT AS size, TIMESTAMPTZ '2026-11-01 00:00:00+00' AS last_modified_date,
                   md5(i::VARCHAR) AS e_tag
            FROM range({shard}, {objects}, {SHARDS}) t(i)
            UNION ALL
            SELECT 'bench', 'media/gone/' || i::VARCHAR, md5('d' || i::VARCHAR), true, true, NULL, NULL, NULL
            FROM range({shard}, {objects // 100}, {SHARDS}) t(i)"""
        if fmt == "parquet":
            path = base / "data" / f"shard-{shard}.parquet"
            con.execute(f"COPY ({rows}) TO '{path}' (FORMAT parquet)")
        else:
            path = base / "data" / f"shard-{shard}.csv.gz"
            con.execute(f"COPY ({rows}) TO '{path}' (FORMAT csv, HEADER false, COMPRESSION gzip)")
        files.append({"key": f"inv/bench/daily/data/{path.name}", "size": path.stat().st_size, "MD5checksum": ""})
    manifest = {
        "sourceBucket": "bench",
        "destinationBucket": "arn:aws:s3:::reports",
        "version": "2016-11-30",
        "fileFormat": "Parquet" if fmt == "parquet" else "CSV",
        "fileSchema": "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag",
        "files": files,
    }
    (base / "2026-11-27T00-00Z").mkdir()
    target = base / "2026-11-27T00-00Z" / "manifest.json"
    target.write_text(json.dumps(manifest))
    return target


def child(report: str, registry: str) -> None:
    """The measured part: reference from the report and commit the version."""
    import shanty

    started = time.perf_counter()
    artifact = shanty.Artifact("media", "dataset")
    artifact.add_reference("s3://bench/media", inventory=report)
    referenced = time.perf_counter() - started
    with shanty.init(project="bench", root=registry) as run:
        version = run.log_artifact(artifact)
    total = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {"files": version.file_count, "reference_s": referenced, "total_s": total}
    result.update(cpu_s=usage.ru_utime + usage.ru_stime, peak_mb=usage.ru_maxrss / 1024)
    print(json.dumps(result))


def run(objects: int, fmt: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as tmp:
        started = time.perf_counter()
        report = make_report(Path(tmp), objects, fmt)
        generated = time.perf_counter() - started
        child_run = subprocess.run(
            [sys.executable, __file__, "--child", str(report), str(Path(tmp) / "registry")],
            capture_output=True,
            text=True,
        )
        if child_run.returncode:  # say why: the last lines of the child's traceback
            sys.exit(f"{objects:,} objects ({fmt}) failed:\n" + "\n".join(child_run.stderr.splitlines()[-3:]))
        out = child_run.stdout
        result = json.loads(out.strip().splitlines()[-1])
        result["generate_s"] = generated
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=10_000_000)
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--curve", action="store_true", help="also run 1M objects first")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sizes = sorted({1_000_000, args.objects}) if args.curve else [args.objects]
    print(f"{'objects':>12} {'format':>8} {'reference s':>12} {'log total s':>12} {'cpu s':>8} {'peak MB':>9}")
    for size in sizes:
        r = run(size, args.format)
        assert r["files"] == size, r
        print(
            f"{size:>12,} {args.format:>8} {r['reference_s']:>12.1f} {r['total_s']:>12.1f} {r['cpu_s']:>8.1f} "
            f"{r['peak_mb']:>9.0f}"
        )


if __name__ == "__main__":
    main()
