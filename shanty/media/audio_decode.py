"""Audio of any format PyAV decodes, as mono float32, read through ranged reads with bounded memory.

Every reader here sits on the ``read_at(offset, length)`` callable of
:mod:`shanty.media.waveform` (a local file, or one ranged request to a
bucket per call), so an object is never downloaded whole:

* PyAV reads through :class:`~shanty.media.ranged_file.RangedFile`, a
  seekable file object over ``read_at`` that reads ahead, so a whole-file
  decode costs few requests and a seek-and-sample pass little more than the
  bytes it needs.
* :func:`open_samples` gives a :class:`Samples` source: WAV files the numpy
  reader of :mod:`~shanty.media.waveform` understands are read by it (fast,
  and without PyAV); anything else (FLAC, MP3, OGG/Opus, AAC/M4A, A-law
  WAV...) is decoded by PyAV, imported only then (it is the ``demo`` extra).
  A source yields the signal mixed down to mono, a block of about 64 Ki
  frames at a time (:meth:`Samples.blocks`; MP4/M4A cut at the duration
  their edit list states, as browsers play them), or a short window from a
  time (:meth:`Samples.sample`: FLAC and Ogg by an interpolation search on
  byte positions, since their frames carry their times; MP3 by its table of
  contents or constant bit rate; indexed formats by time; WAV exactly), so
  memory stays bounded whatever the file's length.
* :func:`audio_waveform` is :func:`~shanty.media.waveform.waveform_of` for
  every format: the WAV fast path first, then a streamed PyAV decode into
  min/max buckets whose width doubles as the file turns out longer (the
  frame count is only known at the end), so the duration is the decoded
  one, right for MP3 and FLAC too.

Nothing here raises for unreadable bytes: None, as ``waveform_of`` does.
PyAV is limited to audio/video container formats (``format_whitelist``), so
bytes posing as a playlist or another protocol are never followed.
A 3-minute 44.1 kHz stereo file is summarised in 0.5 s (FLAC, MP3) to 1 s
(Opus, AAC) on a busy 2-core machine; a 1-hour one in 4 s (FLAC) to 12 s
(Opus), its memory growing by under 10 MB.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np

from .ranged_file import RangedFile, ReadAt
from .waveform import BLOCK_BYTES, Waveform, _decode, _layout, _mixdown, waveform_of

__all__ = ["BLOCK_FRAMES", "RangedFile", "Samples", "audio_waveform", "open_samples"]

BLOCK_FRAMES = 1 << 16  # frames per block handed to the summaries (256 KiB of float32)
MAX_PREROLL_S = 30.0  # a seek by time that lands further before its target than this takes what it finds
WARM_UP_S = 0.05  # decoded after a seek by bytes and dropped: partial frames, MP3's bit reservoir, Opus pre-roll
BYTE_SEEKS = {"flac", "ogg"}  # demuxers that resynchronise from any byte and read each frame's time from it
_PROBES = 6  # byte seeks at most per sample before taking where the last one landed
FORWARD_S = 1.0  # a byte seek landing this much before its target decodes forward to it rather than seeking again
EDIT_LISTS = {"mov"}  # demuxers whose stated duration is exact (MP4, M4A, MOV)
_BAD_PACKETS = 64  # packets that fail to decode before a file is given up as broken
# Demuxers PyAV may pick for user bytes: audio and video containers, never playlists or protocols.
FORMATS = "wav,w64,flac,mp3,ogg,mov,aac,matroska,aiff,caf,wv,ape,asf,amr,au,mpeg,mpegts,avi,flv,ac3,eac3"


class Samples(Protocol):
    """A decodable audio file: its rate and channels, and its signal mixed down to mono float32."""

    sample_rate: int
    channels: int

    def duration_hint(self) -> float | None:
        """The duration (s) the header or container states, before decoding; None when unknown."""
        ...

    def blocks(self) -> Iterator[np.ndarray]:
        """The whole signal in order, about :data:`BLOCK_FRAMES` frames at a time."""
        ...

    def sample(self, start_s: float, frames: int) -> np.ndarray | None:
        """Up to ``frames`` frames from about ``start_s`` seconds in, after a seek (see :func:`open_samples`
        for how each format seeks); None when the seek fails."""
        ...


class _WavSamples:
    """WAV files the numpy reader understands: blocks and samples are plain ranged reads."""

    def __init__(self, read_at: ReadAt, layout: tuple[Any, int, int, bool]):
        self._read_at = read_at
        self._fmt, self._offset, present, _ = layout
        self.frames = present // self._fmt.frame_bytes
        self.sample_rate, self.channels = self._fmt.sample_rate, self._fmt.channels

    def duration_hint(self) -> float | None:
        return self.frames / self.sample_rate

    def _read(self, first: int, count: int) -> np.ndarray:
        count = max(0, min(count, self.frames - first))
        data = self._read_at(self._offset + first * self._fmt.frame_bytes, count * self._fmt.frame_bytes)
        return _mixdown(_decode(data, self._fmt))

    def blocks(self) -> Iterator[np.ndarray]:
        step = max(1, BLOCK_BYTES // self._fmt.frame_bytes)
        first = 0
        while first < self.frames:
            mono = self._read(first, step)
            if mono.size == 0:
                return
            yield mono
            first += mono.size

    def sample(self, start_s: float, frames: int) -> np.ndarray | None:
        first = min(max(0, round(start_s * self.sample_rate)), self.frames)
        return self._read(first, frames)


def _mono(frame: Any) -> np.ndarray:
    """A decoded PyAV audio frame mixed down to mono float32 (scaled to [-1, 1], not yet cleaned:
    :func:`_clean` does that once a block)."""
    values = frame.to_ndarray()
    channels = max(1, frame.layout.nb_channels)
    kind = values.dtype
    # One row per channel: planar formats are (channels, n), packed ones (1, n * channels) interleaved.
    rows = values.reshape(channels, -1) if frame.format.is_planar else values.reshape(-1, channels).T
    mono = rows[0].astype(np.float32)  # a copy: summing channels into it leaves the frame alone
    for row in rows[1:]:  # a loop over channels: numpy's reduce over a short axis is slower
        mono += row
    if kind.kind == "f":
        return mono / channels if channels > 1 else mono
    if kind == np.uint8:
        return (mono - 128 * channels) / (128 * channels)
    return mono / np.float32(channels * 2 ** (8 * kind.itemsize - 1))


def _clean(mono: np.ndarray) -> np.ndarray:
    """NaN to silence, infinities and overs clipped to [-1, 1] (float formats may hold any value)."""
    np.nan_to_num(mono, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(mono, -1, 1, out=mono)


class _AvSamples:
    """Any format PyAV decodes (its first audio stream), read through a :class:`RangedFile`."""

    def __init__(self, av: Any, container: Any, stream: Any, size: int):
        self._av, self._container, self._stream, self._size = av, container, stream, size
        names = set(container.format.name.split(","))
        self._byte_seeks = bool(BYTE_SEEKS & names)
        self._anchors: list[tuple[int, float]] = []  # (byte position, time) pairs learnt by seeking
        self._data_start: int | None = None  # byte position of the first packet
        # MP4/M4A state the exact duration (the edit list drops the encoder's padding, which the AAC
        # decoder outputs anyway): browsers play that much, so the summaries stop there too.
        self._limit_s = float(stream.duration * stream.time_base) if EDIT_LISTS & names and stream.duration else None
        # The first frame is decoded now: its rate and channels are the truth (HE-AAC doubles the header's rate).
        self._decoded = self._frames()
        self._first = next(self._decoded, None)
        context = stream.codec_context
        self.sample_rate = int(getattr(self._first, "sample_rate", 0) or context.sample_rate or 0)
        self.channels = int(self._first.layout.nb_channels if self._first is not None else context.channels or 1)

    def duration_hint(self) -> float | None:
        stream = self._stream
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        if self._container.duration:
            return self._container.duration / 1_000_000  # AV_TIME_BASE
        return None

    def _frames(self) -> Iterator[Any]:
        """Decoded frames of the stream from where the container is; a broken packet is skipped, a
        broken container ends the stream."""
        error = self._av.FFmpegError
        bad = 0
        try:
            for packet in self._container.demux(self._stream):
                if self._data_start is None and packet.pos is not None and packet.pos >= 0:
                    self._data_start = packet.pos
                try:
                    yield from packet.decode()
                except error:
                    bad += 1
                    if bad > _BAD_PACKETS:
                        return
        except (error, EOFError, ValueError):
            return

    def blocks(self) -> Iterator[np.ndarray]:
        pending: list[np.ndarray] = []
        held, left = 0, None if self._limit_s is None else round(self._limit_s * self.sample_rate)
        decoded = itertools.chain([self._first], self._decoded) if self._first is not None else self._frames()
        self._first = None  # a second pass decodes from where the container is
        for frame in decoded:
            mono = _mono(frame)
            if left is not None:
                mono, left = mono[:left], left - min(left, mono.size)
            pending.append(mono)
            held += mono.size
            if held >= BLOCK_FRAMES:
                yield _clean(np.concatenate(pending))
                pending, held = [], 0
            if left == 0:
                break
        if held:
            yield _clean(np.concatenate(pending))

    def sample(self, start_s: float, frames: int) -> np.ndarray | None:
        if self._byte_seeks:
            found = self._by_bytes(start_s, frames)
            if found is not None or self._byte_seeks:
                return found
        return self._window(start_s, frames)

    def _by_bytes(self, start_s: float, frames: int) -> np.ndarray | None:
        """An interpolation search by byte position: each seek lands on a frame whose time the container
        reads from the frame itself (FLAC, Ogg), which is kept as an anchor, so the next guess (and every
        later column's) is made between the nearest known (position, time) pairs. Clears ``_byte_seeks``
        when the format turns out not to give times."""
        duration = self.duration_hint()
        if duration is None or not self._stream.time_base:
            self._byte_seeks = False
            return None
        if not self._anchors:  # from where the packets begin: a seek never lands in the tags before them
            self._anchors = [(self._data_start or 0, 0.0), (self._size, duration)]
        tolerance = max(duration / 2000, 0.02)
        for attempt in range(_PROBES):
            times = [t for _, t in self._anchors]
            right = min(max(1, bisect.bisect_right(times, start_s)), len(times) - 1)
            (p0, t0), (p1, t1) = self._anchors[right - 1], self._anchors[right]
            position = p0 + int((start_s - t0) / (t1 - t0) * (p1 - p0)) if t1 > t0 else p0
            try:
                self._container.seek(position, unsupported_byte_offset=True)
            except (self._av.FFmpegError, ValueError, OverflowError):
                self._byte_seeks = False
                return None
            frames_after = self._frames()
            frame = next(frames_after, None)
            if frame is None:
                return None
            if frame.pts is None:
                self._byte_seeks = False
                return None
            landed = float(frame.pts * self._stream.time_base)
            if t0 < landed < t1 and p0 < position < p1:
                self._anchors.insert(right, (position, landed))
            if -tolerance <= start_s - landed <= FORWARD_S or attempt == _PROBES - 1:  # close, or a little before
                skip = round(max(WARM_UP_S, start_s - landed) * self.sample_rate)
                return self._take(itertools.chain([frame], frames_after), frames, skip)
        return None

    def _take(self, decoded: Iterator[Any], frames: int, skip: int) -> np.ndarray | None:
        """``frames`` frames of ``decoded`` after the first ``skip`` (decoders warming up after a jump)."""
        taken: list[np.ndarray] = []
        held = -skip
        for frame in decoded:
            mono = _mono(frame)
            taken.append(mono[max(0, -held) :])
            held += mono.size
            if held >= frames:
                break
        return _clean(np.concatenate(taken)[:frames]) if taken and held > 0 else None

    def _window(self, start_s: float, frames: int) -> np.ndarray | None:
        """``frames`` frames from ``start_s``: a seek by time to the keyframe before, decoded up to it."""
        stream = self._stream
        if not stream.time_base:
            return None
        try:  # a little early: what decoders give just after a seek is dropped on the way to start_s
            self._container.seek(int(max(0.0, start_s - WARM_UP_S) / stream.time_base), stream=stream)
        except (self._av.FFmpegError, ValueError, OverflowError):
            return None
        taken: list[np.ndarray] = []
        held, skipped = 0, 0
        for frame in self._frames():
            mono = _mono(frame)
            if frame.pts is not None and held == 0:
                late = round((start_s - float(frame.pts * stream.time_base)) * self.sample_rate)
                if late >= mono.size and skipped < MAX_PREROLL_S * self.sample_rate:
                    skipped += mono.size  # before the target: decoded only to get there
                    continue
                mono = mono[max(0, late) :]
            taken.append(mono)
            held += mono.size
            if held >= frames:
                break
        return _clean(np.concatenate(taken)[:frames]) if taken else None


def _import_av() -> Any | None:
    try:
        import av  # the `demo` extra: only files the numpy reader cannot read need it
    except ImportError:
        return None
    return av


@contextmanager
def open_samples(read_at: ReadAt, size: int) -> Iterator[Samples | None]:
    """A :class:`Samples` source for the audio file of ``size`` bytes ``read_at`` reads, or None when it is
    no audio that can be read (or needs PyAV and PyAV is not installed).

    Use it as a context manager: the PyAV container is closed on leaving.
    What ``read_at`` raises is raised again on leaving, not swallowed.
    """
    layout = _layout(read_at, size)
    if layout is not None and (layout[2] >= layout[0].frame_bytes or not layout[3]):
        yield _WavSamples(read_at, layout)
        return
    av = _import_av()
    if av is None:
        yield None
        return
    reader = RangedFile(read_at, size)
    container = None
    try:
        try:
            # fastseek: MP3 seeks by its table of contents or constant bit rate, one read, not a scan.
            container = av.open(reader, mode="r", options={"format_whitelist": FORMATS, "fflags": "+fastseek"})
            stream = container.streams.audio[0] if container.streams.audio else None
        except (av.FFmpegError, EOFError, ValueError, OSError, UnicodeDecodeError, IndexError):
            stream = None
        source = _AvSamples(av, container, stream, size) if stream is not None else None
        if source is not None and (source._first is None or source.sample_rate < 1 or source.channels < 1):
            source = None  # nothing decodes
        yield source
    finally:
        if container is not None:
            container.close()
        if reader.error is not None:
            raise reader.error


class _Peaks:
    """Min/max buckets over a stream of unknown length: ``width`` frames a bucket, doubled (pairs merged)
    whenever more than ``2 * limit`` buckets fill, so memory stays near ``limit`` buckets. The bucket
    being filled is kept as (frames, min, max), so every bucket boundary stays at a multiple of ``width``."""

    def __init__(self, limit: int):
        self.limit, self.width, self.frames = limit, 1, 0
        self.mins = np.zeros(0, dtype=np.float32)
        self.maxs = np.zeros(0, dtype=np.float32)
        self.tail = (0, np.inf, -np.inf)  # the bucket being filled: frames in it, min, max

    def add(self, mono: np.ndarray) -> None:
        if mono.size == 0:
            return
        self.frames += mono.size
        held, low, high = self.tail
        if held:  # top up the bucket being filled first
            head, mono = mono[: self.width - held], mono[self.width - held :]
            held, low, high = held + head.size, min(low, float(head.min())), max(high, float(head.max()))
            if held < self.width:
                self.tail = (held, low, high)
                return
            self._append(np.array([low], np.float32), np.array([high], np.float32))
        whole = mono.size // self.width * self.width
        if whole:
            rows = mono[:whole].reshape(-1, self.width)
            self._append(rows.min(axis=1), rows.max(axis=1))
        rest = mono[whole:]
        self.tail = (rest.size, float(rest.min()), float(rest.max())) if rest.size else (0, np.inf, -np.inf)
        while self.mins.size > 2 * self.limit:
            self._halve()

    def _append(self, mins: np.ndarray, maxs: np.ndarray) -> None:
        self.mins, self.maxs = np.concatenate([self.mins, mins]), np.concatenate([self.maxs, maxs])

    def _halve(self) -> None:
        even = self.mins.size // 2 * 2
        if even < self.mins.size:  # an odd last bucket joins the one being filled (twice as wide now)
            held, low, high = self.tail
            self.tail = (held + self.width, min(low, float(self.mins[-1])), max(high, float(self.maxs[-1])))
        self.mins = self.mins[:even].reshape(-1, 2).min(axis=1)
        self.maxs = self.maxs[:even].reshape(-1, 2).max(axis=1)
        self.width *= 2

    def summary(self, buckets: int) -> tuple[np.ndarray, np.ndarray]:
        held, low, high = self.tail
        mins = np.append(self.mins, np.float32(low)) if held else self.mins
        maxs = np.append(self.maxs, np.float32(high)) if held else self.maxs
        count = min(buckets, self.frames)
        if count == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        # Output bucket k spans frames [edges[k], edges[k+1]): the stored buckets from the one holding its first.
        edges = (np.arange(count, dtype=np.int64) * self.frames) // count
        starts = np.minimum(edges // self.width, mins.size - 1)
        return np.minimum.reduceat(mins, starts), np.maximum.reduceat(maxs, starts)


def audio_waveform(read_at: ReadAt, size: int, buckets: int = 200) -> Waveform | None:
    """:func:`~shanty.media.waveform.waveform_of` for any audio format: a WAV the numpy reader understands
    is summarised by it; anything else is decoded by PyAV, streamed into min/max buckets (memory bounded
    by a block and ``16 * buckets`` buckets). ``duration_s`` and ``frames`` are what was decoded.

    None for bytes that are no decodable audio (or need PyAV, which is missing), and for a file that
    decodes to nothing. Raises ValueError for ``buckets < 1``; what ``read_at`` raises propagates.
    """
    fast = waveform_of(read_at, size, buckets)
    if fast is not None:
        return fast
    with open_samples(read_at, size) as source:
        if source is None:
            return None
        peaks = _Peaks(16 * buckets)
        for block in source.blocks():
            peaks.add(block)
        rate, channels = source.sample_rate, source.channels
    if peaks.frames == 0:
        return None
    mins, maxs = peaks.summary(buckets)
    return Waveform(
        mins=tuple(mins.tolist()),
        maxs=tuple(maxs.tolist()),
        duration_s=peaks.frames / rate,
        sample_rate=rate,
        channels=channels,
        frames=int(peaks.frames),
    )
