"""Measured columns of one image file: size, mean colour, perceptual hash, embedding.

:func:`measure_image` opens the file with Pillow (the ``media`` extra,
imported only here) through a buffered
:class:`~shanty.media.ranged_file.RangedFile`, so a bucket object is read by
ranged requests. The first frame of an animation is measured; transparency
is composited over white (what a page shows behind it). A JPEG larger than
``DECODE_SIDE`` pixels a side is decoded at a reduced scale (the decoder's
own, exact and fast); ``width`` and ``height`` are always the file's.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..media.ranged_file import RangedFile, ReadAt
from .embedding import image_embedding

__all__ = ["IMAGE_MEASURES", "ImageMeasures", "measure_image", "phash"]

DECODE_SIDE = 1024  # decoded at least this large (JPEG draft mode picks the scale)
_HASH_SIDE, _HASH_BITS = 32, 8


@dataclass(frozen=True)
class ImageMeasures:
    """What :func:`measure_image` measures of one image file.

    ``mean_color``: the mean of every pixel's sRGB values as ``#rrggbb``.
    ``phash``: the classic 64-bit DCT perceptual hash as 16 hex digits (see
    :func:`phash`); pictures that look alike differ in few bits.
    ``embedding``: :func:`shanty.enrichment.embedding.image_embedding`.
    """

    width: int
    height: int
    mean_color: str
    phash: str
    embedding: tuple[float, ...]

    def columns(self) -> dict[str, object]:
        """The plain column values by name (the embedding as a list), in field order."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}


IMAGE_MEASURES: tuple[str, ...] = ("width", "height", "mean_color", "phash")  # the scalars; embedding apart


def _pil() -> Any:
    try:
        from PIL import Image as PILImage
    except ImportError:
        raise InvalidInputError(
            "Measuring images needs the media extra, which is not installed; run pip install 'shanty[media]'."
        ) from None
    return PILImage


def _dct_matrix(size: int) -> np.ndarray:
    """Unnormalised DCT-II (scipy's default): ``C @ x`` is ``dct(x)``."""
    n = np.arange(size)
    return 2 * np.cos(np.pi * n[:, None] * (2 * n[None, :] + 1) / (2 * size))


_DCT = _dct_matrix(_HASH_SIDE)


def phash(picture: Any) -> str:
    """The classic pHash of a Pillow image: greyscale, resized to 32 x 32 (Lanczos), a 2D DCT, the 8 x 8
    lowest frequencies (DC included) compared with their median, row by row, first bit most significant:
    16 hex digits (as the ``imagehash`` package writes them)."""
    grey = np.asarray(picture.convert("L").resize((_HASH_SIDE, _HASH_SIDE), _pil().Resampling.LANCZOS), np.float64)
    low = (_DCT @ grey @ _DCT.T)[:_HASH_BITS, :_HASH_BITS]
    # Coefficients are rounded first so a last-bit difference in the products cannot flip a bit at the median.
    low = np.round(low, 6)
    bits = (low > np.median(low)).ravel()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def _rgb(pil: Any, picture: Any) -> Any:
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        backdrop = pil.new("RGBA", rgba.size, (255, 255, 255, 255))
        return pil.alpha_composite(backdrop, rgba).convert("RGB")
    return picture.convert("RGB")


def measure_image(read_at: ReadAt, size: int) -> ImageMeasures | None:
    """The measures of the image file of ``size`` bytes that ``read_at(offset, length)`` reads (see the
    module docstring), or None when Pillow cannot decode it (or it is a decompression bomb). Raises
    InvalidInputError when Pillow (the ``media`` extra) is not installed; what ``read_at`` raises propagates."""
    pil = _pil()
    if size <= 0:
        return None
    reader = RangedFile(read_at, size)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pil.DecompressionBombWarning)  # a bomb is no image to us
            picture = pil.open(io.BufferedReader(reader))
            width, height = picture.size
            if max(width, height) > DECODE_SIDE:
                picture.draft("RGB", (DECODE_SIDE, DECODE_SIDE))
            picture.load()
            rgb = _rgb(pil, picture)
    except (OSError, ValueError, SyntaxError, EOFError, pil.DecompressionBombWarning, pil.DecompressionBombError):
        rgb = None
    if reader.error is not None:
        raise reader.error
    if rgb is None or width < 1 or height < 1:
        return None
    pixels = np.asarray(rgb, dtype=np.uint8)
    mean = np.round(pixels.reshape(-1, 3).mean(axis=0)).astype(int)
    return ImageMeasures(
        width=int(width),
        height=int(height),
        mean_color="#{:02x}{:02x}{:02x}".format(*mean.tolist()),
        phash=phash(rgb),
        embedding=tuple(round(v, 6) for v in image_embedding(pixels).tolist()),
    )
