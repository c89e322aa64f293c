"""Referencing N objects through the streaming listing: time and peak memory, against the old list path.

    python bench/bench_reference_memory.py [--objects 10000000] [--list-objects 1000000] [--moto 20000]

Each measurement runs in a child process (``add_reference`` of a prefix, ``log_artifact`` to a local
registry, then ``len`` and ``digest`` of the version read back), whose peak RSS is read from
``getrusage``. Two paths are compared in the same run:

* **stream**: the shipped path; the listing is handed on in chunks and written to a sorted Parquet
  file of entries (no Python object per entry survives a chunk);
* **bulk**: the stream path forced to write Parquet at any size (it does past 65,536 objects; the
  moto rows use it, as a moto-sized listing would otherwise take the small branch);
* **list**: the path before it; the whole listing as a list of ObjectInfo, then one ManifestEntry per
  object (run at ``--list-objects``, a size it can manage; the stream path runs there too).

The 10M point uses a **synthetic listing**: a storage backend registered for the test scheme
``synth://`` that generates S3-like object metadata (key, ETag, version id, size, last-modified) with
no server, in chunks handed out of key order the way concurrent S3 workers hand them, because putting
10M objects into moto takes hours. ``--moto N`` also lists N real objects from a moto server (put
first; 20,000 take about a minute) through both paths. Goal: 10M objects under 2 GB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from common import REPO, free_port

SYNTH_FOLDERS = 1000


def synth_infos(prefix: str, start: int, stop: int):
    """ObjectInfo for objects ``start`` to ``stop`` of the synthetic bucket (as an S3 listing fills them)."""
    from shanty.storage.base import ObjectInfo

    stamp = datetime(2026, 11, 1, tzinfo=UTC).isoformat()
    for i in range(start, stop):
        key = f"{i % SYNTH_FOLDERS:04d}/{i:010d}.wav"
        etag = hashlib.md5(str(i).encode()).hexdigest()
        yield ObjectInfo(
            f"synth://bench/{prefix}/{key}",
            key,
            1000 + i % 5000,
            etag,
            etag[:16],
            {"etag": etag, "last_modified": stamp},
        )


class SynthStorage:
    """A listing-only backend: ``synth://bench/<prefix>`` holds ``SYNTH_OBJECTS`` generated objects."""

    scheme = "synth"
    metadata_listing = True

    def __init__(self, objects: int, stream: bool):
        self.objects = objects
        if stream:
            self.list_object_batches = self._batches  # the BatchListing capability, only when streaming

    def list_objects(self, uri: str, *, max_objects=None, checksum=True, progress=None):
        found = list(synth_infos(uri.split("/", 3)[3], 0, self.objects))
        found.sort(key=lambda info: info.relpath)  # what the backends return
        return found

    def _batches(self, uri: str, *, max_objects=None, checksum=True, progress=None) -> Iterator[list]:
        from shanty.storage.budget import STREAM_CHUNK, stream_listing

        prefix = uri.split("/", 3)[3]
        workers = 16  # chunks interleave as concurrent listing workers' pages do: out of key order

        def run(budget) -> None:
            span = -(-self.objects // workers)
            cursors = [w * span for w in range(workers)]
            while not budget.stopped and any(c < min((w + 1) * span, self.objects) for w, c in enumerate(cursors)):
                for w, cursor in enumerate(cursors):
                    stop = min(cursor + 1000, (w + 1) * span, self.objects)
                    if cursor < stop:
                        budget.add(list(synth_infos(prefix, cursor, stop)))
                        cursors[w] = stop

        yield from stream_listing(uri, max_objects, progress, run, chunk=STREAM_CHUNK)

    def stat(self, uri, version=None):
        return None

    def download(self, uri, version, dest):
        raise NotImplementedError

    def read_bytes(self, uri):
        raise NotImplementedError

    def write_bytes(self, uri, data):
        raise NotImplementedError

    def create_if_absent(self, uri, data):
        raise NotImplementedError

    def exists(self, uri):
        return False

    def list_names(self, uri, start_after=None):
        return []

    def signed_url(self, uri, version, expires_in):
        return None


def child(source: str, path: str, registry: str, objects: int) -> None:
    """The measured part, in a fresh process: reference, log, read the version back."""
    import shanty
    import shanty.artifact_reference as reference_module
    from shanty.storage import register_scheme

    if source == "synth":
        register_scheme("synth", lambda: SynthStorage(objects, path != "list"))
        uri = "synth://bench/media"
    else:
        uri = source
    if path == "bulk":  # the stream path even below BULK_REFERENCE_OBJECTS (a moto-sized listing)
        reference_module.BULK_REFERENCE_OBJECTS = 0
    if path == "list":  # the old path: one list, one ManifestEntry per object
        reference_module.BULK_REFERENCE_OBJECTS = sys.maxsize
        if source != "synth":
            reference_module.object_batches = _whole_listing
    started = time.perf_counter()
    artifact = shanty.Artifact("media", "dataset")
    artifact.add_reference(uri)
    referenced = time.perf_counter() - started
    with shanty.init(project="bench", root=registry) as run:
        version = run.log_artifact(artifact)
    logged = time.perf_counter() - started
    stored = shanty.Api(registry).artifact("bench/media:latest")
    facts = (len(stored.manifest), stored.manifest.digest)
    total = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "files": version.file_count,
                "read_back": facts[0],
                "digest": facts[1],
                "reference_s": referenced,
                "log_s": logged - referenced,
                "total_s": total,
                "peak_mb": peak_mb,
            }
        )
    )


