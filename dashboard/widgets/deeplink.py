"""Deep links and the shared selection: every view's state is in the URL, and what you picked follows you.

* **Visits.** ``app.py`` calls :func:`begin_visit` before each page runs. The
  URL is read only on the first run of a visit (a fresh link, a reload, the
  browser's Back): after that the widgets own the state, and each run writes
  it back with :func:`publish`, so the address bar always reproduces the view.
  Streamlit clears the query parameters when the user moves to another view.
* **The shared selection** (:func:`shared`, :func:`remember`): the project,
  artifact, version and table last picked in any view, the default of every
  other view's pickers.
* **Link notes** (:func:`note`, :func:`notes_area`): a link naming something
  that does not exist gets one sentence (what was not found, what exists),
  shown until the user picks something else; never a silent fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboard.widgets.plain import plain

__all__ = [
    "begin_visit",
    "clear_note",
    "first_run",
    "link_broken",
    "link_value",
    "note",
    "notes_area",
    "publish",
    "remember",
    "seed",
    "shared",
    "toast_after_rerun",
]

_VISIT = "shanty:visit"
_FIRST = "shanty:first-run"
_SHARED = "shanty:selection"
_NOTES = "shanty:notes"
_NOTES_BOX = "shanty:notes-box"
_BROKEN = "shanty:link-broken"
_TOASTS = "shanty:toasts"
_LEVELS = ("project", "artifact", "version", "table")


def begin_visit(page: str) -> None:
    """Mark the start of a run of ``page``; a run of another page than the last one starts a visit."""
    first = st.session_state.get(_VISIT) != page
    st.session_state[_VISIT] = page
    st.session_state[_FIRST] = first
    if first:
        st.session_state[_NOTES] = {}
    st.session_state.pop(_NOTES_BOX, None)
    st.session_state.pop(_BROKEN, None)


def first_run() -> bool:
    """Whether this run opens the view (the only run that reads the URL)."""
    return st.session_state.get(_FIRST, True)


def link_value(key: str) -> str | None:
    """The URL's value for ``key`` on the first run of a visit, else None (the widgets own the state).

    Also None once a picker found the link broken this run: what it picked instead is not what the
    rest of the link was about.
    """
    return st.query_params.get(key) if first_run() and not st.session_state.get(_BROKEN) else None


def link_broken() -> None:
    """Say that the link named something that does not exist; the rest of it is not followed this run."""
    st.session_state[_BROKEN] = True


def seed(key: str, default: Any = None, parse: Callable[[str], Any] = str) -> Any:
    """Give widget ``key`` its first value: from the link (parameter of the same name), else ``default``.

    A link value ``parse`` rejects (ValueError / TypeError) gets a note and the default.
    """
    if key not in st.session_state:
        raw = link_value(key)
        value = default
        if raw is not None:
            try:
                value = parse(raw)
            except (ValueError, TypeError) as exc:
                note(key, f"The link's {key}={raw!r} cannot be used ({exc}); showing the default instead.")
        st.session_state[key] = value
    return st.session_state[key]


def publish(**values: Any) -> None:
    """Write view state to the URL in one update; None (or an empty string) removes a parameter.

    One update, not one per key: the browser gets one history entry for it, so Back leaves the view
    instead of undoing its parameters one by one.
    """
    current = {key: st.query_params[key] for key in st.query_params}
    wanted = dict(current)
    for key, value in values.items():
        if value is None or value == "":
            wanted.pop(key, None)
        else:
            wanted[key] = str(value)
    if wanted != current:
        st.query_params.from_dict(wanted)


def shared() -> dict[str, str]:
    """The shared selection: ``project``, ``artifact`` (name), ``version`` (``vN``), ``table``, as picked."""
    return st.session_state.setdefault(_SHARED, {})


def remember(**values: str | None) -> None:
    """Record a pick in the shared selection; changing a level forgets the levels below it
    (another artifact means its latest version and its first table, not the old ones)."""
    selection = shared()
    for level in _LEVELS:
        if level in values:
            if values[level] != selection.get(level):
                for lower in _LEVELS[_LEVELS.index(level) + 1 :]:
                    if lower not in values:
                        selection.pop(lower, None)
            if values[level] is None:
                selection.pop(level, None)
            else:
                selection[level] = values[level]


def toast_after_rerun(text: str, icon: str) -> None:
    """Show ``text`` as a toast on the next run (a view that saved something reruns to show it)."""
    st.session_state.setdefault(_TOASTS, []).append((text, icon))


def notes_area() -> None:
    """Where this view's link notes appear (call it under the title); shows the notes of this visit
    and the toasts left by the run before."""
    for text, icon in st.session_state.pop(_TOASTS, []):
        st.toast(text, icon=icon)
    box = st.container()
    st.session_state[_NOTES_BOX] = box
    for text in st.session_state.get(_NOTES, {}).values():
        box.warning(plain(text), icon="🔗")


def note(key: str, text: str) -> None:
    """Tell the user, in one sentence, that the link's ``key`` could not be followed (kept for the visit)."""
    notes = st.session_state.setdefault(_NOTES, {})
    if notes.get(key) == text:
        return
    notes[key] = text
    box = st.session_state.get(_NOTES_BOX)
    (box or st).warning(plain(text), icon="🔗")


def clear_note(key: str) -> None:
    """Forget the note about ``key`` (the user picked something there)."""
    st.session_state.get(_NOTES, {}).pop(key, None)
