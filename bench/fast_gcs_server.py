"""A fast stand-in for the GCS JSON API, serving listings of synthetic buckets from pre-rendered JSON.

Run in its own process (the benchmark starts it)::

    python bench/fast_gcs_server.py --port 8123 --sizes 10000 100000 --prerender-fields "<fields>"

fake-gcs-server spends far longer per object than real GCS does, which hides what a client spends
per object; this server spends almost nothing: every object's JSON resource is rendered once at
start, and a listing page is a join of the rendered resources in its range.

The bucket ``bench-<N>`` holds N objects ``data/class_<i % 100>/clip_<i>.wav`` (deterministic: the
generation, checksums and times derive from the index). Served, as GCS serves them:

* ``GET /storage/v1/b/<bucket>/o``: ``prefix``, ``delimiter``, ``pageToken``, ``maxResults``
  (1000 at most), ``startOffset``, ``endOffset``, ``fields`` (``items(a,b,...)`` keeps those keys of
  each object, as GCS does; other parts of ``fields`` are ignored);
* ``GET /storage/v1/b/<bucket>/o/<name>``: one object's resource, 404 when absent;
* ``GET /storage/v1/b/<bucket>``: the bucket's metadata.

Page tokens are positions in the sorted listing, so the server keeps no state between pages.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import hashlib
import json
import re
import sys
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

FOLDERS = 100
MAX_RESULTS = 1000
_GENERATION_BASE = 1_764_000_000_000_000


def object_names(count: int) -> list[str]:
    """The sorted object names of ``bench-<count>``."""
    return sorted(f"data/class_{i % FOLDERS:03d}/clip_{i:07d}.wav" for i in range(count))


def resource(bucket: str, name: str, index: int) -> dict[str, str]:
    """The object's JSON resource (the fields real GCS sends, values derived from ``index``)."""
    data = name.encode()
    generation = str(_GENERATION_BASE + index)
    updated = (
        f"2026-11-{1 + index % 28:02d}T{index % 24:02d}:{index % 60:02d}:{(index // 7) % 60:02d}.{index % 1000:03d}Z"
    )
    quoted = name.replace("/", "%2F")
    return {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/{generation}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}/o/{quoted}",
        "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{bucket}/o/{quoted}?generation={generation}&alt=media",
        "name": name,
        "bucket": bucket,
        "generation": generation,
        "metageneration": "1",
        "contentType": "audio/wav",
        "storageClass": "STANDARD",
        "size": str(len(data)),
        "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),
        "crc32c": base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode(),
        "etag": base64.b64encode(generation.encode()[-8:]).decode().rstrip("="),
        "timeCreated": updated,
        "updated": updated,
        "timeStorageClassUpdated": updated,
    }


def _item_keys(fields: str | None) -> tuple[str, ...] | None:
    """The object keys ``fields`` asks for (None: all of them)."""
    found = re.search(r"items\(([^)]*)\)", fields or "")
    return None if found is None else tuple(key.strip() for key in found.group(1).split(","))


