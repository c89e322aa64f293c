"""Spectrogram previews of audio files: a small PNG (400 x 128 by default), mel rows, magma colours.

:func:`spectrogram_png` reads a file through ``read_at(offset, length)``
(see :mod:`shanty.media.audio_decode`: WAV by numpy, every other format by
PyAV, mixed down to mono) and draws it with numpy alone:

* **Frequency**: an STFT with a Hann window of about 40 ms (a power of two:
  2048 frames at 44.1 kHz, 512 at 16 kHz), power spectra pooled by
  triangular filters on the mel scale from 30 Hz to Nyquist (mean power per
  band; a band narrower than an FFT bin interpolates between bins; computed
  with running sums, not BLAS). Row 0 is the highest band: low frequencies
  are at the bottom.
* **Level**: dB relative to the loudest cell, 80 dB of range; digital
  silence is all dark.
* **Colour**: matplotlib's *magma* (CC0), 16 anchors interpolated to 256
  entries, written as a palette PNG (one byte a pixel) by
  :func:`shanty.media.png.png_bytes`: black to pale yellow, so the image
  reads on light and dark pages alike.
* **Time**, bounded work whatever the length, by what the file says its
  duration is:

  - a clip of at most ``width x n_fft`` frames (about 19 s at 44.1 kHz, 13 s
    at 16 kHz) is held in memory (at most 3.3 MB) and one FFT frame is
    centred on each column;
  - up to ``FULL_DECODE_S`` (10 minutes), the file is decoded once, a block
    at a time, through a streaming STFT (hop ``n_fft / 2``) whose frames are
    averaged into time cells that merge pairwise as the file turns out
    longer, then into the columns: every sample counts, memory stays near
    ``4 x width`` cells;
  - longer files are **sampled**: one window per column, at the column's
    middle, of ``WINDOW_FFTS`` overlapping FFT frames (about 0.1 s), each
    after a seek (:meth:`~shanty.media.audio_decode.Samples.sample`): FLAC
    and Ogg by byte position, an interpolation search on the times their
    frames carry whose landings are kept for the next columns (one or two
    seeks a column); MP3 by its table of contents or constant bit rate; MP4,
    M4A and Matroska by their index; WAV exactly. Work and bytes read grow
    with the column count, not with the length: 1-hour 44.1 kHz stereo
    files took 0.4-1 s, 400-1200 reads and 13-39 MB of 43-237 MB files.
    Short events between the windows are not seen; a file that cannot seek
    is streamed instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .audio_decode import Samples, open_samples
from .png import png_bytes

__all__ = [
    "FULL_DECODE_S",
    "HEIGHT",
    "WIDTH",
    "fft_size",
    "row_frequencies",
    "spectrogram_levels",
    "spectrogram_png",
]

ReadAt = Callable[[int, int], bytes]

WIDTH, HEIGHT = 400, 128  # time columns x frequency rows
FLOOR_DB = 80.0  # dynamic range shown: quieter than the loudest cell by more than this is black
FULL_DECODE_S = 600.0  # files stated to last longer are sampled, one seek per column
WINDOW_FFTS = 3  # FFT frames (hop n_fft / 2) averaged at each sampled column
LOW_HZ = 30.0

# matplotlib's magma (BIDS colormaps, CC0) at 16 evenly spaced points, interpolated to 256 entries.
_MAGMA = np.array(
    [
        (0, 0, 4),
        (11, 9, 36),
        (32, 17, 75),
        (59, 15, 112),
        (87, 21, 126),
        (114, 31, 129),
        (140, 41, 129),
        (168, 50, 125),
        (196, 60, 117),
        (222, 73, 104),
        (241, 96, 93),
        (250, 127, 94),
        (254, 159, 109),
        (254, 191, 132),
        (253, 222, 160),
        (252, 253, 191),
    ],
    dtype=float,
)
PALETTE = (
    np.stack(
        [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_MAGMA)), _MAGMA[:, c]) for c in range(3)], axis=1
    )
    .round()
    .astype(np.uint8)
)


def fft_size(sample_rate: int) -> int:
    """The FFT length for ``sample_rate``: the power of two nearest 40 ms (256 to 8192)."""
    return 1 << int(np.clip(round(np.log2(max(sample_rate, 1) * 0.04)), 8, 13))


def _mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595 * np.log10(1 + np.asarray(hz, dtype=float) / 700)


def _hz(mel: np.ndarray) -> np.ndarray:
    return 700 * (10 ** (mel / 2595) - 1)


def _band_edges(sample_rate: int, height: int) -> np.ndarray:
    """``height + 2`` mel-spaced frequencies: band ``r`` rises from edge ``r``, peaks at ``r + 1``, ends at ``r + 2``."""
    low = min(LOW_HZ, sample_rate / 8)
    return _hz(np.linspace(_mel(low), _mel(sample_rate / 2), height + 2))


def row_frequencies(sample_rate: int, height: int = HEIGHT) -> np.ndarray:
    """The centre frequency (Hz) of each image row, top row first (highest first)."""
    return _band_edges(sample_rate, height)[1:-1][::-1]


def _triangles(sample_rate: int, n_fft: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(low, centre, high) Hz of each band's triangle, lowest band first, at least a bin either side of
    its centre (so a band narrower than a bin interpolates between its neighbours)."""
    spacing = sample_rate / n_fft
    edges = _band_edges(sample_rate, height)
    low, centre, high = edges[:-2], edges[1:-1], edges[2:]
    return np.minimum(low, centre - spacing), centre, np.maximum(high, centre + spacing)


