"""What every preview route shares: ``GET <prefix>/<token>`` -> a small summary of one media cell.

A preview (waveform JSON, spectrogram PNG, poster JPEG) is one
:class:`Preview`: a name, a route prefix, a media type and a function of
``(read_at, size)`` that returns the body, or None when the file gives no
preview. :func:`preview_routes` serves it with the same checks and bounds
for every kind:

* the token is the media token of the same cell, checked on every request,
  cached or not (forged, expired or unknown -> 403; an object that vanished
  or changed -> 404);
* bodies are cached by the bytes they describe (:func:`_bytes_of`: the
  local file as it is now, or the object at its recorded version), never by
  token, so an expired link gets nothing from the cache; the cache holds at
  most ``CACHE_BYTES`` of bodies, least recently used out first;
* files over the preview's size limit (``MAX_BYTES`` unless it sets one) get
  413; at most ``DECODES`` files are decoded at once, over all previews, and
  a request that cannot start within ``WAIT_S`` gets 503 and
  ``Retry-After``; the decoders themselves read by ranges, a block at a time.

A file that gives no preview answers the preview's ``empty`` body (the
waveform's ``null``) or 404.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from dashboard.routes.media import SECURITY_HEADERS, server_from_environment
from shanty import human_size
from shanty.errors import InvalidInputError, InvalidTokenError, NotFoundError, ShantyError
from shanty.media.server import LocalFile, Proxy

__all__ = ["DECODED", "Preview", "clear_cache", "preview_routes", "render"]

ReadAt = Callable[[int, int], bytes]

MAX_BYTES = 2 * 1024**3  # memory is bounded by the decoders' blocks; this bounds the time one request may take
DECODES = 2  # files decoded at once over every preview (the machine has few cores; more would only queue)
WAIT_S = 20.0  # how long a request waits for a decode slot before it is told to retry
CACHE_BYTES = 64 * 1024**2  # bodies kept (a waveform is ~4 KB, a spectrogram 5-40 KB, a poster 20-80 KB)
_ENTRY_BYTES = 256  # what an entry costs beyond its body (key, bookkeeping)

DECODED: Counter[str] = Counter()  # decodes run per preview name (cache misses), for tests and diagnostics


@dataclass(frozen=True)
class Preview:
    """One kind of preview: ``make(read_at, size)`` -> body bytes, or None for a file that gives none."""

    name: str  # "waveform": the preview name cells declare, and the noun in messages
    prefix: str  # its route, from dashboard.routes
    media_type: str
    make: Callable[[ReadAt, int], bytes | None]
    empty: bytes | None = None  # the body when ``make`` gives None; None answers 404
    max_bytes: int | None = None  # None: MAX_BYTES (read per request)
    variant: Hashable = None  # what else the body depends on (a mask's hidden classes): part of the cache key
    # A request's query parameters -> the preview to make (its ``variant`` set); InvalidInputError answers 400.
    for_query: Callable[[Mapping[str, str]], Preview] | None = None


class TooLongError(ShantyError):
    """The file is over the preview's size limit (413)."""


class BusyError(ShantyError):
    """Every decode slot stayed taken for ``WAIT_S``: try again shortly (503)."""


_slots = threading.BoundedSemaphore(DECODES)
_cache: OrderedDict[Hashable, bytes | None] = OrderedDict()
_cache_lock = threading.Lock()
_cached_bytes = 0


def _bytes_of(target: LocalFile | Proxy) -> Hashable:
    """What a preview describes: a local file as it is now, or an object at its recorded version."""
    if isinstance(target, LocalFile):
        return ("file", str(target.path), target.size, target.stat.st_mtime_ns)
    return ("store", target.uri, target.version, target.digest)


def _lookup(key: Hashable) -> tuple[bool, bytes | None]:
    with _cache_lock:
        if key not in _cache:
            return False, None
        _cache.move_to_end(key)
        return True, _cache[key]


def _store(key: Hashable, body: bytes | None) -> None:
    global _cached_bytes
    with _cache_lock:
        if key in _cache:
            return
        _cache[key] = body
        _cached_bytes += _ENTRY_BYTES + len(body or b"")
        while _cached_bytes > CACHE_BYTES and _cache:
            _, dropped = _cache.popitem(last=False)
            _cached_bytes -= _ENTRY_BYTES + len(dropped or b"")


def clear_cache() -> None:
    """Forget every cached preview (tests; a changed registry needs nothing: keys name the bytes)."""
    global _cached_bytes
    with _cache_lock:
        _cache.clear()
        _cached_bytes = 0


def render(preview: Preview, token: str) -> bytes | None:
    """The body of ``preview`` for the cell ``token`` names, from the cache or decoded (blocking: call it
    off the event loop). Raises InvalidTokenError, NotFoundError, TooLongError, BusyError, ShantyError."""
    server = server_from_environment()
    target = server.resolve(token, proxy=True)  # the token is checked on every request, cached or not
    assert isinstance(target, LocalFile | Proxy)  # proxy=True never redirects
    limit = MAX_BYTES if preview.max_bytes is None else preview.max_bytes
    if target.size > limit:
        raise TooLongError(
            f"This file is {human_size(target.size)}; {preview.name}s are drawn up to {human_size(limit)}."
        )
    key = (preview.name, preview.variant, _bytes_of(target))
    found, body = _lookup(key)
    if found:
        return body
    if not _slots.acquire(timeout=WAIT_S):
        raise BusyError(f"Every {preview.name} slot is busy; try again in a moment.")
    try:
        found, body = _lookup(key)  # made by another request while this one waited
        if not found:
            body = preview.make(server.read_at(target), target.size)
            DECODED[preview.name] += 1
    finally:
        _slots.release()
    _store(key, body)
    return body


def _endpoint(preview: Preview) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            chosen = preview if preview.for_query is None else preview.for_query(request.query_params)
        except InvalidInputError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        try:
            body = await run_in_threadpool(render, chosen, request.path_params["token"])
        except InvalidTokenError:
            return PlainTextResponse("This media link is not valid.", status_code=403)
        except NotFoundError:
            return PlainTextResponse(f"No {preview.name} for this file.", status_code=404)
        except TooLongError as exc:
            return PlainTextResponse(str(exc), status_code=413)
        except BusyError as exc:
            return PlainTextResponse(str(exc), status_code=503, headers={"Retry-After": "2"})
        except ShantyError:
            return PlainTextResponse("The file could not be read.", status_code=502)
        if body is None:
            body = preview.empty
        if body is None:
            return PlainTextResponse(f"No {preview.name} for this file.", status_code=404)
        return Response(
            body, media_type=preview.media_type, headers={**SECURITY_HEADERS, "Cache-Control": "private, max-age=3600"}
        )

    return endpoint


def preview_routes(preview: Preview) -> list[Route]:
    """The route ``GET <preview.prefix>/<token>``; its URLs come from ``MediaServer.cell_urls(..., [name])``."""
    return [Route(preview.prefix + "/{token}", _endpoint(preview), methods=["GET"], name=f"shanty-{preview.name}")]
