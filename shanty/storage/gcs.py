"""``gs://`` storage: Google Cloud Storage, or fake-gcs-server via ``STORAGE_EMULATOR_HOST``.

Listing never downloads. An object's digest is its base64 MD5 (W&B's GCS
digest); composite objects have no MD5, so theirs is ``crc32c:<base64>`` and
``extra["crc32c"]`` lets a download verify them. ``object_version`` is the
object's generation, and ``gs://bucket/key#<generation>`` pins one (as gsutil
does). Ranged reads fetch the asked bytes of that generation in chunks of a
few MiB, one ranged download each, never the whole object.

Credentials are found the way Google's tools find them: anonymous against the
emulator, else Application Default Credentials, else an anonymous client that
can read public buckets.

Listing pages, downloads and ranged reads ride out an outage of the store for
``SHANTY_OUTAGE_SECONDS`` (:func:`~shanty.storage.retry.ride_out`), each retry
resuming where the last attempt stopped (the page's token, the next byte); the
client's own retries are off for them, so the wait is that budget plus one
attempt. Registry requests (small reads and writes) keep the client's retries of
throttling and transient failures for ``SHANTY_GCS_RETRY_DEADLINE`` seconds
(default 120, read when the backend is created), each attempt's timeout a
quarter of it at most, then raise StorageError.
"""

from __future__ import annotations

import os
import posixpath
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import google.auth
import pyarrow as pa
import requests
from google.api_core import exceptions as api_errors
from google.auth import exceptions as auth_errors
from google.auth.credentials import AnonymousCredentials, Credentials, Signing
from google.auth.transport.requests import Request
from google.cloud import storage
from google.cloud.storage.exceptions import DataCorruption
from google.cloud.storage.retry import DEFAULT_RETRY

from ..errors import InvalidInputError, NotFoundError, StorageError
from ..progress import Progress
from ..settings import settings
from . import budget
from .base import ObjectInfo
from .budget import check_max_objects
from .gcs_listing import LIST_FIELDS, ObjectPages, infos_batch, page_batch, rows_as_infos
from .location import parse_location
from .retry import ride_out
from .stream import ByteStream

__all__ = ["GCSStorage"]

_NAME_FIELDS = "items(name),prefixes,nextPageToken"
_MAX_SIGNED_SECONDS = 7 * 24 * 3600  # the V4 signature limit
_DOWN = (requests.RequestException, ConnectionError, auth_errors.TransportError, api_errors.RetryError)
# Answers that say "not now" rather than "no": throttling and a server failing or restarting.
_BUSY = (
    api_errors.TooManyRequests,
    api_errors.InternalServerError,
    api_errors.BadGateway,
    api_errors.ServiceUnavailable,
    api_errors.GatewayTimeout,
)
_RANGE_CHUNK = 4 << 20  # bytes per ranged download: few requests, little memory per relayed stream


def _split(uri: str) -> tuple[str, str, int | None]:
    """``(bucket, key, pinned generation or None)`` of a ``gs://`` URI."""
    location = parse_location(uri)
    if location.scheme != "gs":
        raise InvalidInputError(f"{uri!r} is not a gs:// URI.")
    pinned = location.object_version
    return location.bucket, location.key, None if pinned is None else int(pinned)


def _split_object(uri: str) -> tuple[str, str, int | None]:
    """:func:`_split` for operations on one object, which need a key."""
    bucket, key, pinned = _split(uri)
    if not key or key.endswith("/"):
        raise InvalidInputError(f"{uri} names a bucket or folder, not an object; add the object's name.")
    return bucket, key, pinned


def _generation(uri: str, version: str | None, pinned: int | None) -> int | None:
    if version is None:
        return pinned
    if not version.isdigit():
        raise InvalidInputError(f"{version!r} is not a GCS generation (a number) for {uri}; check the manifest entry.")
    return int(version)


def _info(blob: storage.Blob, bucket: str, relpath: str) -> ObjectInfo:
    extra = {
        "md5": blob.md5_hash,
        "crc32c": blob.crc32c,
        "etag": blob.etag,
        "last_modified": blob.updated.isoformat() if blob.updated else None,
        "content_type": blob.content_type,
    }
    return ObjectInfo(
        uri=f"gs://{bucket}/{blob.name}",
        relpath=relpath,
        size=blob.size or 0,
        # GCS stores a CRC32C for every object but an MD5 only for non-composite ones.
        digest=blob.md5_hash or f"crc32c:{blob.crc32c}",
        object_version=str(blob.generation),
        extra={k: v for k, v in extra.items() if v},
    )


