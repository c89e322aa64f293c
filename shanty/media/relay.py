"""Relaying a recorded object to a browser: which bytes a Range header asks for, and opening them.

:func:`parse_range` reads the one byte range a request asks of a file;
:func:`open_relay` opens exactly those bytes of the recorded object version
through the store's ranged reads (:func:`shanty.storage.open_range`), so no
object is ever downloaded whole to serve part of it.
"""

from __future__ import annotations

import re

from ..errors import MediaGoneError, NotFoundError, RangeNotSatisfiableError
from ..storage import ByteStream, open_range

__all__ = ["ByteStream", "open_relay", "parse_range"]

# One range (a comma makes it not match) of at most 19-digit numbers: longer ones are no byte offsets, and
# int() of thousands of digits raises (Python's limit on digit strings), which must not become an HTTP 500.
_RANGE_SPEC = re.compile(r"^\s*(\d{0,19})\s*-\s*(\d{0,19})\s*$", re.ASCII)


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


def open_relay(
    uri: str, version: str | None, size: int, start: int = 0, end: int | None = None, *, etag: str | None = None
) -> ByteStream:
    """Open bytes ``[start, end)`` (``end`` defaults to ``size``) of the object recorded at ``uri`` and
    ``version`` with ``size`` bytes (blocking: the first request is made here).

    Raises RangeNotSatisfiableError for a range outside the recorded size,
    MediaGoneError when the recorded object is gone or (given the recorded
    ``etag`` of an unversioned object) replaced, StorageError when the store
    fails; the stream raises StorageError if it ends short of the range.
    """
    end = size if end is None else end
    if not 0 <= start <= end <= size:
        raise RangeNotSatisfiableError(size)
    try:
        return open_range(uri, version, start, end, etag=etag)
    except NotFoundError as exc:
        raise MediaGoneError("This media object no longer exists in its store at the logged version.") from exc
