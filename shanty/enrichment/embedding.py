"""Fixed-length descriptors of sounds and pictures, numpy alone: what "find similar" and the map compare.

**Audio** is analysed in frames of about 64 ms (a power of two; hop a
quarter of it), a Hann window each. In every frame the **pitch** is the
strongest spectral peak between 50 Hz and 7 kHz (refined by a parabola
through the log power of its bins): in harmonic sounds that is the
fundamental or its octave, and an octave error does not matter to what uses
it. Frames within 30 dB of the loudest are *voiced*; the others are ignored.

* The **timbre** is the harmonic profile: the energy of harmonics 2..10 (the
  band of half a pitch either side of ``k x pitch``) against the
  fundamental's, averaged in dB over the voiced frames and taken back to an
  amplitude ratio (9 numbers). It does not move with the register, so an
  instrument stays itself whatever it plays.
* The **melody** is the pitch class (the pitch folded into one octave, as an
  angle) at 32 equal steps of the duration: per step the voiced frames'
  ``cos(k a), sin(k a)`` for ``k = 1, 2, 3`` are averaged (6 x 32 numbers).
  Moving a tune by whole octaves leaves it unchanged; transposing it by
  anything else, or changing its shape in time, does not.

* The **cepstrum** is the log-mel statistics: MFCCs 1..12 (a DCT of 40 log
  mel band energies) of the voiced frames, their means and standard
  deviations (24 numbers): the spectral envelope, for any sound, harmonic or not.

:func:`audio_embedding` is the three unit-normalised blocks weighted
``TIMBRE_WEIGHT : TIMBRE_WEIGHT : 1`` and normalised again (225 numbers): a
2D PCA of many sounds spreads them by timbre (on the demo a rendering's
nearest neighbour on the map is the same instrument 96% of the time, against
88% with the harmonic profile alone), and among sounds of one timbre the
melody decides. :func:`melody_embedding` is the melody block alone (192 numbers),
for "the same tune on any instrument". On the demo one vector could not do
both at once (see tests/test_enrich_measures.py for the figures): the
weight is set so the map separates instruments.

**Images** (:func:`image_embedding`, 57 numbers): an HSV colour histogram
(4 grey levels for unsaturated pixels, 8 hues x 2 saturations x 2 values
for the rest), a gradient-orientation histogram (8 directions, weighted by
gradient magnitude) with 3 bins of edge strength, and a histogram of the 10
uniform 8-neighbour local binary patterns; each histogram square-rooted
(so distances are Hellinger-like) and unit-normalised, then weighted and
normalised again.

Every result is float32, rounded to 6 decimals, so BLAS or FFT differences
in the last bits never show; the same input gives the same bytes.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "AUDIO_EMBEDDING_LENGTH",
    "EMBEDDING_VERSION",
    "IMAGE_EMBEDDING_LENGTH",
    "MELODY_LENGTH",
    "audio_descriptors",
    "audio_embedding",
    "image_embedding",
    "melody_embedding",
]

EMBEDDING_VERSION = "2"  # bump whenever any descriptor below changes: caches key on it

FRAME_S = 0.064  # analysis frame (rounded to a power of two of samples)
PITCH_LOW_HZ, PITCH_HIGH_HZ = 50.0, 7000.0
VOICED_DB = 30.0  # frames quieter than the loudest by more than this are not analysed
HARMONICS = 10  # the fundamental and 9 overtones
FLOOR_DB = -60.0  # a missing harmonic counts as this far below the fundamental
SLOTS = 32  # melody steps over the duration
CIRCULAR = 3  # pitch-class angle harmonics per step
TIMBRE_WEIGHT = 2.0  # each timbre block : melody in audio_embedding (tuned on the demo; see the module docstring)
MEL_BANDS = 40
MFCC_COUNT = 12  # MFCCs 1..12, their mean and standard deviation over the voiced frames
_CHUNK = 256  # frames transformed at a time: memory stays small whatever the length
_DECIMALS = 6

TIMBRE_LENGTH = HARMONICS - 1
MELODY_LENGTH = 2 * CIRCULAR * SLOTS
MFCC_LENGTH = 2 * MFCC_COUNT
AUDIO_EMBEDDING_LENGTH = TIMBRE_LENGTH + MFCC_LENGTH + MELODY_LENGTH


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.sqrt(np.sum(vector * vector)))
    return vector / norm if norm > 1e-12 else np.zeros_like(vector)


def _final(vector: np.ndarray) -> np.ndarray:
    return np.round(_unit(np.asarray(vector, dtype=np.float64)), _DECIMALS).astype(np.float32)


def _frames(mono: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    n_fft = 1 << int(np.clip(round(np.log2(max(rate, 1) * FRAME_S)), 8, 14))
    signal = np.asarray(mono, dtype=np.float32).ravel()
    signal = np.nan_to_num(signal, nan=0.0, posinf=1.0, neginf=-1.0)
    if signal.size < n_fft:
        signal = np.pad(signal, (0, n_fft - signal.size))
    return sliding_window_view(signal, n_fft)[:: n_fft // 4], n_fft


def _mel_bank(rate: int, n_fft: int) -> np.ndarray:
    """Triangular mel filters (MEL_BANDS, n_fft // 2 + 1) from 40 Hz to just under Nyquist."""
    mel = 2595 * np.log10(1 + np.array([40.0, 0.95 * rate / 2]) / 700)
    edges = 700 * (10 ** (np.linspace(mel[0], mel[1], MEL_BANDS + 2) / 2595) - 1)
    bins = np.fft.rfftfreq(n_fft, 1 / rate)
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.clip(np.minimum((bins - low) / (centre - low), (high - bins) / (high - centre)), 0, None)


def _frame_features(mono: np.ndarray, rate: int) -> tuple[np.ndarray, ...] | None:
    """Per frame: energy, pitch (Hz), the harmonic band energies (frames, HARMONICS) and the log mel
    band energies (frames, MEL_BANDS); None when the rate leaves no room for the pitch range."""
    frames, n_fft = _frames(mono, rate)
    bins = np.fft.rfftfreq(n_fft, 1 / rate)
    in_band = np.flatnonzero((bins >= PITCH_LOW_HZ) & (bins <= min(PITCH_HIGH_HZ, 0.95 * rate / 2)))
    if in_band.size < 3:
        return None
    window = np.hanning(n_fft)
    spacing = rate / n_fft
    bank = _mel_bank(rate, n_fft)
    energies, pitches, bands, mels = [], [], [], []
    for start in range(0, len(frames), _CHUNK):
        spectra = np.fft.rfft(frames[start : start + _CHUNK] * window, axis=1)
        power = spectra.real**2 + spectra.imag**2
        rows = np.arange(len(power))
        energies.append(power.sum(axis=1))
        mels.append(np.log(power @ bank.T + 1e-10))
        # The strongest peak, refined by a parabola through its neighbours' log power.
        logs = np.log(power[:, in_band] + 1e-20)
        peak = np.clip(np.argmax(logs, axis=1), 1, in_band.size - 2)
        left, centre, right = logs[rows, peak - 1], logs[rows, peak], logs[rows, peak + 1]
        curve = left - 2 * centre + right
        safe = np.where(np.abs(curve) > 1e-12, curve, 1.0)
        offset = np.where(np.abs(curve) > 1e-12, 0.5 * (left - right) / safe, 0.0)
        pitch = bins[in_band[peak]] + np.clip(offset, -1, 1) * spacing
        pitches.append(pitch)
        # Energy of the band of half a pitch either side of each harmonic (sums of a cumulative sum).
        running = np.concatenate([np.zeros((len(power), 1)), np.cumsum(power, axis=1)], axis=1)
        harmonic = np.full((len(power), HARMONICS), np.nan)
        for k in range(1, HARMONICS + 1):
            low = np.clip(np.round((k - 0.5) * pitch / spacing).astype(int), 0, power.shape[1])
            high = np.clip(np.round((k + 0.5) * pitch / spacing).astype(int), 0, power.shape[1])
            inside = (k + 0.5) * pitch < 0.45 * rate  # above that the harmonic is not there to measure
            harmonic[:, k - 1] = np.where(inside, running[rows, high] - running[rows, low], np.nan)
        bands.append(harmonic)
    return np.concatenate(energies), np.concatenate(pitches), np.concatenate(bands), np.concatenate(mels)


def _blocks(mono: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(timbre, MFCC statistics, melody) blocks, not normalised; zeros for silence or an unusable rate."""
    features = _frame_features(mono, rate)
    timbre, cepstrum, melody = np.zeros(TIMBRE_LENGTH), np.zeros(MFCC_LENGTH), np.zeros(MELODY_LENGTH)
    if features is None:
        return timbre, cepstrum, melody
    energy, pitch, harmonic, log_mel = features
    top = float(energy.max())
    if top <= 1e-12:
        return timbre, cepstrum, melody
    voiced = energy >= top * 10 ** (-VOICED_DB / 10)
    # MFCCs 1..12 of the voiced frames (DCT-II of the log mel energies; c0, the loudness, left out)
    bands = np.arange(MEL_BANDS)
    dct = np.cos(np.pi / MEL_BANDS * (bands[None, :] + 0.5) * np.arange(1, MFCC_COUNT + 1)[:, None])
    coefficients = log_mel[voiced] @ dct.T
    cepstrum = np.concatenate([coefficients.mean(axis=0), coefficients.std(axis=0)])
    ratios = harmonic[voiced, 1:] / np.maximum(harmonic[voiced, :1], 1e-30)
    with np.errstate(divide="ignore", invalid="ignore"):
        db = np.clip(10 * np.log10(np.maximum(ratios, 1e-30)), FLOOR_DB, 10.0)
    db = np.where(np.isnan(ratios), np.nan, db)
    measured = (~np.isnan(db)).sum(axis=0)
    mean_db = np.where(measured > 0, np.nansum(db, axis=0) / np.maximum(measured, 1), FLOOR_DB)
    timbre = 10 ** (mean_db / 20)
    angle = 2 * np.pi * np.log2(np.maximum(pitch, 1.0) / 440.0)
    slot = np.minimum(((np.arange(pitch.size) + 0.5) / pitch.size * SLOTS).astype(int), SLOTS - 1)
    weight = voiced.astype(np.float64)
    count = np.bincount(slot, weights=weight, minlength=SLOTS)
    parts = []
    for k in range(1, CIRCULAR + 1):
        for wave in (np.cos, np.sin):
            parts.append(np.bincount(slot, weights=weight * wave(k * angle), minlength=SLOTS) / np.maximum(count, 1))
    return timbre, cepstrum, np.concatenate(parts)


def audio_descriptors(mono: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(:func:`audio_embedding`, :func:`melody_embedding`) of one signal, analysed once."""
    timbre, cepstrum, melody = _blocks(mono, sample_rate)
    blocks = [TIMBRE_WEIGHT * _unit(timbre), TIMBRE_WEIGHT * _unit(cepstrum), _unit(melody)]
    return _final(np.concatenate(blocks)), _final(melody)


def audio_embedding(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    """The sound's timbre and melody (see the module docstring) as ``AUDIO_EMBEDDING_LENGTH`` float32,
    unit length (all zeros for digital silence). ``mono`` is float samples in [-1, 1]."""
    return audio_descriptors(mono, sample_rate)[0]


def melody_embedding(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    """The octave-invariant pitch-class contour alone: ``MELODY_LENGTH`` float32, unit length (zeros for
    silence)."""
    return audio_descriptors(mono, sample_rate)[1]


# --- images ----------------------------------------------------------------------------------------

IMAGE_SIDE = 256  # pictures are box-reduced to at most this many pixels a side first
_GREYS, _HUES = 4, 8
_ORIENTATIONS = 8
_EDGE_LEVELS = (0.02, 0.1)  # gradient magnitude (0..1 scale) between weak, medium and strong edges
_WEIGHTS = (1.0, 0.6, 0.3, 0.6)  # colour, orientation, edge strength, texture
IMAGE_EMBEDDING_LENGTH = _GREYS + _HUES * 4 + _ORIENTATIONS + len(_EDGE_LEVELS) + 1 + 10


def _reduced(rgb: np.ndarray) -> np.ndarray:
    factor = int(np.ceil(max(rgb.shape[:2]) / IMAGE_SIDE))
    if factor <= 1:
        return rgb.astype(np.float64) / 255
    height, width = rgb.shape[0] // factor * factor, rgb.shape[1] // factor * factor
    cropped = rgb[:height, :width].astype(np.float64) / 255
    return cropped.reshape(height // factor, factor, width // factor, factor, 3).mean(axis=(1, 3))


def _colour_histogram(rgb: np.ndarray) -> np.ndarray:
    top, bottom = rgb.max(axis=2), rgb.min(axis=2)
    spread = top - bottom
    saturation = np.where(top > 0, spread / np.maximum(top, 1e-12), 0.0)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    safe = np.maximum(spread, 1e-12)
    hue = np.where(
        top == red,
        ((green - blue) / safe) % 6,
        np.where(top == green, (blue - red) / safe + 2, (red - green) / safe + 4),
    )
    grey = saturation < 0.2
    grey_bin = np.minimum((top * _GREYS).astype(int), _GREYS - 1)
    colour_bin = (
        _GREYS
        + np.minimum((hue / 6 * _HUES).astype(int), _HUES - 1) * 4
        + (saturation >= 0.6).astype(int) * 2
        + (top >= 0.6).astype(int)
    )
    return np.bincount(np.where(grey, grey_bin, colour_bin).ravel(), minlength=_GREYS + _HUES * 4).astype(np.float64)


def _gradient_histograms(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    padded = np.pad(grey, 1, mode="edge")
    dx = (padded[1:-1, 2:] - padded[1:-1, :-2]) / 2
    dy = (padded[2:, 1:-1] - padded[:-2, 1:-1]) / 2
    magnitude = np.hypot(dx, dy)
    direction = np.arctan2(dy, dx) % np.pi  # an edge and its reverse are one orientation
    bins = np.minimum((direction / np.pi * _ORIENTATIONS).astype(int), _ORIENTATIONS - 1)
    orientation = np.bincount(bins.ravel(), weights=magnitude.ravel(), minlength=_ORIENTATIONS)
    strength = np.bincount(np.digitize(magnitude, _EDGE_LEVELS).ravel(), minlength=len(_EDGE_LEVELS) + 1)
    return orientation, strength.astype(np.float64)


def _lbp_histogram(grey: np.ndarray) -> np.ndarray:
    """Uniform 8-neighbour local binary patterns: bins 0..8 count the ones of uniform codes, bin 9 the rest."""
    if min(grey.shape) < 3:
        return np.zeros(10)
    centre = grey[1:-1, 1:-1]
    height, width = grey.shape
    ring = [(0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0)]  # clockwise from top left
    bits = np.stack([grey[r : r + height - 2, c : c + width - 2] >= centre for r, c in ring]).astype(np.int8)
    ones = bits.sum(axis=0)
    changes = np.abs(np.diff(np.concatenate([bits, bits[:1]]), axis=0)).sum(axis=0)
    return np.bincount(np.where(changes <= 2, ones, 9).ravel(), minlength=10).astype(np.float64)


def image_embedding(rgb: np.ndarray) -> np.ndarray:
    """A colour-and-texture descriptor of an ``(height, width, 3)`` uint8 RGB picture (see the module
    docstring): ``IMAGE_EMBEDDING_LENGTH`` float32, unit length. Raises ValueError for another shape."""
    pixels = np.asarray(rgb)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or min(pixels.shape[:2]) < 1:
        raise ValueError(f"image_embedding takes (height, width, 3) RGB pixels, not {pixels.shape}.")
    small = _reduced(pixels)
    grey = small @ np.array([0.299, 0.587, 0.114])
    orientation, strength = _gradient_histograms(grey)
    blocks = (_colour_histogram(small), orientation, strength, _lbp_histogram(grey))
    return _final(
        np.concatenate([w * _unit(np.sqrt(b / max(b.sum(), 1e-12))) for w, b in zip(_WEIGHTS, blocks, strict=True)])
    )
