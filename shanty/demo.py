"""A demo workspace that builds itself, deterministically, with no network.

Follows the seed story: a local folder acts as the bucket; it holds
synthesised whale-song-like calls (frequency sweeps with harmonics and
noise, 16-bit WAV) and ``song_metadata.csv``. ``sample_songs`` is logged as
v0 with 5 songs, then 2 songs are added and it is logged again as v1 with 7,
each version with aliases and a note.
"""

from __future__ import annotations

import csv
import io
import os
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .api import Run
from .artifact import Artifact
from .registry import Registry

__all__ = ["DEMO_PROJECT", "SONGS", "build_demo", "demo_is_empty", "render_song"]

DEMO_PROJECT = "cshanty"
SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Song:
    id: str
    species: str
    location: str
    date: str
    low_hz: float
    high_hz: float
    seconds: float


SONGS = (
    Song("humpback_01", "humpback whale", "Hawaii", "1971-03-02", 180, 900, 3.0),
    Song("humpback_02", "humpback whale", "Bermuda", "1972-04-11", 250, 1200, 2.5),
    Song("orca_01", "killer whale", "Puget Sound", "1979-08-20", 900, 4000, 2.0),
    Song("minke_01", "minke whale", "Great Barrier Reef", "1996-06-14", 80, 400, 3.0),
    Song("beluga_01", "beluga whale", "St. Lawrence", "1984-07-30", 1500, 6000, 1.5),
    Song("bowhead_01", "bowhead whale", "Beaufort Sea", "1988-05-05", 100, 700, 3.0),
    Song("pilot_01", "pilot whale", "Cape Cod", "1991-09-09", 1200, 5000, 2.0),
)


def render_song(song: Song, seed: int, timbre: tuple[float, ...] = (1.0, 0.5, 0.25)) -> bytes:
    """A 16-bit mono WAV: up-down sweeps with harmonics (weights ``timbre``) and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(song.seconds * SAMPLE_RATE)) / SAMPLE_RATE
    calls = 1 + seed % 3
    phase_pos = (t * calls / song.seconds) % 1.0
    sweep = song.low_hz + (song.high_hz - song.low_hz) * np.sin(np.pi * phase_pos) ** 2  # rise and fall per call
    phase = 2 * np.pi * np.cumsum(sweep) / SAMPLE_RATE
    signal = sum(w * np.sin((k + 1) * phase) for k, w in enumerate(timbre))
    envelope = np.sin(np.pi * phase_pos) ** 0.5
    audio = signal * envelope / sum(timbre) * 0.8 + rng.normal(0, 0.02, t.size)
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def _write_bucket(bucket: Path, songs: tuple[Song, ...]) -> None:
    bucket.mkdir(parents=True, exist_ok=True)
    for index, song in enumerate(songs):
        path = bucket / f"{song.id}.wav"
        data = render_song(song, seed=index)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
    # The metadata sits beside the songs' folder, as in the seed, so the
    # referenced prefix holds only songs (5 in v0, 7 in v1).
    with open(bucket.parent / "song_metadata.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["song_id", "location", "species", "date"])
        writer.writerows([s.id, s.location, s.species, s.date] for s in songs)


def demo_is_empty(root: str | os.PathLike[str]) -> bool:
    """Whether the registry at ``root`` has no projects yet."""
    return not Registry(root).projects()


def build_demo(root: str | os.PathLike[str], media_dir: str | os.PathLike[str]) -> None:
    """Generate the demo bucket under ``media_dir`` and log it into ``root``.

    Idempotent: re-running logs nothing new (identical contents are not re-versioned).
    """
    bucket = Path(media_dir) / "bucket" / "whalesong"
    for count, aliases, note in (
        (5, ["baseline"], "Five recordings from the Watkins-style sample set."),
        (7, ["expanded"], "Added the bowhead and pilot whale recordings."),
    ):
        _write_bucket(bucket, SONGS[:count])
        for stale in bucket.glob("*.wav"):
            if stale.stem not in {s.id for s in SONGS[:count]}:
                stale.unlink()
        with Run(project=DEMO_PROJECT, job_type="upload", root=root) as run:
            artifact = Artifact("sample_songs", type="raw_data", description=note)
            artifact.add_reference(str(bucket))
            run.log_artifact(artifact, aliases=aliases)
