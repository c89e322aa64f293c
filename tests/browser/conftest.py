"""Fixtures for the browser tests: one real dashboard server and one headless Chromium per session.

The server is ``streamlit run app.py`` in its own process group, serving a
registry built here (the demo plus a table of hostile text); the shared
autouse fixture in ``tests/conftest.py`` chdirs and points ``$SHANTY_ROOT``
elsewhere for every test, so everything here uses absolute paths and passes
the server its own environment.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
TIMEOUT_MS = 30_000  # the first page of a cold server on a 2-core machine takes a few seconds
SERVER_START_S = 90

# User text that would run script if any layer used innerHTML or unsafe markdown.
XSS_PROJECT, XSS_ARTIFACT, XSS_TABLE = "escaping", "hostile", "evil"
XSS_TEXT = '<img src=x onerror="window.__xss=1">'
XSS_CAPTION = "<script>window.__xss=2</script> caption"


@dataclass(frozen=True)
class Dashboard:
    """A running dashboard: its base URL, registry, signing secret and log file."""

    url: str
    root: Path
    secret: bytes
    log: Path
    pid: int

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def require_chromium() -> None:
    """Skip (a failure under CI, see tests/conftest.py) when Debian's Chromium is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests need it")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    # Runs in the child before exec: if pytest itself is killed (no finalizer runs), the kernel kills the server.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start_streamlit(root: Path, secret_file: Path, log: Path, port: int) -> subprocess.Popen:
    """``streamlit run app.py`` from the repo root, in a new process group, with only this registry."""
    env = {
        **os.environ,
        "SHANTY_ROOT": str(root),
        "SHANTY_SECRET_FILE": str(secret_file),
        "SHANTY_PROGRESS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        # Pages may be edited while the tests run; a file watcher would rerun or flag sessions mid-test.
        "--server.fileWatcherType",
        "none",
    ]
    return start_in_own_group(command, env, log, REPO)


def start_in_own_group(command: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    """Start ``command`` in a new process group (so :func:`stop_process_group` ends it and its children),
    its output in ``log``; on Linux it dies with this process."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )


def wait_healthy(process: subprocess.Popen, url: str, log: Path, timeout: float = SERVER_START_S) -> None:
    """Return once ``/_stcore/health`` answers 200; fail with the server's log if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"streamlit did not answer {url}/_stcore/health in {timeout} s:\n{log.read_text()[-4000:]}")


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the server's whole process group, SIGKILL what is left after a grace period."""
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    # The leader may be gone while a child it spawned lingers in the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _write_wav(path: Path, seconds: float = 1.0, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(seconds * rate))
    return path


def log_hostile_table(root: Path, bucket: Path) -> None:
    """Log, through the public API, a table whose text cell and caption are HTML/script."""
    import shanty

    bucket.mkdir(parents=True, exist_ok=True)
    audio = _write_wav(bucket / "quiet.wav")
    table = shanty.Table(
        columns=["label", "audio"],
        data=[[XSS_TEXT, shanty.Audio(str(audio), sample_rate=8000, caption=XSS_CAPTION)]],
    )
    artifact = shanty.Artifact(XSS_ARTIFACT, type="dataset", description=XSS_TEXT)
    artifact.add(table, XSS_TABLE)
    with shanty.init(project=XSS_PROJECT, job_type="upload", root=str(root)) as run:
        run.log_artifact(artifact)


@pytest.fixture(scope="package")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """The dashboard serving the demo (project ``cshanty``) and the hostile table; yields its base URL and more."""
    require_chromium()  # no point starting a server no browser will visit
    from shanty.demo.build import build_demo
    from shanty.media.tokens import load_or_create_secret

    work = tmp_path_factory.mktemp("dashboard").resolve()
    root, secret_file, log = work / "registry", work / "app-secret", work / "streamlit.log"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHANTY_PROGRESS", "0")
        # The hostile table first: the demo stays the most recently changed, so the views open as a newcomer's do.
        log_hostile_table(root, work / "hostile")
        build_demo(root, work / "media")
    secret = load_or_create_secret(secret_file)  # made now so tests can sign (expired) tokens the server accepts
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_streamlit(root, secret_file, log, port)
    try:
        wait_healthy(process, url, log)
        yield Dashboard(url=url, root=root, secret=secret, log=log, pid=process.pid)
    finally:
        stop_process_group(process)


@pytest.fixture(scope="package")
def browser() -> Iterator:
    """Headless Debian Chromium (never a downloaded one), shared by the session."""
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, dashboard: Dashboard) -> Iterator:
    """A fresh browser context (so a fresh Streamlit session) per test, with relative URLs on the dashboard."""
    context = browser.new_context(base_url=dashboard.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()
