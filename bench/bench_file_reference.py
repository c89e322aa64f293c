"""Benchmark: reference local folders (issue 16, item 2) against a single-threaded MD5 loop.

For 10,000 and 100,000 files of 4 KiB and 200 files of 4 MiB: 3 runs each, alternating the baseline
(``os.walk`` + ``hashlib.md5`` of each file, one thread, the simplest correct reference) and
``Artifact.add_reference("file://...")``, page cache warm (one untimed run of each first, which
also starts shanty's hashing workers: a process's first reference pays about 15 ms more per
worker). Prints the median [range] seconds of each and of the speed-up, against the goal: shanty at
least 1.6x faster than the loop. CPU seconds (shanty's: this process plus its workers) show what
the machine would give if no one else used its cores: the load average is printed with each size.

    python bench/bench_file_reference.py [--sizes 10000x4096 100000x4096 200x4194304] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SHANTY_PROGRESS", "0")

from common import timed

import shanty
from shanty.storage import file_pool

GOAL = 1.6


def make_files(root: Path, count: int, size: int) -> None:
    """``count`` files of ``size`` bytes, a thousand per folder, each with different content."""
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


def reference(root: Path) -> int:
    artifact = shanty.Artifact("bench", type="raw_data")
    found = artifact.add_reference(f"file://{root}")
    return len(found) if isinstance(found, list) else found.count


def cpu_seconds() -> float:
    """CPU seconds of this process and of shanty's hashing workers (idle between listings)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = usage.ru_utime + usage.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    for process in list(file_pool._idle):
        try:
            fields = Path(f"/proc/{process.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measured(function, root: Path, count: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call, checking it saw every file."""
    before = cpu_seconds()
    seconds, found = timed(function, root)
    assert found == count, (found, count)
    return seconds, cpu_seconds() - before


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.3f} [{min(values):.3f}-{max(values):.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["10000x4096", "100000x4096", "200x4194304"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; goal: shanty at least {GOAL}x faster than the single-threaded loop")
    header = f"{'files':>7} {'size':>8} {'loop s':>22} {'shanty s':>22} {'speed-up':>22} {'CPU s loop/shanty':>18}"
    print(header)
    for spec in args.sizes:
        count, size = (int(x) for x in spec.lower().split("x"))
        work = Path(tempfile.mkdtemp(prefix="shanty-bench-"))
        try:
            make_files(work / "bucket", count, size)
            baseline(work / "bucket")  # warm the page cache, shanty's imports and workers
            reference(work / "bucket")
            load = os.getloadavg()[0]
            loops, ours, ratios, loop_cpu, our_cpu = [], [], [], [], []
            for _ in range(args.runs):
                seconds, cpu = measured(baseline, work / "bucket", count)
                loops.append(seconds)
                loop_cpu.append(cpu)
                seconds, cpu = measured(reference, work / "bucket", count)
                ours.append(seconds)
                our_cpu.append(cpu)
                ratios.append(loops[-1] / ours[-1])
            ratio = statistics.median(ratios)
            verdict = "meets" if ratio >= GOAL else "misses"
            cpus = f"{statistics.median(loop_cpu):.2f}/{statistics.median(our_cpu):.2f}"
            print(
                f"{count:>7} {size:>8} {spread(loops):>22} {spread(ours):>22} {spread(ratios):>21}x {cpus:>18}"
                f"  {verdict} {GOAL}x (load average {load:.1f} at start)"
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)
        time.sleep(0.1)


if __name__ == "__main__":
    main()
