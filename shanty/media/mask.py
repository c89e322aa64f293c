"""Segmentation masks: the one class palette, and a class-id PNG coloured by it.

A mask (W&B's ``masks={"<group>": {"mask_data" | "path", "class_labels"}}``)
is a single-channel PNG whose pixel value is a class id. To show it, the
dashboard asks for :func:`colour_mask_png`: the same pixels, turned into a
palette PNG whose palette is :func:`class_colour` of each id, with the
hidden classes fully transparent. The pixel data is not decoded: a grey or
palette PNG of bit depth 1-8 already stores one index per pixel, so only the
header and the palette chunks are rewritten (the compressed rows are kept
byte for byte), whatever the mask's size.

The palette is a function of the class id alone, so a class has the same
colour in every cell, every table and every group, for boxes and masks
alike (the dashboard passes these colours to the browser).
"""

from __future__ import annotations

import colorsys
import struct
import zlib
from collections.abc import Iterable

from .png import PNG_SIGNATURE

__all__ = ["CLASS_COLOURS", "class_colour", "class_colour_hex", "colour_mask_png"]

# Twenty distinct colours, vivid enough to read over photographs in light and dark themes; ids past the
# list get a hue stepped by the golden angle, so neighbours still differ.
CLASS_COLOURS = (
    (230, 25, 75), (60, 180, 75), (255, 200, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 220, 220), (240, 50, 230), (170, 210, 60), (250, 160, 190),
    (0, 128, 128), (190, 140, 255), (170, 110, 40), (255, 240, 150), (128, 0, 0),
    (120, 255, 190), (128, 128, 0), (255, 215, 180), (0, 0, 128), (160, 160, 160),
)  # fmt: skip

_GREY, _PALETTE = 0, 3  # the PNG colour types whose samples are one index per pixel
_DEPTHS = (1, 2, 4, 8)
_KEPT = (b"IDAT",)  # every other chunk (gAMA, iCCP, tRNS, text, ...) would change or contradict the colours


def class_colour(class_id: int) -> tuple[int, int, int]:
    """The RGB colour of ``class_id`` (any int; negative ids are taken modulo 2**31). Stable across runs."""
    class_id = int(class_id) % 2**31
    if class_id < len(CLASS_COLOURS):
        return CLASS_COLOURS[class_id]
    hue = (class_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return round(r * 255), round(g * 255), round(b * 255)


def class_colour_hex(class_id: int) -> str:
    """:func:`class_colour` as CSS hex, ``"#e6194b"``."""
    return "#{:02x}{:02x}{:02x}".format(*class_colour(class_id))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _chunks(data: bytes) -> Iterable[tuple[bytes, bytes]]:
    """(type, body) of each chunk up to IEND; ValueError when a chunk runs past the end."""
    offset = len(PNG_SIGNATURE)
    while offset + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        kind = data[offset + 4 : offset + 8]
        end = offset + 8 + length
        if end + 4 > len(data):
            raise ValueError("truncated chunk")
        yield kind, data[offset + 8 : end]
        if kind == b"IEND":
            return
        offset = end + 4
    raise ValueError("no IEND")


def colour_mask_png(data: bytes, hidden: Iterable[int] = ()) -> bytes | None:
    """The class-id mask PNG ``data`` coloured: a palette PNG, entry ``i`` = :func:`class_colour` ``(i)``,
    opaque, or transparent for the ids in ``hidden``.

    ``data`` must be a grey or palette PNG of bit depth 1, 2, 4 or 8 (a grey
    sample, or a palette index, is the class id; an existing palette is
    replaced). Anything else (colour or 16-bit PNGs, other formats, a
    damaged file) gives None: there is no mask to draw.
    """
    if not data.startswith(PNG_SIGNATURE):
        return None
    try:
        chunks = list(_chunks(data))
    except ValueError:
        return None
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        return None
    width, height, depth, colour_type, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if colour_type not in (_GREY, _PALETTE) or depth not in _DEPTHS or compression or filtering or interlace > 1:
        return None
    if width < 1 or height < 1:
        return None
    rows = [body for kind, body in chunks if kind in _KEPT]
    if not rows:
        return None
    entries = 2**depth  # every index the depth can hold has an entry, so no pixel falls outside the palette
    hide = {int(i) for i in hidden}
    palette = b"".join(bytes(class_colour(i)) for i in range(entries))
    alpha = bytes(0 if i in hide else 255 for i in range(entries))
    header = struct.pack(">IIBBBBB", width, height, depth, _PALETTE, 0, 0, interlace)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"PLTE", palette)
        + _chunk(b"tRNS", alpha)
        + b"".join(_chunk(b"IDAT", body) for body in rows)
        + _chunk(b"IEND", b"")
    )
