"""Replicas: any number of ``streamlit run app.py`` processes on one bucket registry behave as one app.

Unit part: where the signing secret comes from (``$SHANTY_SECRET``, checked; else one kept in a bucket
registry, created once however many processes race for it; else the local file) and the media server
noticing a version another writer deleted. End-to-end part: two real app processes on two ports, one
registry on the moto server, a third writer, headless Chromium. A media link one replica's page shows
plays from the other; a version logged or deleted elsewhere shows in a replica within
``REFRESH_SECONDS``, checked as "every look begun after that time sees it".
"""

from __future__ import annotations

import base64
import contextlib
import io
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

import shanty
from dashboard.workspace import REFRESH_SECONDS
from shanty.errors import InvalidInputError, MalformedError, MediaDeniedError
from shanty.media import server as media_server
from shanty.media.server import VERSION_RECHECK, MediaServer
from shanty.media.tokens import REGISTRY_SECRET, load_or_create_secret, registry_secret, signing_secret, verify_media
from shanty.registry import Registry
from shanty.settings import settings
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    TIMEOUT_MS,
    free_port,
    require_chromium,
    start_streamlit,
    stop_process_group,
    wait_healthy,
)
from tests.kits.s3 import S3Kit

PROJECT = "team"


def _wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes((np.sin(np.arange(int(seconds * rate)) * 0.3) * 12000).astype("<i2").tobytes())
    return out.getvalue()


WAV = _wav()


# --- the secret ------------------------------------------------------------------------------------------


def test_the_variable_is_the_secret_in_hex_or_base64(monkeypatch: pytest.MonkeyPatch, s3_kit: S3Kit) -> None:
    key = bytes(range(32))
    registry = Registry(s3_kit.new_bucket(versioned=False) + "/registry")
    for spelling in (
        key.hex(),
        key.hex().upper(),
        base64.b64encode(key).decode(),
        base64.urlsafe_b64encode(key).decode().rstrip("="),
    ):
        monkeypatch.setenv("SHANTY_SECRET", f" {spelling}\n")
        assert settings().secret == key
        assert signing_secret(registry) == key
    assert not registry.storage.exists(registry.uri(REGISTRY_SECRET))  # the variable wins: nothing is created
    assert "secret_text" not in repr(settings())  # a repr may end up in a log


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("00" * 15, "holds 15 bytes, fewer than the 16"),
        ("c2hvcnQ=", "holds 5 bytes, fewer than the 16"),
        ("not a secret at all!", "neither hex nor base64"),
    ],
)
def test_a_bad_variable_is_one_sentence(monkeypatch: pytest.MonkeyPatch, value: str, says: str) -> None:
    monkeypatch.setenv("SHANTY_SECRET", value)
    with pytest.raises(InvalidInputError) as caught:
        settings().secret  # noqa: B018
    message = str(caught.value)
    assert says in message and "openssl rand -hex 32" in message
    assert value not in message and message.count(". ") == 0 and message.endswith(".")


def test_a_local_registry_keeps_the_local_file(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "registry")
    assert signing_secret(registry) == load_or_create_secret(settings().secret_file)
    assert not (tmp_path / "registry" / "secrets").exists()


def test_racing_processes_create_one_registry_secret(registry_root: str, kit) -> None:
    """Eight writers, each with its own Registry (as separate replicas have), start at the same moment."""
    racers = 8
    start = threading.Barrier(racers)

    def race(_: int) -> bytes:
        registry = Registry(registry_root)
        start.wait()
        return registry_secret(registry)

    with ThreadPoolExecutor(racers) as pool:
        keys = set(pool.map(race, range(racers)))
    assert len(keys) == 1 and len(next(iter(keys))) == 32
    registry = Registry(registry_root)
    assert registry_secret(registry) == next(iter(keys))  # created once, read ever after
    if kit.name != "file":  # a bucket registry without the variable signs with it
        assert signing_secret(registry) == next(iter(keys))


def test_racing_os_processes_agree(s3_kit: S3Kit, tmp_path: Path) -> None:
    root = s3_kit.new_bucket(versioned=False) + "/registry"
    script = (
        "import sys, time; from shanty.registry import Registry; from shanty.media.tokens import registry_secret\n"
        "registry = Registry(sys.argv[1]); time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "print(registry_secret(registry).hex())"
    )
    at = time.time() + 3  # every process imports first, then all create at this moment
    runs = [
        subprocess.Popen([sys.executable, "-c", script, root, str(at)], stdout=subprocess.PIPE, text=True, cwd=REPO)
        for _ in range(4)
    ]
    printed = {run.communicate(timeout=60)[0].strip() for run in runs}
    assert all(run.returncode == 0 for run in runs)
    assert printed == {registry_secret(Registry(root)).hex()}


