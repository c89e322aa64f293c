"""Table columns as Arrow: media cells to struct arrays and back, and media columns built from paths.

Two ways build a media column, and they give the same struct for the same cells (so the same table is
stored either way: same Parquet bytes, same manifest, same digest):

* per cell (``Table(columns=..., data=...)``, ``add_data``, a DataFrame of Media objects):
  :func:`column_array` reads each cell's fields, one list per struct field;
* columnar (``Table.from_pandas(df, media=...)``, ``Table.from_arrow(arrow, media=...)``):
  :func:`media_column` takes a column of paths / URIs. Python work happens once per distinct path (one
  cell made with the kind's own constructor, so URI normalisation, field conversions and derived fields
  are the per-cell path's by construction) and is spread over the rows with Arrow ``take``; a million
  rows naming ten thousand files make ten thousand cells, not a million.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidInputError
from .cells import Media, cell_kind, media_struct

__all__ = [
    "as_media_struct",
    "column_array",
    "distinct_values",
    "map_distinct",
    "mask_texts",
    "media_column",
    "media_objects",
    "media_spec",
    "one_chunk",
]


@functools.cache
def _blank(cls: type[Media]) -> Media:
    """A cell of kind ``cls`` with every field None: it stands in for null cells while building
    the struct columns (made without the constructor, which would check and derive fields)."""
    blank = object.__new__(cls)
    for f in dataclasses.fields(cls):
        object.__setattr__(blank, f.name, None)
    return blank


def _kind_of(name: str, values: Sequence[Any]) -> str | None:
    kinds = {type(v) for v in values if v is not None}
    media = {k.kind for k in kinds if issubclass(k, Media)}
    if not media:
        return None
    if len(media) > 1:
        raise InvalidInputError(
            f"Column {name!r} mixes media kinds ({', '.join(sorted(media))}); keep one kind per column."
        )
    stray = next((k for k in kinds if not issubclass(k, Media)), None)
    if stray is not None:
        raise InvalidInputError(
            f"Column {name!r} mixes {media.pop()} cells with {stray.__name__} values; use None for empty cells."
        )
    return cell_kind(media.pop()).name  # an unregistered Media subclass is refused here, not at read time


def _media_array(values: Sequence[Any], kind: str) -> pa.Array:
    # Column-wise construction: one list per struct field instead of a dict per cell; fields
    # the column's kind does not have are all-null arrays, read from no cell.
    media_class = cell_kind(kind).media_class
    has_nulls = any(v is None for v in values)
    blank = _blank(media_class)
    cells = [v if v is not None else blank for v in values] if has_nulls else values
    held = {"uri", "entry", "caption", *media_class._params}
    struct = media_struct()
    fields = [
        pa.array(list(map(attrgetter("path" if f.name == "uri" else f.name), cells)), f.type)
        if f.name in held
        else pa.nulls(len(values), f.type)
        for f in struct
    ]
    mask = pa.array([v is None for v in values]) if has_nulls else None
    return pa.StructArray.from_arrays(fields, fields=list(struct), mask=mask)


def column_array(name: str, values: Sequence[Any]) -> tuple[pa.Array, str | None]:
    """``(Arrow array, media kind or None)`` of a column given as Python values (the per-cell path).

    A column of Media cells (and None) becomes a :func:`media_struct` array.
    Raises InvalidInputError for mixed media kinds, media mixed with other
    values, or values Arrow cannot put in one column.
    """
    kind = _kind_of(name, values)
    if kind:
        return _media_array(values, kind), kind
    try:
        return pa.array(values), None
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InvalidInputError(
            f"Column {name!r} mixes value types that cannot share a column ({exc}); make them one type."
        ) from exc


def media_objects(column: pa.ChunkedArray | pa.Array, kind: str) -> list[Media | None]:
    """The cells of a media struct column as Media objects of ``kind`` (None for empty cells)."""
    # Field by field, like _media_array: a dict per cell (to_pylist of the struct) costs twice as much.
    media_class = cell_kind(kind).media_class
    names = column.type.names
    fields = [
        pc.struct_field(column, name).to_pylist() if name in names else [None] * len(column)
        for name in ("uri", *media_class._params)
    ]
    return [media_class(*cell) if cell[0] is not None else None for cell in zip(*fields, strict=True)]


def as_media_struct(column: pa.Array | pa.ChunkedArray, replace: Mapping[str, pa.Array] | None = None) -> pa.Array:
    """A media column as :func:`media_struct`, with the fields in ``replace`` swapped in.

    A column written when fewer kinds were registered lacks their fields: they
    become nulls. Fields no registered kind declares are kept, after the others.
    """
    column = one_chunk(column)
    replace = replace or {}
    struct = media_struct()
    present = {column.type.field(i).name: i for i in range(column.type.num_fields)}
    extra = [column.type.field(i) for name, i in present.items() if struct.get_field_index(name) < 0]
    arrays = []
    for f in [*struct, *extra]:
        array = replace.get(f.name)
        if array is None:
            array = column.field(present[f.name]) if f.name in present else pa.nulls(len(column), f.type)
        arrays.append(array if array.type == f.type else array.cast(f.type))
    return pa.StructArray.from_arrays(arrays, fields=[*struct, *extra], mask=column.is_null())


def mask_texts(column: pa.Array | pa.ChunkedArray) -> list[str | None] | None:
    """The masks field of a media column as Python values, or None when no cell has masks (the usual case)."""
    if column.type.get_field_index("masks") < 0:
        return None
    masks = pc.struct_field(column, "masks")
    return None if masks.null_count == len(masks) else masks.to_pylist()


# --- per distinct value, not per row ---------------------------------------------------------------
def one_chunk(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``array`` as one Array, copied only when it has several chunks."""
    # combine_chunks copies even a single chunk: a media column of a million rows is tens of MB.
    if isinstance(array, pa.ChunkedArray):
        return array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    return array


