"""Page numbers that stay inside the pages there are: a link or a value past the end gets a note and the last page."""

from __future__ import annotations

import streamlit as st

from dashboard.widgets.deeplink import clear_note, note, seed

__all__ = ["fit_page", "page_input", "requested_page"]


def requested_page(key: str) -> int:
    """The page the view asks for: the widget's value, first from the link (``key``), else 1."""
    return max(1, int(seed(key, 1, int)))


def fit_page(key: str, page_count: int) -> int:
    """Bring page ``key`` within 1..``page_count`` (at least 1); a page past the end gets a note and the last page."""
    last = max(page_count, 1)
    page = requested_page(key)
    if page > last:
        pages = "is 1 page" if last == 1 else f"are {last:,} pages"
        note(key, f"Page {page:,} does not exist: there {pages}, so this is page {last:,}.")
        st.session_state[key] = page = last
    return page


def page_input(key: str, page_count: int, label: str = "Page", label_visibility: str = "visible") -> int:
    """The page number box for page ``key`` (call :func:`fit_page` first), limited to the pages there are."""
    return int(
        st.number_input(
            label,
            min_value=1,
            max_value=max(page_count, 1),
            step=1,
            key=key,
            on_change=clear_note,
            args=(key,),
            label_visibility=label_visibility,
        )
    )
