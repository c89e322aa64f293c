"""Progress reporting that works in a terminal and can be redirected to a UI.

The library reports progress through a plain callable so that the dashboard
can draw its own bar without the library importing streamlit. In a terminal
the default is a tqdm bar on stderr, which tqdm hides when stderr is not a
TTY (CI logs stay clean).
"""

from __future__ import annotations

import threading
from typing import Protocol

from .settings import settings

__all__ = ["Progress", "ProgressSink"]


class ProgressSink(Protocol):
    """Receives ``(done, total, label)``; ``total`` may be None while unknown."""

    def __call__(self, done: int, total: int | None, label: str) -> None: ...


class Progress:
    """A thread-safe counter feeding a tqdm bar and/or a sink callback."""

    def __init__(self, label: str, total: int | None = None, sink: ProgressSink | None = None, unit: str = "file"):
        self.label = label
        self.total = total
        self.done = 0
        self._sink = sink
        self._lock = threading.Lock()
        self._bar = None
        if sink is None and settings().progress:
            from tqdm import tqdm  # imported lazily: only terminals need it

            self._bar = tqdm(total=total, desc=label, unit=unit, disable=None, leave=False, dynamic_ncols=True)

    def set_total(self, total: int | None) -> None:
        with self._lock:
            self.total = total
            if self._bar is not None:
                self._bar.total = total
                self._bar.refresh()

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            if self._bar is not None:
                self._bar.update(n)
            if self._sink is not None:
                self._sink(self.done, self.total, self.label)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