def _weights(sample_rate: int, n_fft: int, height: int) -> np.ndarray:
    """(height, n_fft // 2 + 1) triangle weights (peak 1), lowest band first: the definition of the bands,
    which :class:`_FilterBank` applies without a matrix product (divided by each row's sum: mean power)."""
    bins = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    low, centre, high = (edge[:, None] for edge in _triangles(sample_rate, n_fft, height))
    return np.clip(np.minimum((bins - low) / (centre - low), (high - bins) / (high - centre)), 0, None)


class _FilterBank:
    """The bands of :func:`_weights`, applied to power spectra with running sums instead of a matrix product.

    A triangle is linear on each side, so its weighted sum over a run of bins
    is ``a * sum(P) + b * sum(f * P)``: two cumulative sums along the bins and
    four lookups per band. Same result as the (mostly zero) weight matrix,
    without BLAS, whose threads fight over a small shared machine (a 3-minute
    file took 0.5 s with one thread and 1-3 s with two on a busy 2-core host).
    """

    def __init__(self, sample_rate: int, n_fft: int, height: int):
        self.bins = np.fft.rfftfreq(n_fft, 1 / sample_rate)
        self.low, self.centre, self.high = _triangles(sample_rate, n_fft, height)
        self.first = np.searchsorted(self.bins, self.low, side="left")  # bins in [low, centre): rising
        self.middle = np.searchsorted(self.bins, self.centre, side="left")  # bins in [centre, high]: falling
        self.last = np.searchsorted(self.bins, self.high, side="right")
        self.total = np.maximum(_weights(sample_rate, n_fft, height).sum(axis=1), 1e-12)

    def __call__(self, power: np.ndarray) -> np.ndarray:
        """(frames, bins) power -> (frames, bands) mean power per band."""
        power = power.astype(np.float64, copy=False)
        zero = np.zeros((len(power), 1))
        plain = np.concatenate([zero, np.cumsum(power, axis=1)], axis=1)
        weighted = np.concatenate([zero, np.cumsum(power * self.bins, axis=1)], axis=1)
        rise0 = plain[:, self.middle] - plain[:, self.first]
        rise1 = weighted[:, self.middle] - weighted[:, self.first]
        fall0 = plain[:, self.last] - plain[:, self.middle]
        fall1 = weighted[:, self.last] - weighted[:, self.middle]
        rising = (rise1 - self.low * rise0) / (self.centre - self.low)
        falling = (self.high * fall0 - fall1) / (self.high - self.centre)
        return np.maximum((rising + falling) / self.total, 0)  # sums of sums may leave -1e-20 where 0 is meant


