"""Red-team item 9: a listing and a download ride out a 10 s outage of the S3 server, and resume.

A moto server of this test's own is stopped mid-listing (after the first page) and started again on the
same port 10 s later (moto keeps its buckets in this process, so they are still there). The listing waits
(SHANTY_OUTAGE_SECONDS), then goes on from the page it was at: no page but the first is asked for
without a continuation token. A download whose server goes away before it starts waits in the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from shanty.errors import StorageError
from shanty.progress import Progress
from shanty.storage import reset_storage_cache, s3
from shanty.storage.s3 import S3Storage
from tests.kits.outage import Outages
from tests.kits.s3 import free_port
from tests.kits.s3_helpers import record_calls

OUTAGE_S = 10.0
OBJECTS, PAGE = 300, 25


class Restartable(Outages):
    """A moto server on a fixed port that can be taken down for a while."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.up()

    def up(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def down(self) -> None:
        self.server.stop()

    def stop(self) -> None:
        self.wait_until_back()
        self.server.stop()


@pytest.fixture
def store(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Restartable]:
    server = Restartable()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("SHANTY_OUTAGE_SECONDS", "30")
    monkeypatch.setenv("SHANTY_S3_MAX_ATTEMPTS", "2")  # the SDK's own retries give up within a second
    reset_storage_cache()
    try:
        yield server
    finally:
        server.stop()
        reset_storage_cache()


def test_a_listing_waits_out_a_10_s_outage_and_resumes_from_its_page(
    store: Restartable, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = boto3.client("s3", endpoint_url=store.endpoint)
    admin.create_bucket(Bucket="blip")
    for i in range(OBJECTS):
        admin.put_object(Bucket="blip", Key=f"flat/{i:04d}.wav", Body=f"{i}".encode())
    monkeypatch.setattr(s3, "PAGE_SIZE", PAGE)
    storage = S3Storage()
    calls = record_calls(storage)
    down = threading.Event()

    def first_page_seen(done: int, total: int | None, label: str) -> None:
        if done and not down.is_set():
            down.set()
            store.go_down_for(OUTAGE_S)

    started = time.monotonic()
    found = storage.list_objects("s3://blip/flat/", progress=Progress("listing", sink=first_page_seen))
    took = time.monotonic() - started
    assert down.is_set() and took >= OUTAGE_S  # the outage happened, and was waited out
    assert [info.relpath for info in found] == [f"{i:04d}.wav" for i in range(OBJECTS)]
    pages = [params for name, params, _ in calls if name == "ListObjectsV2"]
    assert sum("ContinuationToken" not in params for params in pages) == 1  # resumed, never restarted
    assert len(pages) > OBJECTS // PAGE  # the failed page was asked for again


def test_a_download_waits_out_an_outage_and_a_longer_one_is_one_sentence(
    store: Restartable, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = boto3.client("s3", endpoint_url=store.endpoint)
    admin.create_bucket(Bucket="blip")
    data = bytes(range(256)) * 4096
    admin.put_object(Bucket="blip", Key="song.wav", Body=data)
    storage = S3Storage()
    store.go_down_for(3.0)
    storage.download("s3://blip/song.wav", None, tmp_path / "song.wav")
    assert (tmp_path / "song.wav").read_bytes() == data
    monkeypatch.setenv("SHANTY_OUTAGE_SECONDS", "1")
    store.outage.join()
    store.go_down_for(4.0)
    with pytest.raises(StorageError, match="Could not reach"):
        S3Storage().download("s3://blip/song.wav", None, tmp_path / "again.wav")
