"""shanty enrich: a table's media measured where they lie (file, S3, GCS), logged as a new version with
lineage; cached by digest; every runner the same; bad input refused with the registry unchanged."""

from __future__ import annotations

import io
import math
import os

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image as PILImage

import shanty
from shanty.cli import main
from shanty.errors import InvalidInputError
from shanty.registry import Registry
from tests.kits.audio import encode, encode_video, tone

RATE = 16_000


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _media(kit, bucket: str) -> dict[str, bytes]:
    files = {
        f"{bucket}/media/a440.wav": encode(tone(1.5, RATE, 440.0), RATE, "wav"),
        f"{bucket}/media/a880.flac": encode(tone(1.0, RATE, 880.0, 0.25), RATE, "flac"),
        f"{bucket}/media/red.png": _png((200, 50, 10)),
        f"{bucket}/media/clip.mp4": encode_video(seconds=1.0, fps=5, width=32, height=24),
    }
    for uri, data in files.items():
        kit.put(uri, data)
    return files


def _log_source(root: str, bucket: str) -> shanty.ArtifactVersion:
    table = shanty.Table(
        columns=["name", "sound", "picture", "clip"],
        data=[
            ["a", shanty.Audio(f"{bucket}/media/a440.wav"), shanty.Image(f"{bucket}/media/red.png"), None],
            ["b", shanty.Audio(f"{bucket}/media/a880.flac"), None, shanty.Video(f"{bucket}/media/clip.mp4")],
            ["c", shanty.Audio(f"{bucket}/media/a440.wav"), None, None],  # the same object again: measured once
        ],
    )
    with shanty.init(project="p", job_type="upload", root=root) as run:
        artifact = shanty.Artifact("clips", type="dataset")
        artifact.add(table, "clips")
        return run.log_artifact(artifact)


@pytest.fixture
def source(kit, registry_root):
    bucket = kit.new_bucket(versioned=True)
    _media(kit, bucket)
    return _log_source(registry_root, bucket), bucket


def test_enrich_measures_every_kind_and_logs_a_new_version_with_lineage(source) -> None:
    version, _ = source
    result = shanty.enrich(version, runner="serial")
    assert (result.measured, result.cached, result.failed) == (4, 0, {})
    logged = result.version
    assert logged.name == "clips:v1"
    rows = logged.get("clips").get_dataframe()
    assert math.isclose(rows.loc[0, "sound_duration_s"], 1.5, abs_tol=0.01)
    assert rows.loc[0, "sound_sample_rate"] == RATE and rows.loc[0, "sound_channels"] == 1
    assert math.isclose(rows.loc[0, "sound_rms_dbfs"], 20 * math.log10(0.5 / math.sqrt(2)), abs_tol=0.3)
    assert math.isclose(rows.loc[1, "sound_duration_s"], 1.0, abs_tol=0.03)
    assert rows.loc[1, "sound_rms_dbfs"] < rows.loc[0, "sound_rms_dbfs"] - 5  # a quarter, not half, the amplitude
    assert rows.loc[2, "sound_rms_dbfs"] == rows.loc[0, "sound_rms_dbfs"]
    assert (rows.loc[0, "picture_width"], rows.loc[0, "picture_height"]) == (64, 48)
    assert rows.loc[0, "picture_mean_color"] == "#c8320a"
    assert rows.loc[1, "picture_width"] is None or np.isnan(rows.loc[1, "picture_width"])
    assert math.isclose(rows.loc[1, "clip_duration_s"], 1.0, abs_tol=0.25)
    assert (rows.loc[1, "clip_width"], rows.loc[1, "clip_height"]) == (32, 24)
    embedding = rows.loc[0, "sound_embedding"]
    assert len(embedding) > 8 and math.isclose(float(np.linalg.norm(embedding)), 1.0, abs_tol=1e-3)
    # The images made (a spectrogram, a poster) are media cells of the new version, stored by value
    table = logged.get("clips")
    spectrogram = table.get_column("sound_spectrogram")[0]
    entry = logged.get_entry(spectrogram.entry)
    assert entry.ref is None and entry.size > 100
    assert table.media_columns["clip_poster"] == "image"
    # Lineage: the enrich job used v0 and logged v1; the version says what made its columns
    assert logged.logged_by().job_type == "enrich"
    assert [r.id for r in version.used_by()] == [logged.logged_by().id]
    facts = logged.metadata["enrichment"]
    assert facts["from"] == version.qualified_name and facts["job"] == logged.logged_by().id
    assert "sound_embedding" in facts["columns"] and facts["runner"] == "serial"
    # Everything else the version held is carried over
    assert set(version.manifest.entries) - {"clips.table.parquet"} <= set(logged.manifest.entries)


def test_enriching_an_enriched_version_measures_the_same_media_again_not_the_images_it_made(file_kit, tmp_path) -> None:
    root = str(tmp_path / "registry")
    bucket = file_kit.new_bucket()
    _media(file_kit, bucket)
    first = shanty.enrich(_log_source(root, bucket), runner="serial").version
    again = shanty.enrich(first, runner="serial")
    assert again.cached == 4 and again.measured == 0
    assert again.version.get("clips").columns == first.get("clips").columns  # no sound_spectrogram_width...
    assert again.version.version == first.version  # the very same table: nothing new is logged


