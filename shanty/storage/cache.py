"""The one local cache of immutable objects, and verified downloads.

Every copy lands the same way (:func:`fetch_verified`): downloaded into a
temp file beside its destination, checked against the recorded checksum
(:func:`shanty.digests.file_matches`), then renamed into place, so a reader
never sees a half-written or wrong file under the final name.

:func:`cached_file` keeps such copies under ``$SHANTY_CACHE/objects``, keyed
by (URI, object version, digest): an object version never changes, so a copy
is made once and reused by every process (manifests, tables, media).
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from ..digests import file_matches
from ..errors import ChangedObjectError, MalformedError
from ..settings import settings
from . import parse_location, storage_for

__all__ = ["cached_copy", "cached_file", "fetch_verified"]

_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,12}$")  # kept on cached copies: tools such as DuckDB read it


def fetch_verified(
    uri: str, version: str | None, digest: str | None, extra: Mapping[str, object] | None, dest: Path
) -> None:
    """Download the object at ``version`` to ``dest`` through a temp file, verified against ``digest``.

    ``digest`` and ``extra`` are what was recorded for the object (see
    :func:`~shanty.digests.file_matches`); None skips the check (content-addressed
    keys such as manifests). Raises NotFoundError when the object (version) is
    gone; ChangedObjectError when the bytes differ and there is no version to
    blame (the object was replaced); MalformedError when a recorded version
    returned other bytes. ``dest`` is untouched unless the bytes are right.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = dest.parent / f".{dest.name}.part-{uuid.uuid4().hex}"
    try:
        storage_for(uri).download(uri, version, temp)
        if digest is not None and file_matches(temp, digest, extra) is False:
            if version is None:
                raise ChangedObjectError(
                    f"{uri} changed since it was recorded and no older version can be fetched.", [uri]
                )
            raise MalformedError(
                f"{uri} at version {version} does not match its recorded checksum; the store returned other bytes."
            )
        os.replace(temp, dest)
    finally:
        temp.unlink(missing_ok=True)


def _cache_path(uri: str, version: str | None, digest: str | None) -> Path:
    key = hashlib.sha256("\0".join((uri, version or "", digest or "")).encode()).hexdigest()
    suffix = PurePosixPath(parse_location(uri).path).suffix
    return settings().cache_dir / "objects" / key[:2] / (key + (suffix if _SUFFIX.match(suffix) else ""))


def cached_copy(uri: str, version: str | None = None, digest: str | None = None) -> Path | None:
    """The copy :func:`cached_file` made of that object version earlier, or None (nothing is fetched)."""
    path = _cache_path(uri, version, digest)
    return path if path.is_file() else None


def cached_file(
    uri: str, version: str | None = None, digest: str | None = None, extra: Mapping[str, object] | None = None
) -> Path:
    """A verified local copy of the object at ``version``, made on first use (see :func:`fetch_verified`).

    Only for immutable objects: a pinned version, content-addressed keys, or a
    ``digest`` to check. Keeps the object name's suffix (``.parquet``). Raises
    what :func:`fetch_verified` raises.
    """
    path = _cache_path(uri, version, digest)
    if not path.is_file():
        fetch_verified(uri, version, digest, extra, path)
    return path