class _Analyser:
    """Band powers of windowed FFT frames: ``bands(frames)`` -> (count, height)."""

    def __init__(self, sample_rate: int, height: int):
        self.n_fft = fft_size(sample_rate)
        self.hop = self.n_fft // 2
        self.height = height
        self.window = np.hanning(self.n_fft).astype(np.float32)
        self.bank = _FilterBank(sample_rate, self.n_fft, height)

    def bands(self, frames: np.ndarray) -> np.ndarray:
        spectra = np.fft.rfft(frames * self.window, axis=1)
        return self.bank(spectra.real.astype(np.float64) ** 2 + spectra.imag.astype(np.float64) ** 2)

    def frames_of(self, mono: np.ndarray) -> np.ndarray:
        """The hop-spaced frames of ``mono`` (zero-padded to one frame when shorter)."""
        if mono.size < self.n_fft:
            mono = np.pad(mono, (0, self.n_fft - mono.size))
        return sliding_window_view(mono, self.n_fft)[:: self.hop]


class _Cells:
    """Mean band power over time cells of ``width`` hop-spaced frames, doubled (pairs merged) whenever
    more than ``2 * limit`` cells fill: the spectrogram's time axis for a stream of unknown length."""

    def __init__(self, limit: int, height: int):
        self.limit, self.width, self.frames = limit, 1, 0
        self.sums = np.zeros((0, height), dtype=np.float64)
        self.tail_count, self.tail_sum = 0, np.zeros(height, dtype=np.float64)

    def add(self, bands: np.ndarray) -> None:
        self.frames += len(bands)
        if self.tail_count:
            head, bands = bands[: self.width - self.tail_count], bands[self.width - self.tail_count :]
            self.tail_count += len(head)
            self.tail_sum = self.tail_sum + head.sum(axis=0)
            if self.tail_count < self.width:
                return
            self.sums = np.vstack([self.sums, self.tail_sum])
            self.tail_count, self.tail_sum = 0, np.zeros_like(self.tail_sum)
        whole = len(bands) // self.width * self.width
        if whole:
            self.sums = np.vstack([self.sums, bands[:whole].reshape(-1, self.width, bands.shape[1]).sum(axis=1)])
        if whole < len(bands):
            self.tail_count, self.tail_sum = len(bands) - whole, bands[whole:].sum(axis=0).astype(np.float64)
        while len(self.sums) > 2 * self.limit:
            even = len(self.sums) // 2 * 2
            if even < len(self.sums):  # an odd last cell joins the one being filled
                self.tail_count += self.width
                self.tail_sum = self.tail_sum + self.sums[-1]
            self.sums = self.sums[:even].reshape(-1, 2, self.sums.shape[1]).sum(axis=1)
            self.width *= 2

    def columns(self, width: int) -> np.ndarray:
        """(width, height) mean power per column, by where each cell's frames fall in time."""
        sums = np.vstack([self.sums, self.tail_sum]) if self.tail_count else self.sums
        counts = np.full(len(sums), float(self.width))
        if self.tail_count:
            counts[-1] = self.tail_count
        middle = np.arange(len(sums)) * self.width + counts / 2  # in frames
        column = np.minimum((middle / max(self.frames, 1) * width).astype(int), width - 1)
        total = np.zeros((width, sums.shape[1]))
        weight = np.zeros(width)
        np.add.at(total, column, sums)
        np.add.at(weight, column, counts)
        filled = weight > 0
        mean = total[filled] / weight[filled, None]
        if filled.all():
            return mean
        # More columns than cells (cannot happen past the in-memory regime, but cheap to be sure).
        where = np.flatnonzero(filled)
        return np.stack([np.interp(np.arange(width), where, mean[:, row]) for row in range(mean.shape[1])], axis=1)


def _centred(analyser: _Analyser, mono: np.ndarray, width: int) -> np.ndarray:
    """(width, height): one frame centred on each column of a clip held in memory."""
    half = analyser.n_fft // 2
    padded = np.pad(mono, (half, half))
    starts = np.linspace(0, max(mono.size - 1, 0), width).round().astype(int)
    return analyser.bands(sliding_window_view(padded, analyser.n_fft)[starts])


