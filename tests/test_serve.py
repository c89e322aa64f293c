"""MediaServer: signed URLs -> tokens -> what to serve, on every backend (file, S3 on moto, GCS on fake-gcs-server)."""

from __future__ import annotations

import base64
import itertools
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import shanty
from shanty.errors import (
    InvalidInputError,
    InvalidTokenError,
    MediaDeniedError,
    MediaGoneError,
    NotFoundError,
    RangeNotSatisfiableError,
    StorageError,
)
from shanty.media.server import LocalFile, MediaServer, Proxy, Redirect
from shanty.media.tokens import MediaClaim, default_secret_file, sign_media, verify_media

SECRET = b"k" * 32
PREFIX, PREVIEWS = "/m", {"waveform": "/w"}  # the app's routes: the library is told them
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"  # base64url
SONG = bytes(range(256)) * 8  # 2048 bytes: room for suffix and open ranges
MEDIA = {
    "songs/a.wav": SONG,
    "pics/b.png": b"\x89PNG\r\n\x1a\n" + b"p" * 90,
    "clips/c.webm": b"\x1aE\xdf\xa3" + b"w" * 60,
}
PAGE = b"<html><script>alert(document.cookie)</script></html>"


def log_media(kit, registry_root: str, tmp_path: Path, *, versioned: bool = True) -> tuple[shanty.ArtifactVersion, str]:
    """A version referencing MEDIA in a fresh bucket of ``kit`` plus an HTML page stored by value."""
    bucket = kit.new_bucket(versioned=versioned)
    for key, data in MEDIA.items():
        kit.put(f"{bucket}/media/{key}", data)
    page = tmp_path / "page.html"
    page.write_bytes(PAGE)
    with shanty.init(project="songs", job_type="upload", root=registry_root) as run:
        artifact = shanty.Artifact("clips", type="dataset")
        artifact.add_reference(f"{bucket}/media")
        artifact.add_file(page, name="notes/page.html")
        return run.log_artifact(artifact), bucket


def media_server(root, secret: bytes = SECRET, **options) -> MediaServer:
    """A MediaServer minting URLs under this suite's routes."""
    return MediaServer(root, secret, prefix=PREFIX, previews=PREVIEWS, **options)


def token_of(url: str) -> str:
    """The token of ``<prefix>/<token>/<name>[?proxy=1]``."""
    return url.split("?")[0].split("/")[-2]


