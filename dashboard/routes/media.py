"""The app's media route: ``GET|HEAD /api/media/<token>[/<file name>]`` on Starlette.

``app.py`` mounts it with::

    from dashboard.routes.media import media_routes, server_from_environment
    app = st.App(__file__, routes=media_routes(server_from_environment))

and pages make cell URLs with :func:`media_url` (one file) or :func:`cell_urls`
(a cell's media URL and its previews' URLs, under one token). The route only
ever sees a token; :meth:`shanty.media.server.MediaServer.resolve` turns it
into a local file (streamed here with Range support), a redirect to a fresh
presigned URL, or a relayed stream. Token problems answer 403, a vanished
object 404, an unreachable store 502, always with a short plain-text body.

Configuration (read once, at the first request or URL):
``$SHANTY_ROOT`` (else the bundled demo registry), the signing secret (never
shown: ``$SHANTY_SECRET``, else for a bucket registry the one kept in the
registry, created by whichever replica comes first, else the local file
``$SHANTY_SECRET_FILE``; see :func:`shanty.media.tokens.signing_secret`) and
``$SHANTY_MEDIA_PROXY=1`` to relay bucket bytes instead of redirecting. So any
number of replicas on one bucket registry mint and accept the same links.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterable
from urllib.parse import quote, urlsplit

import anyio
import streamlit as st
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard.routes import MEDIA_PREFIX, PREVIEW_PREFIXES
from dashboard.workspace import DEMO_ROOT, configured_root
from shanty.artifact import ArtifactVersion
from shanty.errors import InvalidTokenError, NotFoundError, RangeNotSatisfiableError, ShantyError, StorageError
from shanty.media.relay import ByteStream, parse_range
from shanty.media.server import DEFAULT_TTL, LocalFile, MediaServer, Proxy, Redirect
from shanty.media.tokens import signing_secret
from shanty.records import VersionInfo
from shanty.registry import Registry
from shanty.settings import settings

__all__ = [
    "SECURITY_HEADERS",
    "MediaEndpoint",
    "cell_urls",
    "media_routes",
    "media_url",
    "server_for",
    "server_from_environment",
]

log = logging.getLogger(__name__)

# Served bytes are user content on our origin: an uploaded HTML or SVG must not run script here.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self' data:; media-src 'self'; "
    "style-src 'unsafe-inline'; sandbox",
    "Referrer-Policy": "no-referrer",  # the token stays out of Referer headers, also on the bucket redirect
}
_ACTIVE_TYPES = {"text/html", "application/xhtml+xml", "text/xml", "application/xml", "image/svg+xml"}
_CONTENT_CACHE = "private, max-age=3600"  # a token's bytes never change; the token itself expires


def server_from_environment() -> MediaServer:
    """The MediaServer for the current environment (see the module docstring), built once per setting."""
    root = configured_root() or str(DEMO_ROOT)
    chosen = settings()
    return _server(root, chosen.secret_text, str(chosen.secret_file), chosen.media_proxy)


def server_for(root: str | os.PathLike[str] | Registry, secret: bytes, *, proxy: bool = False) -> MediaServer:
    """A MediaServer for ``root`` that mints URLs under this app's media and preview routes."""
    return MediaServer(root, secret, prefix=MEDIA_PREFIX, previews=PREVIEW_PREFIXES, proxy=proxy)


@functools.cache
def _server(root: str, secret_text: str | None, secret_file: str, proxy: bool) -> MediaServer:
    # Keyed by the settings, so a process whose environment changes (tests) never serves a stale registry.
    # The secret is read once per process: it never changes (see shanty.media.tokens.signing_secret).
    registry = Registry(root)
    return server_for(registry, signing_secret(registry), proxy=proxy)


def media_url(
    version: VersionInfo | ArtifactVersion,
    entry_path: str,
    *,
    ttl: int = DEFAULT_TTL,
    proxy: bool = False,
    absolute: bool = True,
    server: MediaServer | None = None,
) -> str:
    """The URL a media cell shows for one entry of a logged version.

    ``st.audio`` / ``st.video`` / ``st.image`` take only http(s) URLs (a
    relative one would be read as a file name), so by default the browser's
    origin from ``st.context.url`` is prepended; outside a script run, or with
    ``absolute=False``, the path alone is returned (fine for HTML ``src``).
    """
    path = (server or server_from_environment()).url_for(version, entry_path, ttl, proxy=proxy, user=_link_user())
    if not absolute:
        return path
    page = st.context.url if get_script_run_ctx(suppress_warning=True) is not None else None
    if not page:  # outside a script run (tests, scripts, the route itself)
        return path
    parts = urlsplit(page)
    return f"{parts.scheme}://{parts.netloc}{path}"


def cell_urls(
    version: VersionInfo | ArtifactVersion,
    entry_path: str,
    previews: Iterable[str] = (),
    *,
    server: MediaServer | None = None,
) -> dict[str, str]:
    """A media cell's URL paths, under one token: ``{"url": ..., <preview>: ...}`` for each of ``previews``
    (see :meth:`MediaServer.cell_urls`); paths only, for the media table's HTML ``src`` attributes."""
    return (server or server_from_environment()).cell_urls(version, entry_path, previews, user=_link_user())


