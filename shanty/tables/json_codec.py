"""Reading tables from JSON: shanty's own layout and W&B's ``*.table.json``.

Both use ``{"_type": "table", "columns": [...], "data": [[...], ...]}`` with
media cells as ``{"_type": <the kind's W&B type>, "path": ..., <fields>}``
(``audio-file``, ``image-file``, ``video-file``... see
:func:`~shanty.tables.cells.kind_for_wandb_type`). In shanty's JSON ``path`` is
the media URI; in W&B's it is an artifact entry path, resolved by the caller
(``resolve_path``).

List and dict cells become Arrow list and struct columns (so DuckDB and the
Table view see their items and fields), unless a column's values cannot share
one Arrow type (``[1, "a"]``, ``{"k": 1}`` next to ``{"k": "x"}``, an empty
dict): that column keeps them as JSON text. W&B's image annotations are
rebuilt from what W&B spreads over a table file: the boxes of a cell, the box
and mask class labels of its column (``column_types``), the mask PNGs and the
``*.classes.json`` files it names (read with ``read_json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from ..errors import InvalidInputError, MalformedError
from .cells import Media, cell_kind, kind_for_wandb_type, kinds
from .table import Table

__all__ = ["JsonReader", "PathResolver", "media_from_json", "media_json_kind", "media_json_suffixes", "table_from_json"]

PathResolver = Callable[[str], tuple[str, str | None]]
JsonReader = Callable[[str], Any]  # entry path -> the JSON value of that file of the artifact
_ANNOTATIONS = ("boxes", "masks", "classes")


def _labels(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _const(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    return value.get("params", {}).get("val") if isinstance(value, dict) else None


def _image_params(column_type: Any) -> dict[str, Any]:
    """The ``image-file`` type params of a W&B column type (direct or inside a union), else {}."""
    if not isinstance(column_type, dict):
        return {}
    if column_type.get("wb_type") == "image-file":
        return column_type.get("params") or {}
    for allowed in (column_type.get("params") or {}).get("allowed_types") or []:
        found = _image_params(allowed)
        if found:
            return found
    return {}


def _column_types(data: dict[str, Any]) -> dict[str, Any]:
    types = data.get("column_types")
    type_map = ((types or {}).get("params") or {}).get("type_map") if isinstance(types, dict) else None
    return type_map if isinstance(type_map, dict) else {}


class _Annotations:
    """Turns a W&B image cell's ``boxes`` / ``masks`` / ``classes`` into shanty's layout (see
    /work/helpers/annotations-format.md: W&B's box layout per group, masks as PNG URIs)."""

    def __init__(self, column_type: Any, resolve: PathResolver | None, read_json: JsonReader | None, where: str):
        params = _image_params(column_type)
        self.box_labels = _const(params, "box_class_maps") or {}
        self.mask_labels = _const(params, "mask_class_maps") or {}
        self.class_map = _labels(_const(params, "class_map"))
        self.resolve, self.read_json, self.where = resolve, read_json, where

    def _file(self, path: Any) -> Any:
        if not isinstance(path, str) or self.read_json is None:
            return None
        return self.read_json(path)

    def classes(self, cell: dict[str, Any]) -> list[dict[str, Any]] | None:
        value = cell.get("classes")
        if isinstance(value, dict) and "path" in value:  # W&B: {"type": "classes-file", "path": ...}
            value = self._file(value["path"])
        if isinstance(value, dict):
            value = value.get("class_set")
        if not isinstance(value, list):
            return None
        return sorted(({"id": int(c["id"]), "name": str(c["name"])} for c in value), key=lambda c: c["id"])

    def boxes(self, cell: dict[str, Any], fallback: dict[str, str]) -> dict[str, Any] | None:
        value = cell.get("boxes")
        if not isinstance(value, dict) or not value:
            return None
        out = {}
        for group, boxes in value.items():
            if isinstance(boxes, dict) and "box_data" not in boxes and "path" in boxes:  # a run's boxes2D file
                boxes = self._file(boxes["path"]) or {}
            if isinstance(boxes, list):  # an artifact's table: the boxes alone, labels in the column type
                boxes = {"box_data": boxes}
            if not isinstance(boxes, dict):
                raise MalformedError(f"{self.where}: the boxes of group {group!r} are not W&B box data.")
            labels = _labels(boxes.get("class_labels")) or _labels(self.box_labels.get(group)) or fallback
            out[str(group)] = {"box_data": list(boxes.get("box_data") or []), "class_labels": labels}
        return out

    def masks(self, cell: dict[str, Any], fallback: dict[str, str]) -> dict[str, Any] | None:
        value = cell.get("masks")
        if not isinstance(value, dict) or not value:
            return None
        out = {}
        for group, mask in value.items():
            path = mask.get("path") if isinstance(mask, dict) else None
            if not isinstance(path, str) or not path:
                raise MalformedError(f"{self.where}: the mask of group {group!r} names no PNG file.")
            uri = self.resolve(path)[0] if self.resolve else path
            labels = _labels(mask.get("class_labels")) or _labels(self.mask_labels.get(group)) or fallback
            out[str(group)] = {"path": uri, "class_labels": labels}
        return out

    def fields(self, cell: dict[str, Any]) -> dict[str, Any]:
        classes = self.classes(cell)
        fallback = self.class_map or {str(c["id"]): c["name"] for c in classes or []}
        return {"classes": classes, "boxes": self.boxes(cell, fallback), "masks": self.masks(cell, fallback)}


def _media(
    kind: str, cell: dict[str, Any], resolve: PathResolver | None, notes: _Annotations | None, where: str
) -> Media:
    path = cell.get("path")
    if not isinstance(path, str) or not path:
        raise MalformedError(f"{where}: a {kind} cell has no path.")
    uri, entry = resolve(path) if resolve else (path, cell.get("entry"))
    media_class = cell_kind(kind).media_class
    fields = {**cell, "uri": uri, "entry": entry}
    if notes is not None and set(_ANNOTATIONS) <= set(media_class._params):
        fields.update(notes.fields(cell))
    try:
        return media_class.from_cell(fields)
    except (ValueError, TypeError, KeyError, InvalidInputError) as exc:  # e.g. "sample_rate": "fast"
        raise MalformedError(f"{where}: a {kind} cell at {path!r} has a field of the wrong type ({exc}).") from None


def _has_empty_struct(arrow_type: pa.DataType) -> bool:
    # Parquet cannot store a struct without fields ({} cells), so such a column stays JSON text.
    if pa.types.is_struct(arrow_type):
        return arrow_type.num_fields == 0 or any(_has_empty_struct(f.type) for f in arrow_type)
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return _has_empty_struct(arrow_type.value_type)
    return False


def _nested_or_text(values: list[Any]) -> list[Any]:
    """A column's values, its lists and dicts kept when they share one Arrow type, else as JSON text."""
    nested = [v for v in values if isinstance(v, (dict, list))]
    if not nested:
        return values
    try:
        if not _has_empty_struct(pa.array(values).type):
            return values
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        pass
    return [json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v for v in values]


def table_from_json(
    data: Any,
    resolve_path: PathResolver | None = None,
    where: str = "the table JSON",
    read_json: JsonReader | None = None,
) -> Table:
    """Read a table from shanty's or W&B's JSON layout.

    ``resolve_path`` maps a W&B media path to ``(uri, entry)``; without it,
    paths are taken as URIs (and an ``entry`` key, if any, is kept).
    ``read_json`` reads a file the table names (W&B's ``*.classes.json``,
    ``*.boxes2D.json``) so image annotations come whole; without it, what
    the cells hold is kept. List and dict cells become list and struct
    columns (JSON text where a column's values cannot share a type); cells
    of W&B types shanty does not model (histograms, molecules...) are kept
    as their JSON text. Raises MalformedError naming ``where`` for anything
    that is not a table, rows of the wrong width and media cells without a path.
    """
    if (
        not isinstance(data, dict)
        or data.get("_type") not in ("table", None)
        or not isinstance(data.get("columns"), list)
    ):
        raise MalformedError(f"{where} is not a table (it needs 'columns' and 'data').")
    columns, rows = data["columns"], data.get("data") or []
    if not isinstance(rows, list):
        raise MalformedError(f"{where}: 'data' must be a list of rows.")
    types = _column_types(data)
    notes = [_Annotations(types.get(str(c)), resolve_path, read_json, where) for c in columns]
    out = []
    for number, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(columns):
            raise MalformedError(
                f"{where}: row {number} has {len(row) if isinstance(row, list) else 'no'} values for {len(columns)} columns."
            )
        cells = []
        for index, value in enumerate(row):
            kind = kind_for_wandb_type(value.get("_type")) if isinstance(value, dict) else None
            if kind is not None:
                cells.append(_media(kind, value, resolve_path, notes[index], where))
            elif isinstance(value, dict) and "_type" in value:
                cells.append(json.dumps(value, sort_keys=True))
            else:
                cells.append(value)
        out.append(cells)
    if out:
        for index in range(len(columns)):
            kept = _nested_or_text([row[index] for row in out])
            for row, value in zip(out, kept, strict=True):
                row[index] = value
    return Table(columns=[str(c) for c in columns], data=out)


def media_json_suffixes() -> tuple[str, ...]:
    """``.image-file.json``...: the suffix of a media object file for every registered kind."""
    return tuple(f".{k.wandb_type}.json" for k in kinds())


def media_json_kind(path: str) -> str | None:
    """The kind of a media object file, ``<name>.<W&B type>.json`` (``cover.image-file.json`` ->
    ``image``: what ``artifact.add(wandb.Image(...), "cover")`` writes), else None."""
    return next((k.name for k in kinds() if path.endswith(f".{k.wandb_type}.json")), None)


def media_from_json(data: bytes | Any, where: str) -> Media:
    """The media object in a media object file (its bytes, or its parsed JSON; shanty's layout: ``path``
    the URI, ``entry`` kept); MalformedError naming ``where`` if it is not one."""
    if isinstance(data, bytes):
        try:
            data = json.loads(data)
        except ValueError:
            raise MalformedError(f"{where} is not valid JSON; it is damaged.") from None
    kind = kind_for_wandb_type(data.get("_type")) if isinstance(data, dict) else None
    if kind is None:
        raise MalformedError(f"{where} is not a media object (it needs a '_type' such as 'image-file').")
    return _media(kind, data, None, None, where)
