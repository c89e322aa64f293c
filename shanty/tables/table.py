"""Tables whose cells may be media, stored as Parquet (W&B ``wandb.Table`` shaped).

Media columns hold :func:`~shanty.tables.cells.media_struct` structs; which
column is which kind lives in the Parquet schema metadata (see
:mod:`shanty.tables.schema`). A table
keeps its data as rows while it is being built (``add_data``) and as an Arrow
table once loaded or built from a DataFrame, so a million-row table never
becomes a million Python objects unless asked for.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from operator import attrgetter
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidInputError
from ..parquet_bytes import read_parquet_bytes, write_parquet_bytes
from .annotations import mask_values, masks_with_entries
from .casting import caster
from .cells import Media, cell_kind, media_struct
from .schema import METADATA_KEY, TABLE_SUFFIX, parse_table_metadata, table_metadata

__all__ = ["JoinedTable", "Table"]


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


def _media_objects(column: pa.ChunkedArray, kind: str) -> list[Media | None]:
    # Field by field, like _media_array: a dict per cell (to_pylist of the struct) costs twice as much.
    media_class = cell_kind(kind).media_class
    names = column.type.names
    fields = [
        pc.struct_field(column, name).to_pylist() if name in names else [None] * len(column)
        for name in ("uri", *media_class._params)
    ]
    return [media_class(*cell) if cell[0] is not None else None for cell in zip(*fields, strict=True)]


def _as_media_struct(column: pa.Array | pa.ChunkedArray, replace: Mapping[str, pa.Array] | None = None) -> pa.Array:
    """A media column as :func:`media_struct`, with the fields in ``replace`` swapped in.

    A column written when fewer kinds were registered lacks their fields: they
    become nulls. Fields no registered kind declares are kept, after the others.
    """
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
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


def _masks(column: pa.Array | pa.ChunkedArray) -> list[str | None] | None:
    """The masks field of a media column as Python values, or None when no cell has masks (the usual case)."""
    if column.type.get_field_index("masks") < 0:
        return None
    masks = pc.struct_field(column, "masks")
    return None if masks.null_count == len(masks) else masks.to_pylist()


def _array(name: str, values: Sequence[Any]) -> tuple[pa.Array, str | None]:
    kind = _kind_of(name, values)
    if kind:
        return _media_array(values, kind), kind
    try:
        return pa.array(values), None
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InvalidInputError(
            f"Column {name!r} mixes value types that cannot share a column ({exc}); make them one type."
        ) from exc


class Table:
    """A table of values and media cells.

    ``Table(columns=[...], data=[[...], ...])``, ``Table(dataframe=df)``;
    grow it with :meth:`add_data` and :meth:`add_column`. Log it with
    ``artifact.add(table, "name")`` and read it back with
    ``artifact_version.get("name")``.
    """

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Sequence[Sequence[Any]] | None = None,
        rows: Sequence[Sequence[Any]] | None = None,
        dataframe: pd.DataFrame | None = None,
        dtype: Any = None,
        optional: Any = True,
        allow_mixed_types: bool = False,
        log_mode: str | None = None,
    ):
        # ``log_mode`` (W&B's IMMUTABLE / MUTABLE / INCREMENTAL) is accepted: here every logged table is
        # a new immutable version of its artifact, so each mode stores what the table holds when logged.
        if log_mode is not None and str(log_mode).upper() not in ("IMMUTABLE", "MUTABLE", "INCREMENTAL"):
            raise InvalidInputError(f"log_mode must be IMMUTABLE, MUTABLE or INCREMENTAL, not {log_mode!r}.")
        self._arrow: pa.Table | None = None
        self._media: dict[str, str] = {}
        self.source: tuple[Any, str] | None = None  # (ArtifactVersion, entry path) once logged or read
        if dataframe is not None:
            self._columns = [str(c) for c in dataframe.columns]
            self._rows: list[list[Any]] = []
            self._arrow = self._frame_to_arrow(dataframe)
            return
        data = data if data is not None else rows
        if hasattr(data, "tolist") and getattr(data, "ndim", 0) == 2:  # a 2-D numpy array, as W&B takes
            data = data.tolist()
        elif data is not None and not isinstance(data, Sequence):
            raise InvalidInputError(f"Table data must be rows (lists) or a 2-D numpy array, not {type(data).__name__}.")
        if columns is None:
            width = len(data[0]) if data else 0
            columns = [f"col{i}" for i in range(width)]
        self._columns = [str(c) for c in columns]
        if len(set(self._columns)) != len(self._columns):
            raise InvalidInputError(f"Column names must be unique; got {self._columns}.")
        self._rows = []
        for row in data or []:
            self.add_data(*row)

    # --- building -------------------------------------------------------------
    def _frame_to_arrow(self, frame: pd.DataFrame) -> pa.Table:
        arrays, media = [], {}
        for name in self._columns:
            column = frame[name]
            if column.dtype == object:
                array, kind = _array(name, column.tolist())
                if kind:
                    media[name] = kind
            else:
                array = pa.Array.from_pandas(column)
            arrays.append(array)
        self._media = media
        return pa.table(arrays, names=self._columns)

    def _thaw(self) -> None:
        # Edits go to rows; a loaded or DataFrame-built table is turned back into rows first.
        if self._arrow is not None:
            self._rows = (
                [list(r) for r in zip(*(self.get_column(c) for c in self._columns), strict=True)]
                if self._columns
                else []
            )
            self._arrow = None

    def add_data(self, *values: Any) -> None:
        """Append one row; it must have one value per column."""
        if len(values) != len(self._columns):
            raise InvalidInputError(
                f"This row has {len(values)} values but the table has {len(self._columns)} columns {self._columns}."
            )
        self._thaw()
        self._rows.append(list(values))

    add_row = add_data

    def add_column(self, name: str, data: Sequence[Any]) -> None:
        """Add a column; ``data`` has one value per row."""
        if name in self._columns:
            raise InvalidInputError(f"The table already has a column {name!r}; pick another name.")
        if self._columns and len(data) != len(self):
            raise InvalidInputError(f"Column {name!r} has {len(data)} values but the table has {len(self)} rows.")
        self._thaw()
        if not self._columns:
            self._rows = [[] for _ in data]
        self._columns.append(name)
        for row, value in zip(self._rows, data, strict=True):
            row.append(value)

    # --- reading ----------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    @property
    def logged_as(self) -> tuple[Any, str] | None:
        """``(ArtifactVersion, table name)`` of the logged table this one was read from, else None."""
        if self.source is None:
            return None
        version, path = self.source
        return version, path.removesuffix(TABLE_SUFFIX)

    def __len__(self) -> int:
        return self._arrow.num_rows if self._arrow is not None else len(self._rows)

    def __repr__(self) -> str:
        return f"<Table {len(self)} rows x {len(self._columns)} columns {self._columns}>"

    @property
    def media_columns(self) -> dict[str, str]:
        """Column name -> media kind (a registered kind name: ``audio``, ``image``, ``video``...)."""
        if self._arrow is None:
            self._arrow = self.to_arrow()
        return dict(self._media)

    def get_column(self, name: str, convert_to: str | None = None) -> Any:
        """The values of column ``name`` (media as Media objects); ``convert_to="numpy"`` for an array."""
        if name not in self._columns:
            raise InvalidInputError(f"The table has no column {name!r}; its columns are {self._columns}.")
        if self._arrow is not None:
            kind = self._media.get(name)
            column = self._arrow.column(name)
            values = _media_objects(column, kind) if kind else column.to_pylist()
        else:
            index = self._columns.index(name)
            values = [row[index] for row in self._rows]
        if convert_to == "numpy":
            import numpy as np

            return np.asarray(values)
        return values

    @property
    def data(self) -> list[list[Any]]:
        """All rows as lists (W&B's ``table.data``); builds Python objects for every cell."""
        if self._arrow is None:
            return [list(r) for r in self._rows]
        columns = [self.get_column(c) for c in self._columns]
        return [list(r) for r in zip(*columns, strict=True)] if columns else []

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """``(index, row)`` pairs, as W&B's ``Table.iterrows``."""
        yield from enumerate(self.data)

    def get_index(self) -> list[int]:
        """The row numbers, 0 to ``len - 1`` (W&B's index column: plain ints here)."""
        return list(range(len(self)))

    def add_computed_columns(self, fn: Callable[[int, dict[str, Any]], dict[str, Any]]) -> None:
        """W&B's ``add_computed_columns``: ``fn(index, row)`` (the row as ``{column: value}``) returns
        ``{new column: value}``; every row must return the same new columns, none of them existing ones."""
        rows = [fn(index, dict(zip(self._columns, row, strict=True))) for index, row in self.iterrows()]
        if not rows:
            return
        names = list(rows[0])
        clash = [n for n in names if n in self._columns]
        if clash:
            raise InvalidInputError(f"The computed columns {clash} already exist; return new column names.")
        for index, row in enumerate(rows):
            if not isinstance(row, dict) or list(row) != names:
                raise InvalidInputError(
                    f"Row {index} computed {list(row) if isinstance(row, dict) else row!r}, not the columns {names}; "
                    "return the same columns for every row."
                )
        for name in names:
            self.add_column(name, [row[name] for row in rows])

    def cast(self, col_name: str, dtype: Any, optional: bool = False) -> None:
        """W&B's ``cast``: make every value of ``col_name`` a ``dtype``, converting where it can.

        ``dtype`` is ``int``, ``float``, ``str`` or ``bool`` (or W&B's names ``"number"``, ``"string"``,
        ``"boolean"``), a media kind (``shanty.Audio``, or an example cell such as ``shanty.Image(...)``:
        text values are taken as paths/URIs) or ``shanty.Classes`` (values must be its class ids).
        Empty cells are refused unless ``optional``. InvalidInputError names the first value that
        does not fit; the table is unchanged then.
        """
        if col_name not in self._columns:
            raise InvalidInputError(f"The table has no column {col_name!r}; its columns are {self._columns}.")
        convert, what = caster(dtype)
        values = self.get_column(col_name)
        out = []
        for number, value in enumerate(values):
            if value is None:
                if not optional:
                    raise InvalidInputError(
                        f"Row {number} of {col_name!r} is empty; cast with optional=True to allow empty cells."
                    )
                out.append(None)
                continue
            try:
                out.append(convert(value))
            except (TypeError, ValueError, InvalidInputError):
                raise InvalidInputError(
                    f"Row {number} of {col_name!r} holds {value!r}, which is not {what}; fix the value or cast to "
                    "another type."
                ) from None
        self._thaw()
        index = self._columns.index(col_name)
        for row, value in zip(self._rows, out, strict=True):
            row[index] = value

    def get_dataframe(self) -> pd.DataFrame:
        """A pandas DataFrame; media cells are Media objects."""
        return pd.DataFrame({c: self.get_column(c) for c in self._columns}, columns=self._columns)

    # --- Arrow / Parquet ------------------------------------------------------------
    def to_arrow(self) -> pa.Table:
        """The table as Arrow, with the media map in the schema metadata."""
        if self._arrow is None:
            arrays, media = [], {}
            for index, name in enumerate(self._columns):
                array, kind = _array(name, [row[index] for row in self._rows])
                arrays.append(array)
                if kind:
                    media[name] = kind
            self._media = media
            arrow = pa.table(arrays, names=self._columns) if self._columns else pa.table({})
        else:
            arrow = self._arrow
        return arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **table_metadata(self._media)})

    @classmethod
    def from_arrow(cls, arrow: pa.Table, where: str = "the table") -> Table:
        """Wrap an Arrow table written by :meth:`to_arrow`, its media map read from the schema metadata.

        Raises MalformedError (naming ``where``) for damaged metadata; see
        :func:`~shanty.tables.schema.parse_table_metadata`. Media columns are
        brought to the current :func:`media_struct` (fields of kinds registered
        since the file was written read as None).
        """
        columns = {f.name: f.type for f in arrow.schema}
        media = parse_table_metadata((arrow.schema.metadata or {}).get(METADATA_KEY), columns, where)
        struct = media_struct()
        for name in media:
            if columns[name] != struct:
                arrow = arrow.set_column(arrow.column_names.index(name), name, _as_media_struct(arrow.column(name)))
        table = cls.__new__(cls)
        table.source = None
        table._columns = list(arrow.column_names)
        table._rows = []
        table._arrow = arrow
        table._media = media
        return table

    def to_parquet_bytes(self) -> bytes:
        """The table as Parquet bytes (what an artifact stores as ``<name>.table.parquet``)."""
        return write_parquet_bytes(self.to_arrow())

    @classmethod
    def from_parquet_bytes(cls, data: bytes, where: str = "the table") -> Table:
        """Read bytes written by :meth:`to_parquet_bytes`; MalformedError naming ``where`` if damaged."""
        arrow = read_parquet_bytes(data, f"{where} is not a readable Parquet table; it is damaged.")
        return cls.from_arrow(arrow, where)

    def with_entries(self, entry_of: Mapping[str, str]) -> Table:
        """A copy whose media cells name their manifest entries (``uri -> entry path``)."""
        arrow = self.to_arrow()
        for name in self._media:
            column = arrow.column(name).combine_chunks()
            uris = pc.struct_field(column, "uri").to_pylist()
            entries = pa.array([entry_of[u] if u is not None else None for u in uris], type=pa.string())
            replace = {"entry": entries}
            masks = _masks(column)
            if masks is not None:  # mask PNGs are media too: their groups name their entries
                replace["masks"] = pa.array([masks_with_entries(m, entry_of.__getitem__) for m in masks], pa.string())
            rebuilt = _as_media_struct(column, replace)
            arrow = arrow.set_column(arrow.column_names.index(name), name, rebuilt)
        return Table.from_arrow(arrow)

    def _distinct_media_field(self, field: str) -> list[str]:
        arrow = self.to_arrow()
        seen: dict[str, None] = {}
        for name in self._media:
            # struct_field keeps the parent's nulls (StructArray.field would not).
            for value in pc.struct_field(arrow.column(name), field).to_pylist():
                if value is not None:
                    seen.setdefault(value, None)
            for masks in _masks(arrow.column(name)) or ():
                for value in mask_values(masks, field):
                    seen.setdefault(value, None)
        return list(seen)

    def media_entries(self) -> list[str]:
        """Distinct manifest entry paths named by the media cells and their masks (set once the table is logged)."""
        return self._distinct_media_field("entry")

    def media_uris(self) -> list[str]:
        """Distinct media URIs (the cells' files and their mask PNGs), in first-seen order, column by column."""
        return self._distinct_media_field("uri")


