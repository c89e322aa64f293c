"""Serving media behind signed tokens: token -> (version, entry) -> how to send the bytes.

The dashboard never hands a browser a bucket URI or a local path. Each media
cell gets ``/api/media/<token>/<file name>`` from :meth:`MediaServer.url_for`;
the token (see :mod:`shanty.signing`) names one entry of one logged version
and expires after hours, so a page left open keeps playing. The app's route
hands the token to :meth:`MediaServer.resolve`, which verifies it, finds the
entry through that version's manifest (so only objects a logged version
references are reachable, and no path ever comes from the request) and says
how to serve it:

* :class:`LocalFile` for ``file://`` references and for files stored by value
  in a local registry: the route streams the file itself (with Range);
* :class:`Redirect` to a short-lived presigned URL for bucket objects, made
  fresh for each request and pinned to the recorded object version;
* :class:`Proxy` when the store cannot presign (GCS user credentials) or
  proxy mode is on (buckets the browser cannot reach): the app fetches the
  recorded version itself with :meth:`MediaServer.open_stream`.

This module is web-framework free; ``components/media_route.py`` adapts it to
Starlette.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import mimetypes
import os
import posixpath
import re
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import urllib3

from ..artifact import ArtifactVersion
from ..digests import b64_to_hex, md5_b64_file
from ..errors import (
    InvalidInputError,
    MalformedError,
    MediaDeniedError,
    MediaGoneError,
    NotFoundError,
    RangeNotSatisfiableError,
    StorageError,
)
from ..manifest import ManifestEntry
from ..records import VersionInfo
from ..registry import Registry
from ..settings import settings
from ..storage import storage_for
from ..storage.location import parse_uri
from ..tables.packing import local_entry_file
from .tokens import MediaClaim, sign_media, verify_media

__all__ = [
    "DEFAULT_TTL",
    "MEDIA_PREFIX",
    "PRESIGN_SECONDS",
    "ByteStream",
    "LocalFile",
    "MediaServer",
    "MediaTarget",
    "Proxy",
    "Redirect",
    "content_type_for",
    "default_secret_file",
    "parse_range",
]

MEDIA_PREFIX = "/api/media"  # Streamlit reserves /media/; st.App user routes are mounted at the root
DEFAULT_TTL = 12 * 3600  # a token outlives the page that shows it (hours), not just one playback
PRESIGN_SECONDS = 15 * 60  # bucket URLs are short-lived: they are re-made at every request
_PRESIGN_REUSE = 5 * 60  # reuse a presigned URL this long (IAM signing is a network call per URL)
_CACHE_LIMIT = 4096
_RACY_NS = 2 * 10**9  # a file modified this recently is hashed afresh: mtime ticks are coarse (as racy-git)
CHUNK = 256 * 1024
_ID_PREFIX = "#"  # marks an opaque entry id (see MediaServer._entry_id) in a token's path field

_GENERIC_TYPES = {"application/octet-stream", "binary/octet-stream", "text/plain", ""}
# Browsers need these exact types; mimetypes differs between platforms (audio/x-wav, missing webm...).
_TYPES = {
    ".wav": "audio/wav",
    ".wave": "audio/wav",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".webm": "video/webm",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".ogv": "video/ogg",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".parquet": "application/vnd.apache.parquet",
}
_MIME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")
_FINGERPRINT = re.compile(r"^\d+-\d+$")  # file:// digests logged with checksum=False: "<size>-<mtime_ns>"
_CONTENT_RANGE_START = re.compile(r"^bytes (\d+)-")
_RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$", re.ASCII)  # one range; a comma makes it not match


@dataclass(frozen=True)
class LocalFile:
    """Serve this local file; ``path`` comes from the manifest or the registry, never from the request."""

    path: Path
    size: int
    content_type: str
    filename: str
    stat: os.stat_result = field(repr=False, compare=False)


@dataclass(frozen=True)
class Redirect:
    """Send the browser to ``url``: a presigned URL of the recorded object version, valid for minutes."""

    url: str
    content_type: str
    filename: str


@dataclass(frozen=True)
class Proxy:
    """Fetch ``uri`` at ``version`` server-side (:meth:`MediaServer.open_stream`) and relay the bytes.

    ``size`` and ``digest`` are the recorded ones; ``if_match`` is the S3 ETag
    to require when the object has no version id (an unversioned bucket), so a
    replaced object is refused instead of served.
    """

    uri: str
    version: str | None
    size: int
    content_type: str
    filename: str
    digest: str
    if_match: str | None = None

    @property
    def etag(self) -> str:
        """A strong validator: the recorded content never changes behind a token."""
        return '"' + re.sub(r"[^A-Za-z0-9+/=_.:-]", "_", f"{self.digest}.{self.version or ''}") + '"'


MediaTarget = LocalFile | Redirect | Proxy


class ByteStream:
    """An open read of ``length`` bytes: iterate for chunks (blocking I/O), then :meth:`close`."""

    def __init__(self, chunks: Iterator[bytes], close: Callable[[], None], length: int):
        self._chunks, self._close, self.length = chunks, close, length

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        self._close()


def default_secret_file() -> Path:
    """Where the app keeps its signing secret: ``$SHANTY_SECRET_FILE``, else
    ``$XDG_CONFIG_HOME/shanty/app-secret`` (``~/.config/shanty/app-secret``).

    Deliberately outside any registry (``~/.shanty`` is the default registry
    root and may be synced or shared): the secret belongs to this app install.
    Several app processes behind one URL must share the file (or the variable).
    """
    return settings().secret_file


def content_type_for(entry: ManifestEntry) -> str:
    """The entry's stored content type, unless it is generic and the extension says more."""
    stored = str(entry.extra.get("content_type") or "").split(";", 1)[0].strip().lower()
    stored = stored if _MIME.match(stored) else ""  # never let a stored value inject header syntax
    ext = posixpath.splitext(entry.path)[1].lower()
    guessed = _TYPES.get(ext) or mimetypes.guess_type(f"x{ext}")[0]
    if stored and (stored not in _GENERIC_TYPES or not guessed):
        return stored
    return guessed or "application/octet-stream"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The single byte range ``[start, end)`` a Range header asks of a ``size``-byte file.

    None means "send the whole file": no header, another unit, a malformed or
    multi-range header (RFC 9110 lets a server ignore those). Suffix
    (``bytes=-500``) and open (``bytes=100-``) ranges are supported. Raises
    RangeNotSatisfiableError when the range starts past the end.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    match = _RANGE_SPEC.match(spec)
    if unit.strip().lower() != "bytes" or match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if not first:  # suffix: the last N bytes
        if int(last) == 0 or size == 0:
            raise RangeNotSatisfiableError(size)
        return max(size - int(last), 0), size
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise RangeNotSatisfiableError(size)
    return start, min(int(last) + 1, size) if last else size


