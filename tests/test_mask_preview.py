"""Segmentation masks: the class palette, the colouriser (hidden classes, what is no mask) and the mask
route (tokens checked, ``?hide=``, the cache per hidden set), and how an image cell's masks are signed."""

from __future__ import annotations

import io
import itertools
import json
import struct
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from starlette.applications import Starlette

import shanty
from dashboard.routes import MASK_PREFIX, previews
from dashboard.routes import media as media_route
from dashboard.routes.mask import mask_routes, parse_hidden
from dashboard.routes.media import cell_urls
from dashboard.widgets.media_links import annotations
from shanty.errors import InvalidInputError
from shanty.media.mask import CLASS_COLOURS, class_colour, class_colour_hex, colour_mask_png

with warnings.catch_warnings():  # starlette 1.x would rather use httpx2, which is not installed
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

# A 6x4 class-id mask: background 0, class 1 top-left, class 2 bottom-right, one pixel of class 7.
IDS = np.array(
    [
        [1, 1, 0, 0, 0, 0],
        [1, 1, 0, 0, 7, 0],
        [0, 0, 0, 2, 2, 2],
        [0, 0, 0, 2, 2, 2],
    ],
    dtype=np.uint8,
)


def png(array: np.ndarray, mode: str, **save) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array, mode).save(out, format="PNG", **save)
    return out.getvalue()


def rgba(data: bytes) -> np.ndarray:
    picture = Image.open(io.BytesIO(data))
    assert picture.format == "PNG" and picture.mode == "P"  # a palette image: the pixels were not decoded
    return np.asarray(picture.convert("RGBA"))


def idat(data: bytes) -> bytes:
    """The concatenated IDAT bodies of a PNG (its compressed pixel rows)."""
    out, offset = b"", 8
    while offset < len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        if data[offset + 4 : offset + 8] == b"IDAT":
            out += data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    return out


# --- the palette and the colouriser -----------------------------------------------------------------


def test_the_palette_is_stable_and_distinct() -> None:
    assert class_colour(0) == (230, 25, 75) and class_colour_hex(3) == "#0082c8"
    assert len(set(CLASS_COLOURS)) == len(CLASS_COLOURS) == 20
    beyond = [class_colour(i) for i in range(20, 276)]
    assert beyond == [class_colour(i) for i in range(20, 276)]  # a function of the id alone
    assert all(a != b for a, b in itertools.pairwise(beyond))  # neighbours differ
    assert all(0 <= c <= 255 for colour in beyond for c in colour)


