"""``gs://`` storage: Google Cloud Storage, or fake-gcs-server via ``STORAGE_EMULATOR_HOST``.

Listing never downloads. An object's digest is its base64 MD5 (W&B's GCS
digest); composite objects have no MD5, so theirs is ``crc32c:<base64>`` and
``extra["crc32c"]`` lets a download verify them. ``object_version`` is the
object's generation, and ``gs://bucket/key#<generation>`` pins one (as gsutil
does). Ranged reads fetch the asked bytes of that generation in chunks of a
few MiB, one ranged download each, never the whole object.

Credentials are found the way Google's tools find them: anonymous against the
emulator, else Application Default Credentials, else an anonymous client that
can read public buckets. Every request retries throttling and transient
failures with backoff for ``SHANTY_GCS_RETRY_DEADLINE`` seconds (default 120,
read when the backend is created), then raises StorageError.
"""

from __future__ import annotations

import os
import posixpath
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import google.auth
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
from .base import ObjectInfo
from .budget import ListingBudget, check_max_objects, stream_listing
from .location import parse_location
from .stream import ByteStream

__all__ = ["GCSStorage"]

_LIST_FIELDS = "items(name,size,md5Hash,crc32c,etag,generation,updated,contentType),prefixes,nextPageToken"
_NAME_FIELDS = "items(name),prefixes,nextPageToken"
_MAX_SIGNED_SECONDS = 7 * 24 * 3600  # the V4 signature limit
_DOWN = (requests.RequestException, ConnectionError, auth_errors.TransportError, api_errors.RetryError)
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


def _request_options(seconds: float | None) -> dict[str, object]:
    """``retry`` and ``timeout`` for every request, from SHANTY_GCS_RETRY_DEADLINE (seconds)."""
    if seconds is None:
        return {"retry": DEFAULT_RETRY, "timeout": 60.0}
    # A single request must not outlive the whole retry budget (a hung server).
    return {"retry": DEFAULT_RETRY.with_timeout(seconds), "timeout": min(60.0, seconds)}


