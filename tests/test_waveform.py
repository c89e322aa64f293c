"""Waveform summaries: peak envelopes of every WAV encoding, mixdown, SVG paths, and None for the unreadable."""

from __future__ import annotations

import json
import struct
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shanty.media.waveform import Waveform, waveform_of, waveform_peaks

PCM, FLOAT, ALAW, EXTENSIBLE = 1, 3, 6, 0xFFFE


def chunk(chunk_id: bytes, body: bytes) -> bytes:
    return chunk_id + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def fmt_body(tag: int, channels: int, rate: int, bits: int, extensible_tag: int | None = None) -> bytes:
    align = channels * bits // 8
    body = struct.pack("<HHIIHH", EXTENSIBLE if extensible_tag else tag, channels, rate, rate * align, align, bits)
    if extensible_tag:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        body += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", extensible_tag) + guid_tail
    return body


def wav(samples: bytes, channels: int = 1, rate: int = 8000, bits: int = 16, tag: int = PCM, **kw) -> bytes:
    body = b"WAVE" + chunk(b"fmt ", fmt_body(tag, channels, rate, bits, **kw)) + chunk(b"data", samples)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def pcm16(values: np.ndarray) -> bytes:
    return (np.clip(values, -1, 1) * 32767).astype("<i2").tobytes()


def sine(seconds: float = 1.0, rate: int = 8000, hz: float = 1000.0, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)


# --- envelopes -------------------------------------------------------------------------------------


def test_sine_gives_a_flat_envelope_at_its_amplitude_and_its_duration() -> None:
    summary = waveform_peaks(wav(pcm16(sine(2.0, amplitude=0.5))), buckets=20)
    assert isinstance(summary, Waveform)
    assert (summary.duration_s, summary.sample_rate, summary.channels, summary.frames) == (2.0, 8000, 1, 16000)
    assert len(summary.mins) == len(summary.maxs) == 20
    assert np.allclose(summary.maxs, 0.5, atol=1e-3) and np.allclose(summary.mins, -0.5, atol=1e-3)


def test_envelope_follows_loudness_in_time_order() -> None:
    loud = np.concatenate([sine(1.0, amplitude=0.25), sine(1.0, amplitude=0.75), np.zeros(8000)])
    summary = waveform_peaks(wav(pcm16(loud)), buckets=6)
    assert np.allclose(summary.maxs, [0.25, 0.25, 0.75, 0.75, 0, 0], atol=1e-3)
    assert np.allclose(summary.mins, [-0.25, -0.25, -0.75, -0.75, 0, 0], atol=1e-3)


def test_uneven_buckets_cover_every_frame() -> None:
    values = np.zeros(1001)
    values[-1] = 0.9  # the very last frame must land in the last bucket
    summary = waveform_peaks(wav(pcm16(values)), buckets=7)
    assert len(summary.maxs) == 7 and summary.maxs[-1] == pytest.approx(0.9, abs=1e-4)
    assert max(summary.maxs[:-1]) == 0


def test_fewer_frames_than_buckets_gives_one_bucket_per_frame() -> None:
    summary = waveform_peaks(wav(pcm16(np.array([0.5, -0.5, 0.25]))), buckets=200)
    assert summary.frames == 3 and len(summary.maxs) == 3
    assert summary.maxs == summary.mins


def test_stereo_is_mixed_down_to_the_mean_of_its_channels() -> None:
    left, right = sine(1.0, amplitude=0.8), np.zeros(8000)
    frames = np.stack([left, right], axis=1)
    summary = waveform_peaks(wav(pcm16(frames.ravel()), channels=2), buckets=4)
    assert summary.channels == 2 and summary.frames == 8000 and summary.duration_s == 1.0
    assert np.allclose(summary.maxs, 0.4, atol=1e-3) and np.allclose(summary.mins, -0.4, atol=1e-3)


def test_six_channels() -> None:
    frames = np.tile(np.linspace(-1, 1, 6), (600, 1)) * 0.5  # channels -0.5..0.5 cancel out
    summary = waveform_peaks(wav(pcm16(frames.ravel()), channels=6), buckets=3)
    assert summary.channels == 6 and summary.frames == 600
    assert np.allclose(summary.maxs, 0, atol=1e-4)