def test_each_class_gets_its_colour_and_hidden_classes_are_transparent() -> None:
    mask = png(IDS, "L")
    shown = rgba(colour_mask_png(mask))
    for value in (0, 1, 2, 7):
        assert (shown[np.equal(IDS, value)] == [*class_colour(value), 255]).all()
    hidden = rgba(colour_mask_png(mask, hidden={0, 2}))
    assert (hidden[(IDS == 0) | (IDS == 2)][:, 3] == 0).all()
    assert (hidden[IDS == 1] == [*class_colour(1), 255]).all() and (hidden[IDS == 7] == [*class_colour(7), 255]).all()
    # Only the header and the palette change: the compressed rows are the mask's own, byte for byte.
    assert idat(colour_mask_png(mask, hidden={1})) == idat(mask)


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_low_bit_depth_and_palette_masks_are_read_as_class_ids(bits: int) -> None:
    ids = IDS % (2**bits)
    raw = b"".join(
        b"\x00" + np.packbits(np.unpackbits(row[:, None], axis=1)[:, -bits:].ravel()).tobytes() for row in ids
    )
    header = struct.pack(">IIBBBBB", ids.shape[1], ids.shape[0], bits, 0, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    grey = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    # The test's own PNG is what it means (a reader scales grey levels to 0..255).
    assert (np.asarray(Image.open(io.BytesIO(grey)).convert("L")) == ids * (255 // (2**bits - 1))).all()
    coloured = rgba(colour_mask_png(grey, hidden={1}))
    for value in np.unique(ids):
        expected = [*class_colour(int(value)), 0 if value == 1 else 255]
        assert (coloured[ids == value] == expected).all()
    # A palette image: its indices are the class ids, its own colours are replaced.
    palette = Image.fromarray(IDS, "P")
    palette.putpalette([255, 255, 255] * 256)
    out = io.BytesIO()
    palette.save(out, format="PNG")
    assert (rgba(colour_mask_png(out.getvalue()))[IDS == 2] == [*class_colour(2), 255]).all()


def test_what_is_no_class_id_mask_gives_none() -> None:
    assert colour_mask_png(png(np.zeros((4, 4, 3), np.uint8), "RGB")) is None  # colour
    assert colour_mask_png(png(IDS.astype(np.uint16) * 300, None)) is None  # 16-bit
    assert colour_mask_png(b"GIF89a not a png") is None
    mask = png(IDS, "L")
    assert colour_mask_png(mask[: len(mask) // 2]) is None  # cut short


def test_hide_lists_are_parsed_strictly() -> None:
    assert parse_hidden(None) == parse_hidden("") == frozenset()
    assert parse_hidden("0,3,255") == frozenset({0, 3, 255})
    for bad in ("256", "-1", "1,,2", "a", "1;2", " 1"):
        with pytest.raises(InvalidInputError, match="from 0 to 255"):
            parse_hidden(bad)


# --- the route and the signed cells --------------------------------------------------------------------


@dataclass
class Served:
    client: TestClient
    version: shanty.ArtifactVersion

    def mask_url(self, entry: str) -> str:
        return cell_urls(self.version, entry, ["mask"])["mask"]


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """A version referencing a mask, a colour picture and a text file, and a client of the mask route."""
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    (bucket / "mask.png").write_bytes(png(IDS, "L"))
    (bucket / "photo.png").write_bytes(png(np.full((4, 6, 3), 90, np.uint8), "RGB"))
    (bucket / "notes.txt").write_bytes(b"no mask here\n")
    with shanty.init(project="p", root=str(tmp_path / "registry")) as run:
        artifact = shanty.Artifact("masks", type="dataset")
        artifact.add_reference(str(bucket))
        version = run.log_artifact(artifact)
    monkeypatch.setenv("SHANTY_ROOT", str(tmp_path / "registry"))
    previews.clear_cache()
    try:
        with TestClient(Starlette(routes=mask_routes())) as client:
            yield Served(client, version)
    finally:
        media_route._server.cache_clear()
        previews.clear_cache()


def test_the_route_colours_the_mask_and_hides_what_it_is_asked_to(served: Served) -> None:
    url = served.mask_url("mask.png")
    assert url.startswith(MASK_PREFIX + "/")
    response = served.client.get(url)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert (rgba(response.content)[IDS == 2] == [*class_colour(2), 255]).all()
    hidden = served.client.get(url + "?hide=2,0")
    assert hidden.status_code == 200
    pixels = rgba(hidden.content)
    assert (pixels[(IDS == 2) | (IDS == 0)][:, 3] == 0).all() and (pixels[IDS == 1][:, 3] == 255).all()
    # The cache is per hidden set: asking again for the first gives the first, decoded once each.
    before = previews.DECODED["mask"]
    assert served.client.get(url).content == response.content
    assert served.client.get(url + "?hide=0,2").content == hidden.content
    assert previews.DECODED["mask"] == before
    bad = served.client.get(url + "?hide=300")
    assert bad.status_code == 400 and "from 0 to 255" in bad.text


def test_the_mask_route_checks_tokens_and_answers_404_for_what_is_no_mask(served: Served) -> None:
    token = served.mask_url("mask.png").rsplit("/", 1)[1]
    claim, signature = token.split(".")
    forged = ("A" if signature[0] != "A" else "B") + signature[1:]
    decoded = previews.DECODED["mask"]
    for bad in (f"{claim}.{forged}", "forged.token", "x"):
        for query in ("", "?hide=1"):
            response = served.client.get(f"{MASK_PREFIX}/{bad}{query}")
            assert response.status_code == 403 and "not valid" in response.text
    assert previews.DECODED["mask"] == decoded  # refused before any byte is read
    for entry in ("photo.png", "notes.txt"):
        response = served.client.get(served.mask_url(entry))
        assert response.status_code == 404 and response.text == "No mask for this file."


def test_an_image_cells_masks_are_signed_per_entry_and_boxes_pass_through(served: Served) -> None:
    boxes = {
        "predictions": {
            "box_data": [{"position": {"minX": 1, "maxX": 3, "minY": 0, "maxY": 2}, "domain": "pixel", "class_id": 4}],
            "class_labels": {"4": "cat"},
        }
    }
    masks = {
        "truth": {"uri": "file:///x/mask.png", "entry": "mask.png", "class_labels": {"1": "sky", "2": "sea"}},
        "elsewhere": {"uri": "file:///x/other.png", "entry": "not/in/the/version.png", "class_labels": {}},
        "unlogged": {"uri": "file:///x/mask.png", "entry": None, "class_labels": {}},
    }
    cell = {
        "uri": "file:///x/photo.png",
        "entry": "photo.png",
        "boxes": json.dumps(boxes),
        "masks": json.dumps(masks),
        "classes": json.dumps([{"id": 9, "name": "dog"}]),
    }
    shown = annotations(cell, served.version)
    assert shown["boxes"] == boxes and shown["classes"] == [{"id": 9, "name": "dog"}]
    # Only the mask the version holds is signed, for that entry: nothing else can be reached through it.
    assert set(shown["masks"]) == {"truth"} and shown["masks"]["truth"]["class_labels"] == {"1": "sky", "2": "sea"}
    assert served.client.get(shown["masks"]["truth"]["url"]).status_code == 200
    assert shown["class_colors"] == {str(i): class_colour_hex(i) for i in (1, 2, 4, 9)}
    assert annotations({"uri": "file:///x/photo.png", "entry": "photo.png"}, served.version) == {}
    assert annotations({**cell, "boxes": "{not json", "masks": None, "classes": None}, served.version) == {}
