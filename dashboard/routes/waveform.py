"""``GET /api/waveform/<token>``: a small min/max summary of an audio cell, drawn by the media table.

The token is the media token of the same cell, so the same checks apply
(forged, expired or unknown -> 403). Summaries are computed once per entry
and kept in memory: the bytes of a logged version never change.
"""

from __future__ import annotations

import functools

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from dashboard.routes import WAVEFORM_PREFIX
from dashboard.routes.media import server_from_environment
from shanty.errors import InvalidTokenError, NotFoundError, ShantyError
from shanty.media.server import LocalFile, MediaServer, Proxy
from shanty.media.waveform import waveform_peaks

BUCKETS = 220  # about one bar per pixel of the table's waveform canvas
MAX_BYTES = 200 * 1024 * 1024  # longer files get no waveform rather than a stalled server

__all__ = ["waveform_routes"]


def _read(server: MediaServer, token: str) -> bytes:
    target = server.resolve(token, proxy=True)  # bucket bytes are fetched here, not redirected
    size = target.size if isinstance(target, (LocalFile, Proxy)) else 0
    if size > MAX_BYTES:
        raise NotFoundError("This file is too long for a waveform.")
    if isinstance(target, LocalFile):
        return target.path.read_bytes()
    with server.open_stream(target) as stream:
        return stream.read()


@functools.lru_cache(maxsize=2048)
def _summary(token: str) -> str:
    waveform = waveform_peaks(_read(server_from_environment(), token), BUCKETS)
    return "null" if waveform is None else waveform.to_json()


async def _endpoint(request: Request) -> Response:
    token = request.path_params["token"]
    try:
        body = await run_in_threadpool(_summary, token)
    except InvalidTokenError:
        return PlainTextResponse("This media link is not valid.", status_code=403)
    except NotFoundError:
        return PlainTextResponse("No waveform for this file.", status_code=404)
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