def test_8_bit_is_unsigned() -> None:
    samples = np.array([128, 192, 128, 64, 0, 255], dtype=np.uint8).tobytes()
    summary = waveform_peaks(wav(samples, bits=8), buckets=3)
    assert summary.maxs == pytest.approx([0.5, 0.0, 127 / 128])
    assert summary.mins == pytest.approx([0.0, -0.5, -1.0])


def test_24_bit_keeps_sign_and_scale() -> None:
    values = [0, 2**22, -(2**22), -(2**23), 2**23 - 1, 1]
    samples = b"".join(v.to_bytes(3, "little", signed=True) for v in values)
    summary = waveform_peaks(wav(samples, bits=24), buckets=3)
    assert summary.maxs == pytest.approx([0.5, -0.5, 1.0], abs=1e-6)
    assert summary.mins == pytest.approx([0.0, -1.0, 1 / 2**23], abs=1e-6)


def test_32_bit_integer() -> None:
    samples = np.array([2**30, -(2**31)], dtype="<i4").tobytes()
    summary = waveform_peaks(wav(samples, bits=32), buckets=2)
    assert summary.maxs == pytest.approx([0.5, -1.0])


@pytest.mark.parametrize("dtype,bits", [("<f4", 32), ("<f8", 64)])
def test_float_is_clipped_and_nan_is_silence(dtype: str, bits: int) -> None:
    samples = np.array([0.25, -0.75, 3.0, np.nan, np.nan, -np.inf], dtype=dtype).tobytes()
    summary = waveform_peaks(wav(samples, bits=bits, tag=FLOAT), buckets=3)
    assert summary.maxs == pytest.approx([0.25, 1.0, 0.0])
    assert summary.mins == pytest.approx([-0.75, 0.0, -1.0])


def test_wave_format_extensible_float() -> None:
    samples = np.array([0.5, -0.5], dtype="<f4").tobytes()
    summary = waveform_peaks(wav(samples, bits=32, extensible_tag=FLOAT), buckets=1)
    assert (summary.mins, summary.maxs) == ((-0.5,), (0.5,))


def test_chunks_before_data_are_skipped_with_their_padding() -> None:
    samples = pcm16(np.array([0.5, -0.5]))
    body = b"WAVE" + chunk(b"fmt ", fmt_body(PCM, 1, 8000, 16)) + chunk(b"LIST", b"odd") + chunk(b"data", samples)
    summary = waveform_peaks(b"RIFF" + struct.pack("<I", len(body)) + body, buckets=1)
    assert summary.maxs == pytest.approx((0.5,), abs=1e-4)


def test_empty_data_chunk_is_a_silent_zero_length_file() -> None:
    summary = waveform_peaks(wav(b""))
    assert summary is not None and summary.frames == 0 and summary.duration_s == 0
    assert summary.mins == summary.maxs == ()


def test_demo_songs_are_summarised() -> None:
    from shanty.demo.build import SONGS, render_song

    summary = waveform_peaks(render_song(SONGS[0], seed=0))
    assert summary.duration_s == SONGS[0].seconds and summary.sample_rate == 16000
    assert 0.5 < max(summary.maxs) <= 1 and -1 <= min(summary.mins) < -0.5


# --- unreadable input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"RIFF",
        b"RIFF\x00\x00\x00\x00WAVE",  # no chunks at all
        b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(200),  # an MP3
        b"OggS" + bytes(200),
        b"\x89PNG\r\n\x1a\n" + bytes(200),
        b"RIFF\x24\x00\x00\x00AVI LIST",  # RIFF, but not WAVE
        bytes(range(256)) * 4,
    ],
)
def test_garbage_is_none(data: bytes) -> None:
    assert waveform_peaks(data) is None


def test_header_cut_short_is_none() -> None:
    whole = wav(pcm16(sine(0.1)))
    for cut in (11, 12, 20, 30, 36, 40, 43):  # inside RIFF, fmt, and the data chunk's header
        assert waveform_peaks(whole[:cut]) is None, cut


