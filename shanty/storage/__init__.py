"""Storage backends, one module per URI scheme, behind :class:`Storage`.

``storage_for(uri)`` picks the backend by scheme. Backends are created once
per scheme and process (clients are expensive) and must be thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..errors import InvalidInputError
from .base import ObjectInfo, Storage
from .location import parse_uri

__all__ = ["ObjectInfo", "Storage", "register_scheme", "reset_storage_cache", "storage_for"]

_factories: dict[str, Callable[[], Storage]] = {}
_instances: dict[str, Storage] = {}
_lock = threading.Lock()


def register_scheme(scheme: str, factory: Callable[[], Storage]) -> None:
    """Register a backend factory for ``scheme`` (replaces any cached instance)."""
    with _lock:
        _factories[scheme] = factory
        _instances.pop(scheme, None)


def _file() -> Storage:
    from .file import FileStorage

    return FileStorage()


def _s3() -> Storage:
    from .s3 import S3Storage

    return S3Storage()


def _gcs() -> Storage:
    from .gcs import GCSStorage

    return GCSStorage()


def _http() -> Storage:
    from .http import HTTPStorage

    return HTTPStorage()


register_scheme("file", _file)
register_scheme("http", _http)
register_scheme("https", _http)
register_scheme("s3", _s3)
register_scheme("gs", _gcs)


def storage_for(uri: str) -> Storage:
    """The backend serving ``uri``. Raises InvalidInputError for unknown schemes."""
    scheme = parse_uri(uri).scheme
    with _lock:
        if scheme not in _instances:
            factory = _factories.get(scheme)
            if factory is None:
                known = ", ".join(f"{name}://" for name in sorted(_factories))
                raise InvalidInputError(f"Unknown URI scheme {scheme}:// in {uri!r}; shanty understands {known}.")
            _instances[scheme] = factory()
        return _instances[scheme]


def reset_storage_cache() -> None:
    """Forget cached backend instances (after the environment changed, e.g. endpoints)."""
    with _lock:
        _instances.clear()