class JoinedTable:
    """Two tables and the key(s) to join them on (W&B's ``wandb.JoinedTable``).

    ``table1`` / ``table2`` are Tables (added to the same artifact, or read
    from any logged version) or names of tables in the artifact. ``join_key``
    follows W&B: a column name both tables have, or a pair ``[key in table1,
    key in table2]``. Beyond W&B, a list of pairs joins on several columns
    (``[["id", "song_id"], ["day", "day"]]``), and a list of one or of three
    or more names joins on those same-named columns. ``join_key`` is kept as
    given (it is stored so); ``left_keys`` / ``right_keys`` say what it means.
    """

    def __init__(self, table1: Table | str, table2: Table | str, join_key: str | Sequence[Any]):
        self.table1 = table1
        self.table2 = table2
        self.join_key = (
            join_key if isinstance(join_key, str) else [list(k) if isinstance(k, tuple) else k for k in join_key]
        )
        self.left_keys, self.right_keys = _key_pairs(self.join_key)

    def __repr__(self) -> str:
        pairs = [a if a == b else f"{a}={b}" for a, b in zip(self.left_keys, self.right_keys, strict=True)]
        return f"<JoinedTable on {', '.join(pairs)}>"


def _key_pairs(join_key: str | list[Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(keys of table1, keys of table2) that ``join_key`` names; InvalidInputError for anything else."""
    if isinstance(join_key, str):
        pairs = [(join_key, join_key)]
    elif len(join_key) == 2 and all(isinstance(k, str) for k in join_key):
        pairs = [(join_key[0], join_key[1])]  # W&B: [key in table1, key in table2]
    elif join_key and all(isinstance(k, str) for k in join_key):
        pairs = [(k, k) for k in join_key]
    elif join_key and all(isinstance(k, list) and len(k) == 2 and all(isinstance(n, str) for n in k) for k in join_key):
        pairs = [(k[0], k[1]) for k in join_key]
    else:
        raise InvalidInputError(
            f"A JoinedTable's join_key is a column name, a pair [key in table1, key in table2] or a list of such "
            f"pairs, not {join_key!r}."
        )
    if any(not a or not b for a, b in pairs):
        raise InvalidInputError("A JoinedTable's join key names cannot be empty.")
    return tuple(a for a, _ in pairs), tuple(b for _, b in pairs)
