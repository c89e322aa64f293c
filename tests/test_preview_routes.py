"""The preview routes over real files: spectrogram PNGs and waveforms for FLAC and MP3 cells, poster JPEGs
for video cells, on every backend; the shared token checks, cache, size limit and decode slots."""

from __future__ import annotations

import io
import json
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from starlette.applications import Starlette

import shanty
from dashboard.routes import POSTER_PREFIX, PREVIEW_PREFIXES, SPECTROGRAM_PREFIX, WAVEFORM_PREFIX, previews
from dashboard.routes import media as media_route
from dashboard.routes.media import cell_urls, server_from_environment
from dashboard.routes.poster import poster_routes
from dashboard.routes.spectrogram import spectrogram_routes
from dashboard.routes.waveform import waveform_routes
from dashboard.widgets.media_links import sign_cell
from shanty.media.spectrogram import spectrogram_png
from tests.kits.audio import encode, encode_video, pattern, reader, tone

with warnings.catch_warnings():  # starlette 1.x would rather use httpx2, which is not installed
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

RATE = 16_000
SONG = pattern(RATE, part_s=1.0)  # 4 s: loud, silence, quiet, silence
FILES = {
    "song.flac": encode(SONG, RATE, "flac"),
    "song.mp3": encode(SONG, RATE, "mp3"),
    "clip.mp4": encode_video(seconds=2.0, fps=10),
    "notes.txt": b"no audio here\n" * 100,
}


@dataclass
class Served:
    client: TestClient
    version: shanty.ArtifactVersion

    def urls(self, name: str, *names: str) -> dict[str, str]:
        return cell_urls(self.version, name, names)


def routes() -> list:
    return [*waveform_routes(), *spectrogram_routes(), *poster_routes()]


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """A logged version referencing FILES in a local folder, and a client of the three preview routes."""
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    for name, data in FILES.items():
        (bucket / name).write_bytes(data)
    with shanty.init(project="p", root=str(tmp_path / "registry")) as run:
        artifact = shanty.Artifact("clips", type="raw_data")
        artifact.add_reference(str(bucket))
        table = shanty.Table(columns=["audio", "video"])
        table.add_data(shanty.Audio(str(bucket / "song.flac")), shanty.Video(str(bucket / "clip.mp4")))
        artifact.add(table, "cells")
        version = run.log_artifact(artifact)
    monkeypatch.setenv("SHANTY_ROOT", str(tmp_path / "registry"))
    previews.clear_cache()
    try:
        with TestClient(Starlette(routes=routes())) as client:
            yield Served(client, version)
    finally:
        media_route._server.cache_clear()
        previews.clear_cache()


def png_of(response) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


