"""The demo workspace: the seed's story logged into project ``cshanty``, deterministic and idempotent.

One demo is built per module (about a second) and read by most tests; the
determinism and idempotence tests build again beside it.
"""

from __future__ import annotations

import csv
import io
import shutil
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

import shanty
from shanty.demo.build import DEMO_PROJECT, SONGS, build_demo, demo_is_empty
from shanty.demo.media import INSTRUMENTS
from shanty.media.waveform import waveform_peaks

EBML_MAGIC = bytes.fromhex("1A45DFA3")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Demo:
    root: Path
    media: Path

    @property
    def bucket(self) -> Path:
        return self.media / "bucket"

    def api(self) -> shanty.Api:
        return shanty.Api(self.root)

    def version(self, name: str) -> shanty.ArtifactVersion:
        return self.api().artifact(f"{DEMO_PROJECT}/{name}")


def build(base: Path, media: Path | None = None) -> Demo:
    demo = Demo(base / "registry", media or base / "media")
    build_demo(demo.root, demo.media)
    return demo


@pytest.fixture(scope="module")
def quiet_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHANTY_PROGRESS", "0")
        patch.setenv("SHANTY_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def demo(quiet_env: None, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return build(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def rebuilt(quiet_env: None, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """A second, independent build, for the determinism and idempotence tests."""
    return build(tmp_path_factory.mktemp("rebuilt"))


def files_under(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def registry_state(demo: Demo) -> dict[str, object]:
    """Everything a rebuild could add to: versions (digest, aliases, note) and runs."""
    api = demo.api()
    versions = {
        (a.name, v.version): (v.digest, tuple(sorted(v.aliases)), v.description)
        for a in api.artifacts(DEMO_PROJECT)
        for v in api.versions(f"{DEMO_PROJECT}/{a.name}")
    }
    return {"versions": versions, "runs": sorted(r.id for r in api.runs(DEMO_PROJECT))}


def assert_wav(data: bytes, seconds: float | None = None) -> None:
    with wave.open(io.BytesIO(data)) as song:
        assert (song.getnchannels(), song.getsampwidth(), song.getframerate()) == (1, 2, 16_000)
        if seconds is not None:
            assert song.getnframes() == int(seconds * 16_000)


# --- the story ---------------------------------------------------------------------------------


def test_sample_songs_grows_from_5_to_7_with_aliases_and_notes(demo: Demo) -> None:
    v0, v1 = demo.api().versions(f"{DEMO_PROJECT}/sample_songs")
    assert (v0.version, v0.file_count, v0.aliases, v0.type) == ("v0", 5, ["baseline"], "raw_data")
    assert (v1.version, v1.file_count, sorted(v1.aliases)) == ("v1", 7, ["expanded", "latest"])
    assert v0.description and v1.description and v0.description != v1.description
    assert sorted(v1.manifest.entries) == sorted(f"{s.id}.wav" for s in SONGS)
    assert set(v0.manifest.entries) == {f"{s.id}.wav" for s in SONGS[:5]}
    assert not demo_is_empty(demo.root)


def test_bucket_layout_follows_the_seed(demo: Demo) -> None:
    songs = demo.bucket / "whalesong"
    assert sorted(p.name for p in songs.glob("*.wav")) == sorted(f"{s.id}.wav" for s in SONGS)
    for song in SONGS:
        assert_wav((songs / f"{song.id}.wav").read_bytes(), song.seconds)
    expected = {f"{s.id}_{i.name}.wav" for s in SONGS for i in INSTRUMENTS}
    assert {p.name for p in (songs / "synth").iterdir()} == expected
    with open(demo.bucket / "song_metadata.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["song_id"] for r in rows] == [s.id for s in SONGS]
    assert set(rows[0]) == {"song_id", "location", "species", "date"}


def test_synth_songs_are_referenced_by_folder(demo: Demo) -> None:
    synth = demo.version("synth_songs:latest")
    assert synth.type == "generated_data" and synth.file_count == len(SONGS) * len(INSTRUMENTS)
    assert all(e.ref and e.ref.startswith("file://") and "/whalesong/synth/" in e.ref for e in synth.manifest)


def test_synth_samples_table_plays_every_song_on_every_instrument(demo: Demo, tmp_path: Path) -> None:
    version = demo.version("synth_samples:latest")
    assert version.type == "synth_ddsp"
    table = version.get("synth_song_samples")
    assert table.columns[:4] == ["song_id", "song_name", "audio", "instrument"]
    assert {"duration_s", "pitch_hz", "similarity"} <= set(table.columns)
    assert table.media_columns == {"audio": "audio"}
    frame = table.get_dataframe()
    assert len(frame) == len(SONGS) * len(INSTRUMENTS) >= 7 * 3
    assert set(frame["instrument"]) == {i.name for i in INSTRUMENTS}
    assert (frame["song_name"] == frame["song_id"] + "_" + frame["instrument"] + ".wav").all()
    # The numeric columns vary, so filters and histograms have something to show.
    assert frame["similarity"].between(0, 1).all() and frame["similarity"].nunique() > 10
    assert frame["pitch_hz"].gt(0).all() and frame["pitch_hz"].nunique() > 5
    root = Path(version.download(tmp_path / "synth"))
    for row in frame.itertuples():
        audio = row.audio
        assert isinstance(audio, shanty.Audio) and audio.sample_rate == 16_000 and audio.caption
        assert audio.entry in version.manifest.entries
        data = (root / audio.entry).read_bytes()
        assert_wav(data, row.duration_s)
        assert waveform_peaks(data).duration_s == row.duration_s


def test_originals_table_has_audio_spectrograms_and_videos(demo: Demo, tmp_path: Path) -> None:
    import av

    version = demo.version("original_songs:latest")
    table = version.get("original_song_samples")
    assert version.type == "raw_data"
    assert table.media_columns == {"audio": "audio", "spectrogram": "image", "video": "video"}
    assert {"species", "location", "date", "duration_s"} <= set(table.columns)
    frame = table.get_dataframe()
    assert list(frame["song_id"]) == [s.id for s in SONGS]
    root = Path(version.download(tmp_path / "originals"))
    for row in frame.itertuples():
        assert_wav((root / row.audio.entry).read_bytes(), row.duration_s)
        png = (root / row.spectrogram.entry).read_bytes()
        assert png.startswith(PNG_MAGIC)
        assert PILImage.open(io.BytesIO(png)).size == (512, 256)
        assert isinstance(row.video, shanty.Video) and row.video.format == "webm" and row.video.fps == 12
        webm = root / row.video.entry
        assert webm.read_bytes().startswith(EBML_MAGIC) and b"webm" in webm.read_bytes()[:64]
        with av.open(str(webm)) as container:
            video, audio = container.streams.video[0], container.streams.audio[0]
            assert (video.codec_context.name, video.codec_context.pix_fmt, video.width, video.height) == (
                "vp8",
                "yuv420p",
                320,
                160,
            )
            assert audio.codec_context.name == "opus"
            frames = sum(1 for _ in container.decode(video=0))
        assert frames == round(row.duration_s * 12) + 1


def test_synth_summary_joins_originals_and_synth_on_song_id(demo: Demo) -> None:
    joined = demo.version("synth_summary:latest").get("synth_explore")
    assert isinstance(joined, shanty.JoinedTable) and joined.join_key == ["song_id"]
    assert "spectrogram" in joined.table1.columns and "instrument" in joined.table2.columns


def test_runs_record_lineage(demo: Demo) -> None:
    runs = {r.job_type: r for r in demo.api().runs(DEMO_PROJECT)}
    assert f"{DEMO_PROJECT}/sample_songs:v1" in runs["log_synth"].used
    assert set(runs["log_synth"].logged) == {f"{DEMO_PROJECT}/synth_songs:v0", f"{DEMO_PROJECT}/synth_samples:v0"}


# --- determinism and idempotence ---------------------------------------------------------------------


def test_rebuilding_elsewhere_gives_byte_identical_media(demo: Demo, rebuilt: Demo) -> None:
    first, second = files_under(demo.media), files_under(rebuilt.media)
    assert sorted(first) == sorted(second) and len(first) == 1 + 7 + 28 + 7 + 7
    differing = [name for name in first if first[name] != second[name]]
    assert not differing


def test_rebuilding_the_same_root_logs_nothing_and_touches_no_file(rebuilt: Demo) -> None:
    before_state = registry_state(rebuilt)
    before_times = {p: p.stat().st_mtime_ns for p in rebuilt.media.rglob("*") if p.is_file()}
    build_demo(rebuilt.root, rebuilt.media)
    assert registry_state(rebuilt) == before_state
    assert {p: p.stat().st_mtime_ns for p in rebuilt.media.rglob("*") if p.is_file()} == before_times


def test_a_new_registry_over_an_existing_bucket_gets_the_same_versions(demo: Demo, tmp_path: Path) -> None:
    # The dashboard keeps one media folder and may fill several registries from it: synth/ is
    # already there when sample_songs is logged, and must not leak into it.
    other = Demo(tmp_path / "registry", demo.media)
    build_demo(other.root, other.media)
    ours, theirs = registry_state(demo)["versions"], registry_state(other)["versions"]
    assert theirs == ours


# --- the browser ------------------------------------------------------------------------------------


CHROMIUM = "/usr/bin/chromium"  # Debian's package; browsers are never downloaded here
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def _chromium(playwright: Any) -> Any:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI installs it)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@pytest.mark.browser
def test_chromium_plays_the_demo_video(demo: Demo, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    page_file = tmp_path / "video.html"
    shutil.copy(demo.bucket / "videos" / f"{SONGS[0].id}.webm", tmp_path / "song.webm")
    page_file.write_text('<video id="v" src="song.webm" muted></video>')
    with sync_api.sync_playwright() as playwright:
        browser = _chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            state = page.evaluate(
                """async () => {
                    const v = document.getElementById('v');
                    await new Promise((ok, ko) => {
                        if (v.readyState >= 1) ok();
                        v.onloadedmetadata = ok;
                        v.onerror = () => ko(new Error(v.error ? v.error.message : 'media error'));
                    });
                    await v.play();
                    await new Promise(r => setTimeout(r, 600));
                    return {duration: v.duration, width: v.videoWidth, height: v.videoHeight, time: v.currentTime};
                }"""
            )
        finally:
            browser.close()
    assert (state["width"], state["height"]) == (320, 160)
    assert state["duration"] == pytest.approx(SONGS[0].seconds, abs=0.2)
    assert state["time"] > 0.2