def distinct_values(array: pa.Array | pa.ChunkedArray) -> list[Any]:
    """The distinct non-null values of ``array`` in first-seen order (Arrow's hash kernel keeps it)."""
    return [v for v in pc.unique(one_chunk(array)).to_pylist() if v is not None]


def map_distinct(
    array: pa.Array | pa.ChunkedArray, fn: Callable[[Any], Any], type: pa.DataType | None = None
) -> pa.Array:
    """``fn`` applied once to each distinct non-null value of ``array``, spread back over the rows as a
    ``type`` array (default text; nulls stay null). Errors ``fn`` raises propagate."""
    encoded = pc.dictionary_encode(one_chunk(array))
    return pa.array([fn(v) for v in encoded.dictionary.to_pylist()], type or pa.string()).take(encoded.indices)


# --- the columnar path: a column of paths / URIs -> a media column ---------------------------------
def media_spec(spec: Any, name: str) -> tuple[type[Media], dict[str, Any]]:
    """``(Media class, constant fields)`` that a ``media=`` value declares for column ``name``.

    ``spec`` is a kind name (``"audio"``), a Media class (``shanty.Audio``) or
    a mapping ``{"kind": "audio", "sample_rate": 16000, ...}`` whose other keys
    are constructor arguments given to every cell of the column (W&B's
    ``Audio(path, sample_rate=...)``). Raises InvalidInputError otherwise.
    """
    fields: dict[str, Any] = {}
    if isinstance(spec, Mapping):
        fields = {k: v for k, v in spec.items() if k != "kind"}
        spec = spec.get("kind")
    if isinstance(spec, type) and issubclass(spec, Media) and spec is not Media:
        return cell_kind(spec.kind).media_class, fields
    if isinstance(spec, str):
        return cell_kind(spec).media_class, fields
    raise InvalidInputError(
        f"media= for column {name!r} takes a kind name ('audio'), a media class (shanty.Audio) or "
        f"{{'kind': 'audio', <field>: value}}, not {spec!r}."
    )


def media_column(name: str, values: pa.Array | pa.ChunkedArray, spec: Any) -> tuple[pa.Array, str]:
    """``(media struct array, kind)`` of a column of paths / URIs declared media by ``spec`` (see
    :func:`media_spec`); null values are empty cells.

    Each distinct path becomes one cell through the kind's constructor (the
    per-cell path's checks and conversions, once per file), then the struct
    fields are gathered over the rows. Raises InvalidInputError when the column
    is not text or a path or field is refused by the kind's constructor.
    """
    media_class, constants = media_spec(spec, name)
    array = one_chunk(values)
    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if pa.types.is_large_string(array.type) or pa.types.is_null(array.type):
        array = array.cast(pa.string())
    if not pa.types.is_string(array.type):
        raise InvalidInputError(
            f"Column {name!r} is declared {media_class.kind} media but holds {array.type} values; give its paths "
            "or URIs as text."
        )
    encoded = pc.dictionary_encode(array)
    try:
        cells = [media_class(path, **constants) for path in encoded.dictionary.to_pylist()]
    except TypeError as exc:
        raise InvalidInputError(
            f"media= for column {name!r} gives {media_class.__name__} an argument it does not take ({exc}); "
            f"use its fields: {', '.join(p for p in media_class._params if p != 'entry')}."
        ) from None
    held = {"uri", "entry", "caption", *media_class._params}
    # Paths that are URIs already (the usual case) stay the column's own buffers: no copy of a million strings.
    kept = all(c.path == v for c, v in zip(cells, encoded.dictionary.to_pylist(), strict=True))
    struct = media_struct()
    fields = [
        array
        if f.name == "uri" and kept
        else pa.array([getattr(c, "path" if f.name == "uri" else f.name) for c in cells], f.type).take(encoded.indices)
        if f.name in held
        else pa.nulls(len(array), f.type)
        for f in struct
    ]
    mask = encoded.indices.is_null() if array.null_count else None
    return pa.StructArray.from_arrays(fields, fields=list(struct), mask=mask), media_class.kind
