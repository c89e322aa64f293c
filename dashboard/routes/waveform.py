"""``GET /api/waveform/<token>``: a small min/max summary of an audio cell, drawn by the media table.

The summary is :func:`shanty.media.audio_decode.audio_waveform`'s JSON (mins,
maxs, duration_s, sample_rate, channels, frames): WAV files by the numpy
reader, every other format PyAV decodes (FLAC, MP3, OGG/Opus, AAC/M4A...)
streamed through it, so the duration the browser shows before playing is the
decoded one. A file that is no audio answers ``null``. Tokens, the cache, the
size limit and the decode slots are those of every preview
(:mod:`dashboard.routes.previews`).
"""

from __future__ import annotations

from starlette.routing import Route

from dashboard.routes import WAVEFORM_PREFIX
from dashboard.routes.previews import Preview, ReadAt, preview_routes
from shanty.media.audio_decode import audio_waveform

BUCKETS = 220  # about one bar per pixel of the table's waveform canvas

__all__ = ["BUCKETS", "WAVEFORM", "waveform_routes"]


def _waveform_json(read_at: ReadAt, size: int) -> bytes | None:
    waveform = audio_waveform(read_at, size, BUCKETS)
    return None if waveform is None else waveform.to_json().encode()


WAVEFORM = Preview("waveform", WAVEFORM_PREFIX, "application/json", _waveform_json, empty=b"null")


def waveform_routes() -> list[Route]:
    """The route ``GET <WAVEFORM_PREFIX>/<token>``; its URLs come from ``MediaServer.cell_urls(..., ["waveform"])``."""
    return preview_routes(WAVEFORM)
