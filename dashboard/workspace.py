"""Which registry the dashboard shows, and the demo that fills an unconfigured one.

With ``$SHANTY_ROOT`` set, that registry is shown as it is: a registry the
user configured and left empty is never filled behind their back. Without
it, the dashboard uses the bundled demo workspace under ``data/`` and builds
it on first start.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import shanty
from shanty.demo.build import build_demo, demo_is_empty
from shanty.settings import settings

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEMO_ROOT = DATA_DIR / "registry"


def configured_root() -> str | None:
    return settings().root


@st.cache_resource(show_spinner=False)
def _demo_ready(root: str) -> bool:
    if demo_is_empty(root):
        with st.spinner("Building the demo workspace (a few seconds, first start only)..."):
            build_demo(root, DATA_DIR / "media")
    return True


@st.cache_resource(show_spinner=False)
def _api(root: str) -> shanty.Api:
    # One per registry for the whole process: its registry keeps the log records and manifests it has
    # read (both immutable) and lists the logs again on every read, so new versions still show at once.
    return shanty.Api(root)


def workspace_api() -> shanty.Api:
    """The Api the pages use: the configured registry, else the demo one (built if empty)."""
    root = configured_root()
    if root is None:
        _demo_ready(str(DEMO_ROOT))
        root = str(DEMO_ROOT)
    return _api(root)


def load_demo_into(root: str) -> None:
    """Fill ``root`` with the demo, on the user's explicit request."""
    build_demo(root, DATA_DIR / "media")
