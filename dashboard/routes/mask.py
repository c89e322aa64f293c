"""``GET /api/mask/<token>[?hide=0,3]``: a segmentation mask of an image cell, coloured by class.

The token signs the mask's own manifest entry (see
:func:`dashboard.widgets.media_links.sign_cell`), so only masks a logged
version references are served. The body is
:func:`shanty.media.mask.colour_mask_png`: the class-id PNG with the one
class palette, the classes in ``hide`` transparent; the browser lays it over
the image at reduced opacity and asks again, with another ``hide``, when a
class is toggled in the legend. Anything but a grey or palette PNG of 8 bits
or fewer answers 404. Tokens, the cache (keyed by the bytes and the hidden
classes), the size limit and the decode slots are those of every preview
(:mod:`dashboard.routes.previews`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from starlette.routing import Route

from dashboard.routes import MASK_PREFIX
from dashboard.routes.previews import Preview, ReadAt, preview_routes
from shanty.errors import InvalidInputError
from shanty.media.mask import colour_mask_png

__all__ = ["MASK", "mask_routes", "parse_hidden"]

MAX_BYTES = 64 * 1024**2  # a mask is read whole; 64 MiB is a 8k x 8k mask that zlib could not shrink
_IDS = 256  # an 8-bit mask holds class ids 0..255


def parse_hidden(text: str | None) -> frozenset[int]:
    """``"0,3,12"`` -> ``frozenset({0, 3, 12})`` (empty for None or ""). Raises InvalidInputError for
    anything but comma-separated class ids from 0 to 255."""
    if not text:
        return frozenset()
    parts = text.split(",")
    if len(parts) > _IDS or not all(p.isdigit() and int(p) < _IDS for p in parts):
        raise InvalidInputError(
            f"hide={text[:40]!r} is not a list of class ids; give ids from 0 to 255 separated by commas."
        )
    return frozenset(int(p) for p in parts)


def _coloured(hidden: frozenset[int]):
    def make(read_at: ReadAt, size: int) -> bytes | None:
        return colour_mask_png(read_at(0, size), hidden)

    return make


def _for_query(query: Mapping[str, str]) -> Preview:
    hidden = parse_hidden(query.get("hide"))
    return dataclasses.replace(MASK, make=_coloured(hidden), variant=hidden, for_query=None)


MASK = Preview("mask", MASK_PREFIX, "image/png", _coloured(frozenset()), max_bytes=MAX_BYTES, for_query=_for_query)


def mask_routes() -> list[Route]:
    """The route ``GET <MASK_PREFIX>/<token>`` (URLs from ``MediaServer.cell_urls(..., ["mask"])``)."""
    return preview_routes(MASK)