def _whole_listing(storage, uri, *, max_objects=None, checksum=True, progress=None):
    yield storage.list_objects(uri, max_objects=max_objects, checksum=checksum, progress=progress)


def measure(source: str, path: str, objects: int, env: dict[str, str] | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-refmem-") as tmp:
        out = subprocess.run(
            [sys.executable, __file__, "--child", source, path, str(Path(tmp) / "registry"), str(objects)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "SHANTY_PROGRESS": "0", "SHANTY_CACHE": str(Path(tmp) / "cache"), **(env or {})},
        ).stdout
        return json.loads(out.strip().splitlines()[-1])


def show(label: str, objects: int, path: str, r: dict) -> None:
    assert r["files"] == objects == r["read_back"], r
    print(
        f"{label:>8} {objects:>12,} {path:>7} {r['reference_s']:>12.1f} {r['log_s']:>8.1f} "
        f"{r['total_s']:>8.1f} {r['peak_mb']:>9.0f}"
    )


def moto_rows(objects: int) -> None:
    """Put ``objects`` objects into a moto server, then reference them through both paths."""
    sys.path.insert(0, str(REPO))
    import boto3
    from moto.server import ThreadedMotoServer

    from tests.kits.s3 import SESSION_ENV

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {**SESSION_ENV, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}  # the S3 test kit's credentials
    try:
        client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], **_keys(env))
        client.create_bucket(Bucket="bench")
        started = time.perf_counter()
        for i in range(objects):
            client.put_object(Bucket="bench", Key=f"media/{i % 100:03d}/{i:08d}.wav", Body=b"x" * (i % 64))
        print(f"(put {objects:,} objects into moto in {time.perf_counter() - started:.0f} s)")
        results = {path: measure("s3://bench/media", path, objects, env) for path in ("list", "bulk")}
        assert results["list"]["digest"] == results["bulk"]["digest"], results
        for path, r in results.items():
            show("moto", objects, path, r)
    finally:
        server.stop()


def _keys(env: dict[str, str]) -> dict[str, str]:
    return {"aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=10_000_000, help="synthetic objects, stream path")
    parser.add_argument("--list-objects", type=int, default=1_000_000, help="size where both paths run")
    parser.add_argument("--moto", type=int, default=0, help="also list this many real objects from moto")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        source, path, registry, objects = args.child
        child(source, path, registry, int(objects))
        return
    print(f"{'listing':>8} {'objects':>12} {'path':>7} {'reference s':>12} {'log s':>8} {'total s':>8} {'peak MB':>9}")
    both = {path: measure("synth", path, args.list_objects) for path in ("list", "stream")}
    assert both["list"]["digest"] == both["stream"]["digest"], both
    for path, r in both.items():
        show("synth", args.list_objects, path, r)
    if args.objects != args.list_objects:
        show("synth", args.objects, "stream", measure("synth", "stream", args.objects))
    if args.moto:
        moto_rows(args.moto)


if __name__ == "__main__":
    main()