def _streamed(analyser: _Analyser, source: Samples, width: int, height: int) -> np.ndarray | None:
    """(width, height) from one pass over the file; a short clip ends up in :func:`_centred`."""
    short = width * analyser.n_fft
    held: list[np.ndarray] = []
    size = 0
    cells: _Cells | None = None
    carry = np.zeros(0, dtype=np.float32)
    for block in source.blocks():
        if cells is None:
            held.append(block)
            size += block.size
            if size <= short:
                continue
            cells = _Cells(2 * width, height)
            block = np.concatenate(held)
            held = []
        data = np.concatenate([carry, block]) if carry.size else block
        count = (data.size - analyser.n_fft) // analyser.hop + 1 if data.size >= analyser.n_fft else 0
        if count:
            cells.add(analyser.bands(sliding_window_view(data, analyser.n_fft)[:: analyser.hop][:count]))
        carry = data[count * analyser.hop :].copy()
    if cells is not None:
        if carry.size:  # the last partial frame, zero-padded
            cells.add(analyser.bands(analyser.frames_of(carry)[:1]))
        return cells.columns(width)
    if size == 0:
        return None
    return _centred(analyser, np.concatenate(held), width)


def _sampled(analyser: _Analyser, source: Samples, duration: float, width: int) -> np.ndarray | None:
    """(width, height) from one seek per column; None when the first seek fails (then stream instead)."""
    span = analyser.n_fft + (WINDOW_FFTS - 1) * analyser.hop
    out = np.zeros((width, analyser.height))
    for column in range(width):
        start = max(0.0, (column + 0.5) * duration / width - span / source.sample_rate / 2)
        window = source.sample(start, span)
        if window is None or window.size == 0:
            if column == 0:
                return None
            continue  # a seek that failed, or past the real end: a silent column
        out[column] = analyser.bands(analyser.frames_of(window)[:WINDOW_FFTS]).mean(axis=0)
    return out


def _levels(power: np.ndarray) -> np.ndarray:
    """(width, height) power -> (height, width) levels in [0, 1], low frequencies at the bottom."""
    db = 10 * np.log10(np.maximum(power, 1e-20))
    top = float(db.max())
    if top <= -190:  # digital silence
        return np.zeros(power.T.shape)
    return np.clip((db - (top - FLOOR_DB)) / FLOOR_DB, 0, 1).T[::-1]


def spectrogram_levels(
    read_at: ReadAt, size: int, width: int = WIDTH, height: int = HEIGHT, full_decode_s: float = FULL_DECODE_S
) -> np.ndarray | None:
    """The spectrogram of the audio file ``read_at`` reads, as (height, width) levels in [0, 1] (row 0 the
    highest band); how the time axis is computed depends on the length (see the module docstring).

    None for bytes that are no decodable audio or decode to nothing. Raises
    ValueError for a size below 1 x 1; what ``read_at`` raises propagates.
    """
    if width < 1 or height < 1:
        raise ValueError(f"A spectrogram needs at least 1 x 1 pixels, not {width} x {height}.")
    with open_samples(read_at, size) as source:
        if source is None:
            return None
        analyser = _Analyser(source.sample_rate, height)
        duration = source.duration_hint()
        sample = duration is not None and duration > full_decode_s
        power = _sampled(analyser, source, duration, width) if sample else _streamed(analyser, source, width, height)
    if power is None and sample:
        with open_samples(read_at, size) as source:  # it could not seek: one pass from the start instead
            power = None if source is None else _streamed(analyser, source, width, height)
    return None if power is None else _levels(power)


def spectrogram_png(
    read_at: ReadAt, size: int, width: int = WIDTH, height: int = HEIGHT, full_decode_s: float = FULL_DECODE_S
) -> bytes | None:
    """:func:`spectrogram_levels` as a palette PNG in magma colours (about 20-40 KB at 400 x 128), or None."""
    levels = spectrogram_levels(read_at, size, width, height, full_decode_s)
    if levels is None:
        return None
    return png_bytes(np.round(levels * 255).astype(np.uint8), PALETTE)
