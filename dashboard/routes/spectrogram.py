"""``GET /api/spectrogram/<token>``: a 400 x 128 PNG spectrogram of an audio cell (mel rows, magma colours).

Drawn by :func:`shanty.media.spectrogram.spectrogram_png` from the file read
by ranges (every format PyAV decodes; files longer than ten minutes are
sampled, one seek per column). A file that is no audio answers 404. Tokens,
the cache, the size limit and the decode slots are those of every preview
(:mod:`dashboard.routes.previews`).
"""

from __future__ import annotations

from starlette.routing import Route

from dashboard.routes import SPECTROGRAM_PREFIX
from dashboard.routes.previews import Preview, ReadAt, preview_routes
from shanty.media.spectrogram import HEIGHT, WIDTH, spectrogram_png

__all__ = ["SPECTROGRAM", "spectrogram_routes"]


def _spectrogram(read_at: ReadAt, size: int) -> bytes | None:
    return spectrogram_png(read_at, size, WIDTH, HEIGHT)


SPECTROGRAM = Preview("spectrogram", SPECTROGRAM_PREFIX, "image/png", _spectrogram)


def spectrogram_routes() -> list[Route]:
    """The route ``GET <SPECTROGRAM_PREFIX>/<token>`` (URLs from ``MediaServer.cell_urls(..., ["spectrogram"])``)."""
    return preview_routes(SPECTROGRAM)
