"""The demo's training run: a species classifier "trained" on the baseline songs, logged with ``run.log``.

Run ``whalenet-1`` (job type ``train``) uses ``sample_songs`` v0, logs 60 steps
of loss / accuracy curves (validation every 5 steps, a cosine learning rate),
an audio sample at the end of each of 3 epochs (gathered into the table
``run-whalenet-1-val_sample`` when the run finishes) and, at the last step, a
predictions table of the five songs (``run-whalenet-1-predictions``). The
curves come from a seeded generator, so every build logs the same values; a
registry that already has the run is left alone.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..api import Run
from ..artifact import ArtifactVersion
from ..registry import Registry
from ..tables.cells import Audio
from ..tables.table import Table

__all__ = ["TRAINING_RUN", "log_training_run"]

TRAINING_RUN = "whalenet-1"
STEPS = 60
EPOCH_STEPS = 20
CONFIG = {"model": "whalenet-small", "learning_rate": 0.003, "batch_size": 16, "epochs": 3, "seed": 7}
# (song id, species the model guesses, confidence): one miss, so the table has something to filter for.
PREDICTIONS = (
    ("humpback_01", "humpback whale", 0.94),
    ("humpback_02", "humpback whale", 0.81),
    ("orca_01", "killer whale", 0.88),
    ("minke_01", "humpback whale", 0.46),
    ("beluga_01", "beluga whale", 0.91),
)


def _curves(step: int, noise: np.ndarray) -> dict[str, float]:
    loss = 1.9 * math.exp(-step / 16) + 0.22 + 0.04 * noise[0]
    accuracy = 0.93 - 0.72 * math.exp(-step / 14) + 0.015 * noise[1]
    lr = CONFIG["learning_rate"] * 0.5 * (1 + math.cos(math.pi * step / STEPS))
    return {"loss": round(loss, 4), "accuracy": round(min(accuracy, 1.0), 4), "lr": round(lr, 6)}


def _predictions(songs: Mapping[str, tuple[str, Path]]) -> Table:
    table = Table(columns=["song_id", "audio", "species", "predicted", "confidence", "correct"])
    for song_id, guess, confidence in PREDICTIONS:
        species, path = songs[song_id]
        table.add_data(song_id, Audio(str(path), caption=species), species, guess, confidence, guess == species)
    return table


def log_training_run(
    root: str | os.PathLike[str], songs: Mapping[str, tuple[str, Path]], uses: ArtifactVersion
) -> None:
    """Log run ``whalenet-1`` into ``root`` (project of ``uses``, the version it trains on) unless it is
    there; ``songs`` maps the baseline song ids to (species, file in the bucket). Deterministic values."""
    if Registry(root).run(uses.project, TRAINING_RUN) is not None:
        return
    rng = np.random.default_rng(CONFIG["seed"])
    best = 0.0
    with Run(project=uses.project, job_type="train", config=CONFIG, root=root, run_id=TRAINING_RUN) as run:
        run.use_artifact(uses.qualified_name)
        for step in range(STEPS):
            row: dict[str, Any] = {**_curves(step, rng.standard_normal(2)), "epoch": step // EPOCH_STEPS}
            if step % 5 == 4:
                val = _curves(step, rng.standard_normal(2))
                row["val"] = {"loss": round(val["loss"] + 0.06, 4), "accuracy": round(val["accuracy"] - 0.03, 4)}
                best = max(best, row["val"]["accuracy"])
            if step % EPOCH_STEPS == EPOCH_STEPS - 1:
                song_id, guess, confidence = PREDICTIONS[step // EPOCH_STEPS]
                caption = f"epoch {step // EPOCH_STEPS}: {song_id} heard as a {guess} ({confidence:.0%})"
                row["val_sample"] = Audio(str(songs[song_id][1]), caption=caption)
            if step == STEPS - 1:
                row["predictions"] = _predictions(songs)
            run.log(row)
        run.summary["best_val_accuracy"] = best
