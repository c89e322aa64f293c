"""Hashing local files a batch at a time: the loop a hashing worker process runs, also run in-process.

Standard library only, and no import of the shanty package: :mod:`shanty.storage.file_pool` starts
this file as a script (``python -I -S file_hashing.py``, about 10 ms), so a worker costs neither
shanty's import time nor a fork of a process holding threads. A worker reads batches of paths on
stdin and answers each with one frame on stdout; see :func:`serve`.

Per file: ``open`` (never following a link, never blocking on a FIFO), ``fstat``, one ``read`` of the
whole file when it is small, W&B's digest (base64 MD5) and the ``last_modified`` text shanty
records. No Python object per file beyond the few the digest needs: the answer is three strings and
an array, decoded by the caller a batch at a time.
"""

from __future__ import annotations

import binascii
import hashlib
import marshal
import math
import os
import stat
import struct
import sys
from array import array
from datetime import UTC, datetime

__all__ = ["DIGEST_CHARS", "HashedBatch", "batch_paths", "hash_paths", "last_modified", "serve"]

DIGEST_CHARS = 24  # base64 of a 16-byte MD5
_SMALL = 1 << 20  # read whole in one call up to this size; larger files stream through a reused buffer
_CHUNK = 1 << 20
_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_HEADER = struct.Struct("<Q")

# (sizes as array('q') bytes, digests as DIGEST_CHARS ASCII characters each, last_modified texts joined
# by "\n", and None or the failure that stopped the batch: (index, errno, strerror)).
HashedBatch = tuple[bytes, bytes, str, "tuple[int, int, str] | None"]


def _stream(fd: int, md5: hashlib._Hash, buffer: bytearray) -> int:
    """Feed the rest of the open file to ``md5``; the number of bytes read."""
    view, total = memoryview(buffer), 0
    while n := os.readv(fd, [buffer]):
        md5.update(view[:n])
        total += n
    return total


def hash_paths(paths: list[bytes]) -> HashedBatch:
    """Size, base64 MD5 and last_modified of each file in ``paths``, in order.

    The first file that cannot be read (gone, unreadable, now a link or not a regular file) stops the
    batch: the result holds the files before it and ``(index, errno, strerror)`` for it. The size is
    the number of bytes hashed, so size and digest always describe the same bytes.
    """
    sizes = array("q")
    digests: list[bytes] = []
    stamps: list[str] = []
    buffer: bytearray | None = None
    # Bound once: this loop runs per file, and a file costs only a dozen microseconds.
    open_, fstat, read, close, is_regular = os.open, os.fstat, os.read, os.close, stat.S_ISREG
    md5_of, b64, stamp_of, add_size = hashlib.md5, binascii.b2a_base64, last_modified, sizes.append
    add_digest, add_stamp = digests.append, stamps.append
    for index, path in enumerate(paths):
        try:
            fd = open_(path, _FLAGS)
            try:
                info = fstat(fd)
                if not is_regular(info.st_mode):  # replaced by a folder or a FIFO since it was listed
                    return sizes.tobytes(), b"".join(digests), "\n".join(stamps), (index, 2, "not a regular file")
                if info.st_size <= _SMALL:
                    data = read(fd, info.st_size + 1)  # one more byte: a file that grew is read to its end
                    md5 = md5_of(data)
                    size = len(data)
                    if size > info.st_size:
                        size += _stream(fd, md5, buffer := buffer or bytearray(_CHUNK))
                else:
                    md5 = md5_of()
                    size = _stream(fd, md5, buffer := buffer or bytearray(_CHUNK))
            finally:
                close(fd)
        except OSError as exc:
            return sizes.tobytes(), b"".join(digests), "\n".join(stamps), (index, exc.errno or 0, exc.strerror or "")
        add_size(size)
        add_digest(b64(md5.digest(), newline=False))
        add_stamp(stamp_of(info.st_mtime))
    return sizes.tobytes(), b"".join(digests), "\n".join(stamps), None


_SECONDS: dict[float, str] = {}  # whole second -> its "YYYY-MM-DDTHH:MM:SS" (files of a folder share a few)


def last_modified(mtime: float) -> str:
    """``datetime.fromtimestamp(mtime, UTC).isoformat()``, what shanty records as ``last_modified``, in
    a fifth of the time: the same rounding to the microsecond (half to even, as CPython does for a
    float timestamp), the date and time of each whole second formatted once."""
    fraction, whole = math.modf(mtime)
    micro = round(fraction * 1e6)
    if micro >= 1_000_000:
        micro -= 1_000_000
        whole += 1.0
    elif micro < 0:  # before 1970
        micro += 1_000_000
        whole -= 1.0
    prefix = _SECONDS.get(whole)
    if prefix is None:
        if len(_SECONDS) > 4096:
            _SECONDS.clear()
        prefix = _SECONDS[whole] = datetime.fromtimestamp(whole, UTC).isoformat()[:19]
    return f"{prefix}.{micro:06d}+00:00" if micro else prefix + "+00:00"


def batch_paths(payload: bytes) -> list[bytes]:
    """The paths a batch frame names: folder runs joined by two NULs, each run its folder (ending in
    "/") then its file names, NUL-separated; a name starting with "/" is a path of its own (a link's
    target). File names hold neither NUL nor "/", so the frame needs no escaping."""
    paths: list[bytes] = []
    for run in payload.split(b"\0\0"):
        prefix, *names = run.split(b"\0")
        paths += [name if name[:1] == b"/" else prefix + name for name in names]
    return paths


def serve() -> None:
    """The worker loop: read frames (an 8-byte little-endian length, then a :func:`batch_paths` payload)
    from stdin and answer each with a frame holding ``marshal.dumps(hash_paths(paths))``, in order,
    until stdin ends."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while len(head := source.read(_HEADER.size)) == _HEADER.size:
        (length,) = _HEADER.unpack(head)
        answer = marshal.dumps(hash_paths(batch_paths(source.read(length))))
        sink.write(_HEADER.pack(len(answer)) + answer)
        sink.flush()


if __name__ == "__main__":
    serve()
