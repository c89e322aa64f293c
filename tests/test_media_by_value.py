"""In-memory media (numpy audio, images, video; bytes) encoded, stored by value and played back anywhere."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image as PILImage

import shanty
from shanty.errors import ChangedObjectError, InvalidInputError
from shanty.tables.encode import encoded_file, encoded_folder
from tests.test_architecture import BARE_LIBRARY_SCRIPT, OPTIONAL


def log(root: str, table: shanty.Table, name: str = "media") -> shanty.ArtifactVersion:
    with shanty.init(project="p", root=root) as run:
        artifact = shanty.Artifact(name, type="dataset")
        artifact.add(table, "t")
        return run.log_artifact(artifact)


def entry_bytes(version: shanty.ArtifactVersion, path: str) -> bytes:
    return Path(version.get_entry(path).download(root=Path("dl") / version.name.replace(":", "_"))).read_bytes()


def pixels(seed: int = 0, shape: tuple[int, ...] = (6, 10, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_numpy_audio_becomes_a_wav_whose_samples_decode_back(tmp_path: Path) -> None:
    t = np.arange(4000) / 8000
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), -0.25 * np.ones_like(t)], axis=1) * 0.8
    as_int = (np.sin(2 * np.pi * 220 * t) * 20000).astype(np.int16)
    table = shanty.Table(columns=["a"], data=[[shanty.Audio(stereo, sample_rate=8000)], [shanty.Audio(as_int, 8000)]])
    version = log(str(tmp_path / "registry"), table)
    cells = version.get("t").get_column("a")
    for cell, expected in zip(cells, [np.round(stereo * 32767), as_int[:, None]], strict=True):
        assert cell.sample_rate == 8000 and cell.entry.startswith("media/audio/") and cell.entry.endswith(".wav")
        with wave.open(io.BytesIO(entry_bytes(version, cell.entry))) as wav:
            assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (8000, 2, expected.shape[1])
            decoded = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, wav.getnchannels())
        assert np.array_equal(decoded, expected.astype(np.int16))


def test_audio_arrays_need_a_sample_rate_and_a_known_sample_type() -> None:
    with pytest.raises(InvalidInputError, match="needs sample_rate="):
        shanty.Audio(np.zeros(10))
    with pytest.raises(InvalidInputError, match="float samples in \\[-1, 1\\] or int16"):
        shanty.Audio(np.zeros(10, np.int32), sample_rate=8000)
    with pytest.raises(InvalidInputError, match="shaped \\(samples,\\) or \\(samples, channels\\)"):
        shanty.Audio(np.zeros((2, 2, 2)), sample_rate=8000)


def test_audio_bytes_keep_their_format() -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(100), out.writeframes(b"\0\0" * 10)
    cell = shanty.Audio(buffer.getvalue())
    assert cell.path.startswith("encoded://") and cell.path.endswith(".wav")
    assert encoded_file(cell.path).read_bytes() == buffer.getvalue()
    with pytest.raises(InvalidInputError, match="cannot tell the format"):
        shanty.Audio(b"not audio at all")


def test_numpy_and_pil_images_round_trip_as_png(tmp_path: Path) -> None:
    rgb, grey = pixels(1), pixels(2, (5, 7))
    floats = np.linspace(0, 1, 12).reshape(3, 4)
    table = shanty.Table(columns=["img"])
    table.add_data(shanty.Image(rgb, caption="rgb"))
    table.add_data(shanty.Image(PILImage.fromarray(grey, mode="L")))
    table.add_data(shanty.Image(data_or_path=floats))
    table.add_data(shanty.Image(pixels(3, (4, 4, 4)), mode="RGBA"))
    version = log(str(tmp_path / "registry"), table)
    cells = version.get("t").get_column("img")
    assert cells[0].caption == "rgb"
    decoded = [np.asarray(PILImage.open(io.BytesIO(entry_bytes(version, c.entry)))) for c in cells]
    assert np.array_equal(decoded[0], rgb) and np.array_equal(decoded[1], grey)
    assert np.array_equal(decoded[2], (floats * 255).astype(np.uint8))  # W&B's normalize: [0, 1] scaled by 255
    assert decoded[3].shape == (4, 4, 4)
    assert all(c.entry.startswith("media/image/") and c.entry.endswith(".png") for c in cells)


def test_image_shapes_and_file_types_it_cannot_encode_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="\\(height, width\\), \\(height, width, 3\\)"):
        shanty.Image(np.zeros((4, 4, 5)))
    with pytest.raises(InvalidInputError, match="png, jpg, webp or gif"):
        shanty.Image(np.zeros((4, 4)), file_type="tiff")
    with pytest.raises(InvalidInputError, match="path or URI"):
        shanty.Image(object())


def test_numpy_video_decodes_with_its_frame_count(tmp_path: Path) -> None:
    frames = np.stack([np.full((3, 17, 23), 10 * i, np.uint8) for i in range(7)])  # odd sides are padded
    cells = [shanty.Video(frames, fps=5), shanty.Video(frames, format="mp4"), shanty.Video(frames, format="gif")]
    assert [(c.fps, c.format) for c in cells] == [(5.0, "webm"), (4.0, "mp4"), (4.0, "gif")]
    version = log(str(tmp_path / "registry"), shanty.Table(columns=["v"], data=[[c] for c in cells]))
    for cell in version.get("t").get_column("v"):
        with av.open(io.BytesIO(entry_bytes(version, cell.entry))) as container:
            decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert len(decoded) == 7 and decoded[0].shape[:2] == (18, 24)
        assert abs(int(decoded[6].mean()) - 60) <= 3  # the last frame is the last one given
    with pytest.raises(InvalidInputError, match="\\(time, channels, height, width\\)"):
        shanty.Video(np.zeros((4, 4, 4)))
    with pytest.raises(InvalidInputError, match="webm, mp4, gif"):
        shanty.Video(frames, format="avi")


def test_the_same_image_twice_is_one_entry(tmp_path: Path) -> None:
    table = shanty.Table(columns=["i", "img"], data=[[n, shanty.Image(pixels(7))] for n in range(3)])
    table.add_data(3, shanty.Image(PILImage.fromarray(pixels(7))))
    version = log(str(tmp_path / "registry"), table)
    entries = {c.entry for c in version.get("t").get_column("img")}
    assert len(entries) == 1 and sorted(version.manifest.entries) == sorted([*entries, "t.table.parquet"])
    stored = [p for p in encoded_folder().rglob("*") if p.is_file()]
    assert len(stored) == 1  # written once to the content-addressed cache, too


def test_by_value_media_play_from_a_bucket_with_a_fresh_cache(
    registry_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    samples = np.sin(np.arange(1600) / 3) * 0.5
    table = shanty.Table(
        columns=["a", "img"], data=[[shanty.Audio(samples, sample_rate=16000), shanty.Image(pixels())]]
    )
    log(registry_root, table)
    shutil.rmtree(encoded_folder())  # the logging machine's copies are gone: only the registry holds the bytes
    monkeypatch.setenv("SHANTY_CACHE", str(tmp_path / "another-cache"))
    version = shanty.Api(registry_root).artifact("p/media:v0")
    audio, image = version.get("t").data[0]
    assert version.manifest.entries[audio.entry].ref is None and version.manifest.entries[image.entry].ref is None
    with wave.open(io.BytesIO(entry_bytes(version, audio.entry))) as wav:
        assert wav.getnframes() == 1600
    assert np.array_equal(np.asarray(PILImage.open(io.BytesIO(entry_bytes(version, image.entry)))), pixels())


def test_local_file_media_are_copied_into_a_bucket_registry_only(registry_root: str, kit, tmp_path: Path) -> None:
    clip = tmp_path / "clips" / "hello.wav"
    clip.parent.mkdir()
    clip.write_bytes(b"RIFF fake wav bytes")
    version = log(registry_root, shanty.Table(columns=["a"], data=[[shanty.Audio(str(clip), sample_rate=8)]]))
    cell = version.get("t").get_column("a")[0]
    entry = version.manifest.entries[cell.entry]
    assert cell.entry.startswith("media/local/clips-")  # the same path either way
    if kit.name == "file":
        assert entry.ref == f"file://{clip}"  # a local registry reads the same disk: a reference, as before
    else:
        assert entry.ref is None
        clip.unlink()  # the registry's copy plays without the original
        assert entry_bytes(version, cell.entry) == b"RIFF fake wav bytes"


def test_a_local_file_changed_before_logging_to_a_bucket_is_refused(s3_kit, tmp_path: Path) -> None:
    clip = tmp_path / "x.wav"
    clip.write_bytes(b"first")
    artifact = shanty.Artifact("m", type="dataset")
    artifact.add(shanty.Table(columns=["a"], data=[[shanty.Audio(str(clip))]]), "t")
    clip.write_bytes(b"second")
    root = s3_kit.new_bucket(versioned=False) + "/r"
    with shanty.init(project="p", root=root) as run, pytest.raises(ChangedObjectError, match="changed or vanished"):
        run.log_artifact(artifact)


def test_in_memory_media_without_the_media_extra_is_one_sentence(tmp_path: Path) -> None:
    blocker = BARE_LIBRARY_SCRIPT.split("import pathlib")[0].format(optional=set(OPTIONAL))
    code = (
        "import numpy as np\nfor make in (lambda: shanty.Image(np.zeros((2, 2))), "
        "lambda: shanty.Video(np.zeros((1, 3, 2, 2), np.uint8))):\n"
        "    try:\n        make()\n    except shanty.ShantyError as exc:\n        print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", f"{blocker}\nimport shanty\n{code}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and all("pip install 'shanty[media]'" in line for line in lines), done.stderr


def test_the_logged_table_does_not_depend_on_where_the_cache_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digests = []
    for cache in ("one", "two"):
        monkeypatch.setenv("SHANTY_CACHE", str(tmp_path / cache))
        table = shanty.Table(columns=["img"], data=[[shanty.Image(pixels(5))]])
        digests.append(log(str(tmp_path / "registry"), table).digest)
    assert digests[0] == digests[1]  # the same version: nothing machine-specific is stored
    # A table read back on a machine without those cache files can be added again: its entries carry over.
    monkeypatch.setenv("SHANTY_CACHE", str(tmp_path / "three"))
    back = shanty.Api(str(tmp_path / "registry")).artifact("p/media:v0").get("t")
    again = log(str(tmp_path / "registry"), back, name="again")
    entry = back.get_column("img")[0].entry
    assert again.manifest.entries[entry] == back.source[0].manifest.entries[entry]
    assert np.array_equal(np.asarray(PILImage.open(io.BytesIO(entry_bytes(again, entry)))), pixels(5))
    with pytest.raises(shanty.NotFoundError, match="not on this machine"):
        shanty.Artifact("x", type="t").add(
            shanty.Table(columns=["img"], data=[[shanty.Image(back.data[0][0].path)]]), "t"
        )


def test_video_bytes_and_image_copies_are_accepted(tmp_path: Path) -> None:
    frames = np.zeros((2, 3, 4, 4), np.uint8)
    webm = encoded_file(shanty.Video(frames).path).read_bytes()
    again = shanty.Video(io.BytesIO(webm), fps=4)
    assert (again.path, again.format) == (shanty.Video(frames).path, "webm")  # the same bytes, the same media
    with pytest.raises(InvalidInputError, match="cannot tell the format"):
        shanty.Video(b"\0\0\0\0 unknown")
    original = shanty.Image(pixels(4), boxes={"g": {"box_data": []}})
    copy = shanty.Image(original, caption="copy")
    assert (copy.path, copy.caption, copy.boxes) == (original.path, "copy", None)  # W&B copies the picture only
