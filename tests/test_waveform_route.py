"""The waveform route: bounded memory and concurrency, a size limit, and a cache that never outlives a token."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
from starlette.applications import Starlette

import shanty
from dashboard.routes import media as media_route
from dashboard.routes import previews
from dashboard.routes.media import cell_urls
from dashboard.routes.waveform import waveform_routes
from shanty.media import tokens

with warnings.catch_warnings():  # starlette 1.x would rather use httpx2, which is not installed
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

REPO = Path(__file__).resolve().parent.parent


def write_wav(path: Path, frames: int, rate: int = 8000, chunk: int = 1 << 20) -> Path:
    """A 16-bit mono WAV of ``frames`` frames, written a chunk at a time (never whole in memory)."""
    ramp = (np.linspace(-0.5, 0.5, chunk) * 32767).astype("<i2").tobytes()
    with open(path, "wb") as out:
        size = frames * 2
        out.write(b"RIFF" + (36 + size).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little"))
        out.write((1).to_bytes(2, "little") + (1).to_bytes(2, "little") + rate.to_bytes(4, "little"))
        out.write((rate * 2).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little"))
        out.write(b"data" + size.to_bytes(4, "little"))
        left = size
        while left:
            part = ramp[: min(left, len(ramp))]
            out.write(part)
            left -= len(part)
    return path


@pytest.fixture
def song(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """(client, waveform URL) for a logged 1 s WAV, served by the app's own routes."""
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    write_wav(bucket / "a.wav", 8000)
    with shanty.init(project="p", root=str(tmp_path / "registry")) as run:
        artifact = shanty.Artifact("songs", type="raw_data")
        artifact.add_reference(str(bucket))
        version = run.log_artifact(artifact)
    monkeypatch.setenv("SHANTY_ROOT", str(tmp_path / "registry"))
    previews.clear_cache()
    try:
        with TestClient(Starlette(routes=waveform_routes())) as client:
            yield client, cell_urls(version, "a.wav", ["waveform"])["waveform"]
    finally:
        media_route._server.cache_clear()
        previews.clear_cache()


def test_a_cached_waveform_is_not_served_to_an_expired_link(song, monkeypatch: pytest.MonkeyPatch) -> None:
    client, url = song
    first = client.get(url)
    assert first.status_code == 200 and first.json()["frames"] == 8000
    assert len(previews._cache) == 1
    later = types.SimpleNamespace(time=lambda: 10**12)  # long after every token's expiry
    monkeypatch.setattr(tokens, "time", later)
    expired = client.get(url)
    assert expired.status_code == 403 and "valid" in expired.text


def test_files_over_the_limit_get_413_and_a_busy_route_503(song, monkeypatch: pytest.MonkeyPatch) -> None:
    client, url = song
    monkeypatch.setattr(previews, "MAX_BYTES", 1000)
    too_long = client.get(url)
    assert too_long.status_code == 413 and "waveforms are drawn up to" in too_long.text
    monkeypatch.setattr(previews, "MAX_BYTES", 10**9)
    monkeypatch.setattr(previews, "_slots", threading.BoundedSemaphore(1))
    monkeypatch.setattr(previews, "WAIT_S", 0.05)
    previews._slots.acquire()  # every slot taken by a decode that does not end
    busy = client.get(url)
    assert busy.status_code == 503 and busy.headers["retry-after"] == "2"
    previews._slots.release()
    assert client.get(url).status_code == 200


MEMORY_SCRIPT = """
import sys, threading, warnings
from pathlib import Path
sys.path.insert(0, {repo!r})
warnings.filterwarnings("ignore")
import shanty
from starlette.applications import Starlette
from starlette.testclient import TestClient
from dashboard.routes.media import cell_urls
from dashboard.routes.waveform import waveform_routes
from tests.test_waveform_route import write_wav

def peak_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

work = Path({work!r})
(work / "bucket").mkdir()
frames = 100 * 1024 * 1024  # 200 MiB of 16-bit samples
write_wav(work / "bucket" / "long.wav", frames)
with shanty.init(project="p", root=str(work / "registry")) as run:
    artifact = shanty.Artifact("songs", type="raw_data")
    artifact.add_reference(str(work / "bucket"))
    version = run.log_artifact(artifact)
url = cell_urls(version, "long.wav", ["waveform"])["waveform"]
with TestClient(Starlette(routes=waveform_routes())) as client:
    client.get(url.replace("/api/waveform/", "/api/waveform/x"))  # warm the app up: imports, first request
    before = peak_mb()
    answers = []
    def ask():
        answers.append(client.get(url))
    threads = [threading.Thread(target=ask) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    grown = peak_mb() - before
print(sorted(a.status_code for a in answers), sorted({{a.json()["frames"] for a in answers}}), round(grown))
"""


@pytest.mark.slow
def test_four_clients_asking_for_a_200_mib_wav_waveform_stay_under_300_mb(tmp_path: Path) -> None:
    script = MEMORY_SCRIPT.format(repo=str(REPO), work=str(tmp_path))
    env_root = tmp_path / "registry"
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "SHANTY_ROOT": str(env_root),
            "SHANTY_SECRET_FILE": str(tmp_path / "secret"),
            "SHANTY_CACHE": str(tmp_path / "cache"),
            "SHANTY_PROGRESS": "0",
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = done.stdout.strip().splitlines()[-1]
    assert line.startswith("[200, 200, 200, 200] [104857600] "), line
    grown = int(line.rsplit(" ", 1)[-1])
    assert grown < 300, f"the app's peak memory grew by {grown} MB for four requests"