def test_data_declared_but_absent_is_none() -> None:
    whole = wav(pcm16(sine(0.1)))
    assert waveform_peaks(whole[:44]) is None  # header complete, not one sample
    assert waveform_peaks(whole[:45]) is None  # half a 16-bit frame


def test_data_cut_short_is_summarised_up_to_the_last_whole_frame() -> None:
    whole = wav(pcm16(sine(1.0)))
    summary = waveform_peaks(whole[: 44 + 8001], buckets=10)  # 4000 frames and half of one
    assert summary.frames == 4000 and summary.duration_s == 0.5


@pytest.mark.parametrize(
    "fmt",
    [
        fmt_body(ALAW, 1, 8000, 8),
        fmt_body(PCM, 1, 8000, 12),
        fmt_body(FLOAT, 1, 8000, 16),
        fmt_body(PCM, 0, 8000, 16),
        fmt_body(PCM, 1, 0, 16),
        fmt_body(PCM, 1, 8000, 16)[:14],
        fmt_body(0, 1, 8000, 16, extensible_tag=ALAW),
        fmt_body(0, 1, 8000, 16, extensible_tag=PCM)[:30],
    ],
)
def test_unsupported_or_broken_formats_are_none(fmt: bytes) -> None:
    body = b"WAVE" + chunk(b"fmt ", fmt) + chunk(b"data", bytes(64))
    assert waveform_peaks(b"RIFF" + struct.pack("<I", len(body)) + body) is None


def test_missing_fmt_chunk_is_none() -> None:
    body = b"WAVE" + chunk(b"data", bytes(64))
    assert waveform_peaks(b"RIFF" + struct.pack("<I", len(body)) + body) is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_after_a_wave_header_never_raise(tail: bytes) -> None:
    for data in (tail, b"RIFF\xff\xff\xff\xffWAVE" + tail, wav(pcm16(sine(0.01)))[:36] + tail):
        result = waveform_peaks(data)
        assert result is None or all(-1 <= v <= 1 for v in result.mins + result.maxs)


def test_buckets_must_be_positive() -> None:
    with pytest.raises(ValueError):
        waveform_peaks(wav(pcm16(sine(0.1))), buckets=0)


def test_three_minutes_at_44_1_khz_stereo() -> None:
    rate = 44_100
    frames = np.stack([sine(180, rate, 440, 0.9), sine(180, rate, 440, 0.3)], axis=1)  # in phase: mean 0.6
    data = wav(pcm16(frames.ravel()), channels=2, rate=rate)
    started = time.perf_counter()
    summary = waveform_peaks(data)
    elapsed = time.perf_counter() - started
    assert summary.duration_s == 180.0 and len(summary.maxs) == 200
    assert np.allclose(summary.maxs, 0.6, atol=2e-3)
    assert elapsed < 2.0  # about 0.1 s measured; the bound only catches an accidental Python loop


# --- output ----------------------------------------------------------------------------------------


def test_to_json_is_compact_and_complete() -> None:
    summary = waveform_peaks(wav(pcm16(sine(1.0, amplitude=1 / 3))), buckets=5)
    text = summary.to_json()
    assert " " not in text
    body = json.loads(text)
    assert body["duration_s"] == 1.0 and body["sample_rate"] == 8000 and body["channels"] == 1
    assert body["frames"] == 8000 and len(body["mins"]) == len(body["maxs"]) == 5
    assert body["maxs"][0] == round(summary.maxs[0], 4)


@pytest.mark.parametrize("block", [1, 6, 1000, 4096, 10**9])
@pytest.mark.parametrize("channels", [1, 2])
def test_reading_a_block_at_a_time_gives_the_same_summary(block: int, channels: int) -> None:
    rng = np.random.default_rng(7)
    frames = rng.uniform(-1, 1, size=(5003, channels))
    data = wav(pcm16(frames.ravel()), channels=channels)
    whole = waveform_peaks(data, buckets=37)
    reads = []

    def read_at(offset: int, length: int) -> bytes:
        reads.append(length)
        return data[offset : offset + length]

    streamed = waveform_of(read_at, len(data), buckets=37, block=block)
    assert streamed == whole and whole is not None and len(whole.mins) == 37
    assert max(reads) <= max(block, 2 * channels, 64 * 1024)  # never more than a block (or the header) at once
