"""Riding out a store that stops answering for a while (a restart, a network blip).

An SDK retries each request a few times within a second or two; a store that is gone for ten seconds
outlasts that, and a listing of a hundred thousand pages would start again from nothing. Here a
request that failed in a transient way is tried again, with growing pauses, until
``SHANTY_OUTAGE_SECONDS`` have passed since the first failure; the caller makes each attempt resume
where the last one stopped (the next listing page, the next byte of a download).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from ..settings import settings

__all__ = ["ride_out"]

T = TypeVar("T")
_FIRST_PAUSE_S = 0.25
_LONGEST_PAUSE_S = 4.0


def ride_out(attempt: Callable[[], T], transient: Callable[[BaseException], bool], *, sleep=time.sleep) -> T:
    """``attempt()``, tried again while it fails with an error ``transient`` accepts, for up to
    ``SHANTY_OUTAGE_SECONDS`` from the first failure (pauses from 0.25 s doubling to 4 s); the last
    error is raised once that time is up, and any other error at once."""
    budget = settings().outage_seconds
    started: float | None = None
    pause = _FIRST_PAUSE_S
    while True:
        try:
            return attempt()
        except Exception as exc:
            if not transient(exc):
                raise
            now = time.monotonic()
            started = now if started is None else started
            left = budget - (now - started)
            if left <= 0:
                raise
            sleep(min(pause, left))
            pause = min(pause * 2, _LONGEST_PAUSE_S)
