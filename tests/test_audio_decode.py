"""Every audio format PyAV decodes, through ranged reads: waveforms with the right duration and peaks,
None for what is not audio, the store's errors raised, and reads that stay small when sampling."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from shanty.demo.build import SONGS
from shanty.demo.media import encode_audio, song_samples
from shanty.media.audio_decode import _Peaks, audio_waveform, open_samples
from shanty.media.ranged_file import RangedFile
from shanty.media.spectrogram import spectrogram_levels
from shanty.media.waveform import waveform_peaks
from tests.kits.audio import LOSSY, encode, pattern, reader, tone

RATE = 16_000
FORMATS = ["flac", "mp3", "ogg", "m4a"]


@pytest.fixture(scope="module", params=FORMATS)
def patterned(request: pytest.FixtureRequest) -> tuple[str, bytes]:
    """(suffix, bytes) of two seconds of :func:`pattern` (loud, silence, quiet, silence) in each format."""
    return request.param, encode(pattern(RATE), RATE, request.param)


def test_every_format_has_its_duration_and_its_loud_and_quiet_parts(patterned: tuple[str, bytes]) -> None:
    suffix, data = patterned
    summary = audio_waveform(reader(data), len(data), buckets=20)
    assert summary is not None and len(summary.maxs) == len(summary.mins) == 20
    assert summary.duration_s == pytest.approx(2.0, rel=0.02)  # encoder delay and padding are trimmed
    assert summary.frames == round(summary.duration_s * summary.sample_rate)
    assert summary.sample_rate == (48_000 if suffix == "ogg" else RATE)  # Opus always decodes at 48 kHz
    assert summary.channels == 1
    tolerance = 0.12 if suffix in LOSSY else 0.01
    maxs, mins = np.array(summary.maxs), np.array(summary.mins)
    # 0.1 s a bucket: look well inside each half second, away from the edges a codec smears.
    assert np.allclose(maxs[1:4], 0.8, atol=tolerance) and np.allclose(mins[1:4], -0.8, atol=tolerance)
    assert np.all(np.abs(maxs[6:9]) < 0.05) and np.all(np.abs(mins[6:9]) < 0.05)
    assert np.allclose(maxs[11:14], 0.4, atol=tolerance) and np.allclose(mins[11:14], -0.4, atol=tolerance)
    assert np.all(np.abs(maxs[16:19]) < 0.05)


def test_lossless_flac_gives_the_peaks_of_the_same_samples_as_wav() -> None:
    rng = np.random.default_rng(3)
    samples = np.repeat(rng.uniform(-0.9, 0.9, 50), 200)  # steps of 200 frames: bucket edges fall inside steps
    flac, wav = encode(samples, RATE, "flac"), encode(samples, RATE, "wav")
    from_flac, from_wav = audio_waveform(reader(flac), len(flac), 25), waveform_peaks(wav, 25)
    assert from_flac is not None and from_wav is not None
    assert (from_flac.frames, from_flac.duration_s) == (from_wav.frames, from_wav.duration_s) == (10_000, 0.625)
    assert np.allclose(from_flac.maxs, from_wav.maxs, atol=1e-4) and np.allclose(
        from_flac.mins, from_wav.mins, atol=1e-4
    )


def test_stereo_is_mixed_down_to_the_mean_of_its_channels() -> None:
    left = tone(1.0, RATE, 300, 0.8)
    data = encode(np.stack([left, np.zeros_like(left)], axis=1), RATE, "flac")
    summary = audio_waveform(reader(data), len(data), buckets=4)
    assert summary is not None and summary.channels == 2 and summary.frames == RATE
    assert np.allclose(summary.maxs, 0.4, atol=1e-3) and np.allclose(summary.mins, -0.4, atol=1e-3)


def test_a_three_minute_mp3_gets_its_duration_from_decoding() -> None:
    samples = tone(180.0, 8_000, 200, 0.5)
    data = encode(samples, 8_000, "mp3")
    started = time.perf_counter()
    summary = audio_waveform(reader(data), len(data), buckets=220)
    elapsed = time.perf_counter() - started
    assert summary is not None and summary.duration_s == pytest.approx(180.0, rel=0.01)
    assert len(summary.maxs) == 220 and np.allclose(summary.maxs, 0.5, atol=0.08)
    assert elapsed < 10  # about 0.3 s measured; only an accidental per-sample Python loop would fail this


def test_wav_encodings_the_numpy_reader_skips_are_decoded_by_pyav() -> None:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="wav") as container:  # A-law: the numpy reader answers None
        stream = container.add_stream("pcm_alaw", rate=8_000, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            (tone(1.0, 8_000, 440, 0.5) * 32767).astype(np.int16)[None, :], "s16", "mono"
        )
        frame.sample_rate, frame.pts = 8_000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = buffer.getvalue()
    assert waveform_peaks(data) is None
    summary = audio_waveform(reader(data), len(data), buckets=10)
    assert summary is not None and summary.duration_s == pytest.approx(1.0, abs=0.01)
    assert np.allclose(summary.maxs, 0.5, atol=0.02)


def test_the_demo_encodes_the_same_song_alike_in_every_format() -> None:
    samples = song_samples(SONGS[4], 4)
    for suffix in ["wav", *FORMATS]:
        data = encode_audio(samples, suffix)
        assert encode_audio(samples, suffix) == data  # deterministic: the demo's bytes never change
        summary = audio_waveform(reader(data), len(data))
        assert summary is not None and summary.duration_s == pytest.approx(SONGS[4].seconds, rel=0.01), suffix
        assert max(summary.maxs) == pytest.approx(np.max(samples), abs=0.1), suffix


# --- what is not audio --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"fLaC" + bytes(100),  # a FLAC signature and no stream info
        b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(200),
        b"OggS" + bytes(200),
        b"\x89PNG\r\n\x1a\n" + bytes(200),
        bytes(range(256)) * 8,
        b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",  # a playlist is never followed
    ],
)
def test_bytes_that_are_no_audio_give_none(data: bytes) -> None:
    assert audio_waveform(reader(data), len(data)) is None
    assert spectrogram_levels(reader(data), len(data)) is None


def test_corrupt_audio_gives_none_or_what_decodes_never_an_exception(patterned: tuple[str, bytes]) -> None:
    suffix, data = patterned
    rng = np.random.default_rng(11)
    for cut in (16, 200, len(data) // 2):
        part = data[:cut]
        summary = audio_waveform(reader(part), len(part))
        assert summary is None or summary.duration_s <= 2.1, (suffix, cut)
    damaged = np.frombuffer(data, dtype=np.uint8).copy()
    spots = rng.integers(len(data) // 4, len(data), 200)
    damaged[spots] = rng.integers(0, 256, 200, dtype=np.uint8)  # noise over the packets, the header intact
    summary = audio_waveform(reader(damaged.tobytes()), len(damaged))
    assert summary is None or all(-1 <= v <= 1 for v in summary.mins + summary.maxs)


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_store_error_is_raised_not_taken_for_bad_bytes(suffix: str) -> None:
    data = encode(pattern(RATE, part_s=8.0), RATE, suffix)  # 32 s: more than the first reads hold
    assert len(data) > 64_000
    failing = reader(data)
    failing.fail = OSError("the bucket went away")
    with pytest.raises(OSError, match="went away"):
        audio_waveform(failing, len(data))
    half = reader(data)

    def fails_later(offset: int, length: int) -> bytes:
        if offset > len(data) // 2:
            raise OSError("the bucket went away halfway")
        return half(offset, length)

    with pytest.raises(OSError, match="halfway"):
        audio_waveform(fails_later, len(data))


# --- ranged reads and bounded work ----------------------------------------------------------------


def test_the_ranged_file_reads_ahead_more_while_sequential_and_little_after_a_seek() -> None:
    data = bytes(range(256)) * 40_000  # 10 MB
    source = reader(data)
    handle = RangedFile(source, len(data), min_ahead=1024, max_ahead=1 << 20)
    assert handle.read(10) == data[:10] and source.lengths == [1024]
    assert handle.read() == data[10:]  # to the end: reads grow, then stay at the cap
    assert max(source.lengths) == 1 << 20 and source.calls < 60
    handle.seek(-5, io.SEEK_END)
    before = source.calls
    assert handle.read(100) == data[-5:] and handle.read(1) == b""
    assert source.calls - before <= 1
    handle.seek(5_000_000)
    assert handle.read(3) == data[5_000_000:5_000_003] and source.lengths[-1] == 1024  # a seek starts small
    assert (handle.reads, handle.bytes_read) == (source.calls, source.bytes_read)


@pytest.fixture(scope="module")
def long_flac() -> bytes:
    """Ten minutes of 16 kHz mono FLAC: a 500 Hz tone for five minutes, then 3 kHz, over quiet noise."""
    rng = np.random.default_rng(5)
    half = 300 * RATE
    samples = np.concatenate([tone(300, RATE, 500, 0.5), tone(300, RATE, 3000, 0.5)])
    return encode(samples + rng.normal(0, 0.01, 2 * half), RATE, "flac")


def test_a_long_file_is_streamed_once_for_its_waveform_in_few_requests(long_flac: bytes) -> None:
    source = reader(long_flac)
    summary = audio_waveform(source, len(long_flac), buckets=200)
    assert summary is not None and summary.duration_s == pytest.approx(600.0, abs=0.01)
    assert np.allclose(summary.maxs, 0.5, atol=0.05)
    assert source.bytes_read <= len(long_flac) * 1.05 and source.calls < 60  # read once, in growing chunks


def test_sampling_a_long_file_reads_a_fraction_of_it_and_finds_what_is_where(long_flac: bytes) -> None:
    source, width = reader(long_flac), 60
    started = time.perf_counter()
    levels = spectrogram_levels(source, len(long_flac), width=width, height=64, full_decode_s=60)
    elapsed = time.perf_counter() - started
    assert levels is not None and levels.shape == (64, width)
    # One seek per column, each a read of 32 KB (15% of the file and 62 reads measured).
    assert source.bytes_read < 0.3 * len(long_flac), (source.bytes_read, len(long_flac))
    assert source.calls < 3 * width and elapsed < 10
    # The tone moves from 500 Hz to 3 kHz halfway: the loudest row of each column says where it is.
    loudest = levels.argmax(axis=0)
    early, late = loudest[: width // 2 - 2], loudest[width // 2 + 2 :]
    first, second = np.bincount(early).argmax(), np.bincount(late).argmax()
    assert second < first  # row 0 is the top: the higher tone sits higher up
    assert (early == first).mean() > 0.9 and (late == second).mean() > 0.9


def test_sampling_by_time_for_an_indexed_format_matches_a_full_pass() -> None:
    samples = np.concatenate([tone(20, RATE, 500), tone(20, RATE, 3000)])
    data = encode(samples, RATE, "m4a")
    with open_samples(reader(data), len(data)) as source:
        assert source is not None and source.duration_hint() == pytest.approx(40, abs=0.1)
        early, late = source.sample(10.0, 4096), source.sample(30.0, 4096)
    assert early is not None and late is not None and early.size == late.size == 4096

    def dominant(window: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(window * np.hanning(window.size)))
        return float(np.fft.rfftfreq(window.size, 1 / RATE)[spectrum.argmax()])

    assert dominant(early) == pytest.approx(500, abs=20) and dominant(late) == pytest.approx(3000, abs=20)
    sampled = spectrogram_levels(reader(data), len(data), width=80, height=64, full_decode_s=10)
    streamed = spectrogram_levels(reader(data), len(data), width=80, height=64)
    assert sampled is not None and streamed is not None
    assert np.array_equal(sampled.argmax(axis=0)[5:35], streamed.argmax(axis=0)[5:35])
    assert np.array_equal(sampled.argmax(axis=0)[45:75], streamed.argmax(axis=0)[45:75])


@pytest.mark.parametrize("seed", range(4))
def test_peak_buckets_of_a_stream_of_unknown_length_are_exact_over_whole_stored_buckets(seed: int) -> None:
    rng = np.random.default_rng(seed)
    signal = rng.uniform(-1, 1, int(rng.integers(1, 60_000))).astype(np.float32)
    peaks = _Peaks(limit=64)
    position = 0
    while position < signal.size:  # blocks of any size, as decoders hand them over
        step = int(rng.integers(1, 5_000))
        peaks.add(signal[position : position + step])
        position += step
    buckets = 17
    mins, maxs = peaks.summary(buckets)
    count = min(buckets, signal.size)
    assert len(mins) == len(maxs) == count and peaks.width <= max(1, signal.size // 64)
    # Bucket k starts at the stored bucket holding frame edges[k]: within ``width`` frames of the even split.
    edges = (np.arange(count) * signal.size) // count
    bounds = [*(edges // peaks.width * peaks.width), signal.size]
    for k in range(count):
        part = signal[bounds[k] : bounds[k + 1]]
        assert (mins[k], maxs[k]) == (part.min(), part.max())


WITHOUT_PYAV = """
import sys
class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("av", "PIL"):
            raise ImportError(f"No module named {name!r} (blocked by the test)")
sys.meta_path.insert(0, Missing())
from shanty.media.audio_decode import audio_waveform
from shanty.media.poster import poster_frame
from shanty.media.spectrogram import spectrogram_png
wav, flac = (open(name, "rb").read() for name in ("a.wav", "a.flac"))
def read(data):
    return lambda offset, length: data[offset : offset + length]
print(audio_waveform(read(wav), len(wav)).duration_s, spectrogram_png(read(wav), len(wav))[:4])
print(audio_waveform(read(flac), len(flac)), spectrogram_png(read(flac), len(flac)), poster_frame(read(flac), len(flac)))
print(sorted(set(sys.modules) & {"av", "PIL"}))
"""


def test_without_pyav_wav_still_gets_previews_and_other_formats_none(tmp_path: Path) -> None:
    samples = tone(1.0, RATE, 440)
    (tmp_path / "a.wav").write_bytes(encode(samples, RATE, "wav"))
    (tmp_path / "a.flac").write_bytes(encode(samples, RATE, "flac"))
    repo = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_PYAV],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": repo},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["1.0 b'\\x89PNG'", "None None None", "[]"]
