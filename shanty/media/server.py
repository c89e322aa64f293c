"""Serving media behind signed tokens: token -> (version, entry) -> how to send the bytes.

The dashboard never hands a browser a bucket URI or a local path. Each media
cell gets ``<prefix>/<token>/<file name>`` from :meth:`MediaServer.url_for`
(or, with its preview URLs beside it, :meth:`MediaServer.cell_urls`); the
token (see :mod:`shanty.media.tokens`) names one entry of one logged version
and expires after hours, so a page left open keeps playing. The app owns its
URL layout: it gives the server the prefix of its media route and of each
preview route. The app's route hands the token to :meth:`MediaServer.resolve`,
which verifies it, finds the entry through that version's manifest (so only
objects a logged version references are reachable, and no path ever comes
from the request) and asks storage how to serve it:

* :class:`LocalFile` when the store has a local path (``file://`` references,
  files stored by value in a local registry): the route streams the file;
* :class:`Redirect` to a short-lived signed URL for bucket objects, made
  fresh for each request and pinned to the recorded object version;
* :class:`Proxy` when the store cannot sign URLs (GCS user credentials) or
  proxy mode is on (buckets the browser cannot reach): the app relays the
  recorded version with :meth:`MediaServer.open_stream` (ranged reads, see
  :mod:`shanty.media.relay`).

This module is web-framework free; ``dashboard/routes/media.py`` adapts it to
Starlette.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import os
import posixpath
import re
import stat
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from ..artifact import ArtifactVersion
from ..digests import md5_b64_file
from ..errors import InvalidInputError, MalformedError, MediaDeniedError, MediaGoneError, NotFoundError
from ..manifest import ManifestEntry
from ..records import VersionInfo
from ..registry import Registry
from ..storage import local_path, storage_for
from .content_types import content_type_for
from .ranged_file import file_reader, range_reader
from .relay import ByteStream, open_relay
from .tokens import MediaClaim, sign_media, verify_media, viewer_tag

__all__ = [
    "DEFAULT_TTL",
    "PRESIGN_SECONDS",
    "VERSION_RECHECK",
    "LocalFile",
    "MediaServer",
    "MediaTarget",
    "Proxy",
    "Redirect",
]

DEFAULT_TTL = 12 * 3600  # a token outlives the page that shows it (hours), not just one playback
PRESIGN_SECONDS = 15 * 60  # bucket URLs are short-lived: they are re-made at every request
_PRESIGN_REUSE = 5 * 60  # reuse a presigned URL this long (IAM signing is a network call per URL)
_CACHE_LIMIT = 4096
_RECHECK = 10  # seconds an unversioned object found unchanged is trusted before it is checked again
VERSION_RECHECK = 10  # seconds a version is served before the log is read again (another writer may delete it)
_RACY_NS = 2 * 10**9  # a file modified this recently is hashed afresh: mtime ticks are coarse (as racy-git)
_ID_PREFIX = "#"  # marks an opaque entry id (see MediaServer._entry_id) in a token's path field
_FINGERPRINT = re.compile(r"^\d+-\d+$")  # digests of references logged with checksum=False: "<size>-<mtime_ns>"


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
    """Send the browser to ``url``: a signed URL of the recorded object version, valid for minutes."""

    url: str
    content_type: str
    filename: str


@dataclass(frozen=True)
class Proxy:
    """Fetch ``uri`` at ``version`` server-side (:meth:`MediaServer.open_stream`) and relay the bytes.

    ``size`` and ``digest`` are the recorded ones; ``if_match`` is the ETag
    recorded for an object without a version (an unversioned bucket), so a
    store that can check it refuses a replaced object instead of serving it.
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
        """A strong validator for the response: the recorded content never changes behind a token."""
        return '"' + re.sub(r"[^A-Za-z0-9+/=_.:-]", "_", f"{self.digest}.{self.version or ''}") + '"'


MediaTarget = LocalFile | Redirect | Proxy


