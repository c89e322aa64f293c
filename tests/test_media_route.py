"""The media route over HTTP: Starlette's TestClient on an app built from ``media_routes``.

Bucket redirects are followed with urllib against the real moto / fake-gcs-server.
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
import urllib.request
import warnings
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import httpx
import pytest
from starlette.applications import Starlette

import shanty
from dashboard.routes import MEDIA_PREFIX, WAVEFORM_PREFIX
from dashboard.routes import media as media_route
from dashboard.routes.media import (
    SECURITY_HEADERS,
    cell_urls,
    media_routes,
    media_url,
    server_for,
    server_from_environment,
)
from dashboard.routes.waveform import waveform_routes
from shanty.media.server import MediaServer
from shanty.media.tokens import MediaClaim, sign_media
from tests.test_serve import ALPHABET, MEDIA, PAGE, SECRET, SONG, log_media, token_of

with warnings.catch_warnings():  # starlette 1.x would rather use httpx2, which is not installed
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

SIZE = len(SONG)


def client_for(server: MediaServer) -> TestClient:
    return TestClient(Starlette(routes=media_routes(lambda: server)), follow_redirects=False)


def assert_secured(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "sandbox" in response.headers["content-security-policy"]


@pytest.fixture
def local(tmp_path: Path, file_kit) -> Iterator[tuple[TestClient, MediaServer, shanty.ArtifactVersion, str]]:
    version, bucket = log_media(file_kit, str(tmp_path / "registry"), tmp_path)
    server = server_for(tmp_path / "registry", SECRET)
    with client_for(server) as client:
        yield client, server, version, bucket


# --- local files: bytes, ranges, HEAD -----------------------------------------------------------------
def test_full_get_serves_the_bytes_with_type_and_headers(local) -> None:
    client, server, version, _ = local
    response = client.get(server.url_for(version, "songs/a.wav"))
    assert (response.status_code, response.content) == (200, SONG)
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-disposition"] == "inline; filename=\"a.wav\"; filename*=UTF-8''a.wav"
    assert_secured(response)
    for key, kind in (("pics/b.png", "image/png"), ("clips/c.webm", "video/webm")):
        response = client.get(server.url_for(version, key))
        assert (response.content, response.headers["content-type"]) == (MEDIA[key], kind)
    bare = server.url_for(version, "songs/a.wav").rsplit("/", 1)[0]  # the file name is cosmetic
    assert client.get(bare).content == SONG
    assert client.get(bare + "/whatever.bin").content == SONG


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 10),
        ("bytes=-500", SIZE - 500, SIZE),
        ("bytes=100-", 100, SIZE),
        ("bytes=2040-9999", 2040, SIZE),
    ],
)
def test_ranges(local, header: str, start: int, end: int) -> None:
    client, server, version, _ = local
    response = client.get(server.url_for(version, "songs/a.wav"), headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{SIZE}"
    assert response.headers["content-length"] == str(end - start)
    assert response.content == SONG[start:end]
    assert_secured(response)


@pytest.mark.parametrize(
    "header",
    ["bytes=0-1,5-6", "bytes=9-5", "bytes=x-", "lines=0-9", "bytes=" + "9" * 4400 + "-", "bytes=-" + "1" * 5000],
)
def test_ranges_we_do_not_serve_get_the_whole_file(local, header: str) -> None:
    client, server, version, _ = local
    response = client.get(server.url_for(version, "songs/a.wav"), headers={"Range": header})
    assert (response.status_code, response.content) == (200, SONG)


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 5}-{SIZE + 9}", "bytes=-0"])
def test_unsatisfiable_range_is_416(local, header: str) -> None:
    client, server, version, _ = local
    response = client.get(server.url_for(version, "songs/a.wav"), headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{SIZE}"
    assert_secured(response)


def test_head(local) -> None:
    client, server, version, _ = local
    url = server.url_for(version, "songs/a.wav")
    response = client.head(url)
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["content-length"] == str(SIZE)
    assert response.headers["content-type"] == "audio/wav"
    ranged = client.head(url, headers={"Range": "bytes=-10"})
    assert (ranged.status_code, ranged.headers["content-range"]) == (206, f"bytes {SIZE - 10}-{SIZE - 1}/{SIZE}")
    assert client.post(url).status_code == 405


def test_uploaded_html_cannot_run_in_our_origin(local) -> None:
    client, server, version, _ = local
    response = client.get(server.url_for(version, "notes/page.html"))
    assert response.content == PAGE
    assert response.headers["content-disposition"].startswith("attachment;")
    assert_secured(response)  # nosniff + CSP sandbox (no script, unique origin) even if opened directly


# --- refusals -----------------------------------------------------------------------------------------
def test_forged_expired_and_unknown_tokens_are_403(local) -> None:
    client, server, version, _ = local
    good = token_of(server.url_for(version, "songs/a.wav"))
    payload, signature = good.split(".")
    foreign = server_for(server.registry, b"f" * 32).url_for(version, "songs/a.wav")
    expired = sign_media(MediaClaim("songs", "clips", 0, "songs/a.wav", int(time.time()) - 1), SECRET)
    unknown = sign_media(MediaClaim("songs", "clips", 3, "songs/a.wav", int(time.time()) + 60), SECRET)
    # Every spelling of the last character but the issued one, including those decoding to the same bytes.
    last_chars = [f"/api/media/{payload}.{signature[:-1]}{c}" for c in ALPHABET if c != signature[-1]]
    for url, reason in [
        *((url, "not issued") for url in last_chars),
        (foreign, "not issued"),
        (f"/api/media/{expired}/a.wav", "expired"),
        (f"/api/media/{unknown}", "version"),
        ("/api/media/garbage", "malformed"),
    ]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert reason in response.text
        assert response.headers["content-type"].startswith("text/plain")
        assert response.headers["cache-control"] == "no-store"
        assert_secured(response)


def test_traversal_is_impossible(local, tmp_path: Path) -> None:
    client, server, version, _ = local
    (tmp_path / "outside.txt").write_text("TOP SECRET")
    good = server.url_for(version, "songs/a.wav").rsplit("/", 1)[0]
    attempts = [
        "/api/media/../../outside.txt",
        "/api/media/..%2F..%2Foutside.txt",
        "/api/media/%2e%2e%2f%2e%2e%2foutside.txt",
        "/api/media/%252e%252e%252foutside.txt",
        "/api/media/..%5C..%5Coutside.txt",
        "/api/media/" + str(tmp_path / "outside.txt").replace("/", "%2F"),
    ]
    for url in attempts:
        response = client.get(url)
        assert response.status_code in (403, 404), url
        assert "TOP SECRET" not in response.text
    # Even a token signed with the app's own secret cannot name a path: it is only a manifest key.
    for path in ("../outside.txt", "../../outside.txt", str(tmp_path / "outside.txt"), "songs/../../outside.txt"):
        token = sign_media(MediaClaim("songs", "clips", 0, path, int(time.time()) + 60), SECRET)
        response = client.get(f"/api/media/{token}")
        assert response.status_code == 403 and "TOP SECRET" not in response.text
    # The trailing file name is cosmetic: it never selects a file.
    for suffix in ("/..%2F..%2Foutside.txt", "/%2e%2e", "/outside.txt", "/%2e%2e%5coutside.txt"):
        response = client.get(good + suffix)
        assert response.content == SONG if response.status_code == 200 else response.status_code == 404


def test_vanished_objects_are_404(local) -> None:
    client, server, version, bucket = local
    page = server.resolve(token_of(server.url_for(version, "notes/page.html")))
    page.path.unlink()
    response = client.get(server.url_for(version, "notes/page.html"))
    assert response.status_code == 404 and "no longer exists" in response.text
    Path(bucket.removeprefix("file://"), "media", "songs", "a.wav").write_bytes(b"changed")
    response = client.get(server.url_for(version, "songs/a.wav"))
    assert response.status_code == 404 and "changed" in response.text
    assert_secured(response)


# --- buckets: redirect and proxy, every backend -------------------------------------------------------
def test_redirect_serves_the_recorded_version_after_an_overwrite(kit, registry_root: str, tmp_path: Path) -> None:
    version, bucket = log_media(kit, registry_root, tmp_path, versioned=True)
    server = server_for(registry_root, SECRET)
    url = server.url_for(version, "songs/a.wav")
    with client_for(server) as client:
        if kit.name == "file":
            assert client.get(url).content == SONG
            return
        kit.put(f"{bucket}/media/songs/a.wav", b"overwritten later")
        response = client.get(url)
        assert response.status_code == 307
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
        location = response.headers["location"]
        assert location.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(location, timeout=10) as fetched:
            assert fetched.read() == SONG
        ranged = urllib.request.Request(location, headers={"Range": "bytes=0-9"})
        with urllib.request.urlopen(ranged, timeout=10) as fetched:
            assert (fetched.status, fetched.read()) == (206, SONG[:10])
        by_value = client.get(server.url_for(version, "notes/page.html"))
        with urllib.request.urlopen(by_value.headers["location"], timeout=10) as fetched:
            assert fetched.read() == PAGE


@pytest.mark.parametrize("how", ["server", "query"])
def test_proxy_streams_the_recorded_version(kit, registry_root: str, tmp_path: Path, how: str) -> None:
    version, bucket = log_media(kit, registry_root, tmp_path, versioned=True)
    server = server_for(registry_root, SECRET, proxy=how == "server")
    url = server.url_for(version, "songs/a.wav", proxy=how == "query")
    kit.put(f"{bucket}/media/songs/a.wav", b"overwritten later")
    with client_for(server) as client:
        response = client.get(url)
        if kit.name == "file":  # no old versions on a file system: refuse, never serve other bytes
            assert response.status_code == 404
            return
        assert (response.status_code, response.content) == (200, SONG)
        assert response.headers["content-type"] == "audio/wav"
        assert response.headers["content-length"] == str(SIZE)
        assert_secured(response)
        for header, start, end in [("bytes=0-9", 0, 10), ("bytes=-500", SIZE - 500, SIZE), ("bytes=100-", 100, SIZE)]:
            response = client.get(url, headers={"Range": header})
            assert (response.status_code, response.content) == (206, SONG[start:end])
            assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{SIZE}"
        etag = response.headers["etag"]
        stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
        assert (stale.status_code, stale.content) == (200, SONG)
        fresh = client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
        assert (fresh.status_code, fresh.content) == (206, SONG[:10])
        assert client.get(url, headers={"Range": f"bytes={SIZE}-"}).status_code == 416
        head = client.head(url, headers={"Range": "bytes=0-9"})
        assert (head.status_code, head.content, head.headers["content-length"]) == (206, b"", "10")
        page = client.get(server.url_for(version, "notes/page.html", proxy=how == "query"))
        assert (page.content, page.headers["content-type"]) == (PAGE, "text/html; charset=utf-8")


def test_proxy_of_a_deleted_object_is_404(kit, registry_root: str, tmp_path: Path) -> None:
    version, bucket = log_media(kit, registry_root, tmp_path, versioned=False)
    kit.delete(f"{bucket}/media/clips/c.webm")
    server = server_for(registry_root, SECRET, proxy=True)
    with client_for(server) as client:
        response = client.get(server.url_for(version, "clips/c.webm"))
    assert response.status_code == 404
    assert "127.0.0.1" not in response.text and "c.webm" not in response.text


class QuietHandler(SimpleHTTPRequestHandler):
    """A plain web server that ignores Range: the relay must slice the bytes itself."""

    def log_message(self, *args) -> None:
        pass


def test_web_references_are_sliced_when_the_server_ignores_range(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "song.wav").write_bytes(SONG)
    web = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{web.server_address[1]}"
        with shanty.init(project="web", root=tmp_path / "registry") as run:
            artifact = shanty.Artifact("remote", type="dataset")
            artifact.add_reference(f"{base}/song.wav")
            version = run.log_artifact(artifact)
        server = server_for(tmp_path / "registry", SECRET)
        with client_for(server) as client:
            redirect = client.get(server.url_for(version, "song.wav"))  # a public URL: the browser may go there
            assert (redirect.status_code, redirect.headers["location"]) == (307, f"{base}/song.wav")
            url = server.url_for(version, "song.wav", proxy=True)
            for header, start, end in [
                ("bytes=5-9", 5, 10),
                ("bytes=-300", SIZE - 300, SIZE),
                ("bytes=1000-", 1000, SIZE),
            ]:
                response = client.get(url, headers={"Range": header})
                assert (response.status_code, response.content) == (206, SONG[start:end])
            assert client.get(url).content == SONG
    finally:
        web.shutdown()
        web.server_close()


# --- plumbing -----------------------------------------------------------------------------------------
def test_slow_resolution_does_not_block_the_event_loop(local) -> None:
    _, server, version, _ = local
    gate, calls = threading.Event(), itertools.count()
    waited: list[bool] = []

    class GatedServer(MediaServer):
        """The first request waits until a second one has been resolved: only possible off the loop."""

        def resolve(self, token: str, **kwargs):
            if next(calls) == 0:
                waited.append(gate.wait(5))
            else:
                gate.set()
            return super().resolve(token, **kwargs)

    gated = GatedServer(server.registry, SECRET, prefix=MEDIA_PREFIX)
    app = Starlette(routes=media_routes(lambda: gated))
    url = server.url_for(version, "songs/a.wav")

    async def main() -> list[int]:
        statuses: list[int] = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:

            async def get(delay: float) -> None:
                await anyio.sleep(delay)
                statuses.append((await client.get(url)).status_code)

            async with anyio.create_task_group() as group:
                group.start_soon(get, 0)
                group.start_soon(get, 0.2)
        return statuses

    assert anyio.run(main) == [200, 200]
    assert waited == [True]


def test_media_url_outside_a_script_run_is_the_path(local) -> None:
    _, server, version, _ = local
    assert media_url(version, "songs/a.wav", server=server) == server.url_for(version, "songs/a.wav")
    assert media_url(version, "songs/a.wav", server=server, absolute=False).startswith("/api/media/")


def test_server_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file_kit) -> None:
    version, _ = log_media(file_kit, str(tmp_path / "registry"), tmp_path)
    monkeypatch.setenv("SHANTY_ROOT", str(tmp_path / "registry"))
    monkeypatch.setenv("SHANTY_SECRET_FILE", str(tmp_path / "conf" / "secret"))
    monkeypatch.setenv("SHANTY_MEDIA_PROXY", "1")
    server = server_from_environment()
    try:
        assert server is server_from_environment()
        assert (server.registry.root, server.proxy) == (f"file://{tmp_path}/registry", True)
        assert (tmp_path / "conf" / "secret").stat().st_mode & 0o777 == 0o600
        secret = (tmp_path / "conf" / "secret").read_text().strip()
        assert secret not in repr(server)
        with TestClient(Starlette(routes=media_routes(server_from_environment))) as client:
            assert client.get(media_url(version, "songs/a.wav")).content == SONG
        monkeypatch.delenv("SHANTY_ROOT")  # a changed environment gets its own server, never a stale one
        assert server_from_environment().registry.root == f"file://{media_route.DEMO_ROOT}"
    finally:
        media_route._server.cache_clear()


def test_cell_urls_put_the_waveform_beside_the_media_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file_kit
) -> None:
    version, _ = log_media(file_kit, str(tmp_path / "registry"), tmp_path)
    monkeypatch.setenv("SHANTY_ROOT", str(tmp_path / "registry"))
    try:
        urls = cell_urls(version, "songs/a.wav", ["waveform"])
        assert urls["url"] == media_url(version, "songs/a.wav") and urls["url"].startswith(f"{MEDIA_PREFIX}/")
        assert urls["waveform"] == f"{WAVEFORM_PREFIX}/{token_of(urls['url'])}"
        routes = [*media_routes(server_from_environment), *waveform_routes()]
        with TestClient(Starlette(routes=routes)) as client:
            assert client.get(urls["url"]).content == SONG
            response = client.get(urls["waveform"])
            assert (response.status_code, response.json()) == (200, None)  # SONG is no WAV: no waveform
            assert client.get(f"{WAVEFORM_PREFIX}/forged.token").status_code == 403
    finally:
        media_route._server.cache_clear()