@functools.lru_cache(maxsize=_CACHE_LIMIT)
def _file_md5(path: str, size: int, mtime_ns: int) -> str:
    # Keyed by size and mtime: a file is hashed once, again only after it changes.
    return md5_b64_file(path)


class MediaServer:
    """Signs media URLs and resolves their tokens against one registry.

    ``proxy=True`` relays bucket bytes through the app instead of redirecting
    (for buckets the browser cannot reach); ``verify_local`` checks that a
    ``file://`` reference still holds the logged content (size, then MD5 once
    per file modification) before serving it. Thread-safe: the route calls it
    from a thread pool.
    """

    def __init__(
        self,
        registry: Registry | str | os.PathLike[str],
        secret: bytes,
        *,
        proxy: bool = False,
        prefix: str = MEDIA_PREFIX,
        presign_seconds: int = PRESIGN_SECONDS,
        verify_local: bool = True,
    ):
        if len(secret) < 16:
            raise InvalidInputError("The media signing secret is shorter than 16 bytes; use load_or_create_secret().")
        self.registry = registry if isinstance(registry, Registry) else Registry(registry)
        self._secret = secret
        self.proxy = proxy
        self.prefix = prefix.rstrip("/")
        self.presign_seconds = presign_seconds
        self.verify_local = verify_local
        self._versions: dict[tuple[str, str, int], VersionInfo] = {}  # versions are immutable once logged
        self._ids: dict[tuple[str, str, int], dict[str, ManifestEntry]] = {}
        self._presigned: dict[tuple[str, str | None], tuple[str, float]] = {}
        self._http = urllib3.PoolManager(
            maxsize=16,
            timeout=urllib3.Timeout(connect=10, read=60),
            retries=urllib3.Retry(total=3, read=0, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)),
        )

    def __repr__(self) -> str:  # never the secret
        return f"MediaServer({self.registry.root!r}, proxy={self.proxy})"

    # --- signing -----------------------------------------------------------------
    def url_for(
        self, version: VersionInfo | ArtifactVersion, entry_path: str, ttl: int = DEFAULT_TTL, *, proxy: bool = False
    ) -> str:
        """``<prefix>/<token>/<file name>`` for one entry of a logged version, valid for at least ``ttl`` s.

        The expiry is rounded up to a whole hour (or ``ttl``, if shorter) so a
        Streamlit rerun gets the same URL and players do not reload. The file
        name is cosmetic (browsers use it when saving); the route ignores it.
        ``proxy=True`` asks the route to relay this file even when the server
        would redirect. Raises NotFoundError for an entry the version lacks.
        """
        if isinstance(version, ArtifactVersion):
            if version._registry.root != self.registry.root:
                raise InvalidInputError(
                    f"{version.qualified_name} belongs to {version._registry.root}, but media are served "
                    f"from {self.registry.root}; open it from that registry."
                )
            version = version.info
        if ttl < 1:
            raise InvalidInputError(f"A media link must live at least 1 second, not {ttl}.")
        entry = self.registry.manifest(version).entries.get(entry_path)
        if entry is None:
            raise NotFoundError(f"{version.qualified_name} has no entry {entry_path!r}.")
        step = min(3600, ttl)
        expires = math.ceil((time.time() + ttl) / step) * step
        token = sign_media(
            MediaClaim(version.project, version.artifact, version.index, self._entry_id(entry.path), expires),
            self._secret,
        )
        url = f"{self.prefix}/{token}/{quote(posixpath.basename(entry.path), safe='')}"
        return url + "?proxy=1" if proxy else url

    # --- resolving ---------------------------------------------------------------
    def resolve(self, token: str, *, proxy: bool = False, now: float | None = None) -> MediaTarget:
        """How to serve the entry ``token`` names (blocking: call it off the event loop).

        Raises InvalidTokenError (forged, malformed, expired; its subclass
        MediaDeniedError for unknown project, artifact, version or entry),
        MediaGoneError when the recorded object is missing or changed, and
        StorageError when the registry or a store cannot be reached.
        ``proxy=True`` relays bucket objects even if the server redirects by default.
        """
        claim = verify_media(token, self._secret, now)
        entry = self._entry(claim)
        content_type, filename = content_type_for(entry), posixpath.basename(entry.path)
        if entry.ref is None:  # stored by value: content-addressed in the registry's object store
            try:
                uri, version = self.registry.uri(self.registry.object_key(b64_to_hex(entry.digest))), None
            except ValueError as exc:
                raise MalformedError(f"The manifest digest of {entry.path!r} is not an MD5; it is damaged.") from exc
        else:
            uri, version = entry.ref, entry.object_version
        if uri.startswith("file://"):
            path = Path(parse_uri(uri).key)
            return LocalFile(path, entry.size, content_type, filename, self._check_local(path, entry))
        if not (proxy or self.proxy):
            url = self._presign(uri, version)
            if url is not None:
                return Redirect(url, content_type, filename)
        etag = entry.extra.get("etag") if uri.startswith("s3://") and version is None else None
        return Proxy(uri, version, entry.size, content_type, filename, entry.digest, etag or None)

    def _entry(self, claim: MediaClaim) -> ManifestEntry:
        key = (claim.project, claim.artifact, claim.version)
        info = self._versions.get(key)
        if info is None:
            try:
                versions = self.registry.versions(claim.project, claim.artifact)
            except (NotFoundError, InvalidInputError):
                versions = []
            if not 0 <= claim.version < len(versions):
                raise MediaDeniedError("This media link names a version this app does not know; reload the page.")
            info = self._versions[key] = versions[claim.version]
        entries = self.registry.manifest(info).entries
        if claim.path.startswith(_ID_PREFIX):
            ids = self._ids.get(key)
            if ids is None:
                ids = self._ids[key] = {self._entry_id(p): e for p, e in entries.items()}
            entry = ids.get(claim.path)
        else:
            entry = entries.get(claim.path)
        if entry is None:
            raise MediaDeniedError("This media link names a file this version does not hold; reload the page.")
        return entry

    def _entry_id(self, path: str) -> str:
        # Tokens are signed, not encrypted: their payload is readable base64. An
        # entry path can reveal a local folder or a bucket, so tokens carry a
        # keyed hash of it instead (opaque without the secret, not guessable).
        return _ID_PREFIX + hmac.new(self._secret, path.encode(), hashlib.sha256).hexdigest()[:24]

    def _check_local(self, path: Path, entry: ManifestEntry) -> os.stat_result:
        """The file's stat if it still holds the logged bytes; MediaGoneError otherwise."""
        try:
            st = path.stat()
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            raise MediaGoneError("This media file no longer exists where it was logged.")
        changed = st.st_size != entry.size
        if not changed and self.verify_local and entry.ref is not None:  # by-value objects are content-addressed
            if _FINGERPRINT.match(entry.digest):
                changed = entry.digest != f"{st.st_size}-{st.st_mtime_ns}"
            elif time.time_ns() - st.st_mtime_ns < _RACY_NS:  # may change again within the same mtime tick
                changed = md5_b64_file(path) != entry.digest
            else:
                changed = _file_md5(str(path), st.st_size, st.st_mtime_ns) != entry.digest
        if changed:
            raise MediaGoneError("This media file was changed after it was logged; log a new version to show it.")
        return st

    def _presign(self, uri: str, version: str | None) -> str | None:
        now = time.monotonic()
        cached = self._presigned.get((uri, version))
        if cached is not None and cached[1] > now:
            return cached[0]
        url = storage_for(uri).signed_url(uri, version, self.presign_seconds)
        if url is not None:
            if len(self._presigned) >= _CACHE_LIMIT:
                self._presigned.clear()
            self._presigned[(uri, version)] = (url, now + min(_PRESIGN_REUSE, self.presign_seconds / 3))
        return url

    # --- relaying ------------------------------------------------------------------
    def open_stream(self, target: Proxy, start: int = 0, end: int | None = None) -> ByteStream:
        """Open bytes ``[start, end)`` of the recorded object (blocking; the first request is made here,
        so a missing object raises MediaGoneError before any response starts).

        Goes through a presigned URL with a Range header, so the store sends
        only the asked bytes; a store that ignores Range is streamed and
        sliced. When the store cannot presign, the object is downloaded once
        into shanty's cache and served from there.
        """
        end = target.size if end is None else end
        if not 0 <= start <= end <= target.size:
            raise RangeNotSatisfiableError(target.size)
        url = self._presign(target.uri, target.version)
        if url is None:
            return self._cached_stream(target, start, end)
        headers = {"Range": f"bytes={start}-{end - 1}"} if 0 < end - start < target.size else {}
        if target.if_match:
            headers["If-Match"] = f'"{target.if_match}"'
        try:
            response = self._http.request("GET", url, headers=headers, preload_content=False, decode_content=False)
        except urllib3.exceptions.HTTPError as exc:
            raise StorageError(f"The media store did not answer ({type(exc).__name__}); try again.") from exc
        skip = start
        if response.status == 206:
            match = _CONTENT_RANGE_START.match(response.headers.get("Content-Range", ""))
            skip = start - int(match.group(1)) if match else -1
        elif response.status != 200:
            response.close()
            if response.status in (404, 410, 412):
                raise MediaGoneError("This media object no longer exists in its store at the logged version.")
            raise StorageError(f"The media store answered HTTP {response.status}; try again later.")
        if skip < 0:
            response.close()
            raise StorageError("The media store answered with another byte range than asked; try again.")
        done = False

        def raw() -> Iterator[bytes]:
            nonlocal done
            yield from response.stream(CHUNK)
            done = True

        def close() -> None:
            if not done:
                response.close()  # a half-read connection must not go back to the pool
            response.release_conn()

        return ByteStream(_slice(raw(), skip, end - start), close, end - start)

    def _cached_stream(self, target: Proxy, start: int, end: int) -> ByteStream:
        entry = ManifestEntry(target.filename, target.digest, target.size, target.uri, target.version)
        try:
            path = local_entry_file(self.registry, entry)
        except NotFoundError as exc:
            raise MediaGoneError("This media object no longer exists in its store at the logged version.") from exc
        handle = open(path, "rb")  # noqa: SIM115 - closed by the ByteStream's close()
        handle.seek(start)

        def chunks() -> Iterator[bytes]:
            left = end - start
            while left > 0 and (chunk := handle.read(min(CHUNK, left))):
                left -= len(chunk)
                yield chunk

        return ByteStream(chunks(), handle.close, end - start)


def _slice(chunks: Iterator[bytes], skip: int, length: int) -> Iterator[bytes]:
    """``length`` bytes of ``chunks`` after the first ``skip``."""
    for chunk in chunks:
        if skip:
            dropped = min(skip, len(chunk))
            chunk, skip = chunk[dropped:], skip - dropped
        if length <= 0:
            break
        if chunk:
            chunk = chunk[:length]
            length -= len(chunk)
            yield chunk
    if length > 0:
        raise StorageError("The media store sent fewer bytes than the logged size; the object may have changed.")
