"""The demo workspace: the seed's story logged into project ``cshanty``, deterministic and idempotent.

One demo is built per module (a second or two) and read by most tests; the
determinism and idempotence tests build again beside it. The demo is what the
dashboard opens on, so its shape is asserted exactly: which versions, in which
order, and what changed between them.
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

import numpy as np
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
        for a in api.artifact_collections(DEMO_PROJECT)
        for v in api.versions(f"{DEMO_PROJECT}/{a.name}")
    }
    return {"versions": versions, "runs": sorted(r.id for r in api.runs(DEMO_PROJECT))}


def assert_wav(data: bytes, seconds: float | None = None) -> None:
    with wave.open(io.BytesIO(data)) as song:
        assert (song.getnchannels(), song.getsampwidth(), song.getframerate()) == (1, 2, 16_000)
        if seconds is not None:
            assert song.getnframes() == int(seconds * 16_000)


# --- the story ---------------------------------------------------------------------------------

BASELINE = SONGS[:5]
NEW_SONGS = ("bowhead_01", "pilot_01")
RETAKES = {("humpback_01", "flute"), ("humpback_01", "violin"), ("orca_01", "organ"), ("orca_01", "sax")}
DROPPED = {("minke_01", "flute"), ("beluga_01", "organ")}
SYNTH_V1_ROWS = len(SONGS) * len(INSTRUMENTS) - len(DROPPED)  # 26

# Every version the demo logs, in the order it logs them.
LOGGING_ORDER = [
    ("annotated_shapes", "v0"),
    ("audio_formats", "v0"),
    ("sample_songs", "v0"),
    ("run-whalenet-1-predictions", "v0"),  # the training run (training.py)
    ("run-whalenet-1-val_sample", "v0"),
    ("synth_songs", "v0"),
    ("synth_samples", "v0"),
    ("synth_songs", "v1"),
    ("synth_samples", "v1"),
    ("original_songs", "v0"),
    ("synth_summary", "v0"),
    ("original_songs", "v1"),  # enriched: measured columns and embeddings
    ("synth_samples", "v2"),
    ("sample_songs", "v1"),
]
# The run of each step, in order: (job type, versions used, versions logged).
RUNS = [
    ("annotate", [], ["annotated_shapes:v0"]),
    ("encode_formats", [], ["audio_formats:v0"]),
    ("upload", [], ["sample_songs:v0"]),
    ("train", ["sample_songs:v0"], ["run-whalenet-1-predictions:v0", "run-whalenet-1-val_sample:v0"]),
    ("log_synth", ["sample_songs:v0"], ["synth_songs:v0", "synth_samples:v0"]),
    ("log_synth", ["sample_songs:v0", "synth_samples:v0"], ["synth_songs:v1", "synth_samples:v1"]),
    ("show_samples", ["sample_songs:v0"], ["original_songs:v0"]),
    ("analysis", ["original_songs:v0", "synth_samples:v1"], ["synth_summary:v0"]),
    ("enrich", ["original_songs:v0"], ["original_songs:v1"]),
    ("enrich", ["synth_samples:v1"], ["synth_samples:v2"]),
    ("upload", [], ["sample_songs:v1"]),
]


def qualified(refs: list[str]) -> list[str]:
    return [f"{DEMO_PROJECT}/{ref}" for ref in refs]


def synth_name(song_id: str, instrument: str) -> str:
    return f"{song_id}_{instrument}.wav"


def table_diff(demo: Demo) -> shanty.TableDiff:
    old, new = demo.version("synth_samples:v0"), demo.version("synth_samples:v1")
    return shanty.diff_tables(
        str(old.table_file("synth_song_samples")),
        str(new.table_file("synth_song_samples")),
        key=["song_id", "instrument"],
    )


def keys(rows: list[Any]) -> set[tuple[str, str]]:
    return {(r.key["song_id"], r.key["instrument"]) for r in rows}


def test_sample_songs_grows_from_5_to_7_with_aliases_and_notes(demo: Demo) -> None:
    v0, v1 = demo.api().versions(f"{DEMO_PROJECT}/sample_songs")
    assert (v0.version, v0.file_count, v0.aliases, v0.type) == ("v0", 5, ["baseline"], "raw_data")
    assert (v1.version, v1.file_count, sorted(v1.aliases)) == ("v1", 7, ["expanded", "latest"])
    assert v0.description and v1.description and v0.description != v1.description
    assert sorted(v1.manifest.entries) == sorted(f"{s.id}.wav" for s in SONGS)
    assert set(v0.manifest.entries) == {f"{s.id}.wav" for s in BASELINE}
    assert not demo_is_empty(demo.root)


def test_sample_songs_v0_to_v1_adds_exactly_the_two_new_songs(demo: Demo) -> None:
    diff = demo.api().diff(f"{DEMO_PROJECT}/sample_songs:v0", f"{DEMO_PROJECT}/sample_songs:v1")
    assert [c.path for c in diff.of_kind(shanty.ChangeKind.ADDED)] == [f"{s}.wav" for s in NEW_SONGS]
    summary = diff.summary
    assert (summary.added.count, summary.removed.count, summary.modified.count, summary.renamed.count) == (2, 0, 0, 0)
    assert (summary.unchanged.count, summary.old_files, summary.new_files) == (5, 5, 7)


def test_versions_are_logged_in_story_order_and_sample_songs_v1_is_the_newest(demo: Demo) -> None:
    # The Diff view opens on the most recently changed artifact with two or more versions.
    api = demo.api()
    logged = {
        (a.name, v.version): v.created_at
        for a in api.artifact_collections(DEMO_PROJECT)
        for v in api.versions(f"{DEMO_PROJECT}/{a.name}")
    }
    assert sorted(logged) == sorted(LOGGING_ORDER)
    times = [logged[name_version] for name_version in LOGGING_ORDER]
    assert times == sorted(times)
    assert times[-1] > max(times[:-1])  # strictly: sample_songs v1 alone is the newest
    recent = api.recent_artifacts(DEMO_PROJECT, min_versions=2)
    assert recent[0].name == "sample_songs"
    assert {a.name for a in recent} == {"sample_songs", "synth_samples", "synth_songs", "original_songs"}


def test_runs_record_lineage(demo: Demo) -> None:
    runs = sorted(demo.api().runs(DEMO_PROJECT), key=lambda r: r.started_at)
    assert [(r.job_type, sorted(r.used), sorted(r.logged)) for r in runs] == [
        (job_type, sorted(qualified(used)), sorted(qualified(logged))) for job_type, used, logged in RUNS
    ]
    assert all(r.state == "finished" for r in runs)


def test_bucket_layout_follows_the_seed(demo: Demo) -> None:
    songs = demo.bucket / "whalesong"
    assert sorted(p.name for p in songs.glob("*.wav")) == sorted(f"{s.id}.wav" for s in SONGS)
    for song in SONGS:
        assert_wav((songs / f"{song.id}.wav").read_bytes(), song.seconds)
    expected = {synth_name(s.id, i.name) for s in SONGS for i in INSTRUMENTS} | {"take2"}
    assert {p.name for p in (songs / "synth").iterdir()} == expected
    # Redone renderings go to new paths: the bucket keeps no object versions, and v0 must still play.
    assert {p.name for p in (songs / "synth" / "take2").iterdir()} == {synth_name(*row) for row in RETAKES}
    with open(demo.bucket / "song_metadata.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["song_id"] for r in rows] == [s.id for s in SONGS]
    assert set(rows[0]) == {"song_id", "location", "species", "date"}


def test_synth_songs_are_referenced_by_folder(demo: Demo) -> None:
    v0, v1 = demo.api().versions(f"{DEMO_PROJECT}/synth_songs")
    synth = demo.bucket / "whalesong" / "synth"
    assert v0.type == v1.type == "generated_data" and "latest" in v1.aliases
    assert set(v0.manifest.entries) == {synth_name(s.id, i.name) for s in BASELINE for i in INSTRUMENTS}
    # v1 is the whole folder as the second synth run left it: first takes, second takes, new songs.
    assert set(v1.manifest.entries) == {p.relative_to(synth).as_posix() for p in synth.rglob("*.wav")}
    assert v1.file_count == len(SONGS) * len(INSTRUMENTS) + len(RETAKES) == 32
    for version in (v0, v1):
        assert all(e.ref and e.ref.startswith("file://") and "/whalesong/synth/" in e.ref for e in version.manifest)
    diff = demo.api().diff(v0, v1)
    added = {c.path for c in diff.of_kind(shanty.ChangeKind.ADDED)}
    assert added == {f"take2/{synth_name(*row)}" for row in RETAKES} | {
        synth_name(s, i.name) for s in NEW_SONGS for i in INSTRUMENTS
    }
    assert (diff.summary.unchanged.count, diff.summary.removed.count, diff.summary.modified.count) == (20, 0, 0)


def test_synth_samples_table_plays_every_song_on_every_instrument(demo: Demo, tmp_path: Path) -> None:
    version = demo.version("synth_samples:v1")
    assert version.type == "synth_ddsp" and demo.version("synth_samples:latest").version == "v2"  # enriched
    table = version.get("synth_song_samples")
    assert table.columns == ["song_id", "song_name", "audio", "instrument", "duration_s", "pitch_hz", "similarity"]
    assert table.media_columns == {"audio": "audio"}
    frame = table.get_dataframe()
    assert len(frame) == SYNTH_V1_ROWS == 26
    assert list(frame["song_id"].unique()) == [s.id for s in SONGS]
    assert (
        set(zip(frame["song_id"], frame["instrument"], strict=True))
        == {(s.id, i.name) for s in SONGS for i in INSTRUMENTS} - DROPPED
    )
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
        assert ("/synth/take2/" in audio.uri) == ((row.song_id, row.instrument) in RETAKES)
        data = (root / audio.entry).read_bytes()
        assert_wav(data, row.duration_s)
        assert waveform_peaks(data).duration_s == row.duration_s


def test_synth_samples_v0_is_the_baseline_songs_and_still_plays(demo: Demo, tmp_path: Path) -> None:
    version = demo.version("synth_samples:v0")
    frame = version.get("synth_song_samples").get_dataframe()
    assert len(frame) == len(BASELINE) * len(INSTRUMENTS) == 20
    assert set(zip(frame["song_id"], frame["instrument"], strict=True)) == {
        (s.id, i.name) for s in BASELINE for i in INSTRUMENTS
    }
    assert not any("/take2/" in a.uri for a in frame["audio"])
    # Downloading verifies every file against the digest v0 recorded: nothing v1 did overwrote them.
    root = Path(version.download(tmp_path / "v0"))
    for audio in frame["audio"]:
        assert (root / audio.entry).read_bytes() == (
            demo.bucket / "whalesong" / "synth" / audio.uri.rsplit("/", 1)[1]
        ).read_bytes()


def test_synth_samples_v1_adds_removes_and_redoes_rows(demo: Demo) -> None:
    diff = table_diff(demo)
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (8, 2, 4, 14)
    assert (diff.old_rows, diff.new_rows) == (20, 26)
    assert not (diff.columns_added or diff.columns_removed or diff.columns_retyped)
    assert keys(diff.rows(shanty.RowKind.ADDED)) == {(s, i.name) for s in NEW_SONGS for i in INSTRUMENTS}
    assert keys(diff.rows(shanty.RowKind.REMOVED)) == DROPPED
    changed = diff.rows(shanty.RowKind.CHANGED)
    assert keys(changed) == RETAKES
    for row in changed:
        assert row.changed_columns == ("audio", "pitch_hz", "similarity")
        old, new = row.old["audio"], row.new["audio"]
        assert old["uri"] != new["uri"] and "/whalesong/synth/take2/" in new["uri"]
        assert Path(old["uri"]).name == Path(new["uri"]).name == row.old["song_name"] == row.new["song_name"]
        old_file = demo.bucket / "whalesong" / "synth" / row.old["song_name"]
        new_file = demo.bucket / "whalesong" / "synth" / "take2" / row.new["song_name"]
        assert old["uri"].endswith(old_file.as_posix()) and new["uri"].endswith(new_file.as_posix())
        assert old_file.is_file() and new_file.is_file()
        assert old_file.read_bytes() != new_file.read_bytes()
        assert_wav(new_file.read_bytes(), row.new["duration_s"])
        assert row.new["pitch_hz"] > row.old["pitch_hz"]  # the second take is played sharp
        assert "second take" in new["caption"] and "second take" not in old["caption"]


def test_originals_table_has_audio_spectrograms_and_videos(demo: Demo, tmp_path: Path) -> None:
    import av

    version = demo.version("original_songs:v0")
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


def test_synth_summary_joins_originals_and_the_latest_synth_on_song_id(demo: Demo) -> None:
    summary = demo.version("synth_summary:latest")
    joined = summary.get("synth_explore")
    assert isinstance(joined, shanty.JoinedTable) and joined.left_keys == joined.right_keys == ("song_id",)
    assert "spectrogram" in joined.table1.columns and "instrument" in joined.table2.columns
    assert (len(joined.table1), len(joined.table2)) == (len(SONGS), SYNTH_V1_ROWS)


# --- determinism and idempotence ---------------------------------------------------------------------


def portable(version: shanty.ArtifactVersion) -> tuple[object, ...]:
    """A version's contents without where the bucket is: tables name their media by absolute path."""
    referenced = sorted((Path(e.path).name, e.digest, e.size) for e in version.manifest if e.ref)
    return version.file_count, tuple(sorted(version.aliases)), version.description, referenced