def test_a_rerun_measures_only_new_or_changed_objects(file_kit, tmp_path) -> None:
    root = str(tmp_path / "registry")
    bucket = file_kit.new_bucket()
    _media(file_kit, bucket)
    first = shanty.enrich(_log_source(root, bucket), runner="serial")
    assert first.measured == 4
    again = shanty.enrich(_log_source(root, bucket), runner="serial")
    assert (again.measured, again.cached) == (0, 4)
    file_kit.put(f"{bucket}/media/a440.wav", encode(tone(2.0, RATE, 440.0), RATE, "wav"))
    changed = shanty.enrich(_log_source(root, bucket), runner="serial")
    assert (changed.measured, changed.cached) == (1, 3)
    frame = changed.version.get("clips").get_dataframe()
    assert math.isclose(frame.loc[0, "sound_duration_s"], 2.0, abs_tol=0.01)


def test_a_process_pool_gives_the_very_same_table(file_kit, tmp_path, monkeypatch) -> None:
    root = str(tmp_path / "registry")
    bucket = file_kit.new_bucket()
    _media(file_kit, bucket)
    version = _log_source(root, bucket)
    serial = shanty.enrich(version, runner="serial").version
    monkeypatch.setenv("SHANTY_CACHE", str(tmp_path / "other-cache"))  # measured afresh, not read back
    pooled = shanty.enrich(version, runner="local", workers=2)
    assert pooled.measured == 4
    assert pooled.version.version == serial.version  # identical contents: the same version, not a new one
    assert pq.read_table(pooled.version.table_file("clips")).equals(pq.read_table(serial.table_file("clips")))


def test_a_user_embedding_function_replaces_the_built_in_one(file_kit, tmp_path) -> None:
    root = str(tmp_path / "registry")
    bucket = file_kit.new_bucket()
    _media(file_kit, bucket)
    result = shanty.enrich(_log_source(root, bucket), runner="serial", embed=_size_vector)
    frame = result.version.get("clips").get_dataframe()
    assert list(frame.loc[0, "sound_embedding"]) == [float(len(encode(tone(1.5, RATE, 440.0), RATE, "wav"))), 1.0]
    assert "test_enrich._size_vector" in result.version.metadata["enrichment"]["embedding"]


def _size_vector(kind: str, data: bytes) -> list[float]:
    return [float(len(data)), 1.0]


def test_a_file_changed_after_logging_is_not_measured_and_its_row_says_so(file_kit, tmp_path) -> None:
    root = str(tmp_path / "registry")
    bucket = file_kit.new_bucket()
    _media(file_kit, bucket)
    version = _log_source(root, bucket)
    file_kit.put(f"{bucket}/media/red.png", _png((0, 0, 255)))
    result = shanty.enrich(version, runner="serial")
    assert list(result.failed.values()) == ["the file changed after it was logged"]
    frame = result.version.get("clips").get_dataframe()
    assert frame.loc[0, "picture_mean_color"] is None
    assert frame.loc[0, "sound_duration_s"] > 1  # the rest of the row is measured


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"table": "nope"}, "has no table 'nope'"),
        ({"columns": ["name"]}, "holds no audio, image or video"),
        ({"runner": "gpu"}, "Unknown runner 'gpu'"),
    ],
)
def test_bad_requests_get_one_sentence_and_log_nothing(file_kit, tmp_path, kwargs, message) -> None:
    root = str(tmp_path / "registry")
    bucket = file_kit.new_bucket()
    _media(file_kit, bucket)
    version = _log_source(root, bucket)
    with pytest.raises(InvalidInputError, match=message):
        shanty.enrich(version, **kwargs)
    assert [v.version for v in Registry(root).versions("p", "clips")] == ["v0"]


def test_the_command_line_enriches_and_reports(file_kit, tmp_path, capsys) -> None:
    root = str(tmp_path / "registry")
    bucket = file_kit.new_bucket()
    _media(file_kit, bucket)
    _log_source(root, bucket)
    assert main(["--registry", root, "enrich", "p/clips:v0", "--serial", "--column", "sound"]) == 0
    out = capsys.readouterr().out
    assert "p/clips:v1: 10 columns added (2 files measured, 0 from the cache)" in out
    assert main(["--registry", root, "enrich", "p/clips:v0", "--embed", "nowhere:thing"]) == 1
    assert "Cannot load the embedding function 'nowhere:thing'" in capsys.readouterr().err


def _blas_threads(kind: str, data: bytes) -> list[float]:
    return [float(os.environ.get("OPENBLAS_NUM_THREADS", "0")), float(os.getpid())]


def test_pool_workers_run_one_blas_thread_each_and_the_parent_keeps_its_environment(
    file_kit, tmp_path, monkeypatch
) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    root = str(tmp_path / "registry")
    bucket = file_kit.new_bucket()
    _media(file_kit, bucket)
    result = shanty.enrich(_log_source(root, bucket), runner="local", workers=2, embed=_blas_threads)
    vectors = result.version.get("clips").get_dataframe()["sound_embedding"]
    assert {v[0] for v in vectors} == {1.0}  # set in each worker, not inherited from here
    assert all(v[1] != os.getpid() for v in vectors)  # measured in other processes
    assert "OPENBLAS_NUM_THREADS" not in os.environ
