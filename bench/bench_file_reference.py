"""Benchmark: reference 10,000 and 100,000 small local files.

Prints files/s and MB/s for ``Artifact.add_reference("file://...")`` against a
single-threaded hashlib MD5 loop over the same files, measured in the same
run (page cache warmed first, so both read from memory).

    python bench/bench_file_reference.py [--counts 10000 100000] [--size 4096] [--large 200x4]

``--large NxM`` adds a run over N files of M MiB each (media-sized files,
where hashing in parallel threads pays off).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("SHANTY_PROGRESS", "0")

from common import timed

import shanty


def make_files(root: Path, count: int, size: int) -> None:
    payload = os.urandom(size)
    for i in range(count):
        folder = root / f"d{i // 1000:03d}"
        if i % 1000 == 0:
            folder.mkdir(parents=True)
        (folder / f"f{i:07d}.wav").write_bytes(payload[: size - 8] + i.to_bytes(8, "little"))


def baseline(root: Path) -> int:
    """Single-threaded walk + MD5, the simplest correct reference."""
    n = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(dirpath, name), "rb") as handle:
                hashlib.md5(handle.read()).digest()
            n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--size", type=int, default=4096, help="bytes per file")
    parser.add_argument("--large", default="200x4", help="N files of M MiB as NxM; '' to skip")
    args = parser.parse_args()
    runs = [(count, args.size) for count in args.counts]
    if args.large:
        n, mib = (int(x) for x in args.large.lower().split("x"))
        runs.append((n, mib << 20))
    print(f"{'files':>8} {'size':>9} {'who':<28} {'seconds':>8} {'files/s':>10} {'MB/s':>8} {'vs baseline':>12}")
    for count, size in runs:
        work = Path(tempfile.mkdtemp(prefix="shanty-bench-"))
        try:
            make_files(work / "bucket", count, size)
            baseline(work / "bucket")  # warm the page cache for both contenders
            base_s, n = timed(baseline, work / "bucket")
            assert n == count
            artifact = shanty.Artifact("bench", type="raw_data")
            ours_s, entries = timed(artifact.add_reference, f"file://{work / 'bucket'}")
            assert len(entries) == count
            with shanty.init(project="bench", root=str(work / "registry")) as run:
                log_s, _ = timed(run.log_artifact, artifact)
            mb = count * size / 1e6
            for who, secs in (
                ("hashlib, 1 thread", base_s),
                ("shanty add_reference", ours_s),
                ("shanty log_artifact (commit)", log_s),
            ):
                print(
                    f"{count:>8} {size:>9} {who:<28} {secs:>8.2f} {count / secs:>10.0f} {mb / secs:>8.1f} {base_s / secs:>11.2f}x"
                )
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
