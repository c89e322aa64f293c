"""``GET /api/waveform/<token>``: a small min/max summary of an audio cell, drawn by the media table.

The token is the media token of the same cell, so the same checks apply
(forged, expired or unknown -> 403), on every request: a summary is cached
by the bytes it describes (the logged file, at its recorded version), never
by token, so an expired link gets nothing from the cache.

Resources are bounded whatever the files: the file is decoded a block at a
time (:func:`shanty.media.waveform.waveform_of`, ranged reads for buckets),
at most ``DECODES`` files at once (a request that cannot start within
``WAIT_S`` gets 503 and ``Retry-After``), and files over ``MAX_BYTES`` get 413.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from dashboard.routes import WAVEFORM_PREFIX
from dashboard.routes.media import server_from_environment
from shanty import human_size
from shanty.errors import InvalidTokenError, NotFoundError, ShantyError
from shanty.media.server import LocalFile, Proxy
from shanty.media.waveform import waveform_of

BUCKETS = 220  # about one bar per pixel of the table's waveform canvas
MAX_BYTES = 2 * 1024**3  # memory is bounded by the block; this bounds the time one request may take
DECODES = 2  # files decoded at once (the machine has few cores; more would only queue inside numpy)
WAIT_S = 20.0  # how long a request waits for a decode slot before it is told to retry
CACHED = 2048  # summaries kept (about 4 KB each)

__all__ = ["waveform_routes"]


class TooLongError(ShantyError):
    """The file is over ``MAX_BYTES``: no waveform (413)."""


class BusyError(ShantyError):
    """Every decode slot stayed taken for ``WAIT_S``: try again shortly (503)."""


_slots = threading.BoundedSemaphore(DECODES)
_cache: OrderedDict[Hashable, str] = OrderedDict()
_cache_lock = threading.Lock()


def _bytes_of(target: LocalFile | Proxy) -> Hashable:
    """What a summary describes: a local file as it is now, or an object at its recorded version."""
    if isinstance(target, LocalFile):
        return ("file", str(target.path), target.size, target.stat.st_mtime_ns)
    return ("store", target.uri, target.version, target.digest)


def _summary(token: str) -> str:
    server = server_from_environment()
    target = server.resolve(token, proxy=True)  # the token is checked on every request, cached or not
    assert isinstance(target, LocalFile | Proxy)  # proxy=True never redirects
    if target.size > MAX_BYTES:
        raise TooLongError(
            f"This file is {human_size(target.size)}; waveforms are drawn up to {human_size(MAX_BYTES)}."
        )
    key = _bytes_of(target)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    if not _slots.acquire(timeout=WAIT_S):
        raise BusyError("Every waveform slot is busy; try again in a moment.")
    try:
        waveform = waveform_of(server.read_at(target), target.size, BUCKETS)
    finally:
        _slots.release()
    body = "null" if waveform is None else waveform.to_json()
    with _cache_lock:
        _cache[key] = body
        while len(_cache) > CACHED:
            _cache.popitem(last=False)
    return body


async def _endpoint(request: Request) -> Response:
    token = request.path_params["token"]
    try:
        body = await run_in_threadpool(_summary, token)
    except InvalidTokenError:
        return PlainTextResponse("This media link is not valid.", status_code=403)
    except NotFoundError:
        return PlainTextResponse("No waveform for this file.", status_code=404)
    except TooLongError as exc:
        return PlainTextResponse(str(exc), status_code=413)
    except BusyError as exc:
        return PlainTextResponse(str(exc), status_code=503, headers={"Retry-After": "2"})
    except ShantyError:
        return PlainTextResponse("The file could not be read.", status_code=502)
    return Response(
        body,
        media_type="application/json",
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


def waveform_routes() -> list[Route]:
    """The route ``GET <WAVEFORM_PREFIX>/<token>``; its URLs come from ``MediaServer.cell_urls(..., ["waveform"])``."""
    return [Route(WAVEFORM_PREFIX + "/{token}", _endpoint, methods=["GET"], name="shanty-waveform")]
