"""A demo workspace that builds itself, deterministically, with no network.

Follows the seed story ("Artifacts by Reference"), with one more round of
work, so that every view of the dashboard opens on something. A local folder
acts as the bucket::

    bucket/
      song_metadata.csv          song_id, location, species, date of the songs in whalesong/
      whalesong/<id>.wav         7 whale-like calls (sweeps, harmonics, noise), 16-bit mono
      whalesong/synth/<id>_<instrument>.wav         each song re-played by 4 instruments (28)
      whalesong/synth/take2/<id>_<instrument>.wav   4 of them played again (sharper, brighter, more vibrato)
      spectrograms/<id>.png      512x256 mel spectrograms
      videos/<id>.webm           the spectrogram with a moving playhead, and the song (VP8 + Opus)
      formats/<id>.<suffix>      2 songs as WAV, FLAC, MP3, Opus in Ogg and AAC in M4A

The bucket keeps no object versions, so a rendering that is redone goes to a
new path (``take2/``) and the first take stays playable in the version that
logged it. Project ``cshanty`` gets, in order, one run per step:

Before them, ``annotate`` logs ``annotated_shapes`` (dataset) v0 with table ``shapes``: 8 pictures
with true and predicted boxes and true masks (see shapes.py).

0. ``encode_formats``: ``audio_formats`` (raw_data) v0 with table ``formats``: the
   humpback and beluga songs in every audio format the dashboard previews
   (10 rows: clip_id, format, codec, audio, bytes). Logged first, so every
   view still opens on the story below;
1. ``upload``: ``sample_songs`` (raw_data) v0, the first 5 songs (alias ``baseline``);
   then ``train`` (run ``whalenet-1``, see training.py), using it: 60 steps of ``run.log`` history,
   its tables ``run-whalenet-1-val_sample`` and ``run-whalenet-1-predictions``;
2. ``log_synth``, using sample_songs v0: ``synth_songs`` (generated_data) v0, its 20
   renderings by reference, and ``synth_samples`` (synth_ddsp) v0 with table
   ``synth_song_samples``: 5 songs x 4 instruments = 20 rows;
3. the bowhead and pilot recordings arrive in the bucket; ``log_synth``, using
   sample_songs v0 and synth_samples v0, logs v1 of both: 4 renderings redone
   (humpback_01 on flute and violin, orca_01 on organ and sax: new audio, pitch and
   similarity), the 2 renderings least like their songs dropped (minke_01 on the
   flute, beluga_01 on the organ) and the 8 of the new songs added, 26 rows;
   synth_songs v1 is the whole synth folder (32 files);
4. ``show_samples``, using sample_songs v0: ``original_songs`` (raw_data) with table
   ``original_song_samples`` of all 7 songs (audio, spectrogram image, video, metadata);
5. ``analysis``, using both tables: ``synth_summary`` (analysis) with joined table
   ``synth_explore`` (the originals joined to synth_samples v1 on ``song_id``);
6. ``enrich``, twice: ``original_songs`` v1 and ``synth_samples`` v2, their tables with measured
   columns (duration, loudness, silence, waveform peaks, a spectrogram, an embedding; size, colour
   and a perceptual hash of the pictures; the videos' fps and a poster frame), so the Map view opens
   on the renderings clustered by instrument;
7. ``upload``: ``sample_songs`` v1, all 7 songs (alias ``expanded``), each version
   with a note. It is the last version logged, so the dashboard's Diff view opens
   on it: v0 -> v1 adds the two new songs.

Steps 3 and 4 read the new recordings from the bucket before step 7 versions
them; their runs record what they used from the registry.

Every file is the same bytes on every build, files are only rewritten when
their bytes change, and a step whose artifact version (same contents, same
aliases) is already logged is skipped without starting a run: building
twice logs nothing new.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..api import Run
from ..artifact import Artifact, ArtifactVersion
from ..enrichment import enrich
from ..enrichment.apply import measures_id
from ..errors import NotFoundError
from ..registry import Registry
from ..tables.cells import Audio, Image, Video
from ..tables.table import JoinedTable, Table
from .media import (
    INSTRUMENTS,
    SAMPLE_RATE,
    Instrument,
    call_count,
    encode_audio,
    render_instrument,
    render_song,
    retake,
    similarity,
    song_samples,
    spectrogram_png,
    spectrogram_video,
    wav_bytes,
)
from .shapes import shapes_table
from .training import log_training_run

__all__ = ["DEMO_PROJECT", "SONGS", "Song", "build_demo", "demo_is_empty", "render_song"]

DEMO_PROJECT = "cshanty"
VIDEO_FPS = 12
FORMAT_CLIPS = ("humpback_01", "beluga_01")  # the songs of audio_formats, each in every format
FORMAT_CODECS = {"wav": "pcm_s16le", "flac": "flac", "mp3": "mp3", "ogg": "opus", "m4a": "aac"}


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


@dataclass(frozen=True)
class _SampleVersion:
    """A version of sample_songs: the first ``songs`` songs, with ``aliases`` and a note."""

    songs: int
    aliases: tuple[str, ...]
    note: str


_BASELINE, _EXPANDED = (
    _SampleVersion(5, ("baseline",), "Five recordings from the Watkins-style sample set."),
    _SampleVersion(7, ("expanded",), "Added the bowhead and pilot whale recordings."),
)

_Row = tuple[str, str]  # (song id, instrument name): the key of a row of synth_song_samples


@dataclass(frozen=True)
class _SynthVersion:
    """A version of synth_samples: the first ``songs`` songs on every instrument, but for the
    ``dropped`` rows, and with the ``retakes`` played again (:func:`retake`) into synth/take2/."""

    songs: int
    retakes: frozenset[_Row]
    dropped: frozenset[_Row]
    note: str


_FIRST_TAKES, _SECOND_TAKES = (
    _SynthVersion(5, frozenset(), frozenset(), "The five baseline songs, each played by 4 instruments."),
    _SynthVersion(
        7,
        frozenset({("humpback_01", "flute"), ("humpback_01", "violin"), ("orca_01", "organ"), ("orca_01", "sax")}),
        frozenset({("minke_01", "flute"), ("beluga_01", "organ")}),
        "Second takes of humpback_01 (flute, violin) and orca_01 (organ, sax); dropped the two renderings least "
        "like their songs (minke_01 on the flute, beluga_01 on the organ); added bowhead_01 and pilot_01.",
    ),
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


def _synth_folder(bucket: Path) -> Path:
    return bucket / "whalesong" / "synth"


def _synth_path(bucket: Path, song: Song, instrument: Instrument, retaken: bool) -> Path:
    folder = _synth_folder(bucket) / "take2" if retaken else _synth_folder(bucket)
    return folder / f"{song.id}_{instrument.name}.wav"


def _synth_table(
    bucket: Path, plan: _SynthVersion, originals: Sequence[np.ndarray], rendered: dict[Path, tuple[float, float]]
) -> Table:
    """Render the rows of ``plan`` into whalesong/synth/ and tabulate them.

    ``rendered`` maps every rendering written so far to its (pitch, similarity),
    so a rendering that a later version keeps is computed once per build.
    """
    table = Table(columns=["song_id", "song_name", "audio", "instrument", "duration_s", "pitch_hz", "similarity"])
    for index, song in enumerate(SONGS[: plan.songs]):
        for instrument in INSTRUMENTS:
            row = (song.id, instrument.name)
            if row in plan.dropped:
                continue
            retaken = row in plan.retakes
            path = _synth_path(bucket, song, instrument, retaken)
            if path not in rendered:
                rendering = render_instrument(song, index, retake(instrument) if retaken else instrument)
                _write(path, wav_bytes(rendering.samples))
                rendered[path] = (rendering.pitch_hz, similarity(originals[index], rendering.samples))
            pitch_hz, score = rendered[path]
            take = ", second take" if retaken else ""
            caption = f"{song.id} ({song.species}) played on the {instrument.name}{take}"
            table.add_data(
                song.id,
                path.name,
                Audio(str(path), sample_rate=SAMPLE_RATE, caption=caption),
                instrument.name,
                song.seconds,
                pitch_hz,
                score,
            )
    return table


def _synth_songs(bucket: Path, rendered: Iterable[Path]) -> Artifact:
    """The synth folder by reference, as the renderings written so far left it."""
    artifact = Artifact("synth_songs", type="generated_data", description="Each song re-played by 4 instruments.")
    # One reference per file rather than the folder, so that a bucket which already holds
    # later takes (a new registry over an existing bucket) gives the same versions. The
    # entries (and so the digest) are the ones a folder reference gives.
    folder = _synth_folder(bucket)
    for path in sorted(rendered):
        artifact.add_reference(str(path), name=path.relative_to(folder).as_posix())
    return artifact


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


def _formats_table(bucket: Path) -> Table:
    """The FORMAT_CLIPS songs encoded in every format of FORMAT_CODECS, into formats/."""
    table = Table(columns=["clip_id", "format", "codec", "audio", "bytes"])
    for song_id in FORMAT_CLIPS:
        index = next(i for i, s in enumerate(SONGS) if s.id == song_id)
        samples = song_samples(SONGS[index], index)
        for suffix, codec in FORMAT_CODECS.items():
            data = encode_audio(samples, suffix)
            path = _write(bucket / "formats" / f"{song_id}.{suffix}", data)
            caption = f"{song_id} ({SONGS[index].species}) as {suffix.upper()} ({codec})"
            table.add_data(
                song_id, suffix, codec, Audio(str(path), sample_rate=SAMPLE_RATE, caption=caption), len(data)
            )
    return table


def _log_shapes(root: str | os.PathLike[str]) -> None:
    """``annotated_shapes`` v0: pictures of shapes with boxes and masks (shapes.py), stored by value."""
    artifact = Artifact("annotated_shapes", type="dataset", description="Shapes with true and predicted boxes, masks.")
    artifact.add(shapes_table(), "shapes")
    _log(root, "annotate", [(artifact, ())])


def _log_formats(root: str | os.PathLike[str], bucket: Path) -> ArtifactVersion:
    artifact = Artifact(
        "audio_formats",
        type="raw_data",
        description="Two songs as WAV, FLAC, MP3, Opus in Ogg and AAC in M4A: waveforms and spectrograms of each.",
    )
    artifact.add(_formats_table(bucket), "formats")
    return _log(root, "encode_formats", [(artifact, ())])[0]


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
    uses: Sequence[ArtifactVersion] = (),
) -> list[ArtifactVersion]:
    """Log the drafts not yet logged in one run (which uses ``uses``); returns every draft's version."""
    registry = Registry(root)
    found = [_logged(registry, artifact, aliases) for artifact, aliases in drafts]
    if all(found):
        return found
    with Run(project=DEMO_PROJECT, job_type=job_type, root=root) as run:
        for version in uses:
            run.use_artifact(version.qualified_name)
        return [
            version or run.log_artifact(artifact, aliases=list(aliases))
            for version, (artifact, aliases) in zip(found, drafts, strict=True)
        ]


