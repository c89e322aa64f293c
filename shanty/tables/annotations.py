"""Image annotations: bounding boxes, segmentation masks and class sets, in W&B's layouts.

``Image(..., boxes=, masks=, classes=)`` takes what ``wandb.Image`` takes and
keeps each as canonical JSON text (sorted keys) in the image's cell, the
layout written down in the dashboard contract (``boxes``: ``{group: {"box_data":
[...], "class_labels": {...}}}``; ``masks``: ``{group: {"uri", "entry",
"class_labels"}}``; ``classes``: ``[{"id", "name"}, ...]`` by id). Each
normaliser takes the user's form or its own output (a stored cell read back)
and refuses a mistake with one sentence naming it. A mask given as
``mask_data`` is encoded to a single-channel PNG (pixel value = class id) and
stored by value like any in-memory media; one given as ``{"path": ...}`` is
referenced.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError
from ..storage.location import to_uri
from .encode import mask_file

__all__ = [
    "Classes",
    "mask_values",
    "masks_with_entries",
    "normalise_boxes",
    "normalise_classes",
    "normalise_masks",
]

_CORNERS = ("minX", "maxX", "minY", "maxY")
_POSITION = "give {'minX', 'maxX', 'minY', 'maxY'} or {'middle': [x, y], 'width', 'height'}"
_INT_TEXT = re.compile(r"^-?\d+$")


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _load(value: Any, what: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise InvalidInputError(f"Image {what}= was given as text that is not JSON; pass a dict.") from None
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _number(value: Any, where: str, name: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InvalidInputError(f"{where}: {name} must be a finite number, not {value!r}.")
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _class_id(key: Any) -> int | None:
    """A class id from an int, a whole float (numpy's unique) or its decimal text (JSON keys); else None."""
    if _is_int(key):
        return int(key)
    if isinstance(key, numbers.Real) and not isinstance(key, bool) and float(key).is_integer():
        return int(key)
    if isinstance(key, str) and _INT_TEXT.match(key):
        return int(key)
    return None


def _class_labels(labels: Any, where: str) -> dict[str, str]:
    if labels is None:
        return {}
    if not isinstance(labels, Mapping):
        raise InvalidInputError(f"{where}: class_labels must map class ids (integers) to names, not {labels!r}.")
    out = {}
    for key, name in labels.items():
        ident = _class_id(key)
        if ident is None or not isinstance(name, str):
            raise InvalidInputError(
                f"{where}: class_labels maps class ids (integers) to names (text); {key!r}: {name!r} is not that."
            )
        out[str(ident)] = name
    return out


# --- classes ----------------------------------------------------------------------------------
@dataclass(frozen=True, init=False)
class Classes:
    """A set of classes, W&B's ``wandb.Classes``: ``Classes([{"id": 1, "name": "cat"}, ...])``.

    Ids are integers, names text, each id once; kept sorted by id. Raises
    InvalidInputError naming the first bad item.
    """

    pairs: tuple[tuple[int, str], ...]

    def __init__(self, class_set: Iterable[Mapping[str, Any]]):
        object.__setattr__(self, "pairs", _class_pairs(class_set))

    @property
    def class_set(self) -> list[dict[str, Any]]:
        """The classes as W&B lists them: ``[{"id": 1, "name": "cat"}, ...]``, by id."""
        return [{"id": ident, "name": name} for ident, name in self.pairs]

    def names(self) -> dict[int, str]:
        """Class id -> name."""
        return dict(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def to_json(self) -> dict[str, Any]:
        """W&B's classes file body: ``{"_type": "classes", "class_set": [...]}``."""
        return {"_type": "classes", "class_set": self.class_set}


def _class_pairs(class_set: Any) -> tuple[tuple[int, str], ...]:
    if isinstance(class_set, Mapping) and "class_set" in class_set:  # W&B's classes file
        class_set = class_set["class_set"]
    if isinstance(class_set, (str, bytes, Mapping)) or not isinstance(class_set, Iterable):
        raise InvalidInputError(f"Classes takes a list of {{'id': int, 'name': str}} dicts, not {class_set!r}.")
    seen: dict[int, str] = {}
    for item in class_set:
        ident = item.get("id") if isinstance(item, Mapping) else None
        name = item.get("name") if isinstance(item, Mapping) else None
        if not _is_int(ident) or not isinstance(name, str):
            raise InvalidInputError(
                f"Each class is {{'id': <integer>, 'name': <text>}}; {item!r} is not (class ids must be integers)."
            )
        if int(ident) in seen:
            raise InvalidInputError(f"The class id {int(ident)} appears twice in the classes; give each id once.")
        seen[int(ident)] = name
    return tuple(sorted(seen.items()))


def normalise_classes(value: Any) -> str:
    """``classes=`` (a Classes, a list of ``{"id", "name"}``, W&B's classes file body or this function's
    output) as canonical JSON ``[{"id", "name"}, ...]`` sorted by id."""
    value = _load(value, "classes")
    pairs = value.pairs if isinstance(value, Classes) else _class_pairs(value)
    return _dump([{"id": ident, "name": name} for ident, name in pairs])


# --- boxes ------------------------------------------------------------------------------------
def _position(position: Any, where: str) -> dict[str, Any]:
    if not isinstance(position, Mapping):
        raise InvalidInputError(f"{where} has no position; {_POSITION}.")
    if all(k in position for k in _CORNERS):
        return {k: _number(position[k], where, k) for k in _CORNERS}
    if all(k in position for k in ("middle", "width", "height")):
        middle = position["middle"]
        if isinstance(middle, (str, bytes, Mapping)) or not isinstance(middle, Iterable) or len(list(middle)) != 2:
            raise InvalidInputError(f"{where}: position middle must be [x, y], not {middle!r}.")
        return {
            "middle": [_number(v, where, "middle") for v in middle],
            "width": _number(position["width"], where, "width"),
            "height": _number(position["height"], where, "height"),
        }
    raise InvalidInputError(f"{where} has an incomplete position; {_POSITION}.")


def _box(box: Any, where: str) -> dict[str, Any]:
    if not isinstance(box, Mapping):
        raise InvalidInputError(f"{where} must be a dict with a position and a class_id, not {box!r}.")
    if "position" not in box:
        raise InvalidInputError(f"{where} has no position; {_POSITION}.")
    domain = box.get("domain")
    if domain not in (None, "pixel"):
        raise InvalidInputError(
            f"{where}: domain must be 'pixel' or left out (fractions of the image size), not {domain!r}."
        )
    class_id = box.get("class_id")
    if not _is_int(class_id):
        raise InvalidInputError(f"{where}: class_id must be an integer, not {class_id!r}.")
    caption = box.get("box_caption")
    if caption is not None and not isinstance(caption, str):
        raise InvalidInputError(f"{where}: box_caption must be text, not {caption!r}.")
    scores = box.get("scores")
    if scores is not None:
        if not isinstance(scores, Mapping) or not all(isinstance(k, str) for k in scores):
            raise InvalidInputError(f"{where}: scores must map names (text) to numbers, not {scores!r}.")
        scores = {k: _number(v, where, f"the score {k!r}") for k, v in scores.items()}
    position = _position(box["position"], where)
    return {"position": position, "domain": domain, "class_id": int(class_id), "box_caption": caption, "scores": scores}


def normalise_boxes(value: Any) -> str:
    """``boxes=`` in W&B's layout (``{group: {"box_data": [...], "class_labels": {...}}}``; a group may
    also be the bare list of boxes, as W&B's ``*.table.json`` keeps it) as canonical JSON. A group
    without class_labels gets ``{}`` (names then come from the image's classes)."""
    groups = _load(value, "boxes")
    if not isinstance(groups, Mapping):
        raise InvalidInputError(
            "Image boxes= must be a dict of box groups, e.g. {'predictions': {'box_data': [...], 'class_labels': {...}}}."
        )
    out = {}
    for group, spec in groups.items():
        where = f"The box group {group!r}"
        if isinstance(spec, Mapping):
            if "box_data" not in spec:
                raise InvalidInputError(f"{where} has no box_data; give a list of boxes.")
            box_data, labels = spec["box_data"], spec.get("class_labels")
        else:
            box_data, labels = spec, None
        if isinstance(box_data, (str, bytes, Mapping)) or not isinstance(box_data, Iterable):
            raise InvalidInputError(f"{where}: box_data must be a list of boxes, not {box_data!r}.")
        boxes = [_box(box, f"Box {index} of the group {group!r}") for index, box in enumerate(box_data)]
        out[str(group)] = {"box_data": boxes, "class_labels": _class_labels(labels, where)}
    return _dump(out)


# --- masks ------------------------------------------------------------------------------------
def normalise_masks(value: Any) -> str:
    """``masks=`` in W&B's layout (``{group: {"mask_data": 2-D array | "path": file, "class_labels": ...}}``)
    or this function's output (``{group: {"uri", "entry", "class_labels"}}``) as canonical JSON. mask_data
    is encoded to a PNG (labels default to ``class_<id>`` for the ids present, as W&B does)."""
    groups = value if isinstance(value, Mapping) else _load(value, "masks")
    if not isinstance(groups, Mapping):
        raise InvalidInputError(
            "Image masks= must be a dict of mask groups, e.g. {'predictions': {'mask_data': array, 'class_labels': {...}}}."
        )
    out = {}
    for group, spec in groups.items():
        where = f"The mask group {group!r}"
        if not isinstance(spec, Mapping):
            raise InvalidInputError(f"{where} must be a dict with mask_data (a 2-D array of class ids) or a path.")
        labels = _class_labels(spec.get("class_labels"), where)
        entry = None
        if spec.get("mask_data") is not None:
            uri, ids = mask_file(spec["mask_data"], str(group))
            if "class_labels" not in spec:
                labels = {str(i): f"class_{i}" for i in ids}
        elif isinstance(spec.get("uri"), str):  # a stored cell read back
            uri, entry = spec["uri"], spec.get("entry")
            if entry is not None and not isinstance(entry, str):
                raise InvalidInputError(f"{where}: entry must be an entry path (text), not {entry!r}.")
        elif isinstance(spec.get("path"), (str, os.PathLike)):
            uri = to_uri(spec["path"])
        else:
            raise InvalidInputError(f"{where} has neither mask_data (a 2-D array of class ids) nor a path.")
        out[str(group)] = {"uri": uri, "entry": entry, "class_labels": labels}
    return _dump(out)


def mask_values(masks: str | None, field: str) -> list[str]:
    """The ``field`` (``uri`` or ``entry``) of every group of a stored masks value, Nones left out."""
    if not masks:
        return []
    return [group[field] for group in json.loads(masks).values() if group.get(field) is not None]


def masks_with_entries(masks: str | None, entry_of: Callable[[str], str]) -> str | None:
    """A stored masks value whose groups name their manifest entries (``entry_of(uri)``)."""
    if not masks:
        return masks
    groups = json.loads(masks)
    for group in groups.values():
        group["entry"] = entry_of(group["uri"])
    return _dump(groups)
