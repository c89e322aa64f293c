"""Tables whose cells may be media, stored as Parquet (W&B ``wandb.Table`` shaped).

Media columns hold :func:`~shanty.tables.cells.media_struct` structs; which
column is which kind lives in the Parquet schema metadata (see
:mod:`shanty.tables.schema`). A table
keeps its data as rows while it is being built (``add_data``) and as an Arrow
table once loaded or built from a DataFrame, so a million-row table never
becomes a million Python objects unless asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidInputError
from ..parquet_bytes import read_parquet_bytes, write_parquet_bytes
from .annotations import mask_values, masks_with_entries
from .casting import caster
from .cells import media_struct
from .columns import (
    as_media_struct,
    column_array,
    distinct_values,
    map_distinct,
    mask_texts,
    media_column,
    media_objects,
    media_spec,
    one_chunk,
)
from .joined import JoinedTable
from .schema import METADATA_KEY, TABLE_SUFFIX, parse_table_metadata, table_metadata

__all__ = ["JoinedTable", "Table"]


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
                array, kind = column_array(name, column.tolist())
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
            values = media_objects(column, kind) if kind else column.to_pylist()
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
                array, kind = column_array(name, [row[index] for row in self._rows])
                arrays.append(array)
                if kind:
                    media[name] = kind
            self._media = media
            arrow = pa.table(arrays, names=self._columns) if self._columns else pa.table({})
        else:
            arrow = self._arrow
        return arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **table_metadata(self._media)})

    @classmethod
    def from_pandas(cls, dataframe: pd.DataFrame, media: Mapping[str, Any] | None = None) -> Table:
        """A table of ``dataframe`` whose ``media`` columns hold paths or URIs, built column by column.

        ``media`` maps a column to its kind: ``{"audio": "audio"}``, ``{"audio":
        shanty.Audio}``, or ``{"audio": {"kind": "audio", "sample_rate": 16000}}``
        (arguments given to every cell, as to ``shanty.Audio(path, ...)``). Null
        values are empty cells. No Python object is made per row: each distinct
        path is made into a cell once and the rows gather it (see
        :func:`~shanty.tables.columns.media_column`), other columns go to Arrow
        as they are. The table logged is the one ``Table(columns=..., data=...)``
        with ``shanty.Audio(path, ...)`` cells logs, byte for byte. A column of
        Media objects (declared or not) is read cell by cell, as
        ``Table(dataframe=...)`` reads it. Raises InvalidInputError for a
        ``media`` key the frame lacks, a kind not registered, a media column
        that is not text, or columns Arrow cannot convert.
        """
        names = [str(c) for c in dataframe.columns]
        if len(set(names)) != len(names):
            raise InvalidInputError(f"Column names must be unique; got {names}.")
        arrays, kinds = [], {}
        for index, name in enumerate(names):
            column = dataframe.iloc[:, index]
            try:
                array = pa.Array.from_pandas(column)
                if pa.types.is_large_string(array.type) and len(array.buffers()[2] or b"") < 1 << 31:
                    array = array.cast(pa.string())  # pandas' str dtype is large_string; rows give string
            except (pa.ArrowInvalid, pa.ArrowTypeError):  # Media objects (or mixed values): read cell by cell
                array, kind = column_array(name, column.tolist())
                if kind:
                    kinds[name] = kind
            arrays.append(array)
        arrow = pa.table(arrays, names=names) if names else pa.table({})
        return cls.from_arrow(arrow.replace_schema_metadata(table_metadata(kinds)), media=media)

    @classmethod
    def from_arrow(cls, arrow: pa.Table, where: str = "the table", media: Mapping[str, Any] | None = None) -> Table:
        """Wrap an Arrow table written by :meth:`to_arrow`, its media map read from the schema metadata.

        Raises MalformedError (naming ``where``) for damaged metadata; see
        :func:`~shanty.tables.schema.parse_table_metadata`. Media columns are
        brought to the current :func:`media_struct` (fields of kinds registered
        since the file was written read as None).

        ``media`` declares further media columns holding paths or URIs as text,
        as :meth:`from_pandas` takes it (no Python object per row). Raises
        InvalidInputError for a column ``arrow`` lacks or one that is not text.
        """
        declared = dict(media or {})
        missing = [name for name in declared if name not in arrow.column_names]
        if missing:
            raise InvalidInputError(
                f"media= names {missing[0]!r}, which is not a column of the table; its columns are {arrow.column_names}."
            )
        columns = {f.name: f.type for f in arrow.schema}
        media = parse_table_metadata((arrow.schema.metadata or {}).get(METADATA_KEY), columns, where)
        for name, spec in declared.items():
            if name in media:  # already a media column (e.g. of Media objects): it must be the kind declared
                if media_spec(spec, name)[0].kind != media[name]:
                    raise InvalidInputError(
                        f"Column {name!r} holds {media[name]} cells but media= declares another kind."
                    )
                continue
            array, media[name] = media_column(name, arrow.column(name), spec)
            arrow = arrow.set_column(arrow.column_names.index(name), name, array)
            columns[name] = array.type
        if declared:  # in column order, as a table built cell by cell names them (the stored bytes match)
            media = {name: media[name] for name in arrow.column_names if name in media}
        struct = media_struct()
        for name in media:
            if columns[name] != struct:
                arrow = arrow.set_column(arrow.column_names.index(name), name, as_media_struct(arrow.column(name)))
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
            column = one_chunk(arrow.column(name))
            # Once per distinct file, not per row: a million cells name a few thousand files.
            replace = {"entry": map_distinct(pc.struct_field(column, "uri"), entry_of.__getitem__)}
            masks = mask_texts(column)
            if masks is not None:  # mask PNGs are media too: their groups name their entries
                replace["masks"] = pa.array([masks_with_entries(m, entry_of.__getitem__) for m in masks], pa.string())
            rebuilt = as_media_struct(column, replace)
            arrow = arrow.set_column(arrow.column_names.index(name), name, rebuilt)
        return Table.from_arrow(arrow)

    def _distinct_media_field(self, field: str) -> list[str]:
        arrow = self.to_arrow()
        seen: dict[str, None] = {}
        for name in self._media:
            # struct_field keeps the parent's nulls (StructArray.field would not).
            for value in distinct_values(pc.struct_field(arrow.column(name), field)):
                seen.setdefault(value, None)
            for masks in mask_texts(arrow.column(name)) or ():
                for value in mask_values(masks, field):
                    seen.setdefault(value, None)
        return list(seen)

    def media_entries(self) -> list[str]:
        """Distinct manifest entry paths named by the media cells and their masks (set once the table is logged)."""
        return self._distinct_media_field("entry")

    def media_uris(self) -> list[str]:
        """Distinct media URIs (the cells' files and their mask PNGs), in first-seen order, column by column."""
        return self._distinct_media_field("uri")
