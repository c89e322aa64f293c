"""Rows first: on a view's first run, keyed widgets wait until the table is drawn.

The browser loads each kind of widget's code the first time it sees one, so
a sidebar of selectboxes drawn before the table delays its first row. On a
visit's first run no widget can have been changed yet: a keyed widget's
value is already in session state (seeded from the link, the shared
selection or a default). Inside :func:`rows_first`, :func:`keyed` returns
that value at once, keeps the widget's place with an empty slot, and draws
it when the block ends (also when the page stops early, so a stopped page
still has its pickers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

__all__ = ["keyed", "rows_first"]

T = TypeVar("T")
# Per script run (each run has its own thread, so its own context): the widgets still to draw.
_QUEUE: ContextVar[list[Callable[[], Any]] | None] = ContextVar("shanty_widgets_after_rows", default=None)


def _draw(queue: list[Callable[[], Any]]) -> None:
    for draw in queue:
        draw()


@contextmanager
def rows_first(enabled: bool) -> Iterator[None]:
    """Within the block, when ``enabled``, :func:`keyed` widgets are drawn at its end, in their places."""
    queue: list[Callable[[], Any]] = []
    token = _QUEUE.set(queue if enabled else None)
    try:
        try:
            yield
        finally:
            _QUEUE.reset(token)  # the widgets below are drawn outside the block
    except StopException:
        _draw(queue)  # a page stopped early still gets its pickers
        raise
    # A rerun (or an error) leaves the block above: the next run draws everything.
    _draw(queue)


def keyed(draw: Callable[[Any], T], key: str) -> T:
    """``draw(container)`` makes a widget keyed ``key`` whose value is already in session state: drawn
    now (``container`` is ``st``), or inside :func:`rows_first` in an empty slot kept here and drawn
    later; returns its value either way."""
    queue = _QUEUE.get()
    if queue is None:
        return draw(st)
    slot = st.empty()
    queue.append(lambda: draw(slot))
    return st.session_state[key]
