"""A fast stand-in S3 server for listing benchmarks: synthetic buckets answered from pre-rendered XML.

moto spends about as long building a page of a listing as a client spends parsing it, which hides
the client's own per-object cost. This server holds, per bucket, every object's ``<Contents>`` element
already rendered as bytes, so a ListObjectsV2 page is a bisect and a ``b"".join``: it answers in a
fraction of a millisecond, far faster than botocore parses the page. It runs in its own process (its own
GIL), path-style, HTTP/1.1 keep-alive, no authentication checks.

Buckets are named on the command line as ``NAME=COUNT``; each holds ``COUNT`` objects
``data/class_NNN/clip_NNNNNNN.wav`` spread over ``--folders`` folders, with deterministic sizes, ETags
(md5 of the key) and LastModified times (a few with whole seconds, most with milliseconds). Served:

* ListObjectsV2: ``prefix``, ``delimiter``, ``max-keys``, ``start-after``, ``continuation-token``,
  ``encoding-type=url``;
* GetBucketVersioning (the bucket is unversioned) and HeadBucket;
* anything else: 501 NotImplemented.

Run: ``python bench/fast_s3_server.py --port 9000 bench-100000=100000``; it prints ``ready <port>`` once
every bucket is rendered.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import hashlib
import sys
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, quote, urlsplit
from xml.sax.saxutils import escape

_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def synthetic_keys(count: int, folders: int) -> list[str]:
    """The bucket's keys, sorted as S3 lists them (by UTF-8 bytes; these are ASCII)."""
    return sorted(f"data/class_{i % folders:03d}/clip_{i:07d}.wav" for i in range(count))


def _contents(index: int, key: str, encode: bool) -> bytes:
    """One ``<Contents>`` element; every third object has a whole-second LastModified."""
    stamp = _EPOCH + timedelta(seconds=index * 37, milliseconds=0 if index % 3 == 0 else (index * 7) % 1000)
    modified = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    etag = hashlib.md5(key.encode()).hexdigest()
    name = quote(key, safe="/~") if encode else escape(key)
    return (
        f"<Contents><Key>{name}</Key><LastModified>{modified}</LastModified>"
        f"<ETag>&quot;{etag}&quot;</ETag><Size>{1000 + (index * 7919) % 100_000}</Size>"
        "<StorageClass>STANDARD</StorageClass></Contents>"
    ).encode()


class Bucket:
    """Sorted keys and their pre-rendered elements (URL-encoded and plain)."""

    def __init__(self, count: int, folders: int):
        self.keys = synthetic_keys(count, folders)
        self.encoded = [_contents(i, key, True) for i, key in enumerate(self.keys)]
        # The synthetic keys need no encoding, so both forms are the same bytes: share them.
        self.plain = self.encoded if all(quote(k, safe="/~") == k for k in self.keys) else None
        if self.plain is None:
            self.plain = [_contents(i, key, False) for i, key in enumerate(self.keys)]


def _successor(prefix: str) -> str:
    """The least string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def list_page(bucket: Bucket, query: dict[str, str], name: str) -> bytes:
    """One ListObjectsV2 page, as S3 renders it."""
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
    max_keys = min(int(query.get("max-keys", "1000")), 1000)
    encode = query.get("encoding-type") == "url"
    keys = bucket.keys
    end = bisect.bisect_left(keys, _successor(prefix)) if prefix else len(keys)
    token = query.get("continuation-token")
    if token:
        start = int(base64.b64decode(token))
    else:
        start = bisect.bisect_left(keys, prefix)
        if query.get("start-after"):
            start = max(start, bisect.bisect_right(keys, query["start-after"]))
    parts, prefixes, taken, i = [], [], 0, start
    rendered = bucket.encoded if encode else bucket.plain
    if not delimiter:  # the common case: one slice, one join
        taken = min(max_keys, end - i)
        parts.append(b"".join(rendered[i : i + taken]))
        i += taken
    while delimiter and i < end and taken < max_keys:
        rest = keys[i][len(prefix) :]
        if delimiter in rest:
            common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
            prefixes.append(common)
            i = bisect.bisect_left(keys, _successor(common), i, end)
        else:
            parts.append(rendered[i])
            i += 1
        taken += 1
    truncated = i < end
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<ListBucketResult xmlns="{_NS}">']
    field = (lambda s: quote(s, safe="/~")) if encode else escape
    out.append(f"<Name>{name}</Name><Prefix>{field(prefix)}</Prefix><MaxKeys>{max_keys}</MaxKeys>")
    if delimiter:
        out.append(f"<Delimiter>{field(delimiter)}</Delimiter>")
    if encode:
        out.append("<EncodingType>url</EncodingType>")
    out.append(f"<KeyCount>{taken}</KeyCount><IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
    if token:
        out.append(f"<ContinuationToken>{token}</ContinuationToken>")
    if truncated:
        out.append(f"<NextContinuationToken>{base64.b64encode(str(i).encode()).decode()}</NextContinuationToken>")
    if query.get("start-after") and not token:
        out.append(f"<StartAfter>{field(query['start-after'])}</StartAfter>")
    tail = "".join(f"<CommonPrefixes><Prefix>{field(p)}</Prefix></CommonPrefixes>" for p in prefixes)
    return "".join(out).encode() + b"".join(parts) + tail.encode() + b"</ListBucketResult>"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as boto3's connection pool expects
    buckets: ClassVar[dict[str, Bucket]] = {}

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str) -> None:
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{code}</Message></Error>'
        self._send(status, body.encode())

    def _route(self) -> None:
        url = urlsplit(self.path)
        name, _, key = url.path.lstrip("/").partition("/")
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        bucket = self.buckets.get(name)
        if bucket is None:
            return self._error(404, "NoSuchBucket")
        if key:
            return self._error(501, "NotImplemented")
        if self.command == "HEAD":
            return self._send(200, b"")
        if "versioning" in query:
            return self._send(200, f'<VersioningConfiguration xmlns="{_NS}"/>'.encode())
        if query.get("list-type") == "2":
            return self._send(200, list_page(bucket, query, name))
        return self._error(501, "NotImplemented")

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _route


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--folders", type=int, default=100)
    parser.add_argument("buckets", nargs="+", help="NAME=COUNT")
    args = parser.parse_args()
    for spec in args.buckets:
        name, _, count = spec.partition("=")
        Handler.buckets[name] = Bucket(int(count), args.folders)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"ready {args.port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
