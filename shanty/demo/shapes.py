"""The demo's annotated images: coloured shapes with ground-truth boxes and masks, and predicted boxes.

:func:`shapes_table` draws :data:`SHAPES_COUNT` pictures of circles, squares
and triangles on a soft background (numpy, no randomness: every layout is
written down below), each an ``Image`` built from the array with W&B's
annotations: a ``ground_truth`` box group (exact bounds), a ``predictions``
box group (shifted a little, with a ``score``; one shape missed and one
false alarm, so the two groups differ somewhere) and a ``ground_truth``
mask (pixel value = class id, 0 the background).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tables.cells import Image
from ..tables.table import Table

__all__ = ["SHAPES_COUNT", "SHAPE_CLASSES", "Shape", "shape_pictures", "shapes_table"]

WIDTH, HEIGHT = 256, 192
SHAPE_CLASSES = {0: "background", 1: "circle", 2: "square", 3: "triangle"}
# Class -> RGB of the painted shape: neutral tones, so the mask's class colours read clearly over them.
_FILL = {1: (246, 242, 230), 2: (66, 72, 86), 3: (150, 146, 140)}


@dataclass(frozen=True)
class Shape:
    """One shape: its class, centre and half size in pixels."""

    class_id: int
    x: int
    y: int
    r: int


# Eight pictures: (background hue, shapes). Chosen by hand so shapes overlap in a few, touch an edge in one.
_PICTURES = (
    (0.55, (Shape(1, 70, 70, 40), Shape(2, 180, 120, 36))),
    (0.10, (Shape(3, 128, 100, 60),)),
    (0.33, (Shape(2, 60, 140, 30), Shape(2, 150, 60, 28), Shape(1, 205, 145, 30))),
    (0.75, (Shape(1, 128, 96, 70),)),
    (0.62, (Shape(3, 70, 120, 45), Shape(1, 170, 80, 45))),
    (0.02, (Shape(2, 30, 40, 26), Shape(3, 200, 140, 40))),
    (0.45, (Shape(1, 60, 60, 22), Shape(1, 120, 110, 28), Shape(2, 200, 60, 30), Shape(3, 190, 150, 30))),
    (0.85, (Shape(2, 128, 96, 56),)),
)
SHAPES_COUNT = len(_PICTURES)
_MISSED = (6, 0)  # (picture, shape) the predictions miss
_FALSE_ALARM = (2, Shape(3, 110, 150, 18), 0.41)  # a triangle predicted where there is none


def _background(hue: float) -> np.ndarray:
    """A vertical gradient of a pale colour of ``hue`` (0..1), a little darker at the bottom."""
    angle = 2 * np.pi * hue
    base = 170 + 50 * np.cos(angle + np.array([0.0, 2.1, 4.2]))
    shade = np.linspace(1.0, 0.78, HEIGHT)[:, None, None]
    return np.broadcast_to(base * shade, (HEIGHT, WIDTH, 3))


def _region(shape: Shape) -> np.ndarray:
    """The pixels of ``shape`` (a boolean (HEIGHT, WIDTH) array)."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    dx, dy = xs - shape.x, ys - shape.y
    if shape.class_id == 1:
        return dx * dx + dy * dy <= shape.r * shape.r
    if shape.class_id == 2:
        return (np.abs(dx) <= shape.r) & (np.abs(dy) <= shape.r)
    # A triangle with its apex up: inside while |dx| is under the half width at that height.
    return (dy >= -shape.r) & (dy <= shape.r) & (np.abs(dx) * 2 <= dy + shape.r)


def _bounds(region: np.ndarray) -> dict[str, int]:
    ys, xs = np.nonzero(region)
    return {"minX": int(xs.min()), "maxX": int(xs.max()) + 1, "minY": int(ys.min()), "maxY": int(ys.max()) + 1}


def shape_pictures() -> list[tuple[np.ndarray, np.ndarray, list[tuple[Shape, dict[str, int]]]]]:
    """Each picture as (RGB uint8 pixels, class-id mask, [(shape, its visible bounds)]); later shapes
    are drawn over earlier ones."""
    out = []
    for hue, shapes in _PICTURES:
        pixels = _background(hue).copy()
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        regions = []
        for shape in shapes:
            region = _region(shape)
            pixels[region] = _FILL[shape.class_id]
            mask[region] = shape.class_id
            regions.append((shape, region))
        visible = [(shape, _bounds(region & (mask == shape.class_id))) for shape, region in regions]
        out.append((np.clip(pixels, 0, 255).astype(np.uint8), mask, visible))
    return out


def _prediction(index: int, number: int, bounds: dict[str, int], class_id: int) -> dict:
    """A predicted box: the true one shifted and grown by a few pixels, with a score (all from the indexes)."""
    shift = ((index * 7 + number * 3) % 9) - 4
    grow = (index + number) % 4
    score = round(0.97 - ((index * 5 + number * 11) % 23) / 100, 2)
    position = {
        "minX": max(0, bounds["minX"] + shift - grow),
        "maxX": min(WIDTH, bounds["maxX"] + shift + grow),
        "minY": max(0, bounds["minY"] - shift - grow),
        "maxY": min(HEIGHT, bounds["maxY"] - shift + grow),
    }
    return {"position": position, "domain": "pixel", "class_id": class_id, "scores": {"score": score}}


def shapes_table() -> Table:
    """The demo's annotated table: id, image (with boxes and masks), shape count, mean predicted score."""
    labels = {str(i): name for i, name in SHAPE_CLASSES.items()}
    shape_labels = {k: v for k, v in labels.items() if k != "0"}
    table = Table(columns=["image_id", "image", "shapes", "mean_score"])
    for index, (pixels, mask, visible) in enumerate(shape_pictures()):
        truth = [{"position": bounds, "domain": "pixel", "class_id": shape.class_id} for shape, bounds in visible]
        predicted = [
            _prediction(index, number, bounds, shape.class_id)
            for number, (shape, bounds) in enumerate(visible)
            if (index, number) != _MISSED
        ]
        if index == _FALSE_ALARM[0]:
            alarm = _FALSE_ALARM[1]
            bounds = _bounds(_region(alarm))
            predicted.append(
                {
                    "position": bounds,
                    "domain": "pixel",
                    "class_id": alarm.class_id,
                    "scores": {"score": _FALSE_ALARM[2]},
                }
            )
        image = Image(
            pixels,
            caption=f"shapes_{index:02d}: " + ", ".join(SHAPE_CLASSES[s.class_id] for s, _ in visible),
            boxes={
                "ground_truth": {"box_data": truth, "class_labels": shape_labels},
                "predictions": {"box_data": predicted, "class_labels": shape_labels},
            },
            masks={"ground_truth": {"mask_data": mask, "class_labels": labels}},
            classes=[{"id": i, "name": name} for i, name in SHAPE_CLASSES.items()],
        )
        scores = [box["scores"]["score"] for box in predicted]
        table.add_data(f"shapes_{index:02d}", image, len(visible), round(float(np.mean(scores)), 3))
    return table
