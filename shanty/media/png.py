"""PNG encoding with zlib and struct alone (Pillow is only in an extra): palette and RGB images.

:func:`png_bytes` writes an 8-bit PNG of a ``(height, width)`` array of
palette indices with a palette (colour type 3, one byte a pixel: what the
spectrogram uses) or of a ``(height, width, 3)`` RGB array (colour type 2:
poster frames). Every row uses filter 0; zlib does the rest.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["PNG_SIGNATURE", "png_bytes"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_bytes(pixels: np.ndarray, palette: np.ndarray | None = None, level: int = 6) -> bytes:
    """PNG bytes of ``pixels``: uint8 indices ``(h, w)`` into ``palette`` (``(n, 3)`` uint8, n <= 256),
    or RGB ``(h, w, 3)`` uint8 without a palette. Raises ValueError for any other shape."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if palette is not None:
        colours = np.ascontiguousarray(palette, dtype=np.uint8)
        if pixels.ndim != 2 or colours.ndim != 2 or colours.shape[1] != 3 or not 1 <= len(colours) <= 256:
            raise ValueError(f"A palette PNG takes (h, w) indices and (n<=256, 3) colours, not {pixels.shape}.")
        colour_type, extra = 3, _chunk(b"PLTE", colours.tobytes())
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        colour_type, extra = 2, b""
    else:
        raise ValueError(f"An RGB PNG takes (h, w, 3) pixels, not {pixels.shape}.")
    height, width = pixels.shape[:2]
    if height < 1 or width < 1:
        raise ValueError(f"A PNG needs at least one pixel, not {width}x{height}.")
    rows = pixels.reshape(height, -1)
    raw = np.zeros((height, rows.shape[1] + 1), dtype=np.uint8)  # each row: filter type 0, then the row
    raw[:, 1:] = rows
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + extra
        + _chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
        + _chunk(b"IEND", b"")
    )
