"""``GET /api/poster/<token>``: a JPEG poster frame of a video cell, at most 640 px wide.

The frame, about a tenth of the way in (else the first), comes from
:func:`shanty.media.poster.poster_frame` (PyAV, ranged reads: a header and
a seek, never the whole file); Pillow, which the dashboard has, encodes it.
A file without decodable video answers 404. Tokens, the cache and the decode
slots are those of every preview (:mod:`dashboard.routes.previews`); the size
limit is higher than for audio, as only a seek's worth of the file is read.
"""

from __future__ import annotations

import io

from PIL import Image
from starlette.routing import Route

from dashboard.routes import POSTER_PREFIX
from dashboard.routes.previews import Preview, ReadAt, preview_routes
from shanty.media.poster import MAX_WIDTH, poster_frame

__all__ = ["POSTER", "poster_routes"]

MAX_BYTES = 64 * 1024**3  # a poster reads the header and one seek's worth, whatever the file's size
QUALITY = 82


def _poster_jpeg(read_at: ReadAt, size: int) -> bytes | None:
    pixels = poster_frame(read_at, size, MAX_WIDTH)
    if pixels is None:
        return None
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="JPEG", quality=QUALITY, optimize=True)
    return out.getvalue()


POSTER = Preview("poster", POSTER_PREFIX, "image/jpeg", _poster_jpeg, max_bytes=MAX_BYTES)


def poster_routes() -> list[Route]:
    """The route ``GET <POSTER_PREFIX>/<token>`` (URLs from ``MediaServer.cell_urls(..., ["poster"])``)."""
    return preview_routes(POSTER)
