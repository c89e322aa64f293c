"""A long artifact log on S3 (moto): what reading one artifact costs with N alias / note records.

    python bench/bench_long_log.py [--records 5000]

One artifact gets a version, then ``--records`` alias and note records (as a team moving ``prod``
and editing notes for months would). Timed on moto's S3 server over HTTP, in the same run: the
baseline (an artifact with one record), a cold read (a new Registry: every record fetched) and a warm
one (the same Registry, as the dashboard's cached API: only the listing of the log). Issue 15 item 4
asks for a dashboard click under 1 s at 5,000 records: the warm figure is what a click pays
(measured before snapshots exist: cold 24.9 s, warm 2.1 s, one record 0.012 s).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from common import REPO, free_port, median_seconds  # noqa: F401 - REPO puts the checkout on sys.path


def write_records(registry, count: int) -> None:
    """``count`` alias and note records after the version record, written as the registry writes them
    (one JSON object per numbered key), in parallel: appending them one by one re-lists the log each time."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    from shanty.registry import now_iso

    log_dir = registry._log_dir("p", "long")

    def put(i: int) -> None:
        if i % 2:
            record = {"op": "note", "version": 0, "text": f"note {i}", "time": now_iso()}
        else:
            record = {"op": "alias", "version": 0, "aliases": [f"prod-{i % 7}"], "time": now_iso()}
        registry.storage.write_bytes(f"{log_dir}/{i + 1:010d}.json", json.dumps(record, sort_keys=True).encode())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(count)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    args = parser.parse_args()
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_EC2_METADATA_DISABLED="true",
        SHANTY_PROGRESS="0",
    )
    import boto3

    import shanty
    from shanty.registry import Registry

    try:
        boto3.client("s3").create_bucket(Bucket="bench")
        root = "s3://bench/registry"
        with tempfile.TemporaryDirectory() as folder:
            media = os.path.join(folder, "a.wav")
            with open(media, "wb") as handle:
                handle.write(b"RIFF")
            for name in ("short", "long"):
                with shanty.init(project="p", job_type="upload", root=root) as run:
                    artifact = shanty.Artifact(name, type="raw_data")
                    artifact.add_reference(media)
                    run.log_artifact(artifact)
        write_records(Registry(root), args.records)
        baseline, _ = median_seconds(lambda: Registry(root).versions("p", "short"), 5)
        cold, _ = median_seconds(lambda: Registry(root).versions("p", "long"), 3)
        warm_registry = Registry(root)
        warm_registry.versions("p", "long")
        warm, _ = median_seconds(lambda: warm_registry.versions("p", "long"), 5)
        print(f"{args.records:,} alias / note records on one artifact, S3 (moto), median seconds:")
        print(f"  one record (baseline):        {baseline:7.3f}")
        print(f"  cold read (a new Registry):   {cold:7.3f}  ({cold / baseline:.0f}x the baseline)")
        print(f"  warm read (records cached):   {warm:7.3f}  ({warm / baseline:.1f}x the baseline)")
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