def _transient(exc: BaseException) -> bool:
    """Whether ``exc`` says the store is away or busy for a while (then ride_out tries again)."""
    return isinstance(exc, (*_DOWN, *_BUSY))


def _ride_out(attempt: Any) -> Any:
    return ride_out(attempt, _transient)


def _request_options(seconds: float | None) -> dict[str, object]:
    """``retry`` and ``timeout`` for registry requests, from SHANTY_GCS_RETRY_DEADLINE (seconds)."""
    seconds = 120.0 if seconds is None else seconds  # the client's own default deadline
    # The deadline is checked between attempts: an attempt hanging for its whole timeout on a frozen
    # server overshoots it, so no attempt may take more than a quarter of it.
    return {"retry": DEFAULT_RETRY.with_timeout(seconds), "timeout": min(60.0, seconds / 4)}


def _ridden_options(outage_seconds: float) -> dict[str, object]:
    """Options for requests ride_out retries: no retries of the client's own (ride_out's budget is the
    wait), and an attempt timeout near that budget, so a frozen server costs about twice the budget."""
    return {"retry": None, "timeout": (5.0, min(60.0, max(10.0, outage_seconds)))}


class GCSStorage:
    """Storage over Google Cloud Storage; thread-safe (one client per thread). Also offers ``open_range``."""

    scheme = "gs"
    metadata_listing = True  # a listing carries checksums and generations: no object is read
    # Objects per listing request; None leaves it to the server, as the google client does (GCS: 1000,
    # its maximum; fake-gcs-server: everything at once, where each page costs a scan of the bucket).
    page_size: int | None = None

    def __init__(self, credentials: Credentials | None = None, project: str | None = None):
        """Use ``credentials`` if given, else find them lazily (see the module docstring)."""
        self._given = credentials
        self._project = project
        self._auth: tuple[Credentials, bool] | None = None  # (credentials, whether none were configured)
        self._auth_lock = threading.Lock()
        self._local = threading.local()
        self._call = _request_options(settings().gcs_retry_seconds)
        self._ridden = _ridden_options(settings().outage_seconds)

    # --- clients and errors ------------------------------------------------------
    def _credentials(self) -> tuple[Credentials, bool]:
        with self._auth_lock:
            if self._auth is None:
                self._auth = self._find_credentials()
            return self._auth

    def _find_credentials(self) -> tuple[Credentials, bool]:
        if self._given is not None:
            return self._given, False
        if os.environ.get("STORAGE_EMULATOR_HOST"):
            return AnonymousCredentials(), False
        try:
            credentials, project = google.auth.default()
        except auth_errors.DefaultCredentialsError as exc:
            path = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
            if path:  # configured but broken: falling back to anonymous would hide the mistake
                raise StorageError(
                    f"GOOGLE_APPLICATION_CREDENTIALS={path} cannot be used ({exc}); fix the path or unset it."
                ) from exc
            return AnonymousCredentials(), True  # enough for public buckets
        self._project = self._project or project
        return credentials, False

    def _client(self) -> storage.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            credentials, _ = self._credentials()
            client = self._local.client = storage.Client(project=self._project, credentials=credentials)
        return client

    def _blob(self, bucket: str, key: str, generation: int | None = None) -> storage.Blob:
        return self._client().bucket(bucket).blob(key, generation=generation)

    def _get(
        self, bucket: str, key: str, generation: int | None, options: dict[str, object] | None = None
    ) -> storage.Blob | None:
        """The object's metadata (one request), None if absent."""
        return self._client().bucket(bucket).get_blob(key, generation=generation, **(options or self._call))

    @contextmanager
    def _mapped(self, bucket: str) -> Iterator[None]:
        """Turn google-cloud-storage exceptions into one-sentence shanty errors naming ``bucket``."""
        try:
            yield
        except api_errors.NotFound as exc:  # object 404s are handled by the callers that expect them
            raise NotFoundError(f"The bucket {bucket} does not exist; check its name in the URI or create it.") from exc
        except (api_errors.Forbidden, api_errors.Unauthorized, auth_errors.InvalidOperation) as exc:
            # InvalidOperation: a 401 made the session try to refresh anonymous credentials.
            if self._credentials()[1]:
                raise StorageError(
                    f"No Google Cloud credentials were found and the bucket {bucket} is not public; "
                    "run 'gcloud auth application-default login' or set GOOGLE_APPLICATION_CREDENTIALS."
                ) from exc
            raise StorageError(
                f"Access to the bucket {bucket} was denied ({getattr(exc, 'message', exc)}); grant these "
                "credentials Storage Object Viewer on it (Storage Object Admin for a registry) or use other ones."
            ) from exc
        except auth_errors.RefreshError as exc:
            raise StorageError(
                f"The Google Cloud credentials for the bucket {bucket} were rejected ({exc}); "
                "run 'gcloud auth application-default login' again."
            ) from exc
        except _DOWN as exc:
            raise StorageError(
                f"Google Cloud Storage at {self._client().api_endpoint} did not answer for the bucket {bucket} ({exc}); "
                "check the network (or STORAGE_EMULATOR_HOST) and retry."
            ) from exc
        except DataCorruption as exc:
            raise StorageError(f"A download from the bucket {bucket} arrived corrupted ({exc}); retry.") from exc
        except api_errors.GoogleAPICallError as exc:
            raise StorageError(
                f"Google Cloud Storage refused a request on the bucket {bucket} ({exc.message}); check the URI."
            ) from exc

    # --- referencing ---------------------------------------------------------------
    def list_objects(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> list[ObjectInfo]:
        """See :meth:`Storage.list_objects`; ``checksum`` is moot: GCS metadata always holds checksums."""
        found = [
            info
            for batch in self.list_object_columns(uri, max_objects=max_objects, progress=progress)
            for info in rows_as_infos(batch)
        ]
        return sorted(found, key=lambda info: info.relpath)

    def list_object_batches(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> Iterator[list[ObjectInfo]]:
        """See :meth:`~shanty.storage.base.BatchListing.list_object_batches`: :meth:`list_objects` in
        chunks (of a page, at most :data:`~shanty.storage.budget.STREAM_CHUNK` objects), as the pages arrive."""
        for batch in self.list_object_columns(uri, max_objects=max_objects, progress=progress):
            step = budget.STREAM_CHUNK  # read here, not imported: tests make it small
            for start in range(0, batch.num_rows, step):
                yield rows_as_infos(batch.slice(start, step))

    def list_object_columns(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> Iterator[pa.RecordBatch]:
        """See :meth:`~shanty.storage.base.ColumnListing.list_object_columns`: a batch per listing page,
        in name order. The pages are asked one after another, each with the token of the one before, so
        an outage is ridden out from the page that failed (see :mod:`shanty.storage.gcs_listing`)."""
        bucket, key, pinned = _split(uri)
        check_max_objects(max_objects, uri)
        if key and not key.endswith("/"):
            with self._mapped(bucket):
                blob = ride_out(lambda: self._get(bucket, key, pinned, self._ridden), _transient)
            if blob is not None:
                if progress:
                    progress.set_total(1)
                    progress.advance()
                yield infos_batch([_info(blob, bucket, posixpath.basename(key))])
                return
            if pinned is not None:
                raise NotFoundError(
                    f"gs://{bucket}/{key} has no generation {pinned}; it was deleted or overwritten in a bucket "
                    "without versioning, so reference the current object instead."
                )
            key += "/"
        params = {"prefix": key, "fields": LIST_FIELDS}
        if self.page_size:
            params["maxResults"] = str(self.page_size)
        pages = iter(ObjectPages(lambda query: self._page(bucket, query), params, _ride_out))
        found = 0
        try:
            with self._mapped(bucket):
                for items in pages:
                    batch = page_batch(items, bucket, key)
                    found += batch.num_rows
                    if max_objects is not None and found > max_objects:
                        raise InvalidInputError(
                            f"{uri} holds more than max_objects={max_objects} objects; "
                            "raise max_objects or reference a narrower prefix."
                        )
                    if batch.num_rows:
                        if progress:
                            progress.advance(batch.num_rows)
                        yield batch
        finally:
            pages.close()  # stops the page fetching thread when the consumer stops early
        if not found:
            raise NotFoundError(
                f"Nothing exists at {uri}; check the bucket and prefix (a prefix is referenced with all objects below it)."
            )
        if progress:
            progress.set_total(found)

    def _page(self, bucket: str, query: dict[str, str]) -> bytes:
        """One listing page's JSON body; an error answer raised as the google client raises it."""
        client = self._client()
        url = f"{client.api_endpoint}/storage/v1/b/{quote(bucket, safe='')}/o"
        response = client._http.get(url, params=query, timeout=self._ridden["timeout"])
        if response.status_code != 200:
            raise api_errors.from_http_response(response)
        return response.content

    def stat(self, uri: str, version: str | None = None) -> ObjectInfo | None:
        """See :meth:`Storage.stat` (one metadata request)."""
        bucket, key, pinned = _split(uri)
        if not key:
            return None  # a bucket is not an object
        generation = _generation(uri, version, pinned)
        with self._mapped(bucket):
            blob = self._get(bucket, key, generation)
        return None if blob is None else _info(blob, bucket, posixpath.basename(key))

    def download(self, uri: str, version: str | None, dest: Path) -> None:
        """Stream the object (at ``version``) to ``dest``; NotFoundError when that generation is gone."""
        bucket, key, pinned = _split_object(uri)
        generation = _generation(uri, version, pinned)
        blob = self._blob(bucket, key, generation)
        with self._mapped(bucket), open(dest, "wb") as handle:

            def rest() -> None:
                """Download from the bytes already written on (all of them on the first attempt)."""
                position = handle.tell()
                if position and generation is None:  # unpinned, the object may have changed: start over
                    handle.seek(0)
                    handle.truncate()
                    position = 0
                try:
                    # Raw bytes as stored (no gzip transcoding) match the recorded MD5/CRC32C; the
                    # client's own check is off because shanty verifies every download itself.
                    blob.download_to_file(
                        handle, start=position or None, raw_download=True, checksum=None, **self._ridden
                    )
                except api_errors.NotFound as exc:
                    raise NotFoundError(f"{self._gone(bucket, key, generation)}.") from exc

            ride_out(rest, _transient)

    def signed_url(self, uri: str, version: str | None, expires_in: int) -> str | None:
        """A V4 signed URL for that generation; a plain URL for anonymous clients.

        Signs with a service-account key (or any signing credentials), else
        through IAM signBlob as the token's service account. None when the
        credentials cannot sign (user credentials): the caller streams instead.
        """
        bucket, key, pinned = _split_object(uri)
        generation = _generation(uri, version, pinned)
        if not 1 <= expires_in <= _MAX_SIGNED_SECONDS:
            raise InvalidInputError(
                f"expires_in={expires_in} is outside 1..{_MAX_SIGNED_SECONDS} seconds (the GCS limit)."
            )
        credentials, _ = self._credentials()
        blob = self._blob(bucket, key, generation)
        if isinstance(credentials, AnonymousCredentials):
            # Nothing to sign with: public buckets and the emulator serve plain URLs.
            return blob.public_url + (f"?generation={generation}" if generation else "")
        options = {"version": "v4", "expiration": timedelta(seconds=expires_in), "generation": generation}
        if isinstance(credentials, Signing):
            return blob.generate_signed_url(**options)
        with self._mapped(bucket):
            if not credentials.valid:
                credentials.refresh(Request())  # Compute Engine credentials learn their real email here
            email = getattr(credentials, "service_account_email", None)
            if not email or email == "default":  # user credentials; "default" = an unrefreshed GCE alias
                return None
            try:
                return blob.generate_signed_url(**options, service_account_email=email, access_token=credentials.token)
            except auth_errors.TransportError as exc:
                raise StorageError(
                    f"IAM refused to sign a URL for gs://{bucket}/{key} as {email} ({exc}); grant that account "
                    "Service Account Token Creator on itself, or use a service-account key."
                ) from exc

    # --- holding a registry ------------------------------------------------------
    def read_bytes(self, uri: str) -> bytes:
        """See :meth:`Storage.read_bytes`."""
        bucket, key, _ = _split_object(uri)
        with self._mapped(bucket):
            try:
                return self._blob(bucket, key).download_as_bytes(**self._call)
            except api_errors.NotFound as exc:
                raise NotFoundError(
                    f"gs://{bucket}/{key} does not exist; check the URI (or the registry root)."
                ) from exc

    def write_bytes(self, uri: str, data: bytes) -> None:
        """See :meth:`Storage.write_bytes` (one upload)."""
        bucket, key, _ = _split_object(uri)
        with self._mapped(bucket):
            # An upload becomes visible whole when it completes; writing the same bytes twice is
            # harmless, so retry it even though it has no precondition.
            self._blob(bucket, key).upload_from_string(data, **self._call)

    def create_if_absent(self, uri: str, data: bytes) -> bool:
        """Upload with ``if_generation_match=0``: GCS lets exactly one concurrent creator win."""
        # If a retried attempt finds the object its own lost-response first attempt created, this
        # reports False; the registry copes, since its appends re-read the log and see the record.
        bucket, key, _ = _split_object(uri)
        with self._mapped(bucket):
            try:
                self._blob(bucket, key).upload_from_string(data, if_generation_match=0, **self._call)
            except api_errors.PreconditionFailed:
                return False
        return True

    def exists(self, uri: str) -> bool:
        """See :meth:`Storage.exists`; a bucket is not an object."""
        bucket, key, _ = _split(uri)
        if not key:
            return False  # a bucket is not an object
        with self._mapped(bucket):
            return self._blob(bucket, key).exists(**self._call)

    def list_names(self, uri: str, start_after: str | None = None) -> list[str]:
        """See :meth:`Storage.list_names` (a delimiter listing, from ``startOffset`` when given)."""
        bucket, key, _ = _split(uri)
        prefix = key.strip("/") + "/" if key.strip("/") else ""
        # startOffset is inclusive: the name itself is dropped below
        after = {"start_offset": prefix + start_after} if start_after is not None else {}
        with self._mapped(bucket):
            pages = self._client().list_blobs(
                bucket, prefix=prefix, delimiter="/", fields=_NAME_FIELDS, **after, **self._call
            )
            names = {blob.name[len(prefix) :] for blob in pages}
            names.update(sub[len(prefix) :].rstrip("/") for sub in pages.prefixes)
        names.discard("")  # the folder marker of the prefix itself
        return sorted(n for n in names if start_after is None or n > start_after)

    # --- ranged reads ----------------------------------------------------------------
    def open_range(self, uri: str, version: str | None, start: int, end: int, *, etag: str | None = None) -> ByteStream:
        """See :meth:`RangedReads.open_range`: ranged downloads of the generation, a few MiB each, the first
        one made here. ``etag`` is not needed: every GCS object has a generation."""
        bucket, key, pinned = _split_object(uri)
        generation = _generation(uri, version, pinned)
        if start == end:  # no bytes to read, but the object must still be there
            with self._mapped(bucket):
                if self._get(bucket, key, generation) is None:
                    raise NotFoundError(f"{self._gone(bucket, key, generation)}.")
            return ByteStream.empty()
        blob = self._blob(bucket, key, generation)

        def attempt(position: int, stop: int) -> bytes:
            try:
                # Raw bytes as stored, as download() reads them; a range has no checksum to verify.
                return blob.download_as_bytes(
                    start=position, end=stop - 1, raw_download=True, checksum=None, **self._ridden
                )
            except api_errors.NotFound as exc:
                raise NotFoundError(f"{self._gone(bucket, key, generation)}.") from exc
            except api_errors.RequestRangeNotSatisfiable:
                return b""  # the object ends before ``position``: the stream reports it short

        def fetch(position: int, stop: int) -> bytes:
            with self._mapped(bucket):
                return ride_out(lambda: attempt(position, stop), _transient)

        first = fetch(start, min(end, start + _RANGE_CHUNK))

        def chunks() -> Iterator[bytes]:
            chunk, position = first, start
            while chunk:
                yield chunk
                position += len(chunk)
                stop = min(end, position + _RANGE_CHUNK)
                # A chunk shorter than asked is the object's end: no request past it.
                chunk = fetch(position, stop) if position < end and len(chunk) == _RANGE_CHUNK else b""

        return ByteStream(chunks(), lambda: None, end - start)

    @staticmethod
    def _gone(bucket: str, key: str, generation: int | None) -> str:
        at = f" at generation {generation}" if generation else ""
        return (
            f"gs://{bucket}/{key}{at} no longer exists; it was deleted or overwritten "
            "(enable object versioning on the bucket to keep old generations)"
        )
