"""Benchmark: referencing an S3 prefix with shanty versus a raw listing and versus wandb.

Run by hand (not part of the test suite)::

    /work/venv/bin/python bench/bench_s3_reference.py [--sizes 10000 100000] [--repeat 3]

It starts moto's S3 server in a subprocess (its own interpreter, so the server
does not share a GIL with the client being timed), fills one bucket per size
with small objects in 100 folders, then times over the same prefix in one run:

(a) the raw boto3 ``list_objects_v2`` paginator (the floor: it only lists),
(b) shanty ``Artifact.add_reference("s3://...")``,
(c) ``wandb.Artifact.add_reference`` (offline, ``AWS_S3_ENDPOINT_URL``), for
    sizes up to ``--wandb-max`` only, because it is slow.

Each figure is the median of ``--repeat`` runs (wandb runs once).
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

from common import free_port, median_seconds

PUT_WORKERS = 32
GOAL_VS_RAW = 1.5
GOAL_VS_WANDB = 15.0


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    """moto's server in a subprocess; returns it and its endpoint once it accepts connections."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto's server did not start within 30 s")


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


def fill(client, bucket: str, count: int, folders: int) -> None:
    """``count`` small objects under ``data/``, spread over ``folders`` folders like a labelled dataset."""
    client.create_bucket(Bucket=bucket)
    keys = [f"data/class_{i % folders:03d}/clip_{i:07d}.wav" for i in range(count)]
    with ThreadPoolExecutor(PUT_WORKERS) as pool:
        list(pool.map(lambda key: client.put_object(Bucket=bucket, Key=key, Body=key.encode()), keys))


def warm_up() -> None:
    """Pay one-off costs outside the timings, as the raw client's creation is: imports and client building."""
    import shanty  # noqa: F401 - imported for its import time only
    from shanty.storage import storage_for

    storage_for("s3://bench").client  # noqa: B018 - built lazily on first access


def raw_listing(client, bucket: str) -> int:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="data/")
    return sum(len(page.get("Contents", [])) for page in pages)


def shanty_reference(uri: str) -> int:
    import shanty

    return len(shanty.Artifact("bench", type="dataset").add_reference(uri))


def wandb_reference(uri: str, max_objects: int) -> int:
    import wandb

    artifact = wandb.Artifact("bench", type="dataset")
    artifact.add_reference(uri, max_objects=max_objects)
    return len(artifact.manifest.entries)


def median_run(function: Callable[[], int], repeat: int, expected: int) -> float:
    seconds, counts = median_seconds(function, repeat)
    if set(counts) != {expected}:
        raise SystemExit(f"expected {expected} objects, got {sorted(set(counts))}")
    return seconds


def row(label: str, count: int, seconds: float) -> None:
    print(f"  {label:<32} {seconds:9.2f} s  {count / seconds:10,.0f} objects/s", flush=True)


def bench_size(client, count: int, args: argparse.Namespace) -> None:
    bucket = f"bench-{count}"
    started = time.perf_counter()
    fill(client, bucket, count, args.folders)
    print(
        f"\n{count:,} objects in {args.folders} folders (created in {time.perf_counter() - started:.0f} s)", flush=True
    )
    uri = f"s3://{bucket}/data"
    raw_runs, shanty_runs = [], []
    for _ in range(args.repeat):  # interleaved, so drift in the machine's load hits both alike
        raw_runs.append(median_run(lambda: raw_listing(client, bucket), 1, count))
        shanty_runs.append(median_run(lambda: shanty_reference(uri), 1, count))
    raw, ours = statistics.median(raw_runs), statistics.median(shanty_runs)
    row("raw boto3 list_objects_v2", count, raw)
    row("shanty add_reference", count, ours)
    verdict = "ok" if ours / raw <= GOAL_VS_RAW else "MISSED"
    print(f"  shanty time / raw time = {ours / raw:.2f} (goal <= {GOAL_VS_RAW}: {verdict})")
    if count > args.wandb_max:
        print(f"  wandb: skipped above {args.wandb_max:,} objects (--wandb-max)")
        return
    try:
        theirs = median_run(lambda: wandb_reference(uri, count), 1, count)
    except Exception as exc:  # any failure is reported, the benchmark goes on
        print(f"  wandb: could not run ({type(exc).__name__}: {exc})")
        return
    row("wandb add_reference", count, theirs)
    verdict = "ok" if theirs / ours >= GOAL_VS_WANDB else "MISSED"
    print(f"  wandb time / shanty time = {theirs / ours:.1f} (goal >= {GOAL_VS_WANDB:.0f}: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--folders", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--wandb-max", type=int, default=10_000)
    args = parser.parse_args()

    server, endpoint = start_server()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            configure_environment(endpoint, scratch)
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint)
            warm_up()
            try:
                import wandb

                print(f"wandb {wandb.__version__}")
            except ImportError as exc:
                print(f"wandb is not installed ({exc}); its column is skipped (pip install wandb to compare)")
                args.wandb_max = -1
            for count in args.sizes:
                bench_size(client, count, args)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