def test_rebuilding_elsewhere_gives_byte_identical_media_and_versions(demo: Demo, rebuilt: Demo) -> None:
    first, second = files_under(demo.media), files_under(rebuilt.media)
    assert sorted(first) == sorted(second) and len(first) == 1 + 7 + 28 + 4 + 7 + 7 + 10
    differing = [name for name in first if first[name] != second[name]]
    assert not differing
    ours, theirs = demo.api(), rebuilt.api()
    for name, number in LOGGING_ORDER:
        a, b = (api.artifact(f"{DEMO_PROJECT}/{name}:{number}") for api in (ours, theirs))
        assert portable(a) == portable(b)
        if name in ("sample_songs", "synth_songs"):  # by reference only: the digest does not see the bucket's place
            assert a.digest == b.digest


def test_rebuilding_the_same_root_logs_nothing_and_touches_no_file(rebuilt: Demo) -> None:
    before_state = registry_state(rebuilt)
    before_times = {p: p.stat().st_mtime_ns for p in rebuilt.media.rglob("*") if p.is_file()}
    build_demo(rebuilt.root, rebuilt.media)
    assert registry_state(rebuilt) == before_state
    assert {p: p.stat().st_mtime_ns for p in rebuilt.media.rglob("*") if p.is_file()} == before_times