def fetch(url: str, byte_range: str | None = None) -> tuple[int, bytes]:
    """GET ``url`` over real HTTP, as a browser following the redirect would."""
    request = urllib.request.Request(url, headers={"Range": byte_range} if byte_range else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


def fetch_status(url: str) -> int:
    """The HTTP status a browser would get for ``url``."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def served_bytes(server: MediaServer, url: str) -> bytes:
    """The bytes a browser ends up with for ``url``, whichever way the server serves it."""
    target = server.resolve(token_of(url))
    if isinstance(target, LocalFile):
        return target.path.read_bytes()
    if isinstance(target, Redirect):
        return fetch(target.url)[1]
    stream = server.open_stream(target)
    try:
        return b"".join(stream)
    finally:
        stream.close()


def read_range(server: MediaServer, target: Proxy, start: int, end: int) -> bytes:
    stream = server.open_stream(target, start, end)
    try:
        return b"".join(stream)
    finally:
        stream.close()


@pytest.fixture
def local(tmp_path: Path, file_kit) -> tuple[MediaServer, shanty.ArtifactVersion, str]:
    """A local registry with a local bucket: the quick setting for token checks."""
    version, bucket = log_media(file_kit, str(tmp_path / "registry"), tmp_path)
    return media_server(tmp_path / "registry"), version, bucket


# --- every backend -----------------------------------------------------------------------------------
def test_reference_entries_resolve_to_their_bytes(kit, registry_root: str, tmp_path: Path) -> None:
    version, bucket = log_media(kit, registry_root, tmp_path)
    server = media_server(registry_root)
    for key, data in MEDIA.items():
        name = key.split("/")[-1]
        target = server.resolve(token_of(server.url_for(version, key)))
        if kit.name == "file":
            assert isinstance(target, LocalFile)
            assert target.path == Path(bucket.removeprefix("file://")) / "media" / key
            assert (target.size, target.filename) == (len(data), name)
        else:
            assert isinstance(target, Redirect)
            assert fetch(target.url) == (200, data)
        assert served_bytes(server, server.url_for(version, key)) == data
    types = {key: server.resolve(token_of(server.url_for(version, key))).content_type for key in MEDIA}
    assert types == {"songs/a.wav": "audio/wav", "pics/b.png": "image/png", "clips/c.webm": "video/webm"}


def test_by_value_entries_come_from_the_registry(kit, registry_root: str, tmp_path: Path) -> None:
    version, _ = log_media(kit, registry_root, tmp_path)
    (tmp_path / "page.html").unlink()  # the source file is irrelevant once logged
    server = media_server(registry_root)
    target = server.resolve(token_of(server.url_for(version, "notes/page.html")))
    if kit.name == "file":
        assert isinstance(target, LocalFile)
        assert target.path.is_relative_to(Path(registry_root) / "objects" / "md5")
    else:
        assert isinstance(target, Redirect)
    assert target.content_type == "text/html"
    assert served_bytes(server, server.url_for(version, "notes/page.html")) == PAGE


def test_the_recorded_version_is_served_after_an_overwrite(kit, registry_root: str, tmp_path: Path) -> None:
    version, bucket = log_media(kit, registry_root, tmp_path, versioned=True)
    kit.put(f"{bucket}/media/songs/a.wav", b"a different song, same name")
    url = media_server(registry_root).url_for(version, "songs/a.wav")
    for server in (media_server(registry_root), media_server(registry_root, proxy=True)):
        if kit.name == "file":  # a file system keeps no old versions: refuse rather than serve other bytes
            with pytest.raises(MediaGoneError, match="changed"):
                server.resolve(token_of(url))
        else:
            assert served_bytes(server, url) == SONG


def test_proxy_mode_relays_ranges_of_the_recorded_version(kit, registry_root: str, tmp_path: Path) -> None:
    version, bucket = log_media(kit, registry_root, tmp_path)
    server = media_server(registry_root, proxy=True)
    target = server.resolve(token_of(server.url_for(version, "songs/a.wav")))
    if kit.name == "file":  # local files are always streamed by the app itself
        assert isinstance(target, LocalFile)
        return
    assert isinstance(target, Proxy)
    assert (target.uri, target.size, target.content_type) == (f"{bucket}/media/songs/a.wav", len(SONG), "audio/wav")
    assert target.version == version.manifest.entries["songs/a.wav"].object_version
    kit.put(f"{bucket}/media/songs/a.wav", b"overwritten")
    assert read_range(server, target, 0, 10) == SONG[:10]
    assert read_range(server, target, 100, len(SONG)) == SONG[100:]
    assert read_range(server, target, len(SONG) - 500, len(SONG)) == SONG[-500:]
    with pytest.raises(RangeNotSatisfiableError):
        server.open_stream(target, 10, len(SONG) + 1)
    # A redirecting server relays too when the URL asks for it.
    plain = media_server(registry_root)
    assert isinstance(plain.resolve(token_of(plain.url_for(version, "songs/a.wav"))), Redirect)
    assert isinstance(plain.resolve(token_of(plain.url_for(version, "songs/a.wav")), proxy=True), Proxy)


@pytest.mark.parametrize("proxy", [True, False])
def test_an_object_replaced_in_an_unversioned_store_is_gone(
    kit, registry_root: str, tmp_path: Path, proxy: bool
) -> None:
    version, bucket = log_media(kit, registry_root, tmp_path, versioned=False)
    server = media_server(registry_root, proxy=proxy)
    url = server.url_for(version, "songs/a.wav")
    assert served_bytes(server, url) == SONG
    kit.put(f"{bucket}/media/songs/a.wav", b"replaced in place")
    fresh = media_server(registry_root, proxy=proxy)  # no "checked a moment ago" left from the first request
    if kit.name == "gcs" and not proxy:  # the URL is pinned to the logged generation, which is gone
        target = fresh.resolve(token_of(url))
        assert isinstance(target, Redirect) and fetch_status(target.url) == 404
        return
    # Relay: If-Match on the ETag (S3), the generation is gone (GCS), the digest (file). Redirect (S3): a
    # presigned URL would serve the new bytes, so the server checks the object before redirecting.
    with pytest.raises(MediaGoneError):
        target = fresh.resolve(token_of(url))
        fresh.open_stream(target).close()


def test_a_store_that_cannot_presign_is_relayed_by_ranges(
    kit, registry_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version, _ = log_media(kit, registry_root, tmp_path)
    # GCS with user credentials (no service account) cannot sign; that login cannot run here.
    monkeypatch.setattr(kit.storage, "signed_url", lambda *args, **kwargs: None)
    server = media_server(registry_root)
    for key in ("songs/a.wav", "notes/page.html"):
        target = server.resolve(token_of(server.url_for(version, key)))
        if kit.name == "file":
            assert isinstance(target, LocalFile)
            continue
        assert isinstance(target, Proxy)
        data = MEDIA.get(key, PAGE)
        assert read_range(server, target, 3, 13) == data[3:13]
        assert read_range(server, target, 0, target.size) == data
    assert not (tmp_path / "cache").exists()  # ranges are relayed, never whole objects downloaded first


class ScriptedHandler(BaseHTTPRequestHandler):
    """A web server whose GET answer the test sets (``server.answer``); HEAD always describes SONG."""

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(SONG)))
        self.send_header("ETag", '"song-etag"')
        self.end_headers()

    def do_GET(self) -> None:
        status, headers, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def scripted_web(tmp_path: Path) -> Iterator[tuple[ThreadingHTTPServer, MediaServer, Proxy]]:
    """A web reference logged from a scripted server, resolved for relaying."""
    web = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        with shanty.init(project="web", root=tmp_path / "registry") as run:
            artifact = shanty.Artifact("remote", type="dataset")
            artifact.add_reference(f"http://127.0.0.1:{web.server_address[1]}/song.wav")
            version = run.log_artifact(artifact)
        server = media_server(tmp_path / "registry", proxy=True)
        target = server.resolve(token_of(server.url_for(version, "song.wav")))
        assert isinstance(target, Proxy)
        yield web, server, target
    finally:
        web.shutdown()
        web.server_close()


def test_relayed_answers_of_a_store_map_to_bytes_gone_or_failure(scripted_web) -> None:
    web, server, target = scripted_web
    web.answer = (206, {"Content-Range": f"bytes 3-12/{len(SONG)}"}, SONG[3:13])
    assert read_range(server, target, 3, 13) == SONG[3:13]
    web.answer = (200, {}, SONG)  # Range ignored: the whole object comes, the relay cuts it
    assert read_range(server, target, 3, 13) == SONG[3:13]
    for status in (404, 410, 412):
        web.answer = (status, {}, b"gone")
        with pytest.raises(MediaGoneError):
            server.open_stream(target, 0, 10)
    web.answer = (206, {"Content-Range": f"bytes 0-12/{len(SONG)}"}, SONG[:13])  # starts early: cut
    assert read_range(server, target, 3, 13) == SONG[3:13]
    web.answer = (206, {"Content-Range": f"bytes 5-14/{len(SONG)}"}, SONG[5:15])  # starts late: refused
    with pytest.raises(StorageError, match="another byte range"):
        server.open_stream(target, 3, 13)
    web.answer = (500, {}, b"down")
    with pytest.raises(StorageError):
        server.open_stream(target, 0, 10)
    web.answer = (200, {}, SONG[:100])  # the object shrank: never passed off as the recorded one
    with pytest.raises(StorageError, match="fewer bytes"), server.open_stream(target) as stream:
        stream.read()
    web.answer = (200, {"Content-Length": str(len(SONG))}, SONG[:100])  # the connection breaks off
    with pytest.raises(StorageError), server.open_stream(target) as stream:
        stream.read()


# --- tokens (one backend suffices: the checks happen before any store is touched) ---------------------
def test_url_for_signs_the_entry_for_at_least_ttl(local) -> None:
    server, version, _ = local
    before = time.time()
    url = server.url_for(version, "songs/a.wav", ttl=600)
    assert url.startswith(f"{PREFIX}/") and url.endswith("/a.wav")
    claim = verify_media(token_of(url), SECRET)
    assert (claim.project, claim.artifact, claim.version) == ("songs", "clips", 0)
    # The token is readable base64: it must name the entry by an opaque id, never by its path.
    assert claim.path.startswith("#") and "songs" not in claim.path and "a.wav" not in claim.path
    assert "songs/a.wav" not in base64.urlsafe_b64decode(token_of(url).split(".")[0] + "==").decode()
    assert before + 600 <= claim.expires <= before + 1200
    assert server.url_for(version, "songs/a.wav", ttl=600) == url  # stable across Streamlit reruns
    assert server.url_for(version.info, "songs/a.wav", ttl=600) == url
    default = verify_media(token_of(server.url_for(version, "songs/a.wav")), SECRET)
    assert default.expires >= before + 12 * 3600  # a page left open for hours still plays
    assert server.url_for(version, "songs/a.wav", proxy=True).endswith("/a.wav?proxy=1")


def test_cell_urls_mint_the_previews_beside_the_media_url(local) -> None:
    server, version, _ = local
    urls = server.cell_urls(version, "songs/a.wav", ["waveform"])
    assert set(urls) == {"url", "waveform"}
    assert urls["url"] == server.url_for(version, "songs/a.wav")
    assert urls["waveform"] == f"{PREVIEWS['waveform']}/{token_of(urls['url'])}"  # one token, both routes
    assert server.cell_urls(version, "songs/a.wav") == {"url": urls["url"]}
    with pytest.raises(InvalidInputError, match="thumbnail"):
        server.cell_urls(version, "songs/a.wav", ["thumbnail"])


def test_url_for_refuses_what_it_cannot_serve(local, tmp_path: Path) -> None:
    server, version, _ = local
    with pytest.raises(NotFoundError, match="no entry"):
        server.url_for(version, "songs/missing.wav")
    with pytest.raises(InvalidInputError):
        server.url_for(version, "songs/a.wav", ttl=0)
    other = media_server(tmp_path / "elsewhere")
    with pytest.raises(InvalidInputError, match="belongs to"):
        other.url_for(version, "songs/a.wav")
    with pytest.raises(InvalidInputError, match="secret"):
        media_server(tmp_path / "registry", b"short")
    assert "k" * 8 not in repr(server) and "6b6b" not in repr(server)


def test_file_names_in_urls_are_quoted(tmp_path: Path, file_kit) -> None:
    bucket = file_kit.new_bucket()
    file_kit.put(f"{bucket}/chant de baleine #1?.wav", b"x")
    with shanty.init(project="songs", root=tmp_path / "registry") as run:
        artifact = shanty.Artifact("odd", type="dataset")
        artifact.add_reference(bucket)
        version = run.log_artifact(artifact)
    url = media_server(tmp_path / "registry").url_for(version, "chant de baleine #1?.wav")
    assert url.endswith("/chant%20de%20baleine%20%231%3F.wav")


def claim_token(logged: shanty.ArtifactVersion, path: str = "songs/a.wav", **changes) -> str:
    """A genuine token (signed with the server's secret) for any claim, sensible or not."""
    fields = {"project": "songs", "artifact": "clips", "version": logged.info.index, "path": path}
    fields["version_id"] = logged.info.id
    fields = {**fields, "expires": int(time.time()) + 60, **changes}
    return sign_media(MediaClaim(**fields), SECRET)


def test_forged_expired_and_foreign_tokens_are_refused(local) -> None:
    server, version, _ = local
    good = token_of(server.url_for(version, "songs/a.wav"))
    payload, signature = good.split(".")
    other = token_of(media_server(server.registry, b"o" * 32).url_for(version, "songs/a.wav"))
    forged = base64.urlsafe_b64encode(json.dumps(["songs", "clips", 0, "pics/b.png", 2**40]).encode()).decode()
    for token in (other, f"{forged.rstrip('=')}.{signature}", "", "a.b.c", "e30.AAAA"):
        with pytest.raises(InvalidTokenError):
            server.resolve(token)
    # Every single-character change of the signature is refused, whichever bits it touches.
    for index, char in itertools.product(range(len(signature)), ALPHABET):
        if char != signature[index]:
            with pytest.raises(InvalidTokenError, match="not issued"):
                server.resolve(f"{payload}.{signature[:index]}{char}{signature[index + 1 :]}")
    # The last character carries 4 unused bits: this spelling decodes to the very same signature bytes.
    same_bytes = signature[:-1] + ALPHABET[ALPHABET.index(signature[-1]) ^ 1]
    assert base64.urlsafe_b64decode(same_bytes + "==") == base64.urlsafe_b64decode(signature + "==")
    with pytest.raises(InvalidTokenError, match="not issued"):
        server.resolve(f"{payload}.{same_bytes}")
    for payload_spelling in (payload + "=", payload + "!", payload + "\n"):  # same bytes, other strings
        with pytest.raises(InvalidTokenError, match="malformed"):
            server.resolve(f"{payload_spelling}.{signature}")
    with pytest.raises(InvalidTokenError, match="expired"):
        server.resolve(claim_token(version, expires=int(time.time()) - 1))
    with pytest.raises(InvalidTokenError, match="expired"):
        server.resolve(good, now=time.time() + 13 * 3600)


@pytest.mark.parametrize(
    "changes",
    [
        {"path": "songs/missing.wav"},
        {"path": "../../../../etc/passwd"},
        {"path": "/etc/passwd"},
        {"path": "songs/../songs/a.wav"},  # the manifest key is exact: no normalisation, no aliasing
        {"version": 7},
        {"version": -1},
        {"artifact": "nope"},
        {"project": "elsewhere"},
        {"project": "../songs"},
        {"artifact": "clips/../clips"},
    ],
)
def test_genuine_tokens_naming_nothing_logged_are_denied(local, changes: dict) -> None:
    server, version, _ = local
    with pytest.raises(MediaDeniedError) as info:
        server.resolve(claim_token(version, **changes))
    assert "/" not in str(info.value)  # the answer names no path


def test_local_files_changed_or_deleted_after_logging_are_gone(local, tmp_path: Path, file_kit) -> None:
    server, version, bucket = local
    song = Path(bucket.removeprefix("file://")) / "media" / "songs" / "a.wav"
    song.write_bytes(SONG[::-1])  # same size, other bytes
    with pytest.raises(MediaGoneError, match="changed"):
        server.resolve(claim_token(version))
    song.write_bytes(SONG)
    assert isinstance(server.resolve(claim_token(version)), LocalFile)
    song.unlink()
    with pytest.raises(MediaGoneError, match="no longer exists"):
        server.resolve(claim_token(version))
    # checksum=False records a size+mtime fingerprint: a touch counts as a change
    other = file_kit.new_bucket()
    file_kit.put(f"{other}/x.wav", b"quick")
    with shanty.init(project="songs", root=tmp_path / "registry") as run:
        artifact = shanty.Artifact("quick", type="dataset")
        artifact.add_reference(other, checksum=False)
        quick = run.log_artifact(artifact)
    token = token_of(server.url_for(quick, "x.wav"))
    assert isinstance(server.resolve(token), LocalFile)
    path = Path(other.removeprefix("file://")) / "x.wav"
    os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns + 10**9))
    with pytest.raises(MediaGoneError):
        server.resolve(token)
    assert isinstance(media_server(server.registry, verify_local=False).resolve(token), LocalFile)


def test_a_missing_by_value_object_is_gone(local) -> None:
    server, version, _ = local
    target = server.resolve(claim_token(version, path="notes/page.html"))
    target.path.unlink()
    with pytest.raises(MediaGoneError):
        server.resolve(claim_token(version, path="notes/page.html"))


def test_default_secret_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SHANTY_SECRET_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert default_secret_file() == tmp_path / "config" / "shanty" / "app-secret"
    monkeypatch.setenv("SHANTY_SECRET_FILE", str(tmp_path / "s"))
    assert default_secret_file() == tmp_path / "s"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.delenv("SHANTY_SECRET_FILE")
    assert default_secret_file() == Path.home() / ".config" / "shanty" / "app-secret"
