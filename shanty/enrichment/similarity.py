"""Using embeddings: a 2D map of them, the rows inside a drawn shape, and the rows nearest to one row.

Pure numpy on float32 matrices: a million 32-value embeddings is 128 MB and
one PCA pass, so nothing here needs a database or a GPU. UMAP is used when
the ``umap-learn`` package is installed and asked for; PCA is the default
because it is exact, fast and the same on every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidInputError

__all__ = ["PROJECTIONS", "Projection", "embedding_matrix", "nearest", "points_in_polygon", "project"]

PROJECTIONS = ("pca", "umap")


@dataclass(frozen=True)
class Projection:
    """2D coordinates for each input vector (NaN where a row has no embedding), the method used and, for
    PCA, the share of variance each axis explains."""

    x: np.ndarray
    y: np.ndarray
    method: str
    explained: tuple[float, float] | None = None


def embedding_matrix(column: pa.ChunkedArray | pa.Array | Sequence) -> tuple[np.ndarray, np.ndarray]:
    """``(matrix, present)``: the vectors of a list column as a float32 matrix (rows without one are zero)
    and a boolean mask of the rows that have one. InvalidInputError when the vectors differ in length.

    An Arrow list column is read without building Python lists (a million 225-value vectors in about a
    second): its flattened values are reshaped in place of the rows that hold a vector."""
    if not isinstance(column, pa.ChunkedArray | pa.Array):
        column = pa.array(list(column))
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], pa.list_(pa.float32()))
    if pa.types.is_null(column.type):
        return np.zeros((len(column), 0), dtype=np.float32), np.zeros(len(column), dtype=bool)
    lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False)
    present = lengths > 0
    widths = np.unique(lengths[present])
    if len(widths) > 1:
        raise InvalidInputError(
            f"The embeddings have different lengths ({', '.join(map(str, widths[:3]))}...); a map needs one length."
        )
    width = int(widths[0]) if len(widths) else 0
    matrix = np.zeros((len(column), width), dtype=np.float32)
    if width:
        values = pc.list_flatten(column).to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        matrix[present] = values.reshape(-1, width)
    return matrix, present


_CHUNK_ROWS = 65_536  # rows per step of the covariance sum: memory stays a few MB whatever the count


def _pca(matrix: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    mean = matrix.mean(axis=0, dtype=np.float64)
    # The 2 leading eigenvectors of the (width x width) covariance, summed in float64 a chunk of rows at a
    # time: exact enough, and never a float64 copy of a million rows
    covariance = np.zeros((matrix.shape[1], matrix.shape[1]))
    for start in range(0, len(matrix), _CHUNK_ROWS):
        chunk = matrix[start : start + _CHUNK_ROWS].astype(np.float64) - mean
        covariance += chunk.T @ chunk
    covariance /= max(1, len(matrix) - 1)
    centred = matrix - mean.astype(np.float32)
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1][:2]
    axes = vectors[:, order]
    for k in range(axes.shape[1]):  # a sign rule, so the same data gives the same picture on every run
        if axes[np.argmax(np.abs(axes[:, k])), k] < 0:
            axes[:, k] = -axes[:, k]
    total = float(values.sum()) or 1.0
    explained = tuple(float(values[i]) / total for i in order)
    coords = centred @ axes.astype(np.float32)
    if coords.shape[1] < 2:
        coords = np.column_stack([coords, np.zeros(len(coords), np.float32)])
    return coords, (*explained, 0.0, 0.0)[:2]  # type: ignore[return-value]


def project(matrix: np.ndarray, present: np.ndarray | None = None, method: str = "pca") -> Projection:
    """The rows of ``matrix`` (those in ``present``) placed in 2D by ``method`` (``pca`` or ``umap``).

    InvalidInputError for an unknown method, or ``umap`` without the umap-learn package.
    """
    if method not in PROJECTIONS:
        raise InvalidInputError(f"Unknown projection {method!r}; use one of {', '.join(PROJECTIONS)}.")
    present = np.ones(len(matrix), dtype=bool) if present is None else present
    x = np.full(len(matrix), np.nan, dtype=np.float32)
    y = np.full(len(matrix), np.nan, dtype=np.float32)
    rows = matrix[present]
    explained = None
    if len(rows) == 0 or rows.shape[1] == 0:
        return Projection(x, y, method)
    if method == "umap":
        try:
            import umap  # optional: the map works without it
        except ImportError as exc:
            raise InvalidInputError("The UMAP projection needs umap-learn; pip install umap-learn.") from exc
        coords = umap.UMAP(n_components=2, random_state=0).fit_transform(rows)
    else:
        coords, explained = _pca(rows)
    x[present], y[present] = coords[:, 0], coords[:, 1]
    return Projection(x, y, method, explained)


def points_in_polygon(x: np.ndarray, y: np.ndarray, polygon: Sequence[Sequence[float]]) -> np.ndarray:
    """A boolean mask of the points inside ``polygon`` (a list of ``[x, y]`` vertices; even-odd rule,
    vectorised per edge). Fewer than 3 vertices select nothing; NaN points are never inside."""
    inside = np.zeros(len(x), dtype=bool)
    vertices = np.asarray(polygon, dtype=np.float64).reshape(-1, 2) if len(polygon) else np.zeros((0, 2))
    if len(vertices) < 3:
        return inside
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    candidates = np.flatnonzero(
        (xs >= vertices[:, 0].min()) & (xs <= vertices[:, 0].max())
        & (ys >= vertices[:, 1].min()) & (ys <= vertices[:, 1].max())
    )  # fmt: skip
    px, py = xs[candidates], ys[candidates]
    hit = np.zeros(len(candidates), dtype=bool)
    for (x1, y1), (x2, y2) in zip(vertices, np.roll(vertices, -1, axis=0), strict=True):
        crosses = (y1 > py) != (y2 > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        hit ^= crosses & (px < at)
    inside[candidates] = hit
    return inside


def nearest(
    matrix: np.ndarray, present: np.ndarray, query: np.ndarray, k: int = 10, exclude: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, distances)``: the ``k`` rows of ``matrix`` (among ``present``) nearest to ``query`` by
    Euclidean distance, nearest first (ties by row number), leaving out row ``exclude``."""
    query = np.asarray(query, dtype=np.float32).ravel()
    if matrix.shape[1] != len(query):
        raise InvalidInputError(
            f"The query vector has {len(query)} values and the embeddings {matrix.shape[1]}; they must match."
        )
    distances = np.sqrt(np.maximum(((matrix - query) ** 2).sum(axis=1, dtype=np.float64), 0.0))
    distances[~present] = np.inf
    if exclude is not None and 0 <= exclude < len(distances):
        distances[exclude] = np.inf
    k = max(0, min(k, int(np.isfinite(distances).sum())))
    order = np.lexsort((np.arange(len(distances)), distances))[:k]
    return order, distances[order]