def test_a_damaged_registry_secret_is_one_sentence(s3_kit: S3Kit) -> None:
    registry = Registry(s3_kit.new_bucket(versioned=False) + "/registry")
    registry.storage.write_bytes(registry.uri(REGISTRY_SECRET), b"zz")
    with pytest.raises(MalformedError, match=r"is damaged; delete it and restart every app\.$"):
        registry_secret(registry)


class _Clock:
    """The time module with ``monotonic`` moved on by ``ahead`` seconds (waiting ten real seconds is slow)."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.ahead

    def __getattr__(self, name: str):
        return getattr(time, name)


def test_the_media_server_reads_the_log_again_after_version_recheck(
    s3_kit: S3Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock()
    monkeypatch.setattr(media_server, "time", clock)
    root = s3_kit.new_bucket(versioned=False) + "/registry"
    version = log_clip(root, tmp_path, "doomed")
    server = MediaServer(root, registry_secret(Registry(root)), prefix="/api/media")
    token = server.url_for(version, "clip.wav").split("/")[3]
    server.resolve(token)
    Registry(root).delete_version(version.info, delete_aliases=True)  # another writer
    clock.ahead = VERSION_RECHECK - 1
    server.resolve(token)  # still trusted: within VERSION_RECHECK of the look that read the log
    clock.ahead = VERSION_RECHECK + 0.1
    with pytest.raises(MediaDeniedError):
        server.resolve(token)
    assert VERSION_RECHECK <= REFRESH_SECONDS


# --- two replicas ------------------------------------------------------------------------------------------


def log_clip(root: str, work: Path, name: str) -> shanty.ArtifactVersion:
    """Log ``team/<name>``: one WAV stored by value, as a writer on another machine would."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "clip.wav").write_bytes(WAV)
    artifact = shanty.Artifact(name, type="dataset")
    artifact.add_file(str(work / "clip.wav"))
    with shanty.init(project=PROJECT, job_type="upload", root=root) as run:
        return run.log_artifact(artifact)


