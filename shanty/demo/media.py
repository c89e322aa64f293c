"""Media for the demo workspace: whale-like calls, instrument re-renderings, spectrograms, a video.

Everything is computed with numpy from fixed seeds, so the same call gives
the same bytes every run (no clocks, no randomness without a seed; the WebM
muxer and encoders run in bit-exact mode). Nothing here touches the network
or the registry; :mod:`shanty.demo` decides where the bytes go.
"""

from __future__ import annotations

import io
import wave
import zlib
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image as PILImage

__all__ = [
    "AUDIO_FORMATS",
    "INSTRUMENTS",
    "SAMPLE_RATE",
    "Instrument",
    "Rendering",
    "Tune",
    "call_count",
    "encode_audio",
    "render_instrument",
    "render_song",
    "retake",
    "similarity",
    "song_samples",
    "spectrogram_png",
    "spectrogram_video",
    "wav_bytes",
]

SAMPLE_RATE = 16_000
_WHALE_TIMBRE = (1.0, 0.5, 0.25)  # harmonic weights of the original calls
_NYQUIST_GUARD = (0.42 * SAMPLE_RATE, 0.47 * SAMPLE_RATE)  # harmonics fade out between these (Hz): no aliasing


class Tune(Protocol):
    """What the renderers need of a song: its call range (Hz) and length (s)."""

    low_hz: float
    high_hz: float
    seconds: float


@dataclass(frozen=True)
class Instrument:
    """A toy additive-synthesis instrument: harmonic weights, a note envelope and a vibrato.

    ``home_hz`` is where the melody is moved (by whole octaves, so the contour
    is kept) to sit in the instrument's range; ``swell`` shapes loudness
    within a note (0 flat, higher = more of a bowed crescendo-decrescendo);
    ``breath`` is the level of filtered noise (air, bow, reed); ``detune_cents``
    moves the whole performance off pitch (100 cents = a semitone).
    """

    name: str
    harmonics: tuple[float, ...]
    attack_s: float
    release_s: float
    vibrato_hz: float
    vibrato_depth: float
    swell: float
    breath: float
    home_hz: float
    detune_cents: float = 0.0


INSTRUMENTS = (
    Instrument("flute", (1.0, 0.35, 0.12, 0.05, 0.02), 0.06, 0.08, 5.0, 0.006, 0.3, 0.035, 880.0),
    Instrument("violin", tuple(1.0 / k for k in range(1, 15)), 0.09, 0.12, 6.0, 0.012, 0.8, 0.012, 520.0),
    Instrument("organ", (1.0, 0.8, 0.0, 0.6, 0.0, 0.35, 0.0, 0.25), 0.01, 0.03, 0.0, 0.0, 0.0, 0.0, 260.0),
    Instrument("sax", (1.0, 0.9, 0.75, 0.6, 0.5, 0.4, 0.3, 0.22, 0.15, 0.1), 0.03, 0.06, 5.5, 0.009, 0.5, 0.02, 330.0),
)


def retake(instrument: Instrument) -> Instrument:
    """A second take on ``instrument``: 40 cents sharp, brighter, with a faster and wider vibrato.

    Same name and range, audibly different: what a player redoing a part sounds like.
    """
    return replace(
        instrument,
        harmonics=tuple(weight**0.5 for weight in instrument.harmonics),
        vibrato_hz=instrument.vibrato_hz + 1.5,
        vibrato_depth=2 * instrument.vibrato_depth + 0.004,
        detune_cents=instrument.detune_cents + 40.0,
    )


@dataclass(frozen=True)
class Rendering:
    """An instrument rendering of a song: samples in [-1, 1] and its median pitch."""

    samples: np.ndarray
    pitch_hz: float


def wav_bytes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """A 16-bit mono PCM WAV of ``samples`` (floats, clipped to [-1, 1])."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


# File suffix -> (PyAV container format, encoder, bit rate) of the compressed formats the demo writes;
# "wav" is written by wav_bytes. Every encoder and muxer runs bit-exact: the same samples give the same bytes.
AUDIO_FORMATS: dict[str, tuple[str, str, int | None]] = {
    "flac": ("flac", "flac", None),
    "mp3": ("mp3", "libmp3lame", 64_000),
    "ogg": ("ogg", "libopus", 48_000),
    "m4a": ("ipod", "aac", 64_000),
}


def encode_audio(samples: np.ndarray, suffix: str, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Mono ``samples`` (floats, clipped to [-1, 1]) as a file of the format ``suffix`` names: ``wav``
    or a key of :data:`AUDIO_FORMATS` (FLAC, MP3, Opus in Ogg, AAC in M4A). Requires PyAV but for WAV."""
    if suffix == "wav":
        return wav_bytes(samples, sample_rate)
    import av  # only the demo build needs it; keeps ``import shanty`` light

    container_format, codec, bit_rate = AUDIO_FORMATS[suffix]
    pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)[None, :]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format, options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream(codec, rate=sample_rate, layout="mono")
        if bit_rate:
            stream.bit_rate = bit_rate
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate, frame.pts = sample_rate, 0
        container.mux(stream.encode(frame))  # PyAV cuts the frame into the encoder's frame size
        container.mux(stream.encode(None))
    return buffer.getvalue()


