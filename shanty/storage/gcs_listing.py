"""Listing a GCS prefix straight from the JSON API's pages into Arrow columns.

The google client turns every listed object into a ``Blob`` and parses its timestamp with
``strptime``; at a million objects that is most of a reference's time. Here a page is fetched
over the client's own authorised session, decoded by Arrow's JSON reader (``json`` if the page
has a shape Arrow's reader refuses), and turned into the columns
of :data:`~shanty.storage.base.LISTING_SCHEMA` a page at a time (timestamps and the ``extra``
JSON built by Arrow compute), with exactly the values the ``Blob`` path gave:
``extra["last_modified"]`` is what ``blob.updated.isoformat()`` printed.

Pages come one after another, each request made with the last page's token, so a failed request
is tried again from that page (:func:`~shanty.storage.retry.ride_out`), never from the first.
The next page is fetched while the last one is turned into columns.
"""

from __future__ import annotations

import io
import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
from google.cloud._helpers import _rfc3339_nanos_to_datetime

from .base import LISTING_SCHEMA, ObjectInfo

__all__ = ["LIST_FIELDS", "ObjectPages", "Page", "decode_page", "infos_batch", "page_batch", "rows_as_infos"]

LIST_FIELDS = "items(name,size,md5Hash,crc32c,etag,generation,updated,contentType),prefixes,nextPageToken"
_QUOTE = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]  # json's own C quoting
_NEEDS_ESCAPE = r'[\x00-\x1f"\\]|[^\x00-\x7f]'  # what json.dumps (ensure_ascii) would escape
_RFC3339 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$"  # GCS: milliseconds; emulators: micro
_PREFETCH_PAGES = 2  # pages fetched ahead of the one being turned into columns
_KEYS = ("name", "size", "md5Hash", "crc32c", "etag", "generation", "updated", "contentType")
_ITEM = pa.struct([(key, pa.string()) for key in _KEYS])
_PAGE_OPTIONS = pa_json.ParseOptions(
    explicit_schema=pa.schema(
        [("items", pa.list_(_ITEM)), ("nextPageToken", pa.string()), ("prefixes", pa.list_(pa.string()))]
    ),
    unexpected_field_behavior="ignore",  # fake-gcs-server sends every field whatever ``fields`` asks
    newlines_in_values=True,  # GCS indents its JSON
)


@dataclass(frozen=True)
class Page:
    """One decoded listing page: its objects (a struct array of the :data:`LIST_FIELDS` keys, as text),
    the token of the next page (None on the last) and the sub-prefixes it lists (with a delimiter)."""

    items: pa.StructArray
    token: str | None
    prefixes: list[str]


def decode_page(body: bytes) -> Page:
    """A listing page's JSON body as a :class:`Page` (Arrow's reader; ``json`` for what it refuses,
    such as numbers where GCS sends text)."""
    try:
        options = pa_json.ReadOptions(use_threads=False, block_size=max(len(body) + 1, 1 << 20))
        table = pa_json.read_json(io.BytesIO(body), read_options=options, parse_options=_PAGE_OPTIONS)
        if table.num_rows == 1:
            items = table.column("items").combine_chunks()
            found = items.flatten() if items.null_count == 0 else pa.array([], _ITEM)
            return Page(found, table.column("nextPageToken")[0].as_py(), table.column("prefixes")[0].as_py() or [])
    except pa.ArrowInvalid:
        pass
    page = json.loads(body)
    rows = [{key: None if item.get(key) is None else str(item[key]) for key in _KEYS} for item in page.get("items", [])]
    return Page(pa.array(rows, _ITEM), page.get("nextPageToken"), page.get("prefixes", []))


def _present(items: pa.StructArray, key: str) -> pa.Array:
    """The items' ``key`` values, null where absent or empty (the Blob path left those out of ``extra``)."""
    values = items.field(key)
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _quoted(values: pa.Array, plain: bool) -> pa.Array:
    """Each value as a JSON string literal, as ``json.dumps`` writes it (``plain``: none needs escapes)."""
    if not plain:
        return pa.array([None if v is None else _QUOTE(v) for v in values.to_pylist()], pa.string())
    return pc.binary_join_element_wise('"', values, '"', "")


def _isoformat(updated: pa.Array) -> pa.Array:
    """``_rfc3339_nanos_to_datetime(u).isoformat()`` for every value: the fraction cut or padded to
    microseconds, dropped when zero, and ``Z`` written ``+00:00``. Arrow string slices (no regex
    replacements: each compiles its pattern again); a value of another shape sends all to Python."""
    if not pc.all(pc.match_substring_regex(updated, _RFC3339)).as_py():
        return pa.array(
            [None if u is None else _rfc3339_nanos_to_datetime(u).isoformat() for u in updated.to_pylist()],
            pa.string(),
        )
    seconds = pc.utf8_slice_codeunits(updated, 0, 19)
    digits = pc.utf8_slice_codeunits(updated, 20, -1)  # the fraction's digits, "" when there is none
    micros = pc.utf8_slice_codeunits(pc.utf8_rpad(digits, 6, "0"), 0, 6)
    whole = pc.binary_join_element_wise(seconds, "+00:00", "")
    fraction = pc.binary_join_element_wise(seconds, ".", micros, "+00:00", "")
    return pc.if_else(pc.equal(micros, "000000"), whole, fraction)


