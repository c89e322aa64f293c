"""``s3://`` storage: reference objects in S3 (or an S3-compatible store) and hold registries there.

Listing never downloads: an object's digest is its ETag (quotes stripped, as
W&B records it) and its version the VersionId. ``s3://b/k?versionId=V`` pins
one version of one object. Ranged reads are GetObject with a Range header,
at the recorded VersionId, or If-Match on the recorded ETag when the bucket
keeps no versions (so a replaced object is refused, not served).

Configuration is the usual one: boto3's credential chain, region and
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` (read by boto3 itself), plus
W&B's ``AWS_S3_ENDPOINT_URL``, which wins when set (as it does in W&B). With
no credentials at all, requests go unsigned, so public buckets work. Requests
are retried with backoff (``SHANTY_S3_MAX_ATTEMPTS`` or ``AWS_MAX_ATTEMPTS``
attempts, mode ``AWS_RETRY_MODE``, default standard).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pyarrow as pa
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    ParamValidationError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from ..errors import ConflictError, InvalidInputError, NotFoundError, ShantyError, StorageError
from ..progress import Progress
from ..settings import DEFAULT_S3_MAX_ATTEMPTS, settings
from .base import ObjectInfo
from .budget import ListingBudget, check_max_objects, stream_listing
from .location import Location, parse_location
from .retry import ride_out
from .s3_listing import (
    WaitClock,
    entries_batch,
    infos_batch,
    iso_utc,
    list_folders,
    listing_timestamp,
    object_infos,
    take,
)
from .stream import ByteStream

__all__ = ["S3Storage"]

PAGE_SIZE = 1000  # S3's maximum keys per listing page
POOL_CONNECTIONS = 64  # listing workers plus download and registry thread pools
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # SigV4's limit
CONFLICT_ATTEMPTS = 8
_CHUNK = 1 << 20
_RANGE_CHUNK = 256 * 1024  # relayed ranges: small reads keep a slow client from holding much memory
_CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
}
_MISSING_CODES = {"NoSuchKey", "NoSuchVersion", "NotFound", "404"}


def _loc(uri: str, version: str | None = None) -> Location:
    """The location of ``uri`` at ``version`` (else its pinned version)."""
    location = parse_location(uri)
    if location.scheme != "s3":
        raise InvalidInputError(f"{uri!r} is not an s3:// URI.")
    return location.at(version)


def _version_args(loc: Location) -> dict[str, str]:
    return {"VersionId": loc.object_version} if loc.object_version else {}


def _version(version_id: str | None) -> str | None:
    return None if version_id in (None, "null") else version_id  # "null": stored while unversioned


def _info(bucket: str, key: str, relpath: str, entry: dict[str, Any], version: str | None) -> ObjectInfo:
    """An ObjectInfo from a listing entry or a HEAD response (``Size`` or ``ContentLength``)."""
    etag = entry["ETag"].strip('"')
    extra = {"etag": etag, "last_modified": iso_utc(entry["LastModified"])}
    if entry.get("ContentType"):
        extra["content_type"] = entry["ContentType"]
    size = entry["Size"] if "Size" in entry else entry["ContentLength"]
    return ObjectInfo(f"s3://{bucket}/{key}", relpath, size, etag, _version(version), extra)


def _counted(found: list[ObjectInfo], progress: Progress | None) -> list[ObjectInfo]:
    if progress:
        progress.set_total(len(found))
        progress.advance(len(found))
    return found


_THROTTLED = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError", "ServiceUnavailable"}


def _transient(exc: BaseException) -> bool:
    """Whether a failure may pass if asked again later: the store unreachable, or busy, or failing (5xx)."""
    if isinstance(exc, BotoConnectionError | HTTPClientError | IncompleteReadError | ConnectionError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500 or exc.response.get("Error", {}).get("Code") in _THROTTLED
    return False


class S3Storage:
    """Storage over S3; one lazily built boto3 client shared by all threads. Also offers ``open_range``."""

    scheme = "s3"
    metadata_listing = True  # a listing carries ETags and versions: no object is read

    def __init__(self) -> None:
        self._client: Any = None
        self.anonymous = False  # no credentials were found: requests go unsigned
        self.attempts = DEFAULT_S3_MAX_ATTEMPTS  # per request, retries included
        self._lock = threading.Lock()
        self._clock = WaitClock()  # how long listing pages wait for the store: decides the fan-out

    @property
    def client(self) -> Any:
        """The boto3 S3 client, built on first use from the environment."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    core = botocore.session.get_session()
                    # Listing timestamps stay text, turned into ISO form by slicing: dateutil would
                    # cost two thirds of a listing's time (see s3_listing).
                    parsers = core.get_component("response_parser_factory")
                    parsers.set_parser_defaults(timestamp_parser=listing_timestamp)
                    session = boto3.session.Session(botocore_session=core)
                    self.anonymous = session.get_credentials() is None
                    self.attempts = settings().s3_max_attempts
                    config = Config(
                        signature_version=UNSIGNED if self.anonymous else "s3v4",
                        retries={
                            "mode": os.environ.get("AWS_RETRY_MODE") or "standard",
                            "total_max_attempts": self.attempts,
                        },
                        max_pool_connections=POOL_CONNECTIONS,
                    )
                    endpoint = os.environ.get("AWS_S3_ENDPOINT_URL") or None
                    client = session.client("s3", endpoint_url=endpoint, config=config)
                    self._clock.install(client.meta.events)
                    self._client = client
        return self._client

    # --- errors ------------------------------------------------------------------
    @contextmanager
    def _errors(self, loc: Location) -> Iterator[None]:
        """Turn botocore failures into one-sentence shanty errors naming the bucket."""
        try:
            yield
        except ClientError as exc:
            raise self._client_error(exc, loc) from exc
        except ParamValidationError as exc:
            raise InvalidInputError(
                f"{loc.uri} is not a valid S3 location; check the bucket name {loc.bucket!r} and the key."
            ) from exc
        except (BotoConnectionError, HTTPClientError, IncompleteReadError) as exc:
            raise StorageError(
                f"Could not reach {self._client.meta.endpoint_url} for bucket {loc.bucket} "
                f"({type(exc).__name__}, {self.attempts} attempts); "
                "check the network and the endpoint setting, then retry."
            ) from exc
        except BotoCoreError as exc:
            raise StorageError(
                f"S3 could not be used for bucket {loc.bucket} ({type(exc).__name__}: {str(exc).rstrip('.')}); "
                "check the AWS configuration (aws configure, AWS_PROFILE, AWS_ACCESS_KEY_ID)."
            ) from exc

    def _client_error(self, exc: ClientError, loc: Location) -> ShantyError:
        code = exc.response.get("Error", {}).get("Code", "")
        meta = exc.response.get("ResponseMetadata", {})
        status = meta.get("HTTPStatusCode")
        if code == "NoSuchBucket":
            return NotFoundError(
                f"The S3 bucket {loc.bucket} does not exist; check the name and the endpoint or account it lives in."
            )
        # A version id that is malformed or names a delete marker is as absent as a missing one.
        if (
            code in _MISSING_CODES
            or status == 404
            or (loc.object_version and code in {"InvalidArgument", "MethodNotAllowed"})
        ):
            at = f" at version {loc.object_version}" if loc.object_version else ""
            return NotFoundError(
                f"{loc.uri}{at} does not exist in bucket {loc.bucket}; it was deleted, or check the key."
            )
        if code in _CREDENTIAL_CODES:
            return StorageError(
                f"S3 rejected the AWS credentials used for bucket {loc.bucket} ({code}); check or refresh them."
            )
        if status == 403 and self.anonymous:
            return StorageError(
                f"Bucket {loc.bucket} refused an anonymous request (no AWS credentials were found); configure credentials "
                "(AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) allowed to use it."
            )
        if status == 403:
            return StorageError(
                f"Access to bucket {loc.bucket} was denied for {loc.uri}; ask for permission (s3:ListBucket to list, "
                "s3:GetObject to read, s3:PutObject to write) or use other credentials."
            )
        attempts = meta.get("RetryAttempts", 0) + 1
        return StorageError(
            f"S3 failed for {loc.uri} with {code or status} after {attempts} attempt(s); retry later, or check bucket {loc.bucket}."
        )

    # --- listing -----------------------------------------------------------------
    def _pages(
        self,
        bucket: str,
        versioned: bool,
        prefix: str,
        *,
        delimiter: str = "",
        start_after: str = "",
        page_size: int = 0,
    ) -> Iterator[tuple[list[dict[str, Any]], list[str]]]:
        """Pages of (current objects, common prefixes) below ``prefix``, in key order."""
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Prefix": prefix,
            "PaginationConfig": {"PageSize": page_size or PAGE_SIZE},
        }
        if delimiter:
            params["Delimiter"] = delimiter
        # Paged by hand, not by boto3's paginator: a page that fails after the SDK's own retries is asked
        # again (the store may be restarting) from the same token, so a long listing resumes, not restarts.
        del params["PaginationConfig"]
        if versioned:
            # No KeyMarker-only starts here: moto mishandles them, so versioned ranges are whole prefixes.
            call, params["MaxKeys"] = self.client.list_object_versions, page_size or PAGE_SIZE
        else:
            call, params["MaxKeys"] = self.client.list_objects_v2, page_size or PAGE_SIZE
            if start_after:
                params["StartAfter"] = start_after
        while True:
            page = ride_out(lambda: call(**params), _transient)
            objects = page.get("Versions", [])
            current = [v for v in objects if v["IsLatest"]] if versioned else page.get("Contents", [])
            yield current, [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            if not page.get("IsTruncated"):
                return
            if versioned:  # as boto3's paginator: each marker the page gave, and none it did not
                for name in ("KeyMarker", "VersionIdMarker"):
                    params.pop(name, None)
                    if page.get(f"Next{name}"):
                        params[name] = page[f"Next{name}"]
            else:
                params.pop("StartAfter", None)
                params["ContinuationToken"] = page["NextContinuationToken"]

    def _versioned(self, bucket: str) -> bool:
        """Whether to list versions: versioning is or was enabled, or cannot be checked but versions can be listed."""
        try:
            return self.client.get_bucket_versioning(Bucket=bucket).get("Status") in {"Enabled", "Suspended"}
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 403:
                raise
        try:  # versioning status denied: a versions listing works on any bucket ("null" ids when unversioned)
            self.client.list_object_versions(Bucket=bucket, MaxKeys=1)
            return True
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 403:
                raise
            return False  # both denied: a plain listing still works, without versions

    def _head(self, loc: Location, relpath: str) -> ObjectInfo:
        head = self.client.head_object(Bucket=loc.bucket, Key=loc.key, **_version_args(loc))
        return _info(loc.bucket, loc.key, relpath, head, head.get("VersionId"))

    def _single(self, loc: Location, versioned: bool) -> ObjectInfo | None:
        """The object named exactly ``loc.key``, found by a one-key listing (its versions sort first)."""
        if not loc.key or loc.key.endswith("/"):
            return None
        objects, _ = next(self._pages(loc.bucket, versioned, loc.key, page_size=1), ([], []))
        if objects and objects[0]["Key"] == loc.key:
            return _info(loc.bucket, loc.key, loc.key.rsplit("/", 1)[-1], objects[0], objects[0].get("VersionId"))
        return None

    def _list_prefix(self, loc: Location, root: str, versioned: bool, listing: ListingBudget[dict[str, Any]]) -> None:
        """List every object below ``root``: its direct objects, then its first-level folders, by one
        worker or, when the store is slow per request, several (see :func:`s3_listing.list_folders`)."""
        level = root
        while True:  # descend through lone sub-folders: splitting one folder gains nothing
            folders = []
            for objects, prefixes in self._pages(loc.bucket, versioned, level, delimiter="/"):
                take(listing, objects)
                folders += prefixes
            if len(folders) != 1:
                break
            level = folders[0]
        if folders:

            def pages(prefix: str, **options: Any) -> Iterator[tuple[list[dict[str, Any]], list[str]]]:
                return self._pages(loc.bucket, versioned, prefix, **options)

            list_folders(pages, level, folders, versioned, listing, self._clock, self.client.meta.endpoint_url)

    def list_objects(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> list[ObjectInfo]:
        """See :meth:`Storage.list_objects`; ``checksum`` has no effect (the ETag costs nothing)."""
        loc = _loc(uri)
        check_max_objects(max_objects, loc.uri)
        with self._errors(loc):
            if loc.object_version is not None:  # a pinned version names one object
                return _counted([self._head(loc, loc.key.rsplit("/", 1)[-1])], progress)
            versioned = self._versioned(loc.bucket)
            single = self._single(loc, versioned)
            if single is not None:
                return _counted([single], progress)
            root = loc.key if not loc.key or loc.key.endswith("/") else loc.key + "/"
            listing: ListingBudget[dict[str, Any]] = ListingBudget(loc.uri, max_objects, progress)
            self._list_prefix(loc, root, versioned, listing)
        if not listing.items:
            raise NotFoundError(
                f"Nothing exists at {loc.uri} in bucket {loc.bucket}; check the key or prefix (a prefix means every object below it)."
            )
        if progress:
            progress.set_total(len(listing.items))  # known only now: S3 cannot count without listing
        found = object_infos(loc.bucket, root, listing.items)
        return sorted(found, key=lambda info: info.relpath)

    def list_object_batches(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> Iterator[list[ObjectInfo]]:
        """See :meth:`~shanty.storage.base.BatchListing.list_object_batches`: :meth:`list_objects` in
        chunks, as the pages arrive, in no particular order."""
        loc = _loc(uri)
        for root, chunk in self._chunks(loc, max_objects, progress):
            yield chunk if root is None else object_infos(loc.bucket, root, chunk)

    def list_object_columns(
        self, uri: str, *, max_objects: int | None = None, checksum: bool = True, progress: Progress | None = None
    ) -> Iterator[pa.RecordBatch]:
        """See :meth:`~shanty.storage.base.ColumnListing.list_object_columns`: the chunks of
        :meth:`list_object_batches` built column by column from the listing's entries."""
        loc = _loc(uri)
        for root, chunk in self._chunks(loc, max_objects, progress):
            yield infos_batch(chunk) if root is None else entries_batch(loc.bucket, root, chunk)

    def _chunks(self, loc: Location, max_objects: int | None, progress: Progress | None) -> Iterator[tuple[Any, list]]:
        """The listing of ``loc`` in chunks as it is made: (None, ObjectInfos) for a single object,
        else (root, listing entries below root)."""
        check_max_objects(max_objects, loc.uri)
        with self._errors(loc):
            if loc.object_version is not None:
                yield None, _counted([self._head(loc, loc.key.rsplit("/", 1)[-1])], progress)
                return
            versioned = self._versioned(loc.bucket)
            single = self._single(loc, versioned)
        if single is not None:
            yield None, _counted([single], progress)
            return
        root = loc.key if not loc.key or loc.key.endswith("/") else loc.key + "/"

        def run(listing: ListingBudget[dict[str, Any]]) -> None:
            with self._errors(loc):
                self._list_prefix(loc, root, versioned, listing)

        found = 0
        for chunk in stream_listing(loc.uri, max_objects, progress, run):
            found += len(chunk)
            yield root, chunk
        if not found:
            raise NotFoundError(
                f"Nothing exists at {loc.uri} in bucket {loc.bucket}; check the key or prefix (a prefix means every object below it)."
            )
        if progress:
            progress.set_total(found)

    # --- single objects ------------------------------------------------------------
    def stat(self, uri: str, version: str | None = None) -> ObjectInfo | None:
        """See :meth:`Storage.stat` (one HEAD request)."""
        loc = _loc(uri, version)
        try:
            with self._errors(loc):
                return self._head(loc, loc.key.rsplit("/", 1)[-1])
        except NotFoundError:
            return None

    def _get(self, loc: Location) -> Any:
        return self.client.get_object(Bucket=loc.bucket, Key=loc.key, **_version_args(loc))["Body"]

    def download(self, uri: str, version: str | None, dest: Path) -> None:
        """Stream the object (at ``version``, else the URI's pinned version, else the latest) to ``dest``.

        A connection lost midway is resumed from the bytes already written (a ranged GET of the same
        version, or of the same ETag when the bucket keeps no versions), within SHANTY_OUTAGE_SECONDS."""
        loc = _loc(uri, version)
        pinned: dict[str, Any] = dict(_version_args(loc))
        with self._errors(loc), open(dest, "wb") as out:

            def rest() -> None:
                params = {"Bucket": loc.bucket, "Key": loc.key, **pinned}
                if out.tell():
                    params["Range"] = f"bytes={out.tell()}-"
                response = self.client.get_object(**params)
                if "VersionId" not in pinned and response.get("ETag"):
                    pinned.setdefault("IfMatch", response["ETag"])  # the rest must be the same object
                with closing(response["Body"]) as body:
                    shutil.copyfileobj(body, out, _CHUNK)

            ride_out(rest, _transient)

    def read_bytes(self, uri: str) -> bytes:
        """See :meth:`Storage.read_bytes`."""
        loc = _loc(uri)
        with self._errors(loc), closing(self._get(loc)) as body:
            return body.read()

    def write_bytes(self, uri: str, data: bytes) -> None:
        """See :meth:`Storage.write_bytes` (one PutObject: S3 replaces objects atomically)."""
        loc = _loc(uri)
        with self._errors(loc):  # S3 replaces objects atomically
            self.client.put_object(Bucket=loc.bucket, Key=loc.key, Body=data)

    def create_if_absent(self, uri: str, data: bytes) -> bool:
        """Create with ``If-None-Match: *``: S3 lets exactly one concurrent creator win."""
        loc = _loc(uri)
        with self._errors(loc):
            for attempt in range(CONFLICT_ATTEMPTS):
                try:
                    self.client.put_object(Bucket=loc.bucket, Key=loc.key, Body=data, IfNoneMatch="*")
                    return True
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code")
                    if code == "PreconditionFailed":
                        # After a retried request the object may be ours: the first attempt
                        # landed but its answer was lost. Then it holds exactly our bytes.
                        retried = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) > 0
                        return retried and self.read_bytes(uri) == data
                    if code != "ConditionalRequestConflict":  # 409: a concurrent write is in flight; try again
                        raise
                    time.sleep(0.05 * 2**attempt)
        raise ConflictError(f"Concurrent writers kept colliding on {uri} in bucket {loc.bucket}; try again.")

    def exists(self, uri: str) -> bool:
        """See :meth:`Storage.exists`."""
        return self.stat(uri) is not None

    def list_names(self, uri: str, start_after: str | None = None) -> list[str]:
        """See :meth:`Storage.list_names` (a delimiter listing, from ``StartAfter`` when given)."""
        loc = _loc(uri)
        prefix = loc.key.rstrip("/") + "/" if loc.key else ""
        names: set[str] = set()
        after = {"StartAfter": prefix + start_after} if start_after is not None else {}
        with self._errors(loc):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=loc.bucket, Prefix=prefix, Delimiter="/", **after
            ):
                names.update(p["Prefix"][len(prefix) : -1] for p in page.get("CommonPrefixes", []))
                names.update(o["Key"][len(prefix) :] for o in page.get("Contents", []))
        names.discard("")  # the folder marker of ``uri`` itself
        return sorted(names)

    def signed_url(self, uri: str, version: str | None, expires_in: int) -> str | None:
        """A SigV4 presigned GET (with the VersionId); the plain URL when requests are anonymous."""
        loc = _loc(uri, version)
        if not 1 <= expires_in <= MAX_PRESIGN_SECONDS:
            raise InvalidInputError(
                f"A signed URL for bucket {loc.bucket} must expire in 1 to {MAX_PRESIGN_SECONDS} seconds, not {expires_in}; pick a value in that range."
            )
        params = {"Bucket": loc.bucket, "Key": loc.key, **_version_args(loc)}
        with self._errors(loc):
            return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)

    # --- ranged reads ----------------------------------------------------------------
    def open_range(self, uri: str, version: str | None, start: int, end: int, *, etag: str | None = None) -> ByteStream:
        """See :meth:`RangedReads.open_range`: one GetObject with a Range (HeadObject for an empty range),
        at the version, else conditional on ``etag`` (If-Match) when given."""
        loc = _loc(uri, version)
        params: dict[str, Any] = {"Bucket": loc.bucket, "Key": loc.key, **_version_args(loc)}
        if etag and not loc.object_version:
            params["IfMatch"] = f'"{etag}"'
        with self._errors(loc):
            try:
                if start == end:  # no bytes to read, but the object must still be there
                    self.client.head_object(**params)
                    return ByteStream.empty()
                body = self.client.get_object(**params, Range=f"bytes={start}-{end - 1}")["Body"]
            except ClientError as exc:
                failed = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 412
                if failed or exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                    raise NotFoundError(
                        f"{loc.uri} in bucket {loc.bucket} was replaced after it was recorded; "
                        "its recorded bytes are gone."
                    ) from exc
                raise
        return ByteStream(self._body_chunks(loc, body), body.close, end - start)

    def _body_chunks(self, loc: Location, body: Any) -> Iterator[bytes]:
        with self._errors(loc):
            try:
                yield from body.iter_chunks(_RANGE_CHUNK)
            except OSError as exc:  # a connection reset while streaming
                raise StorageError(
                    f"The connection to bucket {loc.bucket} broke off while reading {loc.uri}; try again."
                ) from exc