class Bucket:
    """A synthetic bucket: sorted names and their rendered resources, per set of fields asked for."""

    def __init__(self, name: str, count: int):
        self.name = name
        self.names = object_names(count)
        self.index = {n: i for i, n in enumerate(self.names)}
        self._rendered: dict[tuple[str, ...] | None, list[bytes]] = {}
        self._delimited: dict[tuple[str, str], list[tuple[str, int]]] = {}

    def rendered(self, keys: tuple[str, ...] | None) -> list[bytes]:
        if keys not in self._rendered:
            rendered = []
            for i, n in enumerate(self.names):  # resources are rebuilt, not kept: 2 KB each as dicts
                r = resource(self.name, n, i)
                rendered.append(
                    json.dumps(r if keys is None else {k: r[k] for k in keys if k in r}, separators=(",", ":")).encode()
                )
            self._rendered[keys] = rendered
        return self._rendered[keys]

    def one(self, name: str) -> bytes | None:
        position = self.index.get(name)
        return None if position is None else json.dumps(resource(self.name, name, position)).encode()

    def span(self, prefix: str, start: str | None, end: str | None) -> tuple[int, int]:
        """Positions ``[lo, hi)`` of the names under ``prefix`` within ``[start, end)``."""
        lo = bisect.bisect_left(self.names, prefix)
        hi = bisect.bisect_left(self.names, prefix + "\U0010ffff") if prefix else len(self.names)
        if start:
            lo = max(lo, bisect.bisect_left(self.names, start))
        if end:
            hi = min(hi, bisect.bisect_left(self.names, end))
        return lo, max(lo, hi)

    def delimited(self, prefix: str, delimiter: str) -> list[tuple[str, int]]:
        """One level below ``prefix``: ("prefix", -1) for each sub-prefix, ("", position) for each object."""
        key = (prefix, delimiter)
        if key not in self._delimited:
            lo, hi = self.span(prefix, None, None)
            entries: list[tuple[str, int]] = []
            for position in range(lo, hi):
                rest = self.names[position][len(prefix) :]
                cut = rest.find(delimiter)
                if cut < 0:
                    entries.append(("", position))
                else:
                    sub = prefix + rest[: cut + len(delimiter)]
                    if not entries or entries[-1][0] != sub:
                        entries.append((sub, -1))
            self._delimited[key] = entries
        return self._delimited[key]

    def page(self, query: dict[str, str]) -> bytes:
        rendered = self.rendered(_item_keys(query.get("fields")))
        size = min(int(query.get("maxResults") or MAX_RESULTS), MAX_RESULTS)
        position = int(query.get("pageToken") or 0)
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter")
        items: list[bytes] = []
        prefixes: list[str] = []
        if delimiter:
            entries = self.delimited(prefix, delimiter)
            stop = min(len(entries), position + size)
            for sub, at in entries[position:stop]:
                if at < 0:
                    prefixes.append(sub)
                else:
                    items.append(rendered[at])
            more = stop < len(entries)
        else:
            lo, hi = self.span(prefix, query.get("startOffset"), query.get("endOffset"))
            position = max(position, lo)
            stop = min(hi, position + size)
            items = rendered[position:stop]
            more = stop < hi
        parts = [b'{"kind":"storage#objects"']
        if more:
            parts.append(b',"nextPageToken":"%d"' % stop)
        if prefixes:
            parts.append(b',"prefixes":' + json.dumps(prefixes).encode())
        if items:
            parts.append(b',"items":[' + b",".join(items) + b"]")
        parts.append(b"}")
        return b"".join(parts)

    def metadata(self) -> bytes:
        return json.dumps(
            {
                "kind": "storage#bucket",
                "id": self.name,
                "name": self.name,
                "projectNumber": "1",
                "metageneration": "1",
                "location": "US",
                "storageClass": "STANDARD",
                "etag": "CAE=",
                "timeCreated": "2026-11-01T00:00:00.000Z",
                "updated": "2026-11-01T00:00:00.000Z",
                "versioning": {"enabled": True},
            }
        ).encode()


def handler_for(buckets: dict[str, Bucket]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects

        def log_message(self, format: str, *args: object) -> None:
            pass

        def send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def not_found(self, what: str) -> None:
            self.send(404, json.dumps({"error": {"code": 404, "message": f"{what} not found"}}).encode())

        def do_GET(self) -> None:
            url = urlparse(self.path)
            parts = url.path.split("/")  # "", "storage", "v1", "b", bucket, "o", name
            if parts[1:4] != ["storage", "v1", "b"] or len(parts) < 5:
                return self.not_found(url.path)
            bucket = buckets.get(parts[4])
            if bucket is None:
                return self.not_found(f"bucket {parts[4]}")
            if len(parts) == 5:
                return self.send(200, bucket.metadata())
            if len(parts) == 6 and parts[5] == "o":
                query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
                return self.send(200, bucket.page(query))
            name = unquote("/".join(parts[6:]))
            body = bucket.one(name)
            return self.not_found(name) if body is None else self.send(200, body)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--prerender-fields", action="append", default=[], help="a fields= value to render at start")
    args = parser.parse_args()
    buckets = {}
    for count in args.sizes:
        bucket = buckets[f"bench-{count}"] = Bucket(f"bench-{count}", count)
        bucket.rendered(None)
        for fields in args.prerender_fields:
            bucket.rendered(_item_keys(fields))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(buckets))
    print("ready", flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
