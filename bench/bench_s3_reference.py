"""Benchmark: referencing an S3 prefix with shanty versus a raw listing (and versus wandb on moto).

Run by hand (not part of the test suite)::

    .venv/bin/python bench/bench_s3_reference.py [--servers fast moto] [--sizes 10000 100000 1000000]

Two servers, each in a subprocess of its own (its own interpreter, so it does not share a GIL with the
client being timed):

* ``fast``: bench/fast_s3_server.py, synthetic buckets answered from pre-rendered XML in well under a
  millisecond a page, so the client's own per-object work is what is measured (every size);
* ``moto``: moto's S3 server, filled with small objects in 100 folders; slow per request, as a real
  store is (sizes up to ``--moto-max``, since filling and listing it take minutes).

For each size, over the same prefix ``data/``, in one run:

(a) the raw boto3 ``list_objects_v2`` paginator (the floor: it only lists),
(b) shanty ``Artifact.add_reference("s3://...")``, everything included (the manifest's entries, or
    past 65,536 objects its Parquet file of entries),
(c) ``wandb.Artifact.add_reference`` (offline, ``AWS_S3_ENDPOINT_URL``), on moto for sizes up to
    ``--wandb-max`` only, because it is slow.

(a) and (b) alternate ``--repeat`` times, so drift in the machine's load hits both alike; each prints
its median and range, and the ratio shanty / raw (per pair of runs) likewise. A table closes the run.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import free_port, timed

PUT_WORKERS = 32
GOAL_VS_RAW = 1.15
GOAL_VS_WANDB = 15.0
FOLDERS = 100
FAST_SERVER = Path(__file__).with_name("fast_s3_server.py")
WARM_BUCKET = "bench-warm"  # ten objects, listed once by each side before the timings


def _wait_for_port(server: subprocess.Popen[bytes], port: int, seconds: float, what: str) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return f"http://127.0.0.1:{port}"
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"{what} did not start within {seconds:.0f} s")


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """moto's server in a subprocess; returns it and its endpoint once it accepts connections."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, _wait_for_port(server, port, 30, "moto's server")


def start_fast(sizes: list[int]) -> tuple[subprocess.Popen[bytes], str]:
    """The fast stand-in server with one bucket ``bench-<size>`` per size, once it has rendered them."""
    port = free_port()
    buckets = [f"bench-{size}={size}" for size in sizes] + [f"{WARM_BUCKET}=10"]
    cmd = [sys.executable, str(FAST_SERVER), "--port", str(port), "--folders", str(FOLDERS), *buckets]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return server, _wait_for_port(server, port, 600, "the fast S3 server")


def configure_environment(endpoint: str, scratch: str) -> None:
    # Set before shanty or wandb build a client: both read the endpoint from here.
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_S3_ENDPOINT_URL=endpoint,  # what wandb reads
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        SHANTY_PROGRESS="0",
        SHANTY_ROOT=os.path.join(scratch, "registry"),
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_DIR=scratch,
        WANDB_CACHE_DIR=os.path.join(scratch, "wandb-cache"),
        WANDB_DATA_DIR=os.path.join(scratch, "wandb-data"),
    )


def fill(client, bucket: str, count: int) -> None:
    """``count`` small objects under ``data/``, spread over 100 folders like a labelled dataset."""
    client.create_bucket(Bucket=bucket)
    keys = [f"data/class_{i % FOLDERS:03d}/clip_{i:07d}.wav" for i in range(count)]
    with ThreadPoolExecutor(PUT_WORKERS) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=bucket, Key=key, Body=key.encode()), keys))


def warm_up(endpoint: str, server: str):
    """Pay one-off costs outside the timings (imports, building clients, first calls) on a bucket of ten
    objects; returns the raw client, built afresh."""
    import boto3

    from shanty.storage import reset_storage_cache

    reset_storage_cache()  # shanty's client was built for the previous server
    client = boto3.client("s3", endpoint_url=endpoint)
    if server == "moto":
        fill(client, WARM_BUCKET, 10)
    raw_listing(client, WARM_BUCKET)
    shanty_reference(f"s3://{WARM_BUCKET}/data")
    return client


def raw_listing(client, bucket: str) -> int:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="data/")
    return sum(len(page.get("Contents", [])) for page in pages)


