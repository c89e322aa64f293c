"""Which registry the dashboard shows, and the demo that fills an unconfigured one.

With ``$SHANTY_ROOT`` set, that registry is shown as it is: a registry the
user configured and left empty is never filled behind their back. Without
it, the dashboard uses the bundled demo workspace under ``data/`` and builds
it on first start.

Any number of app processes (replicas) may serve one bucket registry: what
they cache is either immutable (log records, manifests, table files, keyed
by what they are) or expires within ``REFRESH_SECONDS`` (the catalog of
artifacts, run lists, the media server's versions), so a version any writer
logs shows in every replica within that time; nothing a replica needs is
kept on its own disk (the signing secret: ``$SHANTY_SECRET`` or the
registry's, see :func:`shanty.media.tokens.signing_secret`).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import shanty
from shanty.demo.build import build_demo, demo_is_empty
from shanty.errors import InvalidInputError
from shanty.settings import settings

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEMO_ROOT = DATA_DIR / "registry"
# The longest a version logged (or deleted) elsewhere takes to show in this process: every cache of
# something a writer can change expires within it (the pickers' and the Runs view's SCAN_SECONDS, the
# media server's VERSION_RECHECK; tests/test_replicas.py holds the app to it).
REFRESH_SECONDS = 10
# Reruns within this long of a read of an artifact's log answer from it without a request (a click on
# a page that reads the same artifacts many times); well inside REFRESH_SECONDS.
FRESH_SECONDS = 2


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
    # One per registry for the whole process: its registry keeps the log records, snapshots and manifests
    # it has read (all immutable) and reads a log's tail again once FRESH_SECONDS have passed, so versions
    # any writer logs (this replica or another) show within that.
    return shanty.Api(root, fresh_seconds=FRESH_SECONDS)


def workspace_api() -> shanty.Api:
    """The Api the pages use: the configured registry, else the demo one (built if empty)."""
    try:  # checked on every page, so a bad value is one sentence at once rather than broken media links
        settings().secret  # noqa: B018
    except InvalidInputError as exc:
        st.error(str(exc))
        st.stop()
    root = configured_root()
    if root is None:
        _demo_ready(str(DEMO_ROOT))
        root = str(DEMO_ROOT)
    return _api(root)


def load_demo_into(root: str) -> None:
    """Fill ``root`` with the demo, on the user's explicit request."""
    build_demo(root, DATA_DIR / "media")