def _link_user() -> str | None:
    # Whom links are minted for: the signed-in viewer (None without sign-in: links as they always were).
    from dashboard.auth import link_user  # here, not at the top: dashboard.auth imports this module

    return link_user()


def media_routes(get_server: Callable[[], MediaServer], prefix: str = MEDIA_PREFIX) -> list[Route]:
    """Routes for ``prefix/{token}`` and ``prefix/{token}/{filename}`` (GET and HEAD).

    ``get_server`` is called per request (in a worker thread), so it can build
    the server lazily; cache it (``server_from_environment`` does).
    """
    endpoint = MediaEndpoint(get_server)
    prefix = prefix.rstrip("/")
    return [
        Route(prefix + "/{token}", endpoint, methods=["GET", "HEAD"], name="shanty-media"),
        Route(prefix + "/{token}/{filename}", endpoint, methods=["GET", "HEAD"], name="shanty-media-named"),
    ]


def _disposition(filename: str, content_type: str) -> str:
    # Active documents are never rendered in place; <img>/<audio> ignore the disposition anyway.
    kind = "attachment" if content_type in _ACTIVE_TYPES else "inline"
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename) or "media"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _secured(send: Send) -> Send:
    """``send`` with the security headers added to every response start (FileResponse's 416 included)."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(raw=message["headers"])
            for name, value in SECURITY_HEADERS.items():
                headers.setdefault(name, value)
            headers.setdefault("Cache-Control", "no-store")
        await send(message)

    return wrapped


class _RelayResponse(StreamingResponse):
    """A StreamingResponse that always closes its upstream stream, even when the client goes away."""

    def __init__(self, stream: ByteStream, status_code: int, headers: dict[str, str], media_type: str):
        super().__init__(iter(stream), status_code, headers, media_type)
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.stream.close)


class MediaEndpoint:
    """The ASGI endpoint behind :func:`media_routes`. All blocking work runs in worker threads."""

    def __init__(self, get_server: Callable[[], MediaServer]):
        self.get_server = get_server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self._respond(request)
        await response(scope, receive, _secured(send))

    async def _respond(self, request: Request) -> Response:
        token = request.path_params.get("token", "")
        proxy = request.query_params.get("proxy") == "1"
        try:
            server = await anyio.to_thread.run_sync(self.get_server)
            target = await anyio.to_thread.run_sync(lambda: server.resolve(token, proxy=proxy))
            if isinstance(target, Redirect):
                return Response(status_code=307, headers={"Location": target.url, "Cache-Control": "no-store"})
            if isinstance(target, LocalFile):
                return _local_response(request, target)
            return await _relay_response(request, server, target)
        except InvalidTokenError as exc:  # forged, malformed, expired, or naming nothing we hold
            return PlainTextResponse(str(exc), status_code=403)
        except NotFoundError as exc:  # a genuine token whose object vanished or changed
            return PlainTextResponse(str(exc), status_code=404)
        except StorageError:
            log.exception("media store failed for a media request")
            return PlainTextResponse("The media store could not be reached; try again shortly.", status_code=502)
        except ShantyError:
            log.exception("media request failed")
            return PlainTextResponse("This media file cannot be served; see the app's log.", status_code=500)


def _content_headers(filename: str, content_type: str) -> dict[str, str]:
    return {
        "Content-Disposition": _disposition(filename, content_type),
        "Cache-Control": _CONTENT_CACHE,
        "Accept-Ranges": "bytes",
    }


def _local_response(request: Request, target: LocalFile) -> Response:
    """FileResponse does Range (single, suffix, open; 416), If-Range, HEAD and async reads correctly in the
    installed Starlette; only Range headers our parser would ignore (malformed, multi-range) are removed
    first, so local and relayed files answer alike."""
    header = request.headers.get("range")
    if header:
        try:
            keep = parse_range(header, target.stat.st_size) is not None
        except RangeNotSatisfiableError:
            keep = True  # FileResponse answers 416 itself, after honouring If-Range
        if not keep:  # the request's own scope: FileResponse reads the headers from it
            request.scope["headers"] = [(k, v) for k, v in request.scope["headers"] if k.lower() != b"range"]
    return FileResponse(
        target.path,
        headers=_content_headers(target.filename, target.content_type),
        media_type=target.content_type,
        stat_result=target.stat,
    )


async def _relay_response(request: Request, server: MediaServer, target: Proxy) -> Response:
    headers = _content_headers(target.filename, target.content_type)
    headers["ETag"] = target.etag
    if_range = request.headers.get("if-range")
    range_header = request.headers.get("range") if if_range in (None, target.etag) else None
    try:
        wanted = parse_range(range_header, target.size)
    except RangeNotSatisfiableError as exc:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{exc.size}"})
    start, end = wanted or (0, target.size)
    status = 200 if wanted is None else 206
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{target.size}"
    stream = await anyio.to_thread.run_sync(server.open_stream, target, start, end)
    headers["Content-Length"] = str(stream.length)
    if request.method == "HEAD":
        await anyio.to_thread.run_sync(stream.close)
        return Response(status_code=status, headers=headers, media_type=target.content_type)
    return _RelayResponse(stream, status, headers, target.content_type)
