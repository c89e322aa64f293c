"""Issue 12's acceptance: five W&B-style scripts (tests/wandb_scripts/, W&B's guides with only the import
line changed) run as users run them, in their own process, on a file, an S3 and a GCS registry; then what
they logged is read back through the API."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import shanty
from shanty.demo.media import wav_bytes

sanitize_artifact_name = pytest.importorskip("wandb.sdk.artifacts._internal_artifact").sanitize_artifact_name

SCRIPTS = Path(__file__).resolve().parent / "wandb_scripts"


def run_script(name: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args], capture_output=True, text=True, timeout=300, env=os.environ.copy()
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stderr[-3000:]}"
    return done.stdout.strip()


def png(value: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), value, dtype=np.uint8)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def media_bucket(kit) -> str:
    """A bucket on the kit's backend holding the songs, images and model file the scripts reference."""
    bucket = kit.new_bucket()
    tone = np.sin(np.linspace(0, 200, 1600)).astype(np.float32)
    for name in ("humpback", "orca", "minke"):
        kit.put(f"{bucket}/whalesong/{name}.wav", wav_bytes(tone * 0.3, 8000))
    for name in ("humpback_flute", "humpback_organ", "orca_flute"):
        kit.put(f"{bucket}/whalesong/synth/{name}.wav", wav_bytes(tone * 0.2, 8000))
    for index in range(3):
        kit.put(f"{bucket}/datasets/mnist/{index}.png", png(40 * index))
    kit.put(f"{bucket}/models/cnn/my_model.h5", b"weights v1")
    return bucket


@pytest.fixture
def registry(registry_root: str, monkeypatch: pytest.MonkeyPatch) -> shanty.Api:
    monkeypatch.setenv("SHANTY_ROOT", registry_root)
    return shanty.Api(registry_root)


def test_seed_guide(media_bucket: str, registry: shanty.Api) -> None:
    songs_dir = run_script("seed_guide.py", media_bucket)
    assert sorted(os.listdir(songs_dir))[:3] == ["humpback.wav", "minke.wav", "orca.wav"]
    synth = registry.artifact("songs/synth_samples:latest").get("synth_song_samples")
    assert sorted(synth.get_column("song_name")) == ["humpback_flute.wav", "humpback_organ.wav", "orca_flute.wav"]
    joined = registry.artifact("songs/synth_summary:latest").get("synth_explore")
    assert len(joined.table1) == 2 and len(joined.table2) == 3


def test_external_files(media_bucket: str, registry: shanty.Api) -> None:
    out = run_script("external_files.py", media_bucket)
    assert out == "['0.png', '1.png', '2.png'] 10 weights v1"
    model = registry.artifact("external/checkpoint:best")
    assert sorted(model.manifest.entries) == ["data/0.png", "data/1.png", "data/2.png", "model.h5"]


def test_log_and_export_tables(media_bucket: str, registry: shanty.Api) -> None:
    out = run_script("log_tables.py", media_bucket)
    assert out == "2 ['a', 'b', 'c', 'ab'] [1.0, 0.5]"
    run_id = next(r.id for r in registry.runs("table-test") if r.job_type != "export")
    songs = registry.artifact(f"table-test/run-{run_id}-songs:latest").get("songs")
    spaced = registry.artifact(f"table-test/{sanitize_artifact_name(f'run-{run_id}-Table Name')}:v0")
    assert spaced.get("Table Name").get_column("a") == ["a1", "a2"]  # named as wandb 0.31 names it
    assert [cell.uri.rsplit("/", 1)[-1] for cell in songs.get_column("clip")] == ["humpback.wav", "orca.wav"]


def test_evaluate_models_with_numpy_images_boxes_and_masks(media_bucket: str, registry: shanty.Api) -> None:
    out = json.loads(run_script("evaluate_models.py", media_bucket))
    assert (out["rows"], out["boxes"], out["masks"]) == (4, ["ground_truth", "predictions"], ["ground_truth"])
    version = registry.artifact("evaluate/eval_results:latest")
    table = version.get("predictions")
    image = table.get_column("image")[0]
    assert image.entry in version.manifest.entries and version.manifest.entries[image.entry].ref is None  # by value
    pixels = np.asarray(Image.open(version.get_entry(image.entry).download(str(Path.cwd() / "check"))))
    assert pixels.shape == (48, 64, 3) and tuple(pixels[15, 15]) == (200, 60, 30)
    assert 0 <= out["accuracy"] <= 1


def test_yolo_style_logger_resumes_with_config(media_bucket: str, registry: shanty.Api) -> None:
    run_script("yolo_logger.py", media_bucket, "yolorun1", "0", "2")
    run_script("yolo_logger.py", media_bucket, "yolorun1", "2", "4")  # resume="allow" with the same id
    run = registry.run("yolo/yolorun1")
    history = run.history()
    assert list(history["_step"]) == [0, 1, 2, 3]
    assert history["metrics/mAP_0.5"].round(3).tolist() == [0.5, 0.667, 0.75, 0.8]
    assert run.config["hyp"] == {"lr0": 0.01, "momentum": 0.937} and run.config["resumed_at"] == 2
    assert run.summary["best/mAP_0.5"] == pytest.approx(0.8)
    model = registry.artifact("yolo/run_yolorun1_model:best")
    assert model.metadata["epochs_trained"] == 4 and "epoch 4" in model.aliases
    dataset = registry.artifact("yolo/dataset:latest").get("dataset")
    assert len(dataset) == 3 and dataset.get_column("train_image")[0].boxes
