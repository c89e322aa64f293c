"""W&B output made by the real ``wandb`` client (offline), for the import tests.

:func:`build_wandb_output` runs :data:`SCRIPT` with the installed ``wandb``
in a subprocess of its own process group (the client starts a service
process and keeps global state; neither may leak into other tests), then
ends whatever of that group is left. The script logs one offline run and,
in it, one artifact; it writes:

* ``export/``: the artifact's files laid out as ``artifact.download()`` writes
  them (every entry at its path, a ``file://`` reference copied in, no
  ``wandb_manifest.json``); ``export_manifest/``: the same plus the manifest;
* ``wandb/offline-run-<date>-<id>/``: the run directory;
* ``given.json``: what the client was given (rows, boxes, masks, config,
  history), for the tests to compare against.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

RUN_ID = "imp0run1"
PROJECT = "wbproj"

SCRIPT = (
    textwrap.dedent(
        """
    import json, os, shutil, sys, wave
    from pathlib import Path

    import numpy as np
    import wandb
    from wandb.sdk.data_types.table import PartitionedTable  # not exported at the top level in 0.31

    out = Path(sys.argv[1])
    rng = np.random.default_rng(7)
    LABELS = {0: "background", 1: "cat", 2: "dog"}

    def wav(path, frames):
        with wave.open(str(path), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(16000)
            handle.writeframes(rng.integers(-3000, 3000, frames, dtype=np.int16).tobytes())
        return path

    def boxes_for(i):
        return {
            "predictions": {
                "box_data": [
                    {"position": {"minX": 0.1, "maxX": 0.5, "minY": 0.2, "maxY": 0.6 + i / 100},
                     "class_id": 1, "box_caption": f"cat {i}", "scores": {"conf": 0.9 - i / 10}},
                    {"position": {"middle": [8, 6], "width": 4, "height": 3}, "domain": "pixel",
                     "class_id": 2, "scores": {"conf": 0.5}},
                ],
                "class_labels": {1: "cat", 2: "dog"},
            },
            "ground_truth": {
                "box_data": [{"position": {"minX": 0.0, "maxX": 0.4, "minY": 0.1, "maxY": 0.5}, "class_id": 1}],
                "class_labels": {1: "cat", 2: "dog"},
            },
        }

    media = out / "sources"
    media.mkdir(parents=True)
    given = {"rows": [], "parts": [], "standalone": {}}
    run = wandb.init(project="__PROJECT__", id="__RUN_ID__", job_type="train",
                     config={"lr": 0.01, "layers": [64, 32], "optimizer": {"name": "adam", "beta": 0.9}})

    rows = []
    for i in range(3):
        pixels = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
        mask = rng.integers(0, 3, (12, 16), dtype=np.uint8)
        image = wandb.Image(pixels, caption=f"image {i}", boxes=boxes_for(i),
                            masks={"gt": {"mask_data": mask, "class_labels": LABELS}})
        audio = None if i == 2 else wandb.Audio(str(wav(media / f"a{i}.wav", 800 + i)), sample_rate=16000,
                                                caption=f"audio {i}")
        tags = [i, i + 1, i * 10]
        meta = {"score": 0.5 + i, "label": f"l{i}", "nested": {"k": i}}
        rows.append([f"s{i}", image, audio, tags, meta])
        given["rows"].append({"id": f"s{i}", "pixels": pixels.tolist(), "mask": mask.tolist(),
                              "boxes": boxes_for(i), "caption": f"image {i}", "tags": tags, "meta": meta,
                              "audio": None if audio is None else f"a{i}.wav"})
    main = wandb.Table(columns=["id", "img", "aud", "tags", "meta"], data=rows)
    scores = wandb.Table(columns=["id", "score"], data=[[f"s{i}", i / 4] for i in range(3)])
    art = wandb.Artifact("evalset", type="dataset", metadata={"source": "fixture"})
    art.add(main, "main")
    art.add(scores, "scores")
    art.add(wandb.JoinedTable(main, scores, "id"), "joined")
    for p, chunk in enumerate([[0, 1], [2]]):
        part_rows = []
        for i in chunk:
            pixels = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
            part_rows.append([f"p{i}", i * 1.5, wandb.Image(pixels)])
            given["parts"].append({"id": f"p{i}", "value": i * 1.5, "pixels": pixels.tolist()})
        art.add(wandb.Table(columns=["id", "value", "thumb"], data=part_rows), f"parts/part{p}")
    art.add(PartitionedTable("parts"), "partitioned")
    cover = rng.integers(0, 255, (10, 10, 3), dtype=np.uint8)
    art.add(wandb.Image(cover, caption="the cover"), "cover")
    given["standalone"]["cover"] = cover.tolist()
    art.add(wandb.Audio(str(wav(media / "jingle.wav", 400)), sample_rate=16000, caption="jingle"), "jingle")
    bucket = out / "bucket"
    bucket.mkdir()
    wav(bucket / "ref.wav", 300)
    art.add_reference((bucket / "ref.wav").resolve().as_uri(), name="refs/ref.wav")

    # The folder artifact.download() writes: every entry at its path (a file:// reference copied in).
    for folder in ("export", "export_manifest"):
        for path, entry in art.manifest.entries.items():
            target = out / folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            source = entry.local_path if entry.ref is None else entry.ref.removeprefix("file://")
            shutil.copyfile(source, target)
    (out / "export_manifest" / "wandb_manifest.json").write_text(json.dumps(art.manifest.to_manifest_json()))

    history = []
    for step in range(5):
        row = {"loss": round(1 / (step + 1), 4)}
        if step % 2 == 0:
            row["acc"] = step / 10
        if step == 1:
            run.log({"lr_now": 0.01}, commit=False)
            row["lr_now"] = 0.01
        if step == 2:
            small = wandb.Table(columns=["id", "img", "tags"],
                                data=[["e0", wandb.Image(rng.integers(0, 255, (6, 6, 3), dtype=np.uint8)), [1, 2]],
                                      ["e1", None, []]])
            run.log({**row, "examples": small})
        elif step == 3:
            sample = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
            run.log({**row, "sample": wandb.Image(sample, boxes=boxes_for(0), caption="sample")})
            given["sample"] = sample.tolist()
            given["sample_boxes"] = boxes_for(0)
        elif step == 4:  # a list of images: W&B's "images/separated" history value
            gallery = [rng.integers(0, 255, (5, 7, 3), dtype=np.uint8) for _ in range(2)]
            run.log({**row, "gallery": [wandb.Image(gallery[0], caption="first"),
                                        wandb.Image(gallery[1], caption="second", boxes=boxes_for(1))]})
            given["gallery"] = [g.tolist() for g in gallery]
            given["gallery_boxes"] = boxes_for(1)
        else:
            run.log(row)
        history.append(row)
    run.summary["best_acc"] = 0.4
    run.log_artifact(art)
    run.finish()
    given["history"] = history
    (out / "given.json").write_text(json.dumps(given))
    """
    )
    .replace("__PROJECT__", PROJECT)
    .replace("__RUN_ID__", RUN_ID)
)


def wandb_env(folder: Path) -> dict[str, str]:
    """The environment for the client: offline, silent, every W&B folder under ``folder``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_DIR=str(folder),
        WANDB_CACHE_DIR=str(folder / "cache"),
        WANDB_DATA_DIR=str(folder / "data"),
        WANDB_ARTIFACT_DIR=str(folder / "artifacts"),
        WANDB_CONFIG_DIR=str(folder / "config"),
        WANDB_DISABLE_GIT="true",
        WANDB_DISABLE_CODE="true",
        HOME=str(folder / "home"),
    )
    return env


def build_wandb_output(folder: Path) -> dict:
    """Run :data:`SCRIPT` in ``folder`` with the real client; returns ``given.json``.

    Raises RuntimeError with the client's output if the script fails.
    """
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "make_wandb_output.py"
    script.write_text(SCRIPT)
    process = subprocess.Popen(
        [sys.executable, str(script), str(folder)],
        cwd=folder,
        env=wandb_env(folder),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the client's service process joins this group: it is ended below
    )
    try:
        output, _ = process.communicate(timeout=240)
    finally:
        with contextlib.suppress(ProcessLookupError):  # gone: the client ended its service itself
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"the wandb fixture script failed ({process.returncode}):\n{output.decode()[-4000:]}")
    return json.loads((folder / "given.json").read_text())


def run_folder(folder: Path) -> Path:
    """The offline run directory the script wrote."""
    (found,) = (folder / "wandb").glob(f"offline-run-*-{RUN_ID}")
    return found
