"""A seekable, read-only file object over ranged reads, for PyAV.

:class:`RangedFile` sits on a ``read_at(offset, length)`` callable (a local
file, or one ranged request to a bucket per call). It reads ahead (32 KiB
after a seek, growing while reads are sequential, up to 4 MiB) and keeps a
few recent chunks for demuxers that probe the same places, so a whole-file
decode costs few requests and a seek-and-sample pass little more than the
bytes it needs. It counts its calls and bytes (``reads``, ``bytes_read``),
and never raises into FFmpeg: a failing ``read_at`` ends the stream and is
raised again after (``error``).
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["RangedFile", "ReadAt", "file_reader", "range_reader"]

ReadAt = Callable[[int, int], bytes]  # (offset, length) -> up to ``length`` bytes from ``offset``


def file_reader(path: Any, size: int) -> ReadAt:
    """``read_at`` over a local file of ``size`` recorded bytes (never past them, however long it grew)."""

    def read_local(offset: int, length: int) -> bytes:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return handle.read(max(0, min(length, size - offset)))

    return read_local


def range_reader(open_range: Callable[[int, int], Any], size: int) -> ReadAt:
    """``read_at`` over an object of ``size`` bytes, one ranged request per call: ``open_range(start, end)``
    returns a stream (context manager with ``read()``) of exactly those bytes."""

    def read_remote(offset: int, length: int) -> bytes:
        end = min(offset + length, size)
        if end <= offset:
            return b""
        with open_range(offset, end) as stream:
            return stream.read()

    return read_remote


MIN_AHEAD, MAX_AHEAD = 32 * 1024, 4 * 1024 * 1024  # read-ahead after a seek, and its cap while sequential
KEEP_CHUNKS, KEEP_CHUNK_BYTES = 8, 256 * 1024  # recent chunks kept for demuxers that probe the same places


class RangedFile(io.RawIOBase):
    """A seekable read-only file of ``size`` bytes over ``read_at``, with a read-ahead buffer.

    Each call to ``read_at`` fetches a chunk: ``min_ahead`` bytes after a
    seek, then half of what has been read in sequence since (so a
    decode from start to end grows to ``max_ahead`` a request within a few
    dozen requests, while a seek that only probes a few KB costs one small
    read). The last ``KEEP_CHUNKS`` small chunks are kept, so demuxers that
    probe the same places again (a binary search reading the end of the file
    on every seek) are served from memory. ``reads`` and ``bytes_read`` count
    the calls to ``read_at`` and the bytes they returned.

    An exception from ``read_at`` is kept in ``error`` and the file then
    reads as ended (FFmpeg sees end of file, never a Python exception);
    whoever drives the decoder raises ``error`` afterwards.
    """

    def __init__(self, read_at: ReadAt, size: int, min_ahead: int = MIN_AHEAD, max_ahead: int = MAX_AHEAD):
        super().__init__()
        self._read_at, self.size = read_at, max(0, size)
        self._min_ahead, self._max_ahead = min_ahead, max(min_ahead, max_ahead)
        self._position = 0
        self._chunks: OrderedDict[int, bytes] = OrderedDict()  # start -> bytes, most recent last
        self._run = 0  # bytes read in sequence up to the end of the most recent chunk
        self.reads = 0
        self.bytes_read = 0
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        bases = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}
        if whence not in bases or bases[whence] + offset < 0:
            raise ValueError(f"Cannot seek to {offset} from {whence}.")
        self._position = bases[whence] + offset
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._position >= self.size or not len(view) or self.error is not None:
            return 0
        found = next(((at, data) for at, data in self._chunks.items() if at <= self._position < at + len(data)), None)
        if found is None:
            found = self._fill()
            if found is None:
                return 0
        at, data = found
        part = data[self._position - at : self._position - at + len(view)]
        view[: len(part)] = part
        self._position += len(part)
        return len(part)

    def _fill(self) -> tuple[int, bytes] | None:
        last = next(reversed(self._chunks.items()), None)
        self._run = self._run + len(last[1]) if last and self._position == last[0] + len(last[1]) else 0
        ahead = min(max(self._run // 2, self._min_ahead), self._max_ahead)
        try:
            data = bytes(self._read_at(self._position, min(ahead, self.size - self._position)))
        except Exception as exc:  # raised again by the decoder's driver; FFmpeg only sees the end
            self.error = exc
            return None
        self.reads += 1
        self.bytes_read += len(data)
        if not data:
            return None
        if last is not None and len(last[1]) > KEEP_CHUNK_BYTES:
            del self._chunks[last[0]]  # big sequential chunks are never read again: keep only the newest
        self._chunks[self._position] = data
        while len(self._chunks) > KEEP_CHUNKS:
            self._chunks.popitem(last=False)
        return self._position, data
