"""Embeddings in use: the 2D projection, rows inside a drawn shape, nearest rows, and a map of two tables."""

from __future__ import annotations

import numpy as np
import pytest

import shanty
from shanty.enrichment import nearest, points_in_polygon, project
from shanty.enrichment.similarity import embedding_matrix
from shanty.errors import InvalidInputError

SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10]]
TRIANGLE = [[0, 0], [10, 0], [0, 10]]
C_SHAPE = [[0, 0], [10, 0], [10, 3], [3, 3], [3, 7], [10, 7], [10, 10], [0, 10]]  # concave: its notch is outside


@pytest.mark.parametrize(
    ("polygon", "point", "inside"),
    [
        (SQUARE, (5, 5), True),
        (SQUARE, (11, 5), False),
        (SQUARE, (-0.1, 5), False),
        (TRIANGLE, (2, 2), True),
        (TRIANGLE, (6, 6), False),  # in the bounding box, past the diagonal
        (C_SHAPE, (1, 5), True),
        (C_SHAPE, (6, 5), False),  # in the notch
        (C_SHAPE, (6, 8), True),
        (SQUARE[:2], (5, 0), False),  # two vertices are not a shape
        ([], (5, 5), False),
        (SQUARE, (float("nan"), 5), False),
    ],
)
def test_points_in_polygon(polygon, point, inside) -> None:
    got = points_in_polygon(np.array([point[0]]), np.array([point[1]]), polygon)
    assert got.tolist() == [inside]


def test_nearest_orders_by_distance_then_row_and_skips_rows_without_vectors() -> None:
    matrix = np.array([[0, 0], [1, 0], [0, 1], [3, 3], [0.5, 0]], dtype=np.float32)
    present = np.array([True, True, True, True, False])
    rows, distances = nearest(matrix, present, np.array([0, 0]), k=3, exclude=0)
    assert rows.tolist() == [1, 2, 3]  # 1 and 2 tie: row order; 4 has no vector; 0 is the query itself
    assert distances.tolist() == pytest.approx([1, 1, np.sqrt(18)])
    with pytest.raises(InvalidInputError, match="has 3 values and the embeddings 2"):
        nearest(matrix, present, np.zeros(3), k=1)


def test_pca_separates_clusters_the_same_way_every_run() -> None:
    rng = np.random.default_rng(7)
    centres = np.eye(3, 16, dtype=np.float32) * 5
    matrix = np.vstack([c + 0.1 * rng.standard_normal((50, 16)).astype(np.float32) for c in centres])
    first = project(matrix)
    again = project(matrix.copy())
    assert np.array_equal(first.x, again.x) and np.array_equal(first.y, again.y)
    assert first.explained[0] > 0.4 and first.explained[0] + first.explained[1] > 0.95
    points = np.column_stack([first.x, first.y])
    labels = np.repeat(np.arange(3), 50)
    means = np.array([points[labels == k].mean(axis=0) for k in range(3)])
    nearest_centre = np.argmin(((points[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (nearest_centre == labels).all()
    with pytest.raises(InvalidInputError, match="Unknown projection 'tsne'"):
        project(matrix, method="tsne")


def test_embedding_matrix_refuses_mixed_lengths() -> None:
    matrix, present = embedding_matrix([[1.0, 2.0], None, [3.0, 4.0]])
    assert present.tolist() == [True, False, True] and matrix[1].tolist() == [0, 0]
    with pytest.raises(InvalidInputError, match="different lengths"):
        embedding_matrix([[1.0, 2.0], [1.0]])


def _log_vectors(root: str, name: str, rows: list[tuple[str, str, list[float]]]) -> shanty.ArtifactVersion:
    table = shanty.Table(columns=["key", "group", "vec_embedding"], data=[list(r) for r in rows])
    with shanty.init(project="p", job_type="t", root=root) as run:
        artifact = shanty.Artifact(name, type="dataset")
        artifact.add(table, name)
        return run.log_artifact(artifact)


def test_a_map_of_two_tables_shares_one_projection_and_pairs_partners(tmp_path) -> None:
    root = str(tmp_path / "registry")
    originals = _log_vectors(root, "originals", [("a", "x", [0, 0, 0]), ("b", "y", [10, 0, 0])])
    renders = _log_vectors(
        root,
        "renders",
        [("a", "x", [0.5, 0, 0]), ("b", "y", [10.5, 0, 0]), ("a", "x", [0, 0.5, 0]), ("z", "y", [5, 5, 5])],
    )
    sources = [
        shanty.MapSource(originals, "originals", "vec_embedding"),
        shanty.MapSource(renders, "renders", "vec_embedding"),
    ]
    found = shanty.similarity_map(sources, "group", pair_on="key")
    assert len(found) == 6 and found.legend == ("x", "y")
    assert found.source.tolist() == [0, 0, 1, 1, 1, 1] and found.row.tolist() == [0, 1, 0, 1, 2, 3]
    assert sorted(map(tuple, found.lines.tolist())) == [(0, 2), (0, 4), (1, 3)]  # z has no partner
    # The other way round: every rendering of 'a' still pairs with its original
    flipped = shanty.similarity_map(sources[::-1], "group", pair_on="key")
    assert sorted(map(tuple, flipped.lines.tolist())) == [(0, 4), (1, 5), (2, 4)]
    assert found.labels[2] == "a"
    # Row 'a' of the originals: its two renderings first, then the rest
    similar = [p for p, _ in found.similar(0, k=5)]
    assert similar[:2] == [2, 4]
    # A box around the originals' 'a' and its renderings selects those rows of each table
    xs, ys = found.x[[0, 2, 4]], found.y[[0, 2, 4]]
    box = [[xs.min() - 0.1, ys.min() - 0.1], [xs.max() + 0.1, ys.min() - 0.1], [xs.max() + 0.1, ys.max() + 0.1]]
    box.append([xs.min() - 0.1, ys.max() + 0.1])
    assert found.selected(box) == {0: (0,), 1: (0, 2)}
    assert found.point_of(1, 2) == 4 and found.point_of(1, 9) is None


def test_a_number_column_colours_in_quantile_bins_and_bad_requests_are_refused(tmp_path) -> None:
    root = str(tmp_path / "registry")
    rows = [(f"k{i}", "g", [float(i), float(i % 3)]) for i in range(20)]
    version = _log_vectors(root, "nums", rows)
    table = shanty.Table(columns=["n", "vec_embedding"], data=[[i, [float(i), 0.0]] for i in range(20)])
    with shanty.init(project="p", job_type="t", root=root) as run:
        artifact = shanty.Artifact("numbers", type="dataset")
        artifact.add(table, "numbers")
        numbers = run.log_artifact(artifact)
    found = shanty.similarity_map([shanty.MapSource(numbers, "numbers", "vec_embedding")], "n")
    assert len(found.legend) == 6 and found.legend[-1] == "(empty)"  # 5 bins, then the empty values
    assert np.bincount(found.color).tolist()[:5] == [4, 4, 4, 4, 4]
    with pytest.raises(InvalidInputError, match="has no column 'nope'"):
        shanty.similarity_map([shanty.MapSource(version, "nums", "vec_embedding")], "nope")
    with pytest.raises(InvalidInputError, match="one or two tables"):
        shanty.similarity_map([])
    assert shanty.embedding_columns(version, "nums") == ["vec_embedding"]