def shanty_reference(uri: str) -> int:
    import shanty

    added = shanty.Artifact("bench", type="dataset").add_reference(uri)
    return len(added) if isinstance(added, list) else added.count  # past 65,536: a BulkEntries


def wandb_reference(uri: str, max_objects: int) -> int:
    import wandb

    artifact = wandb.Artifact("bench", type="dataset")
    artifact.add_reference(uri, max_objects=max_objects)
    return len(artifact.manifest.entries)


def checked(function: Callable[[], int], expected: int) -> float:
    seconds, count = timed(function)
    if count != expected:
        raise SystemExit(f"expected {expected} objects, got {count}")
    return seconds


def spread(values: list[float], unit: str = " s") -> str:
    """Median [min-max]."""
    return f"{statistics.median(values):.2f}{unit} [{min(values):.2f}-{max(values):.2f}]"


def bench_size(client, server: str, count: int, args: argparse.Namespace) -> dict[str, object]:
    bucket = f"bench-{count}"
    if server == "moto":
        started = time.perf_counter()
        fill(client, bucket, count)
        print(f"\n{server}: {count:,} objects (created in {time.perf_counter() - started:.0f} s)", flush=True)
    else:
        print(f"\n{server}: {count:,} objects", flush=True)
    uri = f"s3://{bucket}/data"
    raw_runs, shanty_runs = [], []
    for _ in range(args.repeat):  # interleaved, so drift in the machine's load hits both alike
        raw_runs.append(checked(lambda: raw_listing(client, bucket), count))
        shanty_runs.append(checked(lambda: shanty_reference(uri), count))
        print(f"  run: raw {raw_runs[-1]:.2f} s, shanty {shanty_runs[-1]:.2f} s", flush=True)
    ratios = [ours / raw for raw, ours in zip(raw_runs, shanty_runs, strict=True)]
    verdict = "ok" if statistics.median(ratios) <= GOAL_VS_RAW else "MISSED"
    print(f"  raw boto3 list_objects_v2   {spread(raw_runs)}")
    print(f"  shanty add_reference        {spread(shanty_runs)}")
    print(f"  shanty / raw                {spread(ratios, 'x')} (goal <= {GOAL_VS_RAW}: {verdict})", flush=True)
    result = {"server": server, "count": count, "raw": raw_runs, "shanty": shanty_runs, "ratio": ratios}
    if server != "moto" or count > args.wandb_max:
        return result
    try:
        theirs = checked(lambda: wandb_reference(uri, count), count)
    except Exception as exc:  # any failure is reported, the benchmark goes on
        print(f"  wandb: could not run ({type(exc).__name__}: {exc})")
        return result
    ours = statistics.median(shanty_runs)
    verdict = "ok" if theirs / ours >= GOAL_VS_WANDB else "MISSED"
    print(
        f"  wandb add_reference         {theirs:.2f} s; wandb / shanty = {theirs / ours:.1f} (goal >= {GOAL_VS_WANDB:.0f}: {verdict})"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", nargs="+", choices=["fast", "moto"], default=["fast", "moto"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--moto-max", type=int, default=100_000, help="larger sizes run on the fast server only")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--wandb-max", type=int, default=10_000, help="0 skips wandb")
    args = parser.parse_args()
    try:
        import wandb

        print(f"wandb {wandb.__version__}")
    except ImportError as exc:
        print(f"wandb is not installed ({exc}); its column is skipped (pip install wandb to compare)")
        args.wandb_max = -1
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for server_name in args.servers:
            sizes = [n for n in args.sizes if server_name == "fast" or n <= args.moto_max]
            if not sizes:
                continue
            server, endpoint = start_fast(sizes) if server_name == "fast" else start_moto()
            try:
                configure_environment(endpoint, scratch)
                client = warm_up(endpoint, server_name)
                results += [bench_size(client, server_name, count, args) for count in sizes]
            finally:
                server.terminate()
                server.wait(timeout=30)
    print("\n| server, objects | raw paginator | shanty add_reference | shanty / raw |")
    print("|---|---|---|---|")
    for r in results:
        print(
            f"| {r['server']}, {r['count']:,} | {spread(r['raw'])} | {spread(r['shanty'])} | {spread(r['ratio'], 'x')} |"
        )


if __name__ == "__main__":
    main()
