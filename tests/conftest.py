"""Shared fixtures: an isolated registry root and one kit per storage backend.

The ``kit`` fixture runs a test unchanged against every backend (file, S3 on
moto's server, GCS on fake-gcs-server); the servers are started by the kit
plugins on 127.0.0.1. Set SHANTY_BACKENDS=file to run only the local one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

BACKENDS = [b for b in os.environ.get("SHANTY_BACKENDS", "file,s3,gcs").split(",") if b]
pytest_plugins = sorted(
    {"tests.kits.file", "tests.kits.apptest", "tests.kits.songs", *(f"tests.kits.{b}" for b in BACKENDS)}
)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never touch the user's ~/.shanty, secret or cache; never draw progress bars in test logs.
    monkeypatch.setenv("SHANTY_ROOT", str(tmp_path / "registry"))
    monkeypatch.setenv("SHANTY_SECRET_FILE", str(tmp_path / "app-secret"))
    monkeypatch.setenv("SHANTY_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SHANTY_PROGRESS", "0")
    # A store that is down fails at once (tests of riding out an outage set their own time)
    monkeypatch.setenv("SHANTY_OUTAGE_SECONDS", "0")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(params=BACKENDS)
def kit(request: pytest.FixtureRequest):
    """A BackendKit for each backend in turn."""
    return request.getfixturevalue(f"{request.param}_kit")


@pytest.fixture
def registry_root(kit, tmp_path: Path) -> str:
    """A registry root on the kit's backend (a fresh bucket for S3 / GCS)."""
    if kit.name == "file":
        return str(tmp_path / "registry")
    return kit.new_bucket(versioned=False) + "/registry"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    # Under CI nothing may be skipped: browsers and storage servers are installed
    # and started there, so a skip means something is missing, not optional.
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must run every test: {report.longrepr}"
