"""Spectrogram PNGs: their size and colours, tones in their rows, time in its columns, for every regime
(a clip in memory, a streamed file, a sampled one); and the PNG encoder on its own."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from shanty.media.png import PNG_SIGNATURE, png_bytes
from shanty.media.spectrogram import (
    HEIGHT,
    PALETTE,
    WIDTH,
    _FilterBank,
    _weights,
    fft_size,
    row_frequencies,
    spectrogram_levels,
    spectrogram_png,
)
from tests.kits.audio import encode, reader, tone

RATE = 16_000


def levels_of(data: bytes, **options: object) -> np.ndarray:
    levels = spectrogram_levels(reader(data), len(data), **options)
    assert levels is not None
    return levels


def loudest_hz(levels: np.ndarray, rate: int) -> float:
    """The centre frequency of the row with the most energy over the whole image."""
    return float(row_frequencies(rate, levels.shape[0])[levels.mean(axis=1).argmax()])


@pytest.mark.parametrize("suffix", ["wav", "flac", "mp3"])
def test_a_png_of_the_default_size_in_the_palette(suffix: str) -> None:
    data = encode(tone(2.0, RATE, 1000), RATE, suffix)
    png = spectrogram_png(reader(data), len(data))
    assert png is not None and png.startswith(PNG_SIGNATURE)
    picture = Image.open(io.BytesIO(png))
    assert picture.size == (WIDTH, HEIGHT) == (400, 128) and picture.mode == "P"
    colours = {tuple(c) for c in np.asarray(picture.convert("RGB")).reshape(-1, 3)}
    assert colours <= {tuple(c) for c in PALETTE.tolist()} and len(colours) > 20
    assert len(png) < 60_000


@pytest.mark.parametrize("suffix", ["wav", "flac", "mp3", "ogg", "m4a"])
def test_a_1_khz_tone_lights_the_rows_around_1_khz(suffix: str) -> None:
    data = encode(tone(2.0, RATE, 1000), RATE, suffix)
    levels = levels_of(data)[:, 3:-3]  # the first and last columns' frames reach past the ends: dimmer
    rate = 48_000 if suffix == "ogg" else RATE  # Opus decodes at 48 kHz: the rows then reach 24 kHz
    assert loudest_hz(levels, rate) == pytest.approx(1000, rel=0.08)
    rows = row_frequencies(rate)
    far = (rows < 500) | (rows > 2000)
    # In every column the tone's row is the loudest; rows an octave away are 40 of the 80 dB lower, or more.
    assert np.all(np.abs(rows[levels.argmax(axis=0)] - 1000) < 100)
    assert levels.max(axis=0).min() > 0.95 and levels[far].max() < 0.5


def test_low_frequencies_are_at_the_bottom() -> None:
    low, high = (levels_of(encode(tone(1.0, RATE, hz), RATE, "wav")) for hz in (200, 4000))
    low_row, high_row = low.mean(axis=1).argmax(), high.mean(axis=1).argmax()
    assert high_row < low_row  # row 0 is the top of the image
    assert loudest_hz(low, RATE) == pytest.approx(200, rel=0.15) and loudest_hz(high, RATE) == pytest.approx(
        4000, rel=0.08
    )
    assert row_frequencies(RATE)[0] == pytest.approx(RATE / 2, rel=0.05) and row_frequencies(RATE)[-1] < 60


def column_energy(levels: np.ndarray) -> np.ndarray:
    return levels.max(axis=0)


@pytest.mark.parametrize(
    ("seconds", "regime"),
    [(4.0, {}), (40.0, {}), (40.0, {"full_decode_s": 10})],
    ids=["in memory", "streamed", "sampled"],
)
def test_time_runs_left_to_right_in_every_regime(seconds: float, regime: dict) -> None:
    # Silence for the first quarter, a tone for the rest: the left quarter of the image is dark.
    quarter = round(seconds * RATE / 4)
    samples = np.concatenate([np.zeros(quarter), tone(seconds * 3 / 4, RATE, 700)])
    if seconds > 20:  # in memory up to width x n_fft frames (12.8 s at 16 kHz): this one is not
        assert seconds * RATE > WIDTH * fft_size(RATE)
    energy = column_energy(levels_of(encode(samples, RATE, "flac"), **regime))
    assert energy.shape == (WIDTH,)
    assert energy[: WIDTH // 4 - 4].max() < 0.05 and energy[WIDTH // 4 + 4 :].min() > 0.9


def test_streamed_and_sampled_agree_on_a_steady_sound() -> None:
    samples = np.concatenate([tone(15, RATE, 400), tone(15, RATE, 2500)])
    data = encode(samples, RATE, "mp3")
    streamed, sampled = levels_of(data), levels_of(data, full_decode_s=5)
    for levels in (streamed, sampled):
        rows = levels.argmax(axis=0)
        assert row_frequencies(RATE)[rows[20:180]] == pytest.approx(400, rel=0.15)
        assert row_frequencies(RATE)[rows[220:380]] == pytest.approx(2500, rel=0.1)
    assert np.abs(streamed[:, 20:380] - sampled[:, 20:380]).mean() < 0.1


def test_silence_is_all_dark_and_other_sizes_are_honoured() -> None:
    data = encode(np.zeros(RATE), RATE, "flac")
    levels = levels_of(data, width=50, height=20)
    assert levels.shape == (20, 50) and levels.max() == 0
    png = spectrogram_png(reader(data), len(data), width=50, height=20)
    assert Image.open(io.BytesIO(png)).size == (50, 20)
    with pytest.raises(ValueError):
        spectrogram_levels(reader(data), len(data), width=0)


def test_a_clip_shorter_than_one_fft_still_gets_a_picture() -> None:
    data = encode(tone(0.01, RATE, 1000), RATE, "wav")  # 160 frames, under one 640-frame FFT
    levels = levels_of(data)
    assert levels.shape == (HEIGHT, WIDTH) and levels.max() == 1


@pytest.mark.parametrize("data", [b"", b"RIFF\x00\x00\x00\x00WAVE", b"not audio at all" * 100])
def test_what_is_not_audio_has_no_spectrogram(data: bytes) -> None:
    assert spectrogram_png(reader(data), len(data)) is None


def test_the_palette_runs_from_dark_to_light() -> None:
    luma = PALETTE @ np.array([0.2126, 0.7152, 0.0722])
    assert PALETTE.shape == (256, 3) and PALETTE.dtype == np.uint8
    assert luma[0] < 5 and luma[-1] > 230 and np.all(np.diff(luma) > -0.5)  # steadily brighter


# --- the PNG encoder ------------------------------------------------------------------------------


def test_png_palette_and_rgb_images_read_back_exactly() -> None:
    rng = np.random.default_rng(2)
    indices = rng.integers(0, 256, (7, 13), dtype=np.uint8)
    picture = Image.open(io.BytesIO(png_bytes(indices, PALETTE)))
    assert picture.mode == "P" and np.array_equal(np.asarray(picture), indices)
    assert np.array_equal(np.asarray(picture.convert("RGB")), PALETTE[indices])
    rgb = rng.integers(0, 256, (5, 3, 3), dtype=np.uint8)
    picture = Image.open(io.BytesIO(png_bytes(rgb)))
    assert picture.mode == "RGB" and picture.size == (3, 5) and np.array_equal(np.asarray(picture), rgb)


def test_png_chunks_carry_valid_checksums() -> None:
    data = png_bytes(np.zeros((2, 2, 3), dtype=np.uint8))
    position, kinds = len(PNG_SIGNATURE), []
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        crc = int.from_bytes(data[position + 8 + length : position + 12 + length], "big")
        assert crc == zlib.crc32(kind + body)
        kinds.append(kind)
        position += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]


@pytest.mark.parametrize(
    ("pixels", "palette"),
    [
        (np.zeros((2, 2)), None),  # indices without a palette
        (np.zeros((2, 2, 4)), None),  # RGBA
        (np.zeros((2, 2, 3)), PALETTE),  # RGB with a palette
        (np.zeros((2, 2)), np.zeros((300, 3))),  # too many colours
        (np.zeros((0, 2, 3)), None),  # no pixels
    ],
)
def test_png_refuses_shapes_it_does_not_write(pixels: np.ndarray, palette: np.ndarray | None) -> None:
    with pytest.raises(ValueError):
        png_bytes(pixels, palette)


@pytest.mark.parametrize("rate", [8_000, 16_000, 44_100, 48_000])
def test_the_running_sum_filter_bank_is_the_triangle_matrix(rate: int) -> None:
    n_fft = fft_size(rate)
    rng = np.random.default_rng(rate)
    power = rng.exponential(1, (20, n_fft // 2 + 1)) * np.logspace(0, -8, n_fft // 2 + 1)  # 80 dB of slope
    weights = _weights(rate, n_fft, HEIGHT)
    dense = power @ (weights / weights.sum(axis=1, keepdims=True)).T
    assert np.allclose(_FilterBank(rate, n_fft, HEIGHT)(power), dense, rtol=1e-4, atol=0)
    assert (weights.max(axis=1) > 0.5).all()  # every band covers at least one bin well