def _log_sample_songs(root: str | os.PathLike[str], bucket: Path, plan: _SampleVersion) -> ArtifactVersion:
    """The seed's upload: the songs the bucket holds, by reference (the bucket must hold them)."""
    artifact = _sample_songs(bucket, SONGS[: plan.songs], plan.note)
    return _log(root, "upload", [(artifact, plan.aliases)])[0]


def _log_synth(
    root: str | os.PathLike[str],
    bucket: Path,
    plan: _SynthVersion,
    originals: Sequence[np.ndarray],
    rendered: dict[Path, tuple[float, float]],
    uses: Sequence[ArtifactVersion],
) -> ArtifactVersion:
    """The seed's "log_synth" job: the synth folder by reference, and a playable table of it."""
    table = _synth_table(bucket, plan, originals, rendered)
    synth_samples = Artifact("synth_samples", type="synth_ddsp", description=plan.note)
    synth_samples.add(table, "synth_song_samples")
    drafts = [(_synth_songs(bucket, rendered), ()), (synth_samples, ())]
    return _log(root, "log_synth", drafts, uses=uses)[1]


def _log_originals(
    root: str | os.PathLike[str], bucket: Path, originals: Sequence[np.ndarray], uses: Sequence[ArtifactVersion]
) -> ArtifactVersion:
    artifact = Artifact("original_songs", type="raw_data", description="Songs with spectrograms and videos.")
    artifact.add(_originals_table(bucket, originals), "original_song_samples")
    return _log(root, "show_samples", [(artifact, ())], uses=uses)[0]


