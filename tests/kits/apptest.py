"""Driving the dashboard with Streamlit's AppTest (no browser) on a demo workspace built for the test module.

The fixtures are a plugin of tests/conftest.py (``app``, ``demo_root``); each test module that uses them
gets its own demo, so what one module logs (a saved join, an alias) never changes another's defaults.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from shanty.demo.build import build_demo

APP = str(Path(__file__).resolve().parent.parent.parent / "app.py")


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = tmp_path_factory.mktemp("demo")
    build_demo(base / "registry", base / "media")
    return str(base / "registry")


@pytest.fixture
def app(demo_root: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """``app(view, **params)``: a fresh session opened on the ``view`` page file with the link's ``params``."""
    monkeypatch.setenv("SHANTY_ROOT", demo_root)
    monkeypatch.setenv("SHANTY_SECRET_FILE", str(tmp_path / "secret"))

    def start(view: str, /, **params: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        for key, value in params.items():
            at.query_params[key] = value
        at.switch_page(view)
        return at.run()

    return start


def navigate(at: AppTest, page: str) -> AppTest:
    """Move to another view as the navigation does in a browser: Streamlit clears the query parameters."""
    for key in list(at.query_params):
        del at.query_params[key]
    at.switch_page(page)
    return at.run()


def notes(at: AppTest) -> list[str]:
    """The warnings the view shows (link notes among them), as a reader sees them: the Markdown escapes
    that keep user text from becoming links (see dashboard/widgets/plain.py) removed."""
    return [re.sub(r"\\(.)", r"\1", w.value) for w in at.warning]
