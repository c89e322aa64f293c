"""``http://`` and ``https://`` references: read-only, one object per URL.

A URL names a single object; its digest is the ETag (as W&B records it),
falling back to Last-Modified + size when the server sends no ETag. There
are no object versions and no listing, so a URL cannot hold a registry.
Ranged reads send a Range header; a server that ignores it sends the whole
object, which is then cut to the asked bytes.
"""

from __future__ import annotations

import http.client
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import InvalidInputError, NotFoundError, StorageError
from ..progress import Progress
from .base import ObjectInfo
from .stream import ByteStream

__all__ = ["HTTPStorage"]

TIMEOUT = 30
_CHUNK = 256 * 1024
_GONE = {404, 410, 412}  # missing, removed, or (a conditional request) replaced
_CONTENT_RANGE_START = re.compile(r"^bytes (\d+)-")


def _fail(uri: str, exc: Exception) -> Exception:
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code == 404:
            return NotFoundError(f"{uri} answered 404 Not Found; check the URL.")
        if exc.code in (401, 403):
            return StorageError(
                f"{uri} refused access ({exc.code}); use a URL that is public or carries its own signature."
            )
        return StorageError(f"{uri} answered HTTP {exc.code}; try again later or check the server.")
    return StorageError(f"Could not reach {uri} ({getattr(exc, 'reason', exc)}); check the address and your network.")


class HTTPStorage:
    """Read-only storage for plain web URLs; also offers ``open_range``."""

    scheme = "http"

    def _head(self, uri: str) -> ObjectInfo:
        request = urllib.request.Request(uri, method="HEAD")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                headers = response.headers
        except (urllib.error.URLError, OSError) as exc:
            raise _fail(uri, exc) from exc
        size = int(headers.get("Content-Length") or 0)
        etag = (headers.get("ETag") or "").strip('"').removeprefix("W/").strip('"')
        modified = headers.get("Last-Modified")
        extra = {"content_type": headers.get("Content-Type") or ""}
        if modified:
            extra["last_modified"] = parsedate_to_datetime(modified).isoformat()
        if etag:
            extra["etag"] = etag
        digest = etag or f"{size}-{extra.get('last_modified', '')}"
        name = unquote(PurePosixPath(urlsplit(uri).path).name) or "index"
        return ObjectInfo(uri=uri, relpath=name, size=size, digest=digest, object_version=None, extra=extra)

    def list_objects(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> list[ObjectInfo]:
        """The one object the URL names (a HEAD request); see :meth:`Storage.list_objects`."""
        info = self._head(uri)
        if progress:
            progress.set_total(1)
            progress.advance()
        return [info]

    def stat(self, uri: str, version: str | None = None) -> ObjectInfo | None:
        """See :meth:`Storage.stat` (a HEAD request; URLs have no versions)."""
        try:
            return self._head(uri)
        except NotFoundError:
            return None

    def download(self, uri: str, version: str | None, dest: Path) -> None:
        """GET the URL into ``dest``; NotFoundError for a 404."""
        try:
            with urllib.request.urlopen(uri, timeout=TIMEOUT) as response, open(dest, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
        except (urllib.error.URLError, OSError) as exc:
            raise _fail(uri, exc) from exc

    def signed_url(self, uri: str, version: str | None, expires_in: int) -> str | None:
        """The URL itself: a browser can already fetch it."""
        return uri

    def open_range(self, uri: str, version: str | None, start: int, end: int, *, etag: str | None = None) -> ByteStream:
        """See :meth:`RangedReads.open_range`. ``etag`` is not sent: web servers' ETags are often weak or
        per-encoding, so If-Match would refuse unchanged files; the recorded size still catches most changes."""
        if start == end:
            self._head(uri)  # nothing to read, but the object must still be there
            return ByteStream.empty()
        request = urllib.request.Request(uri, headers={"Range": f"bytes={start}-{end - 1}"})
        try:
            response = urllib.request.urlopen(request, timeout=TIMEOUT)  # closed by the ByteStream
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in _GONE:
                raise NotFoundError(f"{uri} answered HTTP {exc.code}; it is gone or changed.") from exc
            raise _fail(uri, exc) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise _fail(uri, exc) from exc
        skip = start  # a 200 is the whole object: cut it here
        if response.status == 206:
            match = _CONTENT_RANGE_START.match(response.headers.get("Content-Range", ""))
            skip = start - int(match.group(1)) if match else -1
        if skip < 0:
            response.close()
            raise StorageError(f"{uri} answered with another byte range than asked; try again.")
        return ByteStream(_read_chunks(uri, response), response.close, end - start, skip=skip)

    # --- a URL cannot hold a registry ---------------------------------------------------
    def _read_only(self, uri: str) -> InvalidInputError:
        return InvalidInputError(f"{uri} is a web URL and cannot hold a registry; use a folder, s3:// or gs:// root.")

    def read_bytes(self, uri: str) -> bytes:
        """Refused with InvalidInputError: a URL cannot hold a registry."""
        raise self._read_only(uri)

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Refused with InvalidInputError: a URL cannot hold a registry."""
        raise self._read_only(uri)

    def create_if_absent(self, uri: str, data: bytes) -> bool:
        """Refused with InvalidInputError: a URL cannot hold a registry."""
        raise self._read_only(uri)

    def exists(self, uri: str) -> bool:
        """Refused with InvalidInputError: a URL cannot hold a registry."""
        raise self._read_only(uri)

    def list_names(self, uri: str, start_after: str | None = None) -> list[str]:
        """Refused with InvalidInputError: a URL cannot hold a registry."""
        raise self._read_only(uri)


def _read_chunks(uri: str, response: Any) -> Iterator[bytes]:
    try:
        while chunk := response.read(_CHUNK):
            yield chunk
    except (http.client.HTTPException, OSError) as exc:  # IncompleteRead, reset connections, timeouts
        raise StorageError(f"The connection to {uri} broke off ({type(exc).__name__}); try again.") from exc