@dataclass(frozen=True)
class Replica:
    url: str
    secret_file: Path
    log: Path

    def get(self, path: str) -> tuple[int, bytes]:
        """GET ``path`` (following the redirect to the bucket, as a browser does): status and body."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=20) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


@dataclass(frozen=True)
class Replicas:
    root: str
    work: Path
    a: Replica
    b: Replica


@pytest.fixture(scope="module")
def replicas(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    """Two app processes started at the same moment on one fresh bucket registry holding ``team/songs``
    (a table of one WAV); each has its own cache, config folder and secret file, none shared."""
    require_chromium()
    work = tmp_path_factory.mktemp("replicas").resolve()
    root = S3Kit(s3_endpoint).new_bucket() + "/registry"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHANTY_PROGRESS", "0")
        patch.setenv("SHANTY_CACHE", str(work / "writer-cache"))
        patch.delenv("SHANTY_SECRET", raising=False)
        (work / "song.wav").write_bytes(WAV)
        table = shanty.Table(columns=["name", "audio"], data=[["la", shanty.Audio(str(work / "song.wav"))]])
        artifact = shanty.Artifact("songs", type="dataset")
        artifact.add(table, "songs")
        with shanty.init(project=PROJECT, job_type="upload", root=root) as run:
            run.log_artifact(artifact)
        started: list[tuple[subprocess.Popen, Replica]] = []
        try:
            for name in "ab":
                patch.setenv("SHANTY_CACHE", str(work / name / "cache"))
                patch.setenv("XDG_CONFIG_HOME", str(work / name / "config"))
                port = free_port()
                replica = Replica(f"http://127.0.0.1:{port}", work / name / "app-secret", work / f"{name}.log")
                (work / name).mkdir()
                started.append((start_streamlit(root, replica.secret_file, replica.log, port), replica))
            for process, replica in started:
                wait_healthy(process, replica.url, replica.log)
            yield Replicas(root, work, started[0][1], started[1][1])
        finally:
            for process, _ in started:
                stop_process_group(process)


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def page_on(chromium, replica: Replica) -> Iterator:
    context = chromium.new_context(base_url=replica.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def token_on_page(chromium, replica: Replica) -> str:
    """The media token of the songs table's one audio cell, as ``replica``'s page asks for its waveform."""
    with page_on(chromium, replica) as page, page.expect_request(lambda r: "/api/waveform/" in r.url) as asked:
        page.goto(f"/table?artifact={PROJECT}/songs")
        return urlsplit(asked.value.url).path.rsplit("/", 1)[1]


@pytest.mark.browser
@pytest.mark.slow
def test_replicas_started_at_once_make_one_secret_and_keep_none_on_disk(replicas: Replicas) -> None:
    # Both replicas' first media request at the same moment: each needs the secret, neither finds one.
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda r: r.get("/api/media/not.atoken/x.wav")[0], (replicas.a, replicas.b)))
    assert answers == [403, 403]
    registry = Registry(replicas.root)
    assert registry.storage.exists(registry.uri(REGISTRY_SECRET))
    for replica in (replicas.a, replicas.b):
        assert not replica.secret_file.exists()
        assert not list((replica.secret_file.parent / "config").rglob("*secret*"))


@pytest.mark.browser
@pytest.mark.slow
def test_a_media_link_from_one_replica_plays_from_the_other(replicas: Replicas, chromium) -> None:
    secret = registry_secret(Registry(replicas.root))
    from_a, from_b = token_on_page(chromium, replicas.a), token_on_page(chromium, replicas.b)
    assert verify_media(from_a, secret) == verify_media(from_b, secret)  # one key, one claim per cell
    for token, other in ((from_a, replicas.b), (from_b, replicas.a)):
        assert other.get(f"/api/media/{token}/song.wav") == (200, WAV)
        status, body = other.get(f"/api/waveform/{token}")
        assert status == 200 and b"maxs" in body


@pytest.mark.browser
@pytest.mark.slow
def test_a_version_logged_by_a_third_process_shows_within_refresh_seconds(replicas: Replicas, chromium) -> None:
    from playwright.sync_api import expect

    def shown_artifact() -> str:
        """Open B's Artifacts view afresh (a new session) and read the artifact it opens on: the most
        recently changed one, from the catalog B caches."""
        with page_on(chromium, replicas.b) as page:
            page.goto("/")
            box = page.get_by_role("combobox", name="Artifact", exact=True)
            expect(box).not_to_have_value("")
            return box.input_value()

    assert shown_artifact() == "songs"  # B's catalog is now cached, as old as it can be
    writer = (
        "import sys, shanty; from pathlib import Path; Path('n.txt').write_text('new');"
        "a = shanty.Artifact('fresh', type='dataset'); a.add_file('n.txt');"
        "run = shanty.init(project=sys.argv[2], job_type='upload', root=sys.argv[1]); run.log_artifact(a); run.finish()"
    )
    subprocess.run([sys.executable, "-c", writer, replicas.root, PROJECT], check=True, cwd=replicas.work, timeout=120)
    logged = time.monotonic()
    while True:  # every look begun after REFRESH_SECONDS must see it; earlier ones may
        began = time.monotonic()
        if shown_artifact() == "fresh":
            break
        assert began < logged + REFRESH_SECONDS, f"replica B still opened on 'songs' {began - logged:.1f} s later"
        time.sleep(0.5)


@pytest.mark.browser
@pytest.mark.slow
def test_a_version_deleted_elsewhere_stops_playing_within_refresh_seconds(replicas: Replicas) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHANTY_CACHE", str(replicas.work / "writer-cache"))
        version = log_clip(replicas.root, replicas.work / "doomed", "doomed")
        # Minted as the app mints (the shared secret, the app's prefix): replicas accept any replica's links.
        server = MediaServer(replicas.root, registry_secret(Registry(replicas.root)), prefix="/api/media")
        path = server.url_for(version, "clip.wav")
        assert replicas.b.get(path) == (200, WAV)  # B now trusts the version for VERSION_RECHECK seconds
        Registry(replicas.root).delete_version(version.info, delete_aliases=True)
    deleted = time.monotonic()
    while True:
        began = time.monotonic()
        status, _ = replicas.b.get(path)
        if status == 403:
            break
        assert status == 200
        assert began < deleted + REFRESH_SECONDS, (
            f"replica B still served a deleted version {began - deleted:.1f} s later"
        )
        time.sleep(0.5)
