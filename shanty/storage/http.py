"""``http://`` and ``https://`` references: read-only, one object per URL.

A URL names a single object; its digest is the ETag (as W&B records it),
falling back to Last-Modified + size when the server sends no ETag. There
are no object versions and no listing, so a URL cannot hold a registry.
"""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from ..errors import InvalidInputError, NotFoundError, StorageError
from ..progress import Progress
from .base import ObjectInfo

__all__ = ["HTTPStorage"]

TIMEOUT = 30


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
    """Read-only storage for plain web URLs."""

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
        return ObjectInfo(uri=uri, relpath=name, size=size, digest=digest, version=None, extra=extra)

    def list_objects(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> list[ObjectInfo]:
        info = self._head(uri)
        if progress:
            progress.set_total(1)
            progress.advance()
        return [info]

    def stat(self, uri: str, version: str | None = None) -> ObjectInfo | None:
        try:
            return self._head(uri)
        except NotFoundError:
            return None

    def download(self, uri: str, version: str | None, dest: Path) -> None:
        try:
            with urllib.request.urlopen(uri, timeout=TIMEOUT) as response, open(dest, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
        except (urllib.error.URLError, OSError) as exc:
            raise _fail(uri, exc) from exc

    def signed_url(self, uri: str, version: str | None, expires_in: int) -> str | None:
        return uri  # already a URL the browser can fetch

    def _read_only(self, uri: str) -> InvalidInputError:
        return InvalidInputError(f"{uri} is a web URL and cannot hold a registry; use a folder, s3:// or gs:// root.")

    def read_bytes(self, uri: str) -> bytes:
        raise self._read_only(uri)

    def write_bytes(self, uri: str, data: bytes) -> None:
        raise self._read_only(uri)

    def create_if_absent(self, uri: str, data: bytes) -> bool:
        raise self._read_only(uri)

    def exists(self, uri: str) -> bool:
        raise self._read_only(uri)

    def list_names(self, uri: str) -> list[str]:
        raise self._read_only(uri)