def _log_summary(root: str | os.PathLike[str], originals: ArtifactVersion, synth: ArtifactVersion) -> None:
    """The seed's "synth_explore": every original beside its synthesized versions, joined on song_id."""
    joined = JoinedTable(originals.get("original_song_samples"), synth.get("synth_song_samples"), "song_id")
    artifact = Artifact(
        "synth_summary", type="analysis", description="Originals side by side with their synth versions."
    )
    artifact.add(joined, "synth_explore")
    _log(root, "analysis", [(artifact, ())], uses=[originals, synth])


def _enrich(version: ArtifactVersion, table: str) -> None:
    """The ``enrich`` job: the table's media measured (an embedding among them), logged as the next
    version, unless a version enriched from this one by these measures is logged already."""
    latest = version._registry.versions(version.project, version.info.artifact)[-1]
    done = latest.metadata.get("enrichment", {})
    if done.get("from") == version.qualified_name and done.get("measures") == measures_id():
        return
    enrich(version, table, runner="serial")  # a few dozen short files: a process pool would cost more


def demo_is_empty(root: str | os.PathLike[str]) -> bool:
    """Whether the registry at ``root`` has no projects yet."""
    return not Registry(root).projects()


def build_demo(root: str | os.PathLike[str], media_dir: str | os.PathLike[str]) -> None:
    """Generate the demo bucket under ``media_dir``/bucket and log it into ``root`` (project ``cshanty``).

    The steps of the module docstring, in order. Deterministic (same bytes
    every build) and idempotent: re-running logs nothing new. Needs PyAV for
    the videos and the compressed audio. About two seconds on a 2-core machine.
    """
    bucket = Path(media_dir) / "bucket"
    _log_shapes(root)
    _log_formats(root, bucket)
    _write_songs(bucket, SONGS[: _BASELINE.songs])
    baseline = _log_sample_songs(root, bucket, _BASELINE)
    log_training_run(root, {s.id: (s.species, _song_path(bucket, s)) for s in SONGS[: _BASELINE.songs]}, baseline)

    originals = [song_samples(song, index) for index, song in enumerate(SONGS)]
    rendered: dict[Path, tuple[float, float]] = {}
    first_takes = _log_synth(root, bucket, _FIRST_TAKES, originals, rendered, uses=[baseline])
    # The new recordings arrive in the bucket; they are versioned last, once everything built on them is logged.
    _write_songs(bucket, SONGS[: _EXPANDED.songs])
    second_takes = _log_synth(root, bucket, _SECOND_TAKES, originals, rendered, uses=[baseline, first_takes])
    originals_version = _log_originals(root, bucket, originals, uses=[baseline])
    _log_summary(root, originals_version, second_takes)
    _enrich(originals_version, "original_song_samples")
    _enrich(second_takes, "synth_song_samples")  # last: the Map view opens on the renderings
    _log_sample_songs(root, bucket, _EXPANDED)
