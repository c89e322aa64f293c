"""Listing an S3 prefix about as fast as the store answers: cheap pages, and more workers only where they pay.

Two costs decide how long a listing of millions takes. The client's own work per object: botocore
parses every LastModified with dateutil (about two thirds of a raw paginator's time), so the listing
client keeps those timestamps as S3's text (:func:`listing_timestamp`) and this module turns them into
what the manifest records with string slicing (:func:`iso_utc`). And the store's wait per page: S3
answers a page in a few hundred milliseconds, a local stand-in in one, so concurrent workers over key
ranges speed up the first and only contend for the GIL on the second.

Hence :func:`list_folders`: one worker lists every folder in key order for :data:`PROBE_PAGES` pages,
measuring how long it waited for the store (:class:`WaitClock`, from botocore's send and parse
events) against its own CPU time; only when the wait dominates are the folders it has not reached
split into key ranges for more workers, the first worker stopping where they begin.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
from botocore.utils import parse_timestamp

from .base import LISTING_SCHEMA, ObjectInfo
from .budget import ListingBudget

__all__ = [
    "FAN_OUT_RATIO",
    "LIST_WORKERS",
    "MAX_RANGES",
    "PROBE_PAGES",
    "WaitClock",
    "entries_batch",
    "infos_batch",
    "iso_utc",
    "list_folders",
    "listing_timestamp",
    "object_infos",
    "take",
]

LIST_WORKERS = 16  # concurrent key-range listings at most
MAX_RANGES = LIST_WORKERS  # key ranges per unversioned fan-out: each costs a request and may overshoot a page
PROBE_PAGES = 2  # pages one worker lists before deciding whether more would help; 0: fan out at once
FAN_OUT_RATIO = 1.0  # more workers only when the store's wait per page exceeds this times the client's work

# S3 (and moto, MinIO) write listing timestamps so; anything else is parsed as botocore would.
_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

Pages = Callable[..., Iterator[tuple[list[dict[str, Any]], list[str]]]]


def listing_timestamp(text: str) -> str | datetime:
    """The timestamp parser of the listing client: S3's ``2026-01-02T03:04:05.678Z`` stays text (parsed
    later by slicing, see :func:`iso_utc`), any other form (HEAD's RFC 822 header) becomes a datetime
    as botocore's own parser makes it."""
    if len(text) == 24 and _CANONICAL.fullmatch(text):
        return text
    return parse_timestamp(text)


def iso_utc(value: str | datetime) -> str:
    """``value`` as ``datetime.astimezone(UTC).isoformat()`` writes it (what the manifest records):
    whole seconds without a fraction, else six digits, then ``+00:00``."""
    if isinstance(value, str):
        if value.endswith(".000Z"):
            return value[:19] + "+00:00"
        return value[:23] + "000+00:00"
    return value.astimezone(UTC).isoformat()


def _version(version_id: str | None) -> str | None:
    return None if version_id in (None, "null") else version_id  # "null": stored while unversioned


def object_infos(bucket: str, root: str, entries: list[dict[str, Any]]) -> list[ObjectInfo]:
    """ObjectInfos of listing entries below ``root`` (their relpath is the key after it)."""
    head, cut = f"s3://{bucket}/", len(root)
    found = []
    for entry in entries:
        key, etag = entry["Key"], entry["ETag"].strip('"')
        extra = {"etag": etag, "last_modified": iso_utc(entry["LastModified"])}
        found.append(ObjectInfo(head + key, key[cut:], entry["Size"], etag, _version(entry.get("VersionId")), extra))
    return found


def infos_batch(infos: list[ObjectInfo]) -> pa.RecordBatch:
    """ObjectInfos as a :data:`~shanty.storage.base.LISTING_SCHEMA` batch (a single object's HEAD)."""
    extras = [json.dumps(dict(info.extra), sort_keys=True) if info.extra else None for info in infos]
    columns = [[getattr(info, name) for info in infos] for name in LISTING_SCHEMA.names[:-1]]
    return pa.record_batch([*columns, extras], schema=LISTING_SCHEMA)


def _iso_utc_column(stamps: list[Any]) -> pa.Array:
    """:func:`iso_utc` of every stamp, sliced and joined in Arrow when all are S3's text."""
    if not all(type(stamp) is str for stamp in stamps):
        return pa.array([iso_utc(stamp) for stamp in stamps], pa.string())
    text = pa.array(stamps, pa.string())
    millis = pc.utf8_slice_codeunits(text, 20, 23)
    fraction = pc.if_else(pc.equal(millis, "000"), "", pc.binary_join_element_wise(".", millis, "000", ""))
    return pc.binary_join_element_wise(pc.utf8_slice_codeunits(text, 0, 19), fraction, "+00:00", "")


def entries_batch(bucket: str, root: str, entries: list[dict[str, Any]]) -> pa.RecordBatch:
    """Listing entries below ``root`` as a :data:`~shanty.storage.base.LISTING_SCHEMA` batch, the same
    rows :func:`object_infos` makes, built column by column (``extra`` as ``json.dumps(sort_keys=True)``
    writes it)."""
    keys = pa.array([e["Key"] for e in entries], pa.string())
    etags = pc.utf8_trim(pa.array([e["ETag"] for e in entries], pa.string()), '"')
    stamps = _iso_utc_column([e["LastModified"] for e in entries])
    if pc.all(pc.match_substring_regex(etags, r"^[0-9A-Za-z_.:+/=-]*$")).as_py():  # nothing for JSON to escape
        extras = pc.binary_join_element_wise('{"etag": "', etags, '", "last_modified": "', stamps, '"}', "")
    else:
        pairs = zip(etags.to_pylist(), stamps.to_pylist(), strict=True)
        extras = pa.array([json.dumps({"etag": e, "last_modified": m}) for e, m in pairs], pa.string())
    if any("VersionId" in e for e in entries):
        versions = pa.array([_version(e.get("VersionId")) for e in entries], pa.string())
    else:
        versions = pa.nulls(len(entries), pa.string())
    columns = {
        "relpath": pc.utf8_slice_codeunits(keys, len(root)),
        "digest": etags,
        "size": pa.array([e["Size"] for e in entries], pa.int64()),
        "uri": pc.binary_join_element_wise(f"s3://{bucket}/", keys, ""),
        "object_version": versions,
        "extra": extras,
    }
    return pa.record_batch([columns[name] for name in LISTING_SCHEMA.names], schema=LISTING_SCHEMA)


def take(listing: ListingBudget[dict[str, Any]], entries: list[dict[str, Any]]) -> None:
    """Add ``entries`` to ``listing``, leaving out folder markers (empty objects named ``.../``)."""
    listing.add([e for e in entries if e["Size"] or not e["Key"].endswith("/")])


class WaitClock:
    """Per thread, the seconds spent waiting for the store: from sending a listing request to having
    its answer read (botocore's ``before-send`` and ``before-parse`` events), retries included."""

    OPERATIONS = ("ListObjectsV2", "ListObjectVersions")

    def __init__(self) -> None:
        self._local = threading.local()

    def install(self, events: Any) -> None:
        """Listen to ``events`` (a client's ``meta.events``) for the listing operations."""
        for operation in self.OPERATIONS:
            events.register(f"before-send.s3.{operation}", self._sent, unique_id=f"shanty-wait-send-{operation}")
            events.register(f"before-parse.s3.{operation}", self._answered, unique_id=f"shanty-wait-parse-{operation}")

    def _sent(self, **_: Any) -> None:
        self._local.sent = time.perf_counter()

    def _answered(self, **_: Any) -> None:
        sent = getattr(self._local, "sent", None)
        if sent is not None:
            self._local.waited = self.waited() + time.perf_counter() - sent
            self._local.sent = None

    def waited(self) -> float:
        """Seconds this thread has waited so far."""
        return getattr(self._local, "waited", 0.0)


def _workers(waited: float, worked: float, host_busy: float | None = None) -> int:
    """How many workers keep the store busy without idling: one while the client's own work is the
    larger part of a page, else about (wait + work) / work. ``host_busy``: CPU seconds this machine's
    other processes spent meanwhile (None: unknown); when they cover half the wait or more, the store
    answers from this machine's own cores (a local server) and more requests only compete for them
    (moto, 10k objects: one worker 0.80x the raw listing, six 1.11x)."""
    if waited <= FAN_OUT_RATIO * worked:
        return 1
    if host_busy is not None and host_busy >= 0.5 * waited:
        return 1
    return min(LIST_WORKERS, math.ceil((waited + worked) / max(worked, 1e-6)))


def _host_cpu_seconds() -> float | None:
    """CPU seconds every process on this machine has used (Linux's /proc/stat), None elsewhere."""
    try:
        with open("/proc/stat", "rb") as handle:
            fields = handle.readline().split()[1:]
    except OSError:
        return None
    ticks = [int(f) for f in fields[:8]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")


def list_folders(
    pages: Pages,
    level: str,
    folders: list[str],
    versioned: bool,
    listing: ListingBudget[dict[str, Any]],
    clock: WaitClock,
    endpoint: str | None = None,
) -> None:
    """List every object in ``folders`` (sorted common prefixes directly below ``level``, whose direct
    objects were taken already) into ``listing``: one worker in key order, joined by more on key ranges
    it has not reached when the first :data:`PROBE_PAGES` pages show the store is slow per request."""
    if PROBE_PAGES <= 0:
        _join(_fan_out(pages, level, folders, versioned, listing, LIST_WORKERS), listing)
        return
    pool: tuple[ThreadPoolExecutor, list[Future[None]]] | None = None
    stop_at: str | None = None
    try:
        # A store on this machine (loopback) answers with this machine's cores: its wait is measured too
        local = endpoint is not None and urlsplit(endpoint).hostname in ("localhost", "127.0.0.1", "::1")
        worked, waited, ours = time.thread_time(), clock.waited(), time.process_time()
        host = _host_cpu_seconds() if local else None
        # Unversioned: a key range from the first folder on. Versioned: the whole level (moto mishandles
        # KeyMarker-only starts), its direct objects skipped below as they were taken already.
        for seen, (objects, _) in enumerate(pages(level, start_after="" if versioned else folders[0]), 1):
            if listing.stopped:
                return
            inside = [o for o in objects if "/" in o["Key"][len(level) :] and (stop_at is None or o["Key"] < stop_at)]
            take(listing, inside)
            if stop_at is not None and objects and objects[-1]["Key"] >= stop_at:
                break
            if seen == PROBE_PAGES and objects:
                others = None if host is None else _host_cpu_seconds() - host - (time.process_time() - ours)
                workers = _workers(clock.waited() - waited, time.thread_time() - worked, others)
                rest = [f for f in folders if f > objects[-1]["Key"]]
                if workers > 1 and rest:
                    stop_at = rest[0]  # the rest is theirs
                    pool = _fan_out(pages, level, rest, versioned, listing, workers - 1)
    except BaseException:
        listing.halt()
        if pool is not None:
            pool[0].shutdown(cancel_futures=True)
        raise
    if pool is not None:
        _join(pool, listing)


def _join(pool: tuple[ThreadPoolExecutor, list[Future[None]]], listing: ListingBudget[dict[str, Any]]) -> None:
    """Wait for every range; the first failure stops the others and is raised."""
    executor, futures = pool
    with executor:
        try:
            for future in futures:
                future.result()
        except BaseException:
            listing.halt()
            executor.shutdown(cancel_futures=True)
            raise


def _fan_out(
    pages: Pages, level: str, folders: list[str], versioned: bool, listing: ListingBudget[dict[str, Any]], workers: int
) -> tuple[ThreadPoolExecutor, list[Future[None]]]:
    """Start listing ``folders`` on ``workers`` threads, in contiguous groups of folders.

    A group of several folders is one key range [first folder, next group's first folder) listed with
    StartAfter, so many tiny folders cost few requests; its direct objects (no "/" below ``level``)
    were taken already. Versioned folders are listed one by one, each as a prefix.
    """
    size = 1 if versioned else -(-len(folders) // MAX_RANGES)
    groups = [folders[i : i + size] for i in range(0, len(folders), size)]
    tasks = []
    for index, group in enumerate(groups):
        stop_at = groups[index + 1][0] if index + 1 < len(groups) and len(group) > 1 else None
        prefix = os.path.commonprefix([group[0], group[-1]])  # noqa: RUF071 - S3 prefixes are strings, not paths
        start_after = group[0] if len(group) > 1 else ""

        def task(prefix: str = prefix, start_after: str = start_after, stop_at: str | None = stop_at) -> None:
            for objects, _ in pages(prefix, start_after=start_after):
                if listing.stopped:
                    return
                inside = [o for o in objects if stop_at is None or o["Key"] < stop_at]
                if start_after:
                    inside = [o for o in inside if "/" in o["Key"][len(level) :]]
                take(listing, inside)
                if stop_at is not None and objects and objects[-1]["Key"] >= stop_at:
                    return

        tasks.append(task)
    executor = ThreadPoolExecutor(min(workers, len(tasks)), thread_name_prefix="shanty-s3-list")
    return executor, [executor.submit(task) for task in tasks]
