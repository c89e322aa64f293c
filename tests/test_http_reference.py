"""``http(s)://`` references against a real local HTTP server."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import shanty
from shanty.errors import InvalidInputError, NotFoundError


class EtagHandler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_file():
            self.send_header("ETag", f'"{path.stat().st_mtime_ns:x}-{path.stat().st_size:x}"')
        super().end_headers()

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


@pytest.fixture
def site(tmp_path: Path):
    root = tmp_path / "site"
    root.mkdir()
    (root / "song one.wav").write_bytes(b"RIFF web song")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(EtagHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_url_reference_logs_and_downloads(site, tmp_path: Path) -> None:
    _, base = site
    with shanty.init(project="web") as run:
        artifact = shanty.Artifact("remote", type="raw_data")
        (entry,) = artifact.add_reference(f"{base}/song%20one.wav")
        version = run.log_artifact(artifact)
    assert (entry.path, entry.size, entry.object_version) == ("song one.wav", 13, None)
    assert entry.digest and entry.extra["etag"] == entry.digest
    folder = Path(version.download(tmp_path / "dl"))
    assert (folder / "song one.wav").read_bytes() == b"RIFF web song"


def test_missing_url_and_read_only_registry(site) -> None:
    _, base = site
    with pytest.raises(NotFoundError, match="404"):
        shanty.Artifact("remote", type="raw_data").add_reference(f"{base}/absent.wav")
    with pytest.raises(InvalidInputError, match="cannot hold a registry"):
        shanty.Api(f"{base}/registry").projects()
