"""A similarity map of one or two logged tables: every row placed by its embedding, coloured by a column.

Two tables (two versions, or originals and their renderings) share one
projection, fitted on all their rows, so distances on the map mean the
same for both; a key column both have draws a line from each row to its
partner. Only what the browser draws leaves here (coordinates, a colour
index, a short label), never the rows themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..artifact import ArtifactVersion
from ..errors import InvalidInputError
from .similarity import Projection, embedding_matrix, nearest, points_in_polygon, project

__all__ = [
    "LABEL_LIMIT",
    "LINE_LIMIT",
    "MapSource",
    "SimilarityMap",
    "colour_columns",
    "embedding_columns",
    "similarity_map",
]

LABEL_LIMIT = 50_000  # past this many points, hover shows the row number, not a label per point
LINE_LIMIT = 200_000  # partner lines drawn at most (a key shared by many rows on both sides multiplies)
_BINS = 5  # a number column colours the map in this many quantile bins
_TEXT_TYPES = (pa.string(), pa.large_string())


@dataclass(frozen=True)
class MapSource:
    """A table on the map: the version that logged it, its name, and its embedding column."""

    version: ArtifactVersion
    table: str
    column: str

    @property
    def title(self) -> str:
        return f"{self.version.qualified_name}/{self.table}"


def _read(source: MapSource, columns: Sequence[str]) -> pa.Table:
    path = source.version.table_file(source.table)
    names = pq.read_schema(path).names
    missing = [c for c in columns if c not in names]
    if missing:
        raise InvalidInputError(f"{source.title} has no column {missing[0]!r}; choose one it has.")
    return pq.read_table(path, columns=list(dict.fromkeys(columns)))


def embedding_columns(version: ArtifactVersion, table: str) -> list[str]:
    """The columns of ``table`` holding vectors (lists of numbers), the enriched ``*_embedding`` first;
    not the waveform peaks enrichment adds (a picture of loudness over time, not a description)."""
    schema = pq.read_schema(version.table_file(table))
    vectors = [
        f.name
        for f in schema
        if pa.types.is_list(f.type) or pa.types.is_large_list(f.type) or pa.types.is_fixed_size_list(f.type)
        if pa.types.is_floating(f.type.value_type) or pa.types.is_integer(f.type.value_type)
        if not f.name.endswith("_peaks")
    ]
    return sorted(vectors, key=lambda name: (not name.endswith("embedding"), vectors.index(name)))


def colour_columns(version: ArtifactVersion, table: str, most: int = 24) -> list[str]:
    """The plain columns of ``table`` a map can be coloured by: those that name groups (text or whole
    numbers with 2 to ``most`` distinct values, e.g. an instrument or a label) first, fewest groups
    first, then every other number or text column in table order."""
    path = version.table_file(table)
    schema = pq.read_schema(path)
    plain = [
        f.name
        for f in schema
        if f.type in _TEXT_TYPES or pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
        if not pa.types.is_boolean(f.type)
    ]
    data = pq.read_table(path, columns=plain)
    distinct = {
        name: pc.count_distinct(data.column(name)).as_py()
        for name in plain
        if not pa.types.is_floating(data.column(name).type)
    }
    # The fewest groups first: an instrument (4) before the song (7) it was played from
    grouping = sorted((n for n, count in distinct.items() if 2 <= count <= most), key=lambda n: distinct[n])
    return grouping + [name for name in plain if name not in grouping]


def _colours(values: list, numeric: bool) -> tuple[np.ndarray, tuple[str, ...]]:
    if numeric:
        data = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
        finite = data[np.isfinite(data)]
        if len(finite):
            edges = np.unique(np.quantile(finite, np.linspace(0, 1, _BINS + 1)))
            if len(edges) > 1:
                codes = np.clip(np.searchsorted(edges, data, side="right") - 1, 0, len(edges) - 2)
                labels = tuple(f"{edges[i]:.4g} to {edges[i + 1]:.4g}" for i in range(len(edges) - 1))
                codes = np.where(np.isfinite(data), codes, len(labels))
                return codes.astype(np.int32), (*labels, "(empty)")
        values = [None if not np.isfinite(v) else f"{v:.4g}" for v in data]
    shown = ["(empty)" if v is None else str(v) for v in values]
    legend = tuple(sorted(set(shown), key=lambda s: (s == "(empty)", s)))
    index = {label: i for i, label in enumerate(legend)}
    return np.array([index[s] for s in shown], dtype=np.int32), legend


def _partner_lines(left: list, right: list) -> np.ndarray:
    """Point pairs (left row, len(left) + right row) of every two rows with the same key, as a join pairs
    them (an original with each of its renderings), at most LINE_LIMIT of them; empty keys pair nothing."""
    rows_of: dict = {}
    for position, key in enumerate(left):
        if key is not None:
            rows_of.setdefault(key, []).append(position)
    offset, pairs = len(left), []
    for j, key in enumerate(right):
        for i in rows_of.get(key, ()) if key is not None else ():
            pairs.append((i, offset + j))
            if len(pairs) >= LINE_LIMIT:
                return np.array(pairs, dtype=np.int32)
    return np.array(pairs, dtype=np.int32).reshape(-1, 2)


def _stacked(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """One ``(matrix, present)`` of several tables' vectors, in order (a table without any is zeros).
    InvalidInputError when the tables' vectors differ in length."""
    widths = {m.shape[1] for m, p in parts if p.any()}
    if len(widths) > 1:
        raise InvalidInputError("The two tables' vectors have different lengths; compare like with like.")
    width = widths.pop() if widths else 0
    matrix = np.vstack([m if m.shape[1] == width else np.zeros((len(m), width), np.float32) for m, _ in parts])
    return matrix, np.concatenate([p for _, p in parts])