@functools.lru_cache(maxsize=_CACHE_LIMIT)
def _file_md5(path: str, size: int, mtime_ns: int) -> str:
    # Keyed by size and mtime: a file is hashed once, again only after it changes.
    return md5_b64_file(path)


class MediaServer:
    """Signs media URLs and resolves their tokens against one registry.

    ``prefix`` is the path of the app's media route (``<prefix>/<token>/<name>``)
    and ``previews`` maps a preview name (``"waveform"``) to the path of its
    route (``<path>/<token>``); the library knows no URL of the app. ``proxy=True``
    relays bucket bytes through the app instead of redirecting (for buckets
    the browser cannot reach); ``verify_local`` checks that a ``file://``
    reference still holds the logged content (size, then MD5 once per file
    modification) before serving it. Thread-safe: the route calls it from a
    thread pool.
    """

    def __init__(
        self,
        registry: Registry | str | os.PathLike[str],
        secret: bytes,
        *,
        prefix: str,
        previews: Mapping[str, str] | None = None,
        proxy: bool = False,
        presign_seconds: int = PRESIGN_SECONDS,
        verify_local: bool = True,
    ):
        if len(secret) < 16:
            raise InvalidInputError("The media signing secret is shorter than 16 bytes; use load_or_create_secret().")
        self.registry = registry if isinstance(registry, Registry) else Registry(registry)
        self._secret = secret
        self.proxy = proxy
        self.prefix = prefix.rstrip("/")
        self.previews = {name: path.rstrip("/") for name, path in (previews or {}).items()}
        self.presign_seconds = presign_seconds
        self.verify_local = verify_local
        # A version's contents never change, but any writer (another process, another machine) may delete it
        # or its ttl may run out: each is trusted VERSION_RECHECK seconds, then its log is read again.
        self._versions: dict[tuple[str, str, int], tuple[VersionInfo, float]] = {}
        self._ids: dict[tuple[str, str, int], dict[str, ManifestEntry]] = {}  # from the immutable manifest
        self._presigned: dict[tuple[str, str | None], tuple[str, float]] = {}
        self._unchanged: dict[tuple[str, str], float] = {}  # (uri, digest) -> until when it is trusted

    def __repr__(self) -> str:  # never the secret
        return f"MediaServer({self.registry.root!r}, proxy={self.proxy})"

    # --- signing -----------------------------------------------------------------
    def url_for(
        self,
        version: VersionInfo | ArtifactVersion,
        entry_path: str,
        ttl: int = DEFAULT_TTL,
        *,
        proxy: bool = False,
        user: str | None = None,
    ) -> str:
        """``<prefix>/<token>/<file name>`` for one entry of a logged version, valid for at least ``ttl`` s.

        The expiry is rounded up to a whole hour (or ``ttl``, if shorter) so a
        Streamlit rerun gets the same URL and players do not reload. The file
        name is cosmetic (browsers use it when saving); the route ignores it.
        ``proxy=True`` asks the route to relay this file even when the server
        would redirect. Raises NotFoundError for an entry the version lacks,
        InvalidInputError for a version of another registry or ``ttl < 1``. ``user`` (an e-mail or
        subject) binds the token to that user (see :func:`shanty.media.tokens.check_viewer`).
        """
        return self.cell_urls(version, entry_path, ttl=ttl, proxy=proxy, user=user)["url"]

    def cell_urls(
        self,
        version: VersionInfo | ArtifactVersion,
        entry_path: str,
        previews: Iterable[str] = (),
        *,
        ttl: int = DEFAULT_TTL,
        proxy: bool = False,
        user: str | None = None,
    ) -> dict[str, str]:
        """The URLs one media cell shows, under one token: ``{"url": <media URL>, <preview>: <preview URL>}``.

        ``url`` is :meth:`url_for`'s; each preview (``"waveform"``) is
        ``<its route's path>/<token>``. Raises InvalidInputError for a preview
        this server was given no route for, and what :meth:`url_for` raises.
        """
        previews = tuple(previews)
        unknown = [name for name in previews if name not in self.previews]
        if unknown:
            known = ", ".join(sorted(self.previews)) or "none"
            raise InvalidInputError(f"This media server has no route for the preview {unknown[0]!r} (known: {known}).")
        token, entry = self._sign(version, entry_path, ttl, user)
        url = f"{self.prefix}/{token}/{quote(posixpath.basename(entry.path), safe='')}"
        urls = {"url": url + "?proxy=1" if proxy else url}
        urls.update((name, f"{self.previews[name]}/{token}") for name in previews)
        return urls

    def _sign(
        self, version: VersionInfo | ArtifactVersion, entry_path: str, ttl: int, user: str | None = None
    ) -> tuple[str, ManifestEntry]:
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
        tag = viewer_tag(user) if user else None
        claim = MediaClaim(
            version.project, version.artifact, version.index, self._entry_id(entry.path), expires, tag, version.id
        )
        return sign_media(claim, self._secret), entry

    def claim(self, token: str, now: float | None = None) -> MediaClaim:
        """The claim of a genuine, unexpired token of this server (InvalidTokenError otherwise), for a route
        that checks who may use it (:func:`shanty.media.tokens.check_viewer`) before serving."""
        return verify_media(token, self._secret, now)

    # --- resolving ---------------------------------------------------------------
    def resolve(self, token: str, *, proxy: bool = False, now: float | None = None) -> MediaTarget:
        """How to serve the entry ``token`` names (blocking: call it off the event loop).

        Raises InvalidTokenError (forged, malformed, expired; its subclass
        MediaDeniedError for unknown project, artifact, version or entry),
        MediaGoneError when the recorded object is missing or changed,
        MalformedError for a damaged manifest entry and StorageError when the
        registry or a store cannot be reached. ``proxy=True`` relays bucket
        objects even if the server redirects by default.
        """
        claim = verify_media(token, self._secret, now)
        entry = self._entry(claim)
        content_type, filename = content_type_for(entry), posixpath.basename(entry.path)
        uri, version = self.registry.entry_source(entry)
        path = local_path(uri)
        if path is not None:
            return LocalFile(path, entry.size, content_type, filename, self._check_local(path, entry))
        if not (proxy or self.proxy):
            url = self._presign(uri, version)
            if url is not None:
                if version is None and entry.ref is not None:
                    # A presigned URL of an unversioned object serves whatever is there now: check it
                    # still holds the logged bytes first (the relay checks with If-Match instead).
                    self._check_unversioned(uri, entry)
                return Redirect(url, content_type, filename)
        etag = entry.extra.get("etag") if version is None else None
        return Proxy(uri, version, entry.size, content_type, filename, entry.digest, str(etag) if etag else None)

    def _entry(self, claim: MediaClaim) -> ManifestEntry:
        key = (claim.project, claim.artifact, claim.version)
        now = time.monotonic()
        info, until = self._versions.get(key, (None, 0.0))
        if info is None or until <= now:
            try:  # a deleted or expired version serves nothing
                info = self.registry.version(claim.project, claim.artifact, claim.version)
            except (NotFoundError, InvalidInputError, MalformedError):
                self._versions.pop(key, None)
                raise MediaDeniedError(
                    "This media link names a version this app does not know; reload the page."
                ) from None
            if len(self._versions) >= _CACHE_LIMIT:
                self._versions.clear()
            self._versions[key] = (info, now + VERSION_RECHECK)
        if info.id != claim.version_id:  # the number now names another record: never its bytes
            raise MediaDeniedError("This media link names a version this app does not know; reload the page.")
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

    def why_unplayable(self, version: VersionInfo | ArtifactVersion, entry_path: str) -> str | None:
        """None when the bytes ``version`` logged for ``entry_path`` can still be served; else one
        sentence saying why not and what to do (a file changed in a folder that keeps no versions, an
        object deleted from its bucket...). Asks the store (a stat); raises NotFoundError for an entry
        the version lacks and StorageError when the store cannot be reached."""
        info = version.info if isinstance(version, ArtifactVersion) else version
        entry = self.registry.manifest(info).entries.get(entry_path)
        if entry is None:
            raise NotFoundError(f"{info.qualified_name} has no entry {entry_path!r}.")
        name, logged = posixpath.basename(entry.path), info.version
        uri, object_version = self.registry.entry_source(entry)
        path = local_path(uri)
        if path is not None:
            problem = self._local_problem(path, entry)[1]
            if problem == "missing":
                return f"{name} is no longer in its folder, so the bytes {logged} logged cannot be played."
            if problem == "changed":
                return (
                    f"{name} changed after {logged} was logged, and its folder keeps no old versions, so the "
                    f"bytes {logged} logged cannot be played; keep media in a versioned bucket to compare versions."
                )
            return None
        current = storage_for(uri).stat(uri, object_version)
        if current is None:
            return (
                f"{name} as {logged} logged it is gone from its store (deleted, or replaced with no copy of the "
                f"logged object version kept), so it cannot be played."
            )
        # Objects stored by value are content-addressed in the registry: present means unchanged.
        if entry.ref is not None and object_version is None and current.digest != entry.digest:
            return (
                f"{name} changed after {logged} was logged, and its bucket is not versioned, so the bytes "
                f"{logged} logged cannot be played; enable versioning on the bucket to compare versions."
            )
        return None

    def _local_problem(self, path: Path, entry: ManifestEntry) -> tuple[os.stat_result | None, str | None]:
        """(the file's stat, None) while it holds the logged bytes, else (stat, "missing" | "changed")."""
        try:
            st = path.lstat()  # a link planted where a logged file was is not that file: never followed
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            return st, "missing"
        changed = st.st_size != entry.size
        if not changed and self.verify_local and entry.ref is not None:  # by-value objects are content-addressed
            if _FINGERPRINT.match(entry.digest):
                changed = entry.digest != f"{st.st_size}-{st.st_mtime_ns}"
            elif time.time_ns() - st.st_mtime_ns < _RACY_NS:  # may change again within the same mtime tick
                changed = md5_b64_file(path) != entry.digest
            else:
                changed = _file_md5(str(path), st.st_size, st.st_mtime_ns) != entry.digest
        return st, "changed" if changed else None

    def _check_local(self, path: Path, entry: ManifestEntry) -> os.stat_result:
        """The file's stat if it still holds the logged bytes; MediaGoneError otherwise."""
        st, problem = self._local_problem(path, entry)
        if problem == "missing":
            raise MediaGoneError("This media file no longer exists where it was logged.")
        if problem == "changed":
            raise MediaGoneError("This media file was changed after it was logged; log a new version to show it.")
        assert st is not None
        return st

    def _check_unversioned(self, uri: str, entry: ManifestEntry) -> None:
        """MediaGoneError unless the current object at ``uri`` has the logged digest (checked at most every
        ``_RECHECK`` seconds per object: a player's requests do not each cost a HEAD)."""
        now = time.monotonic()
        key = (uri, entry.digest)
        if self._unchanged.get(key, 0.0) > now:
            return
        current = storage_for(uri).stat(uri)
        if current is None:
            raise MediaGoneError("This media object no longer exists in its store.")
        if current.digest != entry.digest:
            raise MediaGoneError(
                "This media object was replaced after it was logged, and its store keeps no old versions."
            )
        if len(self._unchanged) >= _CACHE_LIMIT:
            self._unchanged.clear()
        self._unchanged[key] = now + _RECHECK

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

        The store sends only the asked bytes (see :func:`shanty.media.relay.open_relay`
        for what it raises); close the stream when done.
        """
        return open_relay(target.uri, target.version, target.size, start, end, etag=target.if_match)

    def read_at(self, target: LocalFile | Proxy) -> Callable[[int, int], bytes]:
        """``read_at(offset, length)``: up to ``length`` recorded bytes of ``target`` from ``offset``, read
        from the local file or fetched as one ranged request to the store, for decoders that must not hold
        a whole file (see :func:`shanty.media.waveform.waveform_of`). Raises what :meth:`open_stream` raises."""
        if isinstance(target, LocalFile):
            return file_reader(target.path, target.size)
        return range_reader(lambda start, end: self.open_stream(target, start, end), target.size)
