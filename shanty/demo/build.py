"""A demo workspace that builds itself, deterministically, with no network.

Follows the seed story ("Artifacts by Reference"). A local folder acts as the
bucket::

    bucket/
      song_metadata.csv          song_id, location, species, date
      whalesong/<id>.wav         7 whale-like calls (sweeps, harmonics, noise), 16-bit mono
      whalesong/synth/<id>_<instrument>.wav   each song re-played by 4 instruments
      spectrograms/<id>.png      512x256 mel spectrograms
      videos/<id>.webm           the spectrogram with a moving playhead, and the song (VP8 + Opus)

and project ``cshanty`` gets, in order:

* ``sample_songs`` (raw_data) v0 with 5 songs (alias ``baseline``), then two
  songs are added and v1 has 7 (alias ``expanded``), each with a note;
* ``synth_songs`` (generated_data), the synth folder by reference, and
  ``synth_samples`` (synth_ddsp) with table ``synth_song_samples``;
* ``original_songs`` (raw_data) with table ``original_song_samples``
  (audio, spectrogram image, video, metadata);
* ``synth_summary`` (analysis) with joined table ``synth_explore``
  (originals joined to their synthesized versions on ``song_id``).

Every file is the same bytes on every build, files are only rewritten when
their bytes change, and a step whose artifact version (same contents, same
aliases) is already logged is skipped without starting a run: building
twice logs nothing new.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..api import Run
from ..artifact import Artifact, ArtifactVersion
from ..errors import NotFoundError
from ..registry import Registry
from ..tables.cells import Audio, Image, Video
from ..tables.table import JoinedTable, Table
from .media import (
    INSTRUMENTS,
    SAMPLE_RATE,
    call_count,
    render_instrument,
    render_song,
    similarity,
    song_samples,
    spectrogram_png,
    spectrogram_video,
    wav_bytes,
)

__all__ = ["DEMO_PROJECT", "SONGS", "Song", "build_demo", "demo_is_empty", "render_song"]

DEMO_PROJECT = "cshanty"
VIDEO_FPS = 12


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

# (songs in the bucket, aliases, note) for each version of sample_songs, in order.
_SAMPLE_VERSIONS = (
    (5, ("baseline",), "Five recordings from the Watkins-style sample set."),
    (7, ("expanded",), "Added the bowhead and pilot whale recordings."),
)


# --- the bucket ---------------------------------------------------------------------------------


def _write(path: Path, data: bytes) -> Path:
    # Unchanged files keep their mtime, so a rebuild does not look like an edit to anyone watching the bucket.
    if not path.is_file() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path


def _song_path(bucket: Path, song: Song) -> Path:
    return bucket / "whalesong" / f"{song.id}.wav"


def _write_songs(bucket: Path, songs: Sequence[Song]) -> None:
    """Put ``songs`` in the bucket; the metadata CSV lists every song the bucket holds."""
    for song in songs:
        _write(_song_path(bucket, song), render_song(song, seed=SONGS.index(song)))
    present = [s for s in SONGS if _song_path(bucket, s).is_file()]
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["song_id", "location", "species", "date"])
    writer.writerows([s.id, s.location, s.species, s.date] for s in present)
    # Beside the songs' folder, as in the seed, so whalesong/ holds only audio.
    _write(bucket / "song_metadata.csv", text.getvalue().encode())


def _sample_songs(bucket: Path, songs: Sequence[Song], note: str) -> Artifact:
    artifact = Artifact("sample_songs", type="raw_data", description=note)
    # One reference per song rather than the whalesong/ prefix: the prefix also
    # holds synth/, which the seed only created after logging these versions.
    # The entries (and so the digest) are the ones a prefix reference gives.
    for song in songs:
        artifact.add_reference(str(_song_path(bucket, song)))
    return artifact


def _synth_table(bucket: Path, originals: Sequence[np.ndarray]) -> Table:
    """Render every song with every instrument into whalesong/synth/ and tabulate them."""
    table = Table(columns=["song_id", "song_name", "audio", "instrument", "duration_s", "pitch_hz", "similarity"])
    for index, (song, original) in enumerate(zip(SONGS, originals, strict=True)):
        for instrument in INSTRUMENTS:
            rendering = render_instrument(song, index, instrument)
            name = f"{song.id}_{instrument.name}.wav"
            path = _write(bucket / "whalesong" / "synth" / name, wav_bytes(rendering.samples))
            caption = f"{song.id} ({song.species}) played on the {instrument.name}"
            table.add_data(
                song.id,
                name,
                Audio(str(path), sample_rate=SAMPLE_RATE, caption=caption),
                instrument.name,
                song.seconds,
                rendering.pitch_hz,
                similarity(original, rendering.samples),
            )
    return table


def _originals_table(bucket: Path, originals: Sequence[np.ndarray]) -> Table:
    """Spectrogram PNGs and playhead videos for every song, tabulated with the songs' metadata."""
    table = Table(
        columns=["song_id", "audio", "spectrogram", "video", "species", "location", "date", "duration_s", "calls"]
    )
    for index, (song, samples) in enumerate(zip(SONGS, originals, strict=True)):
        picture = _write(bucket / "spectrograms" / f"{song.id}.png", spectrogram_png(samples))
        movie = _write(bucket / "videos" / f"{song.id}.webm", spectrogram_video(samples, fps=VIDEO_FPS))
        where = f"{song.species}, {song.location}, {song.date}"
        table.add_data(
            song.id,
            Audio(str(_song_path(bucket, song)), sample_rate=SAMPLE_RATE, caption=where),
            Image(str(picture), caption=f"{song.id}: mel spectrogram, 40 Hz to 8 kHz"),
            Video(str(movie), fps=VIDEO_FPS, format="webm", caption=f"{song.id} with a playhead"),
            song.species,
            song.location,
            song.date,
            song.seconds,
            call_count(index),
        )
    return table