def call_count(seed: int) -> int:
    """How many calls (1 to 3) the song rendered with ``seed`` has."""
    return 1 + seed % 3


def _contour(song: Tune, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(position 0..1 within the current call, pitch in Hz) per sample, and the number of calls."""
    t = np.arange(int(song.seconds * SAMPLE_RATE)) / SAMPLE_RATE
    calls = call_count(seed)
    position = (t * calls / song.seconds) % 1.0
    sweep = song.low_hz + (song.high_hz - song.low_hz) * np.sin(np.pi * position) ** 2  # rise and fall per call
    return position, sweep, calls


def _song_samples(song: Tune, seed: int, timbre: tuple[float, ...]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    position, sweep, _ = _contour(song, seed)
    phase = 2 * np.pi * np.cumsum(sweep) / SAMPLE_RATE
    signal = sum(w * np.sin((k + 1) * phase) for k, w in enumerate(timbre))
    envelope = np.sin(np.pi * position) ** 0.5
    return signal * envelope / sum(timbre) * 0.8 + rng.normal(0, 0.02, position.size)


def render_song(song: Tune, seed: int, timbre: tuple[float, ...] = _WHALE_TIMBRE) -> bytes:
    """A 16-bit mono WAV: up-down sweeps with harmonics (weights ``timbre``) and a little noise.

    ``seed`` picks the noise and the number of calls (1 to 3).
    """
    return wav_bytes(_song_samples(song, seed, timbre))


def song_samples(song: Tune, seed: int) -> np.ndarray:
    """The samples :func:`render_song` writes (default timbre), before 16-bit rounding."""
    return _song_samples(song, seed, _WHALE_TIMBRE)


def _note_envelope(position: np.ndarray, call_s: float, instrument: Instrument) -> np.ndarray:
    # Each call becomes one note that ends a little early, so repeated calls are heard as separate notes.
    elapsed = position * call_s
    length = 0.9 * call_s
    attack = np.clip(elapsed / instrument.attack_s, 0, 1)
    release = np.clip((length - elapsed) / instrument.release_s, 0, 1)
    swell = np.sin(np.pi * np.clip(elapsed / length, 0, 1)) ** instrument.swell if instrument.swell else 1.0
    return attack * release * swell


def _additive(pitch: np.ndarray, harmonics: tuple[float, ...]) -> np.ndarray:
    """A sum of harmonics of the time-varying ``pitch`` (Hz per sample), faded out before Nyquist."""
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    low, high = _NYQUIST_GUARD
    signal = np.zeros_like(phase)
    for k, weight in enumerate(harmonics, start=1):
        if weight:
            signal += weight * np.clip((high - k * pitch) / (high - low), 0, 1) * np.sin(k * phase)
    return signal


def render_instrument(song: Tune, seed: int, instrument: Instrument) -> Rendering:
    """The song's melody contour played by ``instrument`` (same calls, moved by whole octaves, then detuned)."""
    position, sweep, calls = _contour(song, seed)
    octaves = np.round(np.log2(instrument.home_hz / np.median(sweep)))
    pitch = sweep * 2.0 ** (octaves + instrument.detune_cents / 1200)
    t = np.arange(pitch.size) / SAMPLE_RATE
    # Vibrato fades in over the first 0.3 s of each note, as players do.
    vibrato_gain = np.clip(position * song.seconds / calls / 0.3, 0, 1)
    pitch_played = pitch * (1 + instrument.vibrato_depth * vibrato_gain * np.sin(2 * np.pi * instrument.vibrato_hz * t))
    signal = _additive(pitch_played, instrument.harmonics)
    envelope = _note_envelope(position, song.seconds / calls, instrument)
    rng = np.random.default_rng([seed, zlib.crc32(instrument.name.encode())])  # a stable seed per (song, instrument)
    breath = np.convolve(rng.normal(0, 1, pitch.size), np.hanning(9) / 4.5, mode="same") * instrument.breath
    samples = (signal / np.max(np.abs(signal)) + breath) * envelope
    samples *= 0.7 / max(float(np.max(np.abs(samples))), 1e-9)
    return Rendering(samples, round(float(np.median(pitch)), 1))


# --- spectrograms ---------------------------------------------------------------------------

# Anchors of matplotlib's "magma" colormap (perceptually uniform, dark = quiet).
_MAGMA = np.array(
    [
        (0, 0, 4),
        (28, 16, 68),
        (79, 18, 123),
        (129, 37, 129),
        (181, 54, 122),
        (229, 80, 100),
        (251, 135, 97),
        (254, 194, 135),
        (252, 253, 191),
    ],
    dtype=float,
)
_LUT = np.stack(
    [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_MAGMA)), _MAGMA[:, c]) for c in range(3)], axis=1
).astype(np.uint8)


