"""Enrichment throughput: N short audio files measured by a single-threaded loop, the local process pool
and a local Ray, in one run; files/s and the ratios to the loop.

    python bench/bench_enrich.py [--files 10000] [--seconds 1.0] [--workers 2] [--skip-ray]

The files (WAV, 16 kHz mono: tones, chirps and noise at seeded levels) are written to a temp folder
acting as the bucket and logged by reference as one table; each runner then enriches it with an empty
result cache of its own, so every file is decoded and measured by every runner. The per-file cost
(CPU seconds per file, from the loop) says what a cluster would do: files/s ~ nodes x cores / cost,
as long as the store serves the bytes (a 1 s WAV is 32 kB).
"""

from __future__ import annotations

import os

# One BLAS / OpenMP thread per process, set before numpy loads: the loop is then truly single-threaded,
# and the pool's processes (which inherit this) do not oversubscribe the cores.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from common import REPO  # noqa: F401, E402 - puts the checkout on sys.path

RATE = 16_000


def write_files(folder: Path, count: int, seconds: float) -> list[Path]:
    from shanty.demo.media import wav_bytes

    rng = np.random.default_rng(0)
    t = np.arange(round(seconds * RATE)) / RATE
    paths = []
    for i in range(count):
        kind = i % 3
        if kind == 0:
            signal = np.sin(2 * np.pi * rng.uniform(100, 2000) * t)
        elif kind == 1:
            signal = np.sin(2 * np.pi * (rng.uniform(100, 500) + rng.uniform(200, 3000) * t) * t)
        else:
            signal = rng.standard_normal(len(t)) * 0.3
        path = folder / f"{i // 1000:03d}" / f"clip_{i:06d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(wav_bytes(signal * rng.uniform(0.05, 0.9), RATE))
        paths.append(path)
    return paths


def log_table(root: Path, paths: list[Path]):
    import shanty

    table = shanty.Table(columns=["clip", "audio"], data=[[p.stem, shanty.Audio(str(p))] for p in paths])
    with shanty.init(project="bench", job_type="upload", root=str(root)) as run:
        artifact = shanty.Artifact("clips", type="dataset")
        artifact.add(table, "clips")
        return run.log_artifact(artifact)


def timed(version, runner: str, cache: Path, **kwargs) -> tuple[float, float, object]:
    import shanty

    os.environ["SHANTY_CACHE"] = str(cache)
    cpu0, start = time.process_time(), time.perf_counter()
    result = shanty.enrich(version, runner=runner, **kwargs)
    return time.perf_counter() - start, time.process_time() - cpu0, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=1.0, help="length of each audio file")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    os.environ["SHANTY_PROGRESS"] = "0"
    with tempfile.TemporaryDirectory(prefix="shanty-bench-enrich-") as tmp:
        base = Path(tmp)
        start = time.perf_counter()
        paths = write_files(base / "bucket", args.files, args.seconds)
        version = log_table(base / "registry", paths)
        print(f"{args.files:,} files of {args.seconds:g} s written and logged in {time.perf_counter() - start:.1f} s")
        rows = []
        loop_s, loop_cpu, loop = timed(version, "serial", base / "cache-serial")
        rows.append(("single-threaded loop", loop_s))
        pool_s, _, pool = timed(version, "local", base / "cache-local", workers=args.workers)
        rows.append((f"local pool ({args.workers} processes)", pool_s))
        results = [loop, pool]
        if not args.skip_ray:
            import ray

            ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
            ray_s, _, on_ray = timed(version, "ray", base / "cache-ray")
            rows.append((f"Ray, local ({args.workers} CPUs)", ray_s))
            results.append(on_ray)
            ray.shutdown()
        same = {r.version.version for r in results}
        print(f"every runner logged the same version: {same == {loop.version.version}} ({', '.join(sorted(same))})")
        print(f"{'runner':<28} {'seconds':>9} {'files/s':>9} {'vs loop':>8}")
        for name, seconds in rows:
            print(f"{name:<28} {seconds:>9.1f} {args.files / seconds:>9.1f} {loop_s / seconds:>7.2f}x")
        per_file_ms = 1000 * loop_cpu / args.files
        print(f"per-file cost (loop, CPU): {per_file_ms:.1f} ms -> {1000 / per_file_ms:.0f} files/s per core")
        for nodes, cores in ((4, 16), (16, 16), (64, 32)):
            print(
                f"  a cluster of {nodes} nodes x {cores} cores: ~{nodes * cores * 1000 / per_file_ms:,.0f} files/s "
                f"(10M files in ~{10_000_000 / (nodes * cores * 1000 / per_file_ms) / 60:.0f} min), if the store keeps up"
            )


if __name__ == "__main__":
    sys.exit(main())
