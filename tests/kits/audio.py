"""Audio and video files made with PyAV for the preview tests: real encoders, known signals.

``encode(samples, rate, suffix)`` writes mono ``(n,)`` or multichannel
``(n, channels)`` float samples as WAV, FLAC, MP3, Opus in Ogg or AAC in M4A;
``tone`` and ``pattern`` make the signals whose peaks and spectra the tests
know; ``reader`` is a ``read_at`` over bytes that counts its calls and bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import av
import numpy as np

from shanty.demo.media import wav_bytes

FORMATS = {  # suffix -> (container format, encoder, bit rate)
    "flac": ("flac", "flac", None),
    "mp3": ("mp3", "libmp3lame", 128_000),
    "ogg": ("ogg", "libopus", 96_000),
    "m4a": ("ipod", "aac", 128_000),
}
LOSSY = {"mp3", "ogg", "m4a"}


def tone(seconds: float, rate: int, hz: float, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * hz * np.arange(round(seconds * rate)) / rate)


def pattern(rate: int, part_s: float = 0.5) -> np.ndarray:
    """Loud 440 Hz, silence, quiet 440 Hz, silence: ``part_s`` each (peaks 0.8, 0, 0.4, 0)."""
    silence = np.zeros(round(part_s * rate))
    return np.concatenate([tone(part_s, rate, 440, 0.8), silence, tone(part_s, rate, 440, 0.4), silence])


def encode(samples: np.ndarray, rate: int, suffix: str, chunk: int = 1 << 16) -> bytes:
    """``samples`` (floats in [-1, 1]; (n,) or (n, channels)) as a ``suffix`` file, a chunk at a time."""
    frames = samples.reshape(len(samples), -1)
    if suffix == "wav":
        assert frames.shape[1] == 1, "the WAV writer here is mono"
        return wav_bytes(frames[:, 0], rate)
    container_format, codec, bit_rate = FORMATS[suffix]
    layout = {1: "mono", 2: "stereo"}[frames.shape[1]]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        if bit_rate:
            stream.bit_rate = bit_rate
        for start in range(0, len(frames), chunk):
            pcm = (np.clip(frames[start : start + chunk], -1, 1) * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout=layout)
            frame.sample_rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def encode_video(seconds: float = 2.0, fps: int = 10, width: int = 320, height: int = 240) -> bytes:
    """An MP4 (H.264) whose frame ``i`` is red across its left ``i / frames`` and black elsewhere."""
    total = round(seconds * fps)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(total):
            picture = np.zeros((height, width, 3), dtype=np.uint8)
            picture[:, : round(width * index / total)] = (255, 0, 0)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


@dataclass
class Reader:
    """``read_at`` over ``data``, counting calls and bytes; ``fail`` makes every call raise it."""

    data: bytes
    calls: int = 0
    bytes_read: int = 0
    fail: BaseException | None = None
    lengths: list[int] = field(default_factory=list)

    def __call__(self, offset: int, length: int) -> bytes:
        if self.fail is not None:
            raise self.fail
        part = self.data[offset : offset + length]
        self.calls += 1
        self.bytes_read += len(part)
        self.lengths.append(length)
        return part


def reader(data: bytes) -> Reader:
    return Reader(data)