@pytest.mark.parametrize("name", ["song.flac", "song.mp3"])
def test_flac_and_mp3_cells_get_a_spectrogram_and_a_waveform(served: Served, name: str) -> None:
    urls = served.urls(name, "waveform", "spectrogram")
    picture = png_of(served.client.get(urls["spectrogram"]))
    assert picture.size == (400, 128)
    brightest = np.asarray(picture.convert("L"), dtype=float).max(axis=0)  # per column
    # The song is loud, silent, quiet, silent, a second each: the silent quarters are dark.
    assert brightest[20:80].min() > 200 and brightest[220:280].min() > 200
    assert brightest[120:180].max() < 30 and brightest[320:380].max() < 30
    response = served.client.get(urls["waveform"])
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = json.loads(response.text)
    assert body["duration_s"] == pytest.approx(4.0, rel=0.02) and body["sample_rate"] == RATE
    assert len(body["maxs"]) == 220 and max(body["maxs"]) == pytest.approx(0.8, abs=0.12)
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_video_cell_gets_a_poster_from_a_tenth_of_the_way_in(served: Served) -> None:
    response = served.client.get(served.urls("clip.mp4", "poster")["poster"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    picture = Image.open(io.BytesIO(response.content))
    assert picture.format == "JPEG" and picture.size == (320, 240)
    red = np.asarray(picture.convert("RGB"), dtype=int)[120, :, 0] > 128
    # Frame i is red across its left i/20: the poster, 0.2 s into 2 s, is frame 2 (a tenth of the width).
    assert red[:24].all() and not red[40:].any()


def test_what_gives_no_preview_answers_404_or_null(served: Served) -> None:
    audio_of_text = served.urls("notes.txt", "waveform", "spectrogram", "poster")
    assert served.client.get(audio_of_text["spectrogram"]).status_code == 404
    assert served.client.get(audio_of_text["poster"]).status_code == 404
    response = served.client.get(audio_of_text["waveform"])
    assert (response.status_code, response.json()) == (200, None)  # the media table draws no waveform
    assert served.client.get(served.urls("song.flac", "poster")["poster"]).status_code == 404  # no video


@pytest.mark.parametrize("prefix", [WAVEFORM_PREFIX, SPECTROGRAM_PREFIX, POSTER_PREFIX])
def test_forged_tokens_get_403_on_every_preview(served: Served, prefix: str) -> None:
    genuine = served.urls("song.flac", "spectrogram")["spectrogram"].rsplit("/", 1)[1]
    claim, signature = genuine.split(".")
    forged = ("A" if signature[0] != "A" else "B") + signature[1:]
    decoded = sum(previews.DECODED.values())
    for token in (f"{claim}.{forged}", "forged.token", "x"):
        response = served.client.get(f"{prefix}/{token}")
        assert response.status_code == 403 and "not valid" in response.text
    assert sum(previews.DECODED.values()) == decoded  # refused before any byte is read


def test_a_cached_preview_is_not_decoded_again_but_the_token_is_checked(served: Served) -> None:
    urls = served.urls("song.mp3", "spectrogram")
    before = previews.DECODED["spectrogram"]
    first = served.client.get(urls["spectrogram"])
    second = served.client.get(urls["spectrogram"])
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert previews.DECODED["spectrogram"] == before + 1
    # Another token for the same bytes (a later page, a new expiry) is served from the same cache entry.
    again = server_from_environment().cell_urls(served.version, "song.mp3", ["spectrogram"], ttl=7200)["spectrogram"]
    assert again != urls["spectrogram"] and served.client.get(again).content == first.content
    assert previews.DECODED["spectrogram"] == before + 1
    assert served.client.get(urls["spectrogram"] + "x").status_code == 403  # cached, yet checked


def test_the_size_limit_and_busy_slots_hold_for_every_preview(served: Served, monkeypatch) -> None:
    urls = served.urls("song.flac", "spectrogram")
    monkeypatch.setattr(previews, "MAX_BYTES", 1000)
    too_long = served.client.get(urls["spectrogram"])
    assert too_long.status_code == 413 and "spectrograms are drawn up to" in too_long.text
    monkeypatch.setattr(previews, "MAX_BYTES", 10**9)
    monkeypatch.setattr(previews, "_slots", threading.BoundedSemaphore(1))
    monkeypatch.setattr(previews, "WAIT_S", 0.05)
    previews._slots.acquire()  # the one slot taken by a decode that does not end
    for url in (urls["spectrogram"], served.urls("clip.mp4", "poster")["poster"]):
        busy = served.client.get(url)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "2"
    previews._slots.release()
    assert served.client.get(urls["spectrogram"]).status_code == 200


def test_the_cache_is_bounded_by_bytes(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = [len(spectrogram_png(reader(FILES[name]), len(FILES[name]))) for name in ("song.flac", "song.mp3")]
    monkeypatch.setattr(previews, "CACHE_BYTES", max(sizes) + 300)  # room for one spectrogram, not two
    for name in ("song.flac", "song.mp3"):
        assert served.client.get(served.urls(name, "spectrogram")["spectrogram"]).status_code == 200
    assert len(previews._cache) == 1 and previews._cached_bytes <= max(sizes) + 300
    before = previews.DECODED["spectrogram"]
    served.client.get(served.urls("song.flac", "spectrogram")["spectrogram"])  # dropped: decoded again
    assert previews.DECODED["spectrogram"] == before + 1


def test_signed_cells_carry_one_url_per_preview_of_their_kind(served: Served) -> None:
    assert set(PREVIEW_PREFIXES) == {"waveform", "spectrogram", "poster", "mask"}  # mask: tests/test_mask_preview.py
    frame = served.version.get("cells").get_dataframe()
    audio, video = frame["audio"][0].to_cell(), frame["video"][0].to_cell()
    signed_audio, signed_video = sign_cell(audio, "audio", served.version), sign_cell(video, "video", served.version)
    assert {"url", "waveform", "spectrogram"} <= set(signed_audio) and "poster" not in signed_audio
    assert {"url", "poster"} <= set(signed_video) and not {"waveform", "spectrogram"} & set(signed_video)
    assert signed_audio["spectrogram"].startswith(SPECTROGRAM_PREFIX + "/")
    assert png_of(served.client.get(signed_audio["spectrogram"])).size == (400, 128)
    assert served.client.get(signed_video["poster"]).headers["content-type"] == "image/jpeg"


def test_bucket_objects_are_previewed_through_ranged_reads(kit, tmp_path: Path, monkeypatch) -> None:
    bucket = kit.new_bucket(versioned=False)
    long_song = encode(np.concatenate([tone(30, RATE, 500), tone(30, RATE, 3000)]), RATE, "flac")
    kit.put(f"{bucket}/songs/long.flac", long_song)
    kit.put(f"{bucket}/songs/song.mp3", FILES["song.mp3"])
    root = str(tmp_path / "registry")
    with shanty.init(project="p", root=root) as run:
        artifact = shanty.Artifact("songs", type="raw_data")
        artifact.add_reference(f"{bucket}/songs")
        version = run.log_artifact(artifact)
    monkeypatch.setenv("SHANTY_ROOT", root)
    previews.clear_cache()
    try:
        with TestClient(Starlette(routes=routes())) as client:
            picture = png_of(client.get(cell_urls(version, "long.flac", ["spectrogram"])["spectrogram"]))
            waveform = client.get(cell_urls(version, "song.mp3", ["waveform"])["waveform"]).json()
    finally:
        media_route._server.cache_clear()
        previews.clear_cache()
    rows = np.asarray(picture.convert("L"), dtype=float).argmax(axis=0)
    assert np.median(rows[250:390]) < np.median(rows[10:150])  # 3 kHz above 500 Hz, in the right half
    assert waveform["duration_s"] == pytest.approx(4.0, rel=0.02)
