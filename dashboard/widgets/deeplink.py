"""Deep links: every view's state lives in the URL's query parameters.

Widgets are keyed; on the first run of a session their values are seeded
from the URL, and after each run the current values are written back, so
copying the address bar always reproduces the view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st


def seed(key: str, default: Any = None, parse: Callable[[str], Any] = str) -> Any:
    """Give widget ``key`` its value from the URL (param of the same name) on first use."""
    if key not in st.session_state:
        raw = st.query_params.get(key)
        try:
            st.session_state[key] = parse(raw) if raw is not None else default
        except (ValueError, TypeError):
            st.session_state[key] = default
    return st.session_state[key]


def publish(**values: Any) -> None:
    """Write view state to the URL; None removes a parameter."""
    for key, value in values.items():
        if value is None or value == "":
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != str(value):
            st.query_params[key] = str(value)


def choose(label: str, options: list[str], key: str, **kwargs: Any) -> str | None:
    """A selectbox whose value survives in the URL; a stale URL value falls back to the first option."""
    seed(key)
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0] if options else None
    return st.selectbox(label, options, key=key, **kwargs)
