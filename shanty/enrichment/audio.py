"""Measured columns of one audio file: duration, format, levels, silence, waveform peaks, spectrogram, embedding.

:func:`measure_audio` decodes the file once, through
:func:`shanty.media.audio_decode.open_samples` (WAV by numpy, every other
format PyAV decodes by ranged reads), mixed down to mono, a block at a time:

* levels, silence and peaks are running sums over the whole file, so they
  cost no memory whatever its length;
* the first ``HELD_S`` seconds are kept for the spectrogram (drawn by
  :mod:`shanty.media.spectrogram` from those samples, so a compressed file
  is not decoded twice) and the embeddings
  (:mod:`shanty.enrichment.embedding`). A longer file's embeddings describe its
  first ``HELD_S`` seconds, and its spectrogram is drawn from the file
  itself (sampled, one seek a column).

Levels are of the mono mixdown (the mean of the channels). Nothing here
raises for bytes that are no audio: None. What ``read_at`` raises
propagates.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..media.audio_decode import open_samples
from ..media.ranged_file import ReadAt
from ..media.spectrogram import spectrogram_png
from .embedding import audio_descriptors

__all__ = ["AUDIO_MEASURES", "PEAK_BUCKETS", "AudioMeasures", "measure_audio"]

FLOOR_DBFS = -120.0  # the level of digital silence (never -inf)
SILENT_DBFS = -50.0  # a 20 ms frame quieter than this is silent
SILENCE_FRAME_S = 0.02
PEAK_BUCKETS = 128
HELD_S = 300.0  # seconds of signal kept for the spectrogram and the embeddings (mono float32: 58 MB at 48 kHz)


@dataclass(frozen=True)
class AudioMeasures:
    """What :func:`measure_audio` measures of one audio file.

    ``rms_dbfs`` / ``peak_dbfs``: RMS and peak of the mono mixdown in dB full
    scale (a full-scale sine is -3.01 / 0 dBFS), ``FLOOR_DBFS`` for silence.
    ``silence_ratio``: the share of consecutive 20 ms frames (the last,
    partial one counted when it is at least 10 ms) whose RMS is below -50
    dBFS. ``peaks``: the largest absolute sample of each of 128 equal spans
    of time, in [0, 1]. ``embedding`` / ``melody``: see
    :mod:`shanty.enrichment.embedding`.
    """

    duration_s: float
    sample_rate: int
    channels: int
    rms_dbfs: float
    peak_dbfs: float
    silence_ratio: float
    peaks: tuple[float, ...]
    spectrogram_png: bytes
    embedding: tuple[float, ...]
    melody: tuple[float, ...]

    def columns(self) -> dict[str, object]:
        """The plain column values by name (tuples as lists, the PNG as bytes), in field order."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}


# The scalar and list measures, in order (the spectrogram and the embeddings are columns of their own kinds).
AUDIO_MEASURES: tuple[str, ...] = (
    "duration_s",
    "sample_rate",
    "channels",
    "rms_dbfs",
    "peak_dbfs",
    "silence_ratio",
    "peaks",
)


def _dbfs(value: float) -> float:
    return round(max(FLOOR_DBFS, 20 * math.log10(value)) if value > 0 else FLOOR_DBFS, 3)


