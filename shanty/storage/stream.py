"""Open ranged reads: :class:`ByteStream`, what ``open_range`` of every backend returns."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from types import TracebackType

from ..errors import StorageError

__all__ = ["ByteStream"]


class ByteStream:
    """An open read of exactly ``length`` bytes: iterate for the chunks (blocking I/O), then :meth:`close`.

    ``chunks`` may hold ``skip`` leading bytes to drop (a web server that
    ignored the Range header sends the object from its start) and more than
    ``length`` bytes after them (cut off). When they end early, iteration
    raises StorageError: a short object is never passed off as the recorded
    one. Close it even after a failure (or use it as a context manager); the
    connection behind it is released then.
    """

    def __init__(self, chunks: Iterable[bytes], close: Callable[[], None], length: int, *, skip: int = 0):
        self.length = length
        self._chunks = _exactly(iter(chunks), skip, length)
        self._close: Callable[[], None] | None = close

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def read(self) -> bytes:
        """All remaining bytes at once (for small objects)."""
        return b"".join(self._chunks)

    def close(self) -> None:
        """Release the source (idempotent)."""
        close, self._close = self._close, None
        if close is not None:
            close()

    def __enter__(self) -> ByteStream:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @classmethod
    def empty(cls) -> ByteStream:
        """A stream of no bytes."""
        return cls((), lambda: None, 0)


def _exactly(chunks: Iterator[bytes], skip: int, length: int) -> Iterator[bytes]:
    """``length`` bytes of ``chunks`` after the first ``skip``; StorageError if they end sooner."""
    for chunk in chunks:
        if skip:
            dropped = min(skip, len(chunk))
            chunk, skip = chunk[dropped:], skip - dropped
        if length <= 0:
            break
        if chunk:
            chunk = chunk[:length]
            length -= len(chunk)
            yield chunk
    if length > 0:
        raise StorageError("The store sent fewer bytes than the recorded size; the object may have changed.")