@dataclass(frozen=True)
class SimilarityMap:
    """Each point's place (``x``, ``y``), table (``source``, an index into ``sources``) and row number in it
    (``row``); its colour (``color``, an index into ``legend``) and hover ``labels`` (None past
    :data:`LABEL_LIMIT` points); ``lines``: pairs of point positions (join partners); the embeddings
    themselves (``matrix``, ``present``) for finding neighbours."""

    sources: tuple[MapSource, ...]
    x: np.ndarray
    y: np.ndarray
    source: np.ndarray
    row: np.ndarray
    color: np.ndarray
    legend: tuple[str, ...]
    labels: tuple[str, ...] | None
    lines: np.ndarray
    projection: Projection
    matrix: np.ndarray
    present: np.ndarray
    _vectors: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.x)

    def selected(self, polygon: Sequence[Sequence[float]]) -> dict[int, tuple[int, ...]]:
        """Row numbers inside ``polygon`` (data coordinates), per source index, in row order."""
        inside = points_in_polygon(self.x, self.y, polygon)
        return {
            i: tuple(int(r) for r in np.sort(self.row[inside & (self.source == i)])) for i in range(len(self.sources))
        }

    def point_of(self, source: int, row: int) -> int | None:
        """The position of row ``row`` of source ``source`` on the map, or None."""
        hits = np.flatnonzero((self.source == source) & (self.row == row))
        return int(hits[0]) if len(hits) else None

    def vectors(self, column: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(matrix, present)`` of every point for vector ``column`` (default: the map's embedding), read
        once from every table on the map and kept."""
        if column is None or column == self.sources[0].column:
            return self.matrix, self.present
        if column not in self._vectors:
            self._vectors[column] = _stacked(
                [embedding_matrix(_read(s, [column]).column(column)) for s in self.sources]
            )
        return self._vectors[column]

    def similar(self, point: int, k: int = 10, column: str | None = None) -> list[tuple[int, float]]:
        """The ``k`` points nearest to ``point`` by vector ``column`` (default: the map's embedding; never
        by map position), nearest first, as ``(point, distance)``; InvalidInputError for a point without
        a vector."""
        matrix, present = self.vectors(column)
        if not 0 <= point < len(self) or not present[point]:
            raise InvalidInputError("That row has no vector to compare; pick a row with one.")
        found, distances = nearest(matrix, present, matrix[point], k, exclude=point)
        return [(int(p), float(d)) for p, d in zip(found, distances, strict=True)]


def similarity_map(
    sources: Sequence[MapSource],
    color_by: str | None = None,
    *,
    method: str = "pca",
    pair_on: str | None = None,
    label_by: str | None = None,
) -> SimilarityMap:
    """The map of one or two tables' embeddings: projected together by ``method`` (``pca`` or ``umap``),
    coloured by column ``color_by`` (a number column in quantile bins; None: by table), labelled by
    ``label_by`` (default: the first text column), joined by lines between every row of the first table
    and every row of the second whose ``pair_on`` values are equal (at most :data:`LINE_LIMIT`).

    InvalidInputError names a missing column, embeddings of different lengths, or more than two tables.
    """
    if not 1 <= len(sources) <= 2:
        raise InvalidInputError("A map shows one or two tables; pick one or two.")
    matrices, presents, source_ids, rows, colour_values, labels, keys = [], [], [], [], [], [], []
    numeric = True
    for i, src in enumerate(sources):
        schema = pq.read_schema(src.version.table_file(src.table))
        text = [f.name for f in schema if f.type in _TEXT_TYPES]
        label = label_by or (text[0] if text else None)
        wanted = [src.column] + [c for c in (color_by, label, pair_on) if c]
        data = _read(src, wanted)
        matrix, present = embedding_matrix(data.column(src.column))
        matrices.append(matrix)
        presents.append(present)
        source_ids.append(np.full(len(matrix), i, dtype=np.int8))
        rows.append(np.arange(len(matrix), dtype=np.int64))
        if color_by:
            column = data.column(color_by)
            numeric &= pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
            colour_values += column.to_pylist()
        else:
            colour_values += [src.title] * len(matrix)
        labels += [str(v) for v in data.column(label).to_pylist()] if label else [""] * len(matrix)
        keys.append(data.column(pair_on).to_pylist() if pair_on else [])
    matrix, present = _stacked(list(zip(matrices, presents, strict=True)))
    projection = project(matrix, present, method)
    color, legend = _colours(colour_values, bool(color_by) and numeric)
    lines = np.zeros((0, 2), dtype=np.int32)
    if pair_on and len(sources) == 2:
        lines = _partner_lines(keys[0], keys[1])
    n = len(matrix)
    return SimilarityMap(
        tuple(sources),
        projection.x,
        projection.y,
        np.concatenate(source_ids),
        np.concatenate(rows),
        color,
        legend,
        tuple(labels) if n <= LABEL_LIMIT else None,
        lines,
        projection,
        matrix,
        present,
    )
