"""Storage: every question about URIs and bytes, one backend module per URI scheme behind :class:`Storage`.

``storage_for(uri)`` picks the backend by scheme. Backends are created once
per scheme and process (clients are expensive) and must be thread-safe.
``parse_location(uri)`` reads a URI (with the scheme's pin syntax) into a
:class:`Location`. The optional capabilities (see :mod:`.base`) are asked
for through :func:`local_path`, :func:`open_range` and
:func:`lists_metadata_only`, so no caller ever tests a scheme string.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import InvalidInputError, StorageError
from .base import LocalPaths, ObjectInfo, RangedReads, Storage
from .location import NO_PINS, WEB_URL, FragmentPin, Location, PinSyntax, QueryPin, parse_location, register_pins
from .stream import ByteStream

__all__ = [
    "ByteStream",
    "Location",
    "ObjectInfo",
    "Storage",
    "check_scheme",
    "lists_metadata_only",
    "local_path",
    "open_range",
    "parse_location",
    "register_scheme",
    "reset_storage_cache",
    "storage_for",
]

_factories: dict[str, Callable[[], Storage]] = {}
_instances: dict[str, Storage] = {}
_lock = threading.Lock()


def register_scheme(scheme: str, factory: Callable[[], Storage], pins: PinSyntax = NO_PINS) -> None:
    """Serve ``scheme://`` URIs with the backend ``factory`` makes (once, lazily); ``pins`` is how its URIs
    pin an object version. Replaces any earlier registration and cached instance."""
    with _lock:
        _factories[scheme] = factory
        _instances.pop(scheme, None)
        register_pins(scheme, pins)


def _file() -> Storage:
    from .file import FileStorage

    return FileStorage()


def _needs_extra(extra: str, scheme: str, error: ImportError) -> InvalidInputError:
    # The store SDKs are extras (`pip install shanty` alone has none): say which one to install.
    return InvalidInputError(
        f"{scheme}:// needs the {extra} extra, which is not installed ({error}); run pip install 'shanty[{extra}]'."
    )


def _s3() -> Storage:
    try:
        from .s3 import S3Storage
    except ImportError as exc:
        raise _needs_extra("s3", "s3", exc) from exc
    return S3Storage()


def _gcs() -> Storage:
    try:
        from .gcs import GCSStorage
    except ImportError as exc:
        raise _needs_extra("gcs", "gs", exc) from exc
    return GCSStorage()


def _http() -> Storage:
    from .http import HTTPStorage

    return HTTPStorage()


# Backends are imported on first use (boto3 and google-cloud-storage are slow to import), so each
# scheme's pin syntax is declared here, beside its factory, for parsing without the backend.
register_scheme("file", _file)  # file names may contain ? and #: never a pin
register_scheme("http", _http, WEB_URL)
register_scheme("https", _http, WEB_URL)
register_scheme("s3", _s3, QueryPin("versionId"))  # s3://bucket/key?versionId=V, as the AWS CLI and W&B
register_scheme("gs", _gcs, FragmentPin())  # gs://bucket/key#<generation>, as gsutil


def storage_for(uri: str | Location) -> Storage:
    """The backend serving ``uri``. Raises InvalidInputError for unknown schemes."""
    location = parse_location(uri)
    with _lock:
        if location.scheme not in _instances:
            factory = _factories.get(location.scheme)
            if factory is None:
                known = ", ".join(f"{name}://" for name in sorted(_factories))
                raise InvalidInputError(
                    f"Unknown URI scheme {location.scheme}:// in {location.uri!r}; shanty understands {known}."
                )
            _instances[location.scheme] = factory()
        return _instances[location.scheme]


def check_scheme(uri: str | Location) -> str:
    """``uri`` (normalised) when a registered scheme serves it, without starting that scheme's backend (so
    no extra is needed to check); InvalidInputError naming the known schemes otherwise (``ftp://...``)."""
    location = parse_location(uri)
    with _lock:
        known = sorted(_factories)
    if location.scheme not in known:
        raise InvalidInputError(
            f"Unknown URI scheme {location.scheme}:// in {location.uri!r}; shanty understands "
            f"{', '.join(f'{name}://' for name in known)}."
        )
    return location.uri


def reset_storage_cache() -> None:
    """Forget cached backend instances (after the environment changed, e.g. endpoints)."""
    with _lock:
        _instances.clear()


def local_path(uri: str | Location) -> Path | None:
    """The file on this machine behind ``uri`` (it may not exist), or None when its store is not local."""
    backend = storage_for(uri)
    if isinstance(backend, LocalPaths):
        return backend.local_path(parse_location(uri).uri)
    return None


def open_range(
    uri: str | Location, version: str | None, start: int, end: int, *, etag: str | None = None
) -> ByteStream:
    """Bytes ``[start, end)`` of the object at ``version``, streamed; see :meth:`RangedReads.open_range`.

    Raises NotFoundError when that object version is gone (or, given its
    ``etag``, replaced), StorageError when the store cannot serve ranges.
    """
    location = parse_location(uri)
    if not 0 <= start <= end:
        raise InvalidInputError(f"The byte range [{start}, {end}) of {location.uri} is not a range.")
    backend = storage_for(location)
    if not isinstance(backend, RangedReads):
        raise StorageError(f"The store behind {location.uri} cannot read byte ranges; download the object instead.")
    return backend.open_range(location.pinned_uri, version, start, end, etag=etag)


def lists_metadata_only(uri: str | Location) -> bool:
    """Whether listing a folder at ``uri`` reads metadata only (buckets), so one listing beats a stat per object."""
    return bool(getattr(storage_for(uri), "metadata_listing", False))