class _Running:
    """Level, silence and peak summaries of a stream of mono blocks."""

    def __init__(self, rate: int):
        self.frame = max(1, round(SILENCE_FRAME_S * rate))
        self.tick = max(1, rate // 1000)  # peaks are kept per millisecond, then merged into the buckets
        self.samples, self.squares, self.peak = 0, 0.0, 0.0
        self.quiet_frames = self.frames = 0
        self.ticks: list[np.ndarray] = []
        self.frame_carry = np.zeros(0, np.float64)
        self.tick_carry = np.zeros(0, np.float32)

    def add(self, block: np.ndarray) -> None:
        self.samples += block.size
        wide = block.astype(np.float64)
        self.squares += float(np.dot(wide, wide))
        self.peak = max(self.peak, float(np.max(np.abs(block))))
        frames = np.concatenate([self.frame_carry, wide])
        whole = frames.size // self.frame * self.frame
        self._count(frames[:whole].reshape(-1, self.frame))
        self.frame_carry = frames[whole:]
        ticks = np.concatenate([self.tick_carry, np.abs(block)])
        whole = ticks.size // self.tick * self.tick
        self.ticks.append(ticks[:whole].reshape(-1, self.tick).max(axis=1))
        self.tick_carry = ticks[whole:]

    def _count(self, frames: np.ndarray) -> None:
        if len(frames):
            level = np.mean(frames * frames, axis=1)
            self.quiet_frames += int(np.sum(level < 10 ** (SILENT_DBFS / 10)))
            self.frames += len(frames)

    def finish(self) -> tuple[float, float, float, tuple[float, ...]]:
        """(rms dBFS, peak dBFS, silence ratio, peaks)."""
        if self.frame_carry.size * 2 >= self.frame or self.frames == 0:
            self._count(self.frame_carry[None, :] if self.frame_carry.size else np.zeros((0, 1)))
        ticks = list(self.ticks)
        if self.tick_carry.size:
            ticks.append(np.array([self.tick_carry.max()], np.float32))
        maxima = np.concatenate(ticks) if ticks else np.zeros(1, np.float32)
        edges = np.arange(PEAK_BUCKETS + 1) * maxima.size // PEAK_BUCKETS
        starts = np.minimum(edges[:-1], maxima.size - 1)
        peaks = np.maximum.reduceat(maxima, starts)
        rms = math.sqrt(self.squares / self.samples) if self.samples else 0.0
        ratio = self.quiet_frames / self.frames if self.frames else 1.0
        return (
            _dbfs(rms),
            _dbfs(self.peak),
            round(ratio, 4),
            tuple(round(float(min(p, 1.0)), 4) for p in peaks),
        )


def _float_wav(mono: np.ndarray, rate: int) -> bytes:
    """A 32-bit float mono WAV of ``mono``: the spectrogram reads it with numpy, not decoding again."""
    data = np.ascontiguousarray(mono, dtype="<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _bytes_reader(data: bytes) -> Any:
    return lambda offset, length: data[offset : offset + length]


def measure_audio(read_at: ReadAt, size: int) -> AudioMeasures | None:
    """The measures of the audio file of ``size`` bytes that ``read_at(offset, length)`` reads (see the
    module docstring), or None when it is no decodable audio or decodes to nothing (or needs PyAV, the
    ``media`` extra, which is not installed). Deterministic: the same bytes give the same measures."""
    if size <= 0:
        return None
    with open_samples(read_at, size) as source:
        if source is None:
            return None
        rate, channels = int(source.sample_rate), int(source.channels)
        running = _Running(rate)
        held: list[np.ndarray] = []
        room = int(HELD_S * rate)
        for block in source.blocks():
            if block.size == 0:
                continue
            running.add(block)
            if room > 0:
                held.append(block[:room])
                room -= min(room, block.size)
    if running.samples == 0:
        return None
    mono = np.concatenate(held)
    rms_dbfs, peak_dbfs, silence_ratio, peaks = running.finish()
    if mono.size == running.samples:
        wav = _float_wav(mono, rate)
        picture = spectrogram_png(_bytes_reader(wav), len(wav))
    else:
        picture = spectrogram_png(read_at, size)
    embedding, melody = audio_descriptors(mono, rate)
    return AudioMeasures(
        duration_s=round(running.samples / rate, 6),
        sample_rate=rate,
        channels=channels,
        rms_dbfs=rms_dbfs,
        peak_dbfs=peak_dbfs,
        silence_ratio=silence_ratio,
        peaks=peaks,
        spectrogram_png=picture or b"",
        embedding=tuple(round(v, 6) for v in embedding.tolist()),
        melody=tuple(round(v, 6) for v in melody.tolist()),
    )