class GCSStorage:
    """Storage over Google Cloud Storage; thread-safe (one client per thread). Also offers ``open_range``."""

    scheme = "gs"
    metadata_listing = True  # a listing carries checksums and generations: no object is read
    page_size = 1000  # objects per listing request (the API maximum)
    workers = 16  # concurrent sub-prefix listings

    def __init__(self, credentials: Credentials | None = None, project: str | None = None):
        """Use ``credentials`` if given, else find them lazily (see the module docstring)."""
        self._given = credentials
        self._project = project
        self._auth: tuple[Credentials, bool] | None = None  # (credentials, whether none were configured)
        self._auth_lock = threading.Lock()
        self._local = threading.local()
        self._call = _request_options(settings().gcs_retry_seconds)

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

    def _get(self, bucket: str, key: str, generation: int | None) -> storage.Blob | None:
        """The object's metadata (one request), None if absent."""
        return self._client().bucket(bucket).get_blob(key, generation=generation, **self._call)

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
        bucket, key, pinned = _split(uri)
        check_max_objects(max_objects, uri)
        with self._mapped(bucket):
            if key and not key.endswith("/"):
                blob = self._get(bucket, key, pinned)
                if blob is not None:
                    if progress:
                        progress.set_total(1)
                        progress.advance()
                    return [_info(blob, bucket, posixpath.basename(key))]
                if pinned is not None:
                    raise NotFoundError(
                        f"gs://{bucket}/{key} has no generation {pinned}; it was deleted or overwritten in a bucket "
                        "without versioning, so reference the current object instead."
                    )
                key += "/"
            found = self._list_tree(bucket, key, ListingBudget(uri, max_objects, progress))
        if not found:
            raise NotFoundError(
                f"Nothing exists at {uri}; check the bucket and prefix (a prefix is referenced with all objects below it)."
            )
        if progress:
            progress.set_total(len(found))
        return sorted(found, key=lambda info: info.relpath)

    def list_object_batches(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> Iterator[list[ObjectInfo]]:
        """See :meth:`~shanty.storage.base.BatchListing.list_object_batches`: :meth:`list_objects` in
        chunks, as the pages arrive, in no particular order."""
        bucket, key, pinned = _split(uri)
        check_max_objects(max_objects, uri)
        if key and not key.endswith("/"):
            with self._mapped(bucket):
                blob = self._get(bucket, key, pinned)
            if blob is not None:
                if progress:
                    progress.set_total(1)
                    progress.advance()
                yield [_info(blob, bucket, posixpath.basename(key))]
                return
            if pinned is not None:  # list_objects says why nothing is there
                yield self.list_objects(uri, max_objects=max_objects, progress=progress)
                return
            key += "/"

        def run(budget: ListingBudget[ObjectInfo]) -> None:
            with self._mapped(bucket):
                self._list_tree(bucket, key, budget)

        found = 0
        for chunk in stream_listing(uri, max_objects, progress, run):
            found += len(chunk)
            yield chunk
        if not found:
            raise NotFoundError(
                f"Nothing exists at {uri}; check the bucket and prefix (a prefix is referenced with all objects below it)."
            )
        if progress:
            progress.set_total(found)

    def _list_tree(self, bucket: str, root: str, budget: ListingBudget[ObjectInfo]) -> list[ObjectInfo]:
        """Every object below ``root``: the first levels with a delimiter, then the branches concurrently."""
        branches = [root]
        while len(branches) == 1:  # a single branch gains nothing from threads: look one level deeper
            branches = self._list_pages(bucket, branches[0], root, budget, delimiter="/")
        if branches:
            with ThreadPoolExecutor(min(self.workers, len(branches))) as pool:
                list(pool.map(lambda prefix: self._list_pages(bucket, prefix, root, budget), branches))
        return budget.items

    def _list_pages(
        self, bucket: str, prefix: str, root: str, budget: ListingBudget[ObjectInfo], delimiter: str | None = None
    ) -> list[str]:
        """Add the objects below ``prefix`` (one level if ``delimiter``) to ``budget``, relpaths from ``root``;
        returns the sub-prefixes seen."""
        pages = self._client().list_blobs(
            bucket,
            prefix=prefix,
            delimiter=delimiter,
            fields=_LIST_FIELDS,  # everything _info needs, so no per-object request
            page_size=self.page_size,
            **self._call,
        )
        try:
            for page in pages.pages:
                if budget.stopped:
                    break
                # Zero-byte "folder" markers (names ending in /) are not content.
                budget.add(
                    [_info(blob, bucket, blob.name[len(root) :]) for blob in page if not blob.name.endswith("/")]
                )
        except BaseException:
            budget.halt()  # the listing fails as a whole: let the other workers stop
            raise
        return sorted(pages.prefixes)

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
        with self._mapped(bucket):
            try:
                with open(dest, "wb") as handle:
                    # Raw bytes as stored (no gzip transcoding) match the recorded MD5/CRC32C; the
                    # client's own check is off because shanty verifies every download itself.
                    blob.download_to_file(handle, raw_download=True, checksum=None, **self._call)
            except api_errors.NotFound as exc:
                raise NotFoundError(f"{self._gone(bucket, key, generation)}.") from exc

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

    def list_names(self, uri: str) -> list[str]:
        """See :meth:`Storage.list_names` (a delimiter listing)."""
        bucket, key, _ = _split(uri)
        prefix = key.strip("/") + "/" if key.strip("/") else ""
        with self._mapped(bucket):
            pages = self._client().list_blobs(bucket, prefix=prefix, delimiter="/", fields=_NAME_FIELDS, **self._call)
            names = {blob.name[len(prefix) :] for blob in pages}
            names.update(sub[len(prefix) :].rstrip("/") for sub in pages.prefixes)
        names.discard("")  # the folder marker of the prefix itself
        return sorted(names)

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

        def fetch(position: int, stop: int) -> bytes:
            with self._mapped(bucket):
                try:
                    # Raw bytes as stored, as download() reads them; a range has no checksum to verify.
                    return blob.download_as_bytes(
                        start=position, end=stop - 1, raw_download=True, checksum=None, **self._call
                    )
                except api_errors.NotFound as exc:
                    raise NotFoundError(f"{self._gone(bucket, key, generation)}.") from exc
                except api_errors.RequestRangeNotSatisfiable:
                    return b""  # the object ends before ``position``: the stream reports it short

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