def _extra(pairs: list[tuple[str, pa.Array]]) -> pa.Array:
    """``json.dumps(extra, sort_keys=True)`` per row for the non-null values of ``pairs`` (keys sorted),
    null for a row with none."""
    # One search over all the values for anything JSON would escape (rare: a content type with quotes).
    everything = pc.binary_join_element_wise(*(values for _, values in pairs), "", null_handling="replace")
    plain = not pc.any(pc.match_substring_regex(everything, _NEEDS_ESCAPE)).as_py()
    parts = [pc.binary_join_element_wise(f'"{key}": ', _quoted(values, plain), "") for key, values in sorted(pairs)]
    body = pc.binary_join_element_wise(*parts, ", ", null_handling="skip")
    wrapped = pc.binary_join_element_wise("{", body, "}", "")
    return pc.if_else(pc.equal(body, ""), pa.scalar(None, pa.string()), wrapped)


def page_batch(items: pa.StructArray, bucket: str, root: str) -> pa.RecordBatch:
    """The objects of one listing page (:attr:`Page.items`) below ``root`` as :data:`LISTING_SCHEMA`
    rows, zero-byte "folder" markers (names ending in ``/``) left out: they are not content."""
    names = items.field("name")
    md5 = _present(items, "md5Hash")
    crc32c = _present(items, "crc32c")
    extra = _extra(
        [
            ("md5", md5),
            ("crc32c", crc32c),
            ("etag", _present(items, "etag")),
            ("last_modified", _isoformat(_present(items, "updated"))),
            ("content_type", _present(items, "contentType")),
        ]
    )
    batch = pa.record_batch(
        [
            pc.utf8_slice_codeunits(names, len(root)),
            # GCS stores a CRC32C for every object but an MD5 only for non-composite ones.
            pc.coalesce(md5, pc.binary_join_element_wise("crc32c:", crc32c, "")),
            pc.fill_null(items.field("size").cast(pa.int64()), 0),
            pc.binary_join_element_wise(f"gs://{bucket}/", names, ""),
            pc.fill_null(items.field("generation"), "None"),  # what str(blob.generation) gave
            extra,
        ],
        schema=LISTING_SCHEMA,
    )
    markers = pc.ends_with(names, "/")
    return batch.filter(pc.invert(markers)) if pc.any(markers).as_py() else batch


def rows_as_infos(batch: pa.RecordBatch) -> list[ObjectInfo]:
    """The rows of a :data:`LISTING_SCHEMA` batch as ObjectInfos."""
    columns = [batch.column(name).to_pylist() for name in LISTING_SCHEMA.names]
    return [
        ObjectInfo(
            relpath=relpath,
            digest=digest,
            size=size,
            uri=uri,
            object_version=version,
            extra=json.loads(extra) if extra else {},
        )
        for relpath, digest, size, uri, version, extra in zip(*columns, strict=True)
    ]


def infos_batch(infos: list[ObjectInfo]) -> pa.RecordBatch:
    """ObjectInfos as a :data:`LISTING_SCHEMA` batch."""
    extras = [json.dumps(dict(info.extra), sort_keys=True) if info.extra else None for info in infos]
    columns = [[getattr(info, name) for info in infos] for name in LISTING_SCHEMA.names[:-1]]
    return pa.record_batch([*columns, extras], schema=LISTING_SCHEMA)


class ObjectPages:
    """The pages of one listing (``params``: prefix, and whatever else the API takes), in order.

    ``fetch(params)`` makes one request and returns the page's body; it is called through
    ``retried`` (which rides out an outage), with the token of the page before, so a retry resumes
    at the page that failed. Iterate it for the pages' :attr:`Page.items`; :attr:`prefixes` holds
    the sub-prefixes seen (with a delimiter). A thread of its own fetches and decodes a few pages
    ahead (Arrow's reader lets go of the GIL); closing the iterator stops it after the request in
    flight.
    """

    def __init__(
        self,
        fetch: Callable[[dict[str, str]], bytes],
        params: dict[str, str],
        retried: Callable[[Callable[[], bytes]], bytes],
    ):
        self.fetch, self.params, self.retried = fetch, params, retried
        self.prefixes: list[str] = []
        self.requests = 0

    def _pages(self) -> Iterator[Page]:
        params = dict(self.params)
        while True:
            page = decode_page(self.retried(lambda query=params: self.fetch(query)))
            self.requests += 1
            self.prefixes.extend(page.prefixes)
            yield page
            if not page.token:
                return
            params = {**params, "pageToken": page.token}

    def __iter__(self) -> Iterator[pa.StructArray]:
        waiting: queue.Queue[tuple[str, Any]] = queue.Queue(_PREFETCH_PAGES)
        gone = threading.Event()

        def put(item: tuple[str, Any]) -> bool:
            while not gone.is_set():
                try:
                    waiting.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def run() -> None:
            try:
                for page in self._pages():
                    if not put(("page", page)):
                        return
                put(("end", None))
            except BaseException as exc:  # handed to the consumer, raised there
                put(("error", exc))

        thread = threading.Thread(target=run, name="gcs listing pages", daemon=True)
        thread.start()
        try:
            while True:
                kind, value = waiting.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                yield value.items
        finally:
            gone.set()
            thread.join()
