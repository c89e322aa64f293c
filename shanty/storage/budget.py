"""The one listing budget: what the workers of one listing share (found items, max_objects, progress, stop)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from ..errors import InvalidInputError
from ..progress import Progress

__all__ = ["ListingBudget", "check_max_objects", "stream_listing"]

STREAM_CHUNK = 8192  # objects per chunk a streamed listing hands on
_QUEUE_CHUNKS = 8  # chunks waiting for the consumer: the listing pauses beyond (bounded memory)

T = TypeVar("T")


def check_max_objects(max_objects: int | None, uri: str) -> None:
    """InvalidInputError when ``max_objects`` allows no object at all (a listing would be pointless)."""
    if max_objects is not None and max_objects < 1:
        raise InvalidInputError(f"max_objects={max_objects} allows no object of {uri}; pass at least 1.")


class ListingBudget(Generic[T]):
    """Shared by the concurrent workers listing ``uri``; thread-safe.

    Workers :meth:`add` what they find. Past ``max_objects`` items ``add``
    raises InvalidInputError (never a silent cut) and sets :attr:`stop`, as
    :meth:`halt` does for any other failure: the other workers check
    :attr:`stopped` between pages and quit, so a failed listing costs about a
    page per worker, not the whole prefix. ``narrower`` names what the user
    should reference instead ("prefix", "folder").
    """

    def __init__(
        self,
        uri: str,
        max_objects: int | None,
        progress: Progress | None,
        *,
        narrower: str = "prefix",
        sink: Callable[[Sequence[T]], None] | None = None,
    ):
        check_max_objects(max_objects, uri)
        self.uri, self.max_objects, self.progress, self.narrower = uri, max_objects, progress, narrower
        self.items: list[T] = []  # what was found, unless a ``sink`` takes it (then it stays empty)
        self.count = 0
        self.sink = sink
        self.stop = threading.Event()
        self._lock = threading.Lock()

    @property
    def stopped(self) -> bool:
        """Whether the listing failed somewhere: workers should return."""
        return self.stop.is_set()

    def halt(self) -> None:
        """Tell every worker to stop (the listing fails as a whole)."""
        self.stop.set()

    def add(self, items: Sequence[T]) -> None:
        """Keep ``items`` (or hand them to the sink, under the lock) and advance the progress by their
        number; InvalidInputError past ``max_objects``."""
        with self._lock:
            self.count += len(items)
            over = self.max_objects is not None and self.count > self.max_objects
            if not over and items:
                if self.sink is None:
                    self.items.extend(items)
                else:
                    self.sink(items)
        if over:
            self.halt()
            raise InvalidInputError(
                f"{self.uri} holds more than max_objects={self.max_objects} objects; "
                f"raise max_objects or reference a narrower {self.narrower}."
            )
        if items and self.progress:
            self.progress.advance(len(items))


class _End:
    """Put on the queue when the listing thread ends; ``error`` is what it raised, if anything."""

    def __init__(self, error: BaseException | None = None):
        self.error = error


def stream_listing(
    uri: str,
    max_objects: int | None,
    progress: Progress | None,
    run: Callable[[ListingBudget[T]], None],
    *,
    narrower: str = "prefix",
    chunk: int | None = None,
) -> Iterator[list[T]]:
    """Chunks of what ``run(budget)`` finds, as it finds it: ``run`` lists into a :class:`ListingBudget`
    (from any number of worker threads) on a thread of its own, and at most a few chunks wait for the
    consumer, so memory holds a few chunks, never the whole listing. Chunks come in no particular
    order, about ``chunk`` objects each (default :data:`STREAM_CHUNK`). What ``run`` raises
    (InvalidInputError past ``max_objects``...) is raised here, after the chunks already handed on;
    closing the iterator early stops the listing (a page per worker later).
    """
    chunk = chunk or STREAM_CHUNK
    waiting: queue.Queue[list[T] | _End] = queue.Queue(_QUEUE_CHUNKS)
    buffer: list[T] = []

    def put(item: list[T] | _End) -> None:
        while not budget.stopped or isinstance(item, _End):  # a consumer gone stops the workers
            try:
                waiting.put(item, timeout=0.05)
                return
            except queue.Full:
                if consumer_gone.is_set():
                    return

    def sink(items: Sequence[T]) -> None:  # called under the budget's lock
        buffer.extend(items)
        if len(buffer) >= chunk:
            put(buffer[:])
            buffer.clear()

    def main() -> None:
        try:
            run(budget)
            if buffer:
                put(buffer[:])
            put(_End())
        except BaseException as exc:
            budget.halt()
            put(_End(exc))

    budget: ListingBudget[T] = ListingBudget(uri, max_objects, progress, narrower=narrower, sink=sink)
    consumer_gone = threading.Event()
    thread = threading.Thread(target=main, name=f"listing {uri}", daemon=True)
    thread.start()
    try:
        while True:
            item = waiting.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        consumer_gone.set()
        budget.halt()
        thread.join()