def _mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595 * np.log10(1 + np.asarray(hz) / 700)


def _spectrogram(samples: np.ndarray, width: int, height: int, n_fft: int = 1024, floor_db: float = 80.0) -> np.ndarray:
    """Levels in [0, 1] of shape (height, width), low frequencies at the bottom, mel-spaced rows."""
    padded = np.pad(samples, n_fft // 2)
    starts = np.linspace(0, samples.size - 1, width).astype(int)  # one frame centred on each column
    frames = sliding_window_view(padded, n_fft)[starts] * np.hanning(n_fft)
    magnitude = np.abs(np.fft.rfft(frames, axis=1))
    bin_hz = np.fft.rfftfreq(n_fft, 1 / SAMPLE_RATE)
    mels = np.linspace(_mel(40.0), _mel(SAMPLE_RATE / 2), height)
    row_hz = 700 * (10 ** (mels / 2595) - 1)
    rows = np.stack([np.interp(row_hz, bin_hz, column) for column in magnitude], axis=1)
    db = 20 * np.log10(rows + 1e-9)
    levels = np.clip((db - (db.max() - floor_db)) / floor_db, 0, 1)
    return levels[::-1]


def _indices(levels: np.ndarray) -> np.ndarray:
    return np.round(levels * 255).astype(np.uint8)


def _colour(levels: np.ndarray) -> np.ndarray:
    return _LUT[_indices(levels)]


def spectrogram_png(samples: np.ndarray, width: int = 512, height: int = 256) -> bytes:
    """A mel spectrogram of ``samples`` as PNG bytes, magma colours, 80 dB of range."""
    # A palette PNG: the colours come from a 256-entry table anyway, and one byte a pixel is a third of the size.
    picture = PILImage.fromarray(_indices(_spectrogram(samples, width, height)), "P")
    picture.putpalette(_LUT.tobytes())
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def spectrogram_video(samples: np.ndarray, width: int = 320, height: int = 160, fps: int = 12) -> bytes:
    """A WebM (VP8 video, Opus audio) of the spectrogram with a playhead sweeping across it.

    Browsers play it (yuv420p, even dimensions). The muxer and encoders run
    bit-exact and single-threaded, so the bytes do not depend on the clock.
    Requires PyAV (``av``).
    """
    import av  # only the demo build needs it; keeps ``import shanty`` light

    if width % 2 or height % 2:
        raise ValueError(f"VP8 in yuv420p needs even dimensions, not {width}x{height}.")
    picture = _colour(_spectrogram(samples, width, height))
    seconds = samples.size / SAMPLE_RATE
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm", options={"fflags": "+bitexact"}) as container:
        video = container.add_stream("libvpx", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"deadline": "good", "cpu-used": "4", "threads": "1", "crf": "24", "b": "200k"}
        video.codec_context.flags |= av.codec.context.Flags.bitexact
        audio = container.add_stream("libopus", rate=48_000, layout="mono")
        audio.bit_rate = 32_000
        audio.codec_context.flags |= av.codec.context.Flags.bitexact
        _encode_audio(container, audio, samples)
        for index in range(int(np.ceil(seconds * fps)) + 1):
            frame = av.VideoFrame.from_ndarray(_playhead_frame(picture, index / fps / seconds), format="rgb24")
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
    return buffer.getvalue()


def _playhead_frame(picture: np.ndarray, progress: float) -> np.ndarray:
    # What is still to play is dimmed, so the playhead reads at a glance even in a thumbnail.
    frame = picture.copy()
    x = min(round(progress * picture.shape[1]), picture.shape[1] - 1)
    frame[:, x + 1 :] = (frame[:, x + 1 :] * 0.45).astype(np.uint8)
    frame[:, max(x - 1, 0) : x + 1] = 255
    return frame


def _encode_audio(container: Any, stream: Any, samples: np.ndarray) -> None:
    import av

    # Opus runs at 48 kHz: upsample by 3 with linear interpolation (good enough for a preview).
    fine = np.interp(np.arange(samples.size * 3) / 3, np.arange(samples.size), samples)
    pcm = (np.clip(fine, -1, 1) * 32767).astype(np.int16)[None, :]
    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
    frame.sample_rate, frame.pts = 48_000, 0
    container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


# --- analysis ---------------------------------------------------------------------------------


def similarity(original: np.ndarray, rendering: np.ndarray, bands: int = 64) -> float:
    """How alike two sounds are over time, 0..1: mean cosine similarity of their mel spectra frame by frame.

    Octave moves and timbre both lower it, so the score separates instruments.
    """
    frames = 128
    a = _spectrogram(original, frames, bands, floor_db=60.0)
    b = _spectrogram(rendering, frames, bands, floor_db=60.0)
    norms = np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0)
    cosine = np.sum(a * b, axis=0) / np.maximum(norms, 1e-9)
    return round(float(np.mean(cosine)), 3)