# --- logging --------------------------------------------------------------------------------------


def _logged(registry: Registry, artifact: Artifact, aliases: Sequence[str]) -> ArtifactVersion | None:
    """The version of ``artifact`` with the draft's contents and all ``aliases``, if there is one."""
    try:
        versions = registry.versions(DEMO_PROJECT, artifact.name)
    except NotFoundError:
        return None
    digest = artifact.manifest.digest
    match = next((v for v in versions if v.digest == digest and set(aliases) <= set(v.aliases)), None)
    return ArtifactVersion(registry, match) if match else None


def _log(
    root: str | os.PathLike[str],
    job_type: str,
    drafts: Sequence[tuple[Artifact, Sequence[str]]],
    uses: Sequence[str] = (),
) -> list[ArtifactVersion]:
    """Log the drafts not yet logged in one run (which uses ``uses``); returns every draft's version."""
    registry = Registry(root)
    found = [_logged(registry, artifact, aliases) for artifact, aliases in drafts]
    if all(found):
        return found
    with Run(project=DEMO_PROJECT, job_type=job_type, root=root) as run:
        for ref in uses:
            run.use_artifact(ref)
        return [
            version or run.log_artifact(artifact, aliases=list(aliases))
            for version, (artifact, aliases) in zip(found, drafts, strict=True)
        ]


def _log_synth(root: str | os.PathLike[str], bucket: Path, originals: Sequence[np.ndarray]) -> ArtifactVersion:
    """The seed's "log_synth" job: the synth folder by reference, and a playable table of it."""
    table = _synth_table(bucket, originals)
    synth_songs = Artifact("synth_songs", type="generated_data", description="Each song re-played by 4 instruments.")
    synth_songs.add_reference(str(bucket / "whalesong" / "synth"))
    synth_samples = Artifact("synth_samples", type="synth_ddsp", description="Playable synthesized songs.")
    synth_samples.add(table, "synth_song_samples")
    drafts = [(synth_songs, ()), (synth_samples, ())]
    return _log(root, "log_synth", drafts, uses=["sample_songs:expanded"])[1]


def _log_originals(root: str | os.PathLike[str], bucket: Path, originals: Sequence[np.ndarray]) -> ArtifactVersion:
    artifact = Artifact("original_songs", type="raw_data", description="Songs with spectrograms and videos.")
    artifact.add(_originals_table(bucket, originals), "original_song_samples")
    return _log(root, "show_samples", [(artifact, ())], uses=["sample_songs:expanded"])[0]


def _log_summary(root: str | os.PathLike[str], originals: ArtifactVersion, synth: ArtifactVersion) -> None:
    """The seed's "synth_explore": every original beside its synthesized versions, joined on song_id."""
    joined = JoinedTable(originals.get("original_song_samples"), synth.get("synth_song_samples"), "song_id")
    artifact = Artifact(
        "synth_summary", type="analysis", description="Originals side by side with their synth versions."
    )
    artifact.add(joined, "synth_explore")
    _log(root, "analysis", [(artifact, ())], uses=[originals.qualified_name, synth.qualified_name])


def demo_is_empty(root: str | os.PathLike[str]) -> bool:
    """Whether the registry at ``root`` has no projects yet."""
    return not Registry(root).projects()


def build_demo(root: str | os.PathLike[str], media_dir: str | os.PathLike[str]) -> None:
    """Generate the demo bucket under ``media_dir``/bucket and log it into ``root`` (project ``cshanty``).

    Deterministic (same bytes every build) and idempotent: re-running logs
    nothing new. Needs PyAV for the videos. About a second on a 2-core machine.
    """
    bucket = Path(media_dir) / "bucket"
    for count, aliases, note in _SAMPLE_VERSIONS:
        _write_songs(bucket, SONGS[:count])
        _log(root, "upload", [(_sample_songs(bucket, SONGS[:count], note), aliases)])

    originals = [song_samples(song, index) for index, song in enumerate(SONGS)]
    synth_version = _log_synth(root, bucket, originals)
    originals_version = _log_originals(root, bucket, originals)
    _log_summary(root, originals_version, synth_version)