def test_a_new_registry_over_an_existing_bucket_gets_the_same_versions(demo: Demo, tmp_path: Path) -> None:
    # The dashboard keeps one media folder and may fill several registries from it: the new songs, the
    # second takes and the new songs' renderings are already there when v0s are logged, and must not leak in.
    other = Demo(tmp_path / "registry", demo.media)
    build_demo(other.root, other.media)
    ours, theirs = registry_state(demo)["versions"], registry_state(other)["versions"]
    assert theirs == ours and sorted(ours) == sorted(LOGGING_ORDER)


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


def test_the_enrich_job_measured_both_tables_and_their_renderings_cluster_by_instrument(demo: Demo) -> None:
    synth = demo.version("synth_samples:v2")
    assert shanty.enriched_from(synth) == f"{DEMO_PROJECT}/synth_samples:v1"
    assert synth.logged_by().job_type == "enrich"
    table = synth.get("synth_song_samples")
    assert table.columns[:7] == demo.version("synth_samples:v1").get("synth_song_samples").columns
    assert table.columns[7:] == shanty.enrichment.enriched_columns("audio", "audio")
    frame = table.get_dataframe()
    assert (abs(frame["audio_duration_s"] - frame["duration_s"]) < 0.01).all()  # measured = what was rendered
    assert frame["audio_channels"].eq(1).all() and frame["audio_sample_rate"].eq(16_000).all()
    originals = demo.version("original_songs:v1").get("original_song_samples")
    assert {"audio_melody", "spectrogram_phash", "video_fps", "video_poster"} <= set(originals.columns)
    # The 2D map of the renderings: a rendering's nearest neighbour is most often the same instrument
    found = shanty.similarity_map([shanty.MapSource(synth, "synth_song_samples", "audio_embedding")], "instrument")
    points = np.column_stack([found.x, found.y])
    distances = ((points[:, None] - points[None]) ** 2).sum(-1)
    np.fill_diagonal(distances, np.inf)
    same = (found.color[distances.argmin(axis=1)] == found.color).mean()
    assert same >= 0.85, same
