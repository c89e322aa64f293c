"""The one listing budget: what the workers of one listing share (found items, max_objects, progress, stop)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Generic, TypeVar

from ..errors import InvalidInputError
from ..progress import Progress

__all__ = ["ListingBudget", "check_max_objects"]

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

    def __init__(self, uri: str, max_objects: int | None, progress: Progress | None, *, narrower: str = "prefix"):
        check_max_objects(max_objects, uri)
        self.uri, self.max_objects, self.progress, self.narrower = uri, max_objects, progress, narrower
        self.items: list[T] = []
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
        """Keep ``items`` and advance the progress by their number; InvalidInputError past ``max_objects``."""
        with self._lock:
            self.items.extend(items)
            over = self.max_objects is not None and len(self.items) > self.max_objects
        if over:
            self.halt()
            raise InvalidInputError(
                f"{self.uri} holds more than max_objects={self.max_objects} objects; "
                f"raise max_objects or reference a narrower {self.narrower}."
            )
        if items and self.progress:
            self.progress.advance(len(items))
