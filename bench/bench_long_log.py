"""A long artifact log on S3 (moto): what reading one artifact costs with N alias / note records.

    python bench/bench_long_log.py [--records 5000]

One artifact gets a version, then ``--records`` alias and note records (as a team moving ``prod`` and
editing notes for months would): all but the last SNAPSHOT_EVERY - 1 written in parallel as records,
then read once (that read writes the snapshot an older log lacks), then the rest appended through the
registry (a snapshot every SNAPSHOT_EVERY records), so the log ends as a long-lived one does: a snapshot
and a tail of records after it. Timed on moto's S3 server over HTTP, in the same run:

- the baseline: an artifact with one record, read by a new Registry;
- the first read of the long log without a snapshot (what an older registry costs once);
- a cold read (a new Registry: the newest snapshot and the records after it);
- a warm read (the same Registry: two listings and the last record);
- a dashboard click (AppTest rerun of the Artifacts page on the long artifact), within the app's fresh
  window and after it.

Issue 15 item 4 asks for a dashboard click under 1 s at 5,000 records. Before snapshots: cold 24.9 s,
warm 2.1 s, one record 0.012 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

from common import REPO, free_port, median_seconds


def write_records(registry, count: int) -> None:
    """``count`` alias and note records after the version record, written as the registry writes them
    (one JSON object per numbered key, naming the version by number and id), in parallel."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    from shanty.log_store import now_iso, seq_name

    log_dir = registry.logs.artifact_dir("p", "long", "log")
    about = {"version": 0, "version_id": registry.version("p", "long", 0).id}

    def put(i: int) -> None:
        if i % 2:
            record = {"op": "note", **about, "text": f"note {i}", "time": now_iso()}
        else:
            record = {"op": "alias", **about, "aliases": [f"prod-{i % 7}"], "time": now_iso()}
        registry.storage.write_bytes(f"{log_dir}/{seq_name(i + 1)}", json.dumps(record, sort_keys=True).encode())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(count)))


def click_seconds(root: str, fresh: bool) -> float:
    """One rerun of the Artifacts page on the long artifact, after a first run (the page opened)."""
    import time

    from streamlit.testing.v1 import AppTest

    from dashboard.workspace import FRESH_SECONDS

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["artifact"] = "p/long"
    at.switch_page("dashboard/views/artifacts.py")
    at.run()
    assert not at.exception, at.exception
    if not fresh:
        time.sleep(FRESH_SECONDS + 0.1)
    started = time.perf_counter()
    at.run()
    return time.perf_counter() - started


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
        from shanty.log_store import SNAPSHOT_EVERY

        os.environ["SHANTY_ROOT"] = root
        tail = SNAPSHOT_EVERY - 1
        write_records(Registry(root), args.records - tail)
        first, _ = median_seconds(lambda: Registry(root).versions("p", "long"), 1)
        registry = Registry(root)
        info = registry.version("p", "long", 0)
        for i in range(tail):
            info = registry.set_note(info, f"late note {i}")
        baseline, _ = median_seconds(lambda: Registry(root).versions("p", "short"), 5)
        cold, _ = median_seconds(lambda: Registry(root).versions("p", "long"), 5)
        warm_registry = Registry(root)
        warm_registry.versions("p", "long")
        warm, _ = median_seconds(lambda: warm_registry.versions("p", "long"), 5)
        # the page's first run and the wait are not timed: click_seconds returns the rerun's seconds
        click = statistics.median(click_seconds(root, fresh=True) for _ in range(3))
        stale_click = statistics.median(click_seconds(root, fresh=False) for _ in range(3))
        print(f"{args.records:,} alias / note records on one artifact, S3 (moto), median seconds:")
        print(f"  one record (baseline):              {baseline:7.3f}")
        print(f"  first read, no snapshot yet:        {first:7.3f}  ({first / baseline:.0f}x the baseline, once)")
        print(f"  cold read (a new Registry):         {cold:7.3f}  ({cold / baseline:.1f}x the baseline)")
        print(f"  warm read (records cached):         {warm:7.3f}  ({warm / baseline:.1f}x the baseline)")
        print(f"  dashboard click (fresh window):     {click:7.3f}  (goal: under 1 s)")
        print(f"  dashboard click (log read again):   {stale_click:7.3f}  (goal: under 1 s)")
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
