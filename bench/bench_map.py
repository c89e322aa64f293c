"""The similarity map at a million rows: what the server does before the browser draws, and what travels.

    python bench/bench_map.py [--rows 1000000] [--dims 225] [--groups 8]

A table of ``--rows`` rows (a ``--dims`` embedding in ``--groups`` Gaussian clusters, a group label, a
key) is logged to a local registry; then, timed: :func:`shanty.similarity_map` (the embeddings read
from Parquet, PCA, colours), a selection of one cluster (rows inside a polygon), the 10 nearest rows of
one row, and the Arrow bytes the map sends to the browser (``x``, ``y``, ``color``: no rows, no labels
past 50,000 points). The baseline, in the same run: reading the embedding column into Python lists, as
``Column.to_pylist()`` would, the naive way the map must not take.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from common import REPO  # noqa: F401 - puts the checkout on sys.path


def make_version(root: Path, rows: int, dims: int, groups: int):
    import shanty

    rng = np.random.default_rng(0)
    group = rng.integers(0, groups, rows)
    centres = rng.standard_normal((groups, dims)).astype(np.float32) * 3
    vectors = centres[group] + rng.standard_normal((rows, dims)).astype(np.float32)
    embedding = pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dims).cast(pa.list_(pa.float32()))
    arrow = pa.table(
        {
            "key": pa.array([f"row-{i:07d}" for i in range(rows)]),
            "group": pa.array([f"group {g}" for g in group]),
            "vec_embedding": embedding,
        }
    )
    table = shanty.Table.from_arrow(arrow)
    with shanty.init(project="bench", job_type="upload", root=str(root)) as run:
        artifact = shanty.Artifact("points", type="dataset")
        artifact.add(table, "points")
        return run.log_artifact(artifact), group


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dims", type=int, default=225)
    parser.add_argument("--groups", type=int, default=8)
    args = parser.parse_args()
    import pyarrow.parquet as pq

    import shanty

    with tempfile.TemporaryDirectory(prefix="shanty-bench-map-") as tmp:
        start = time.perf_counter()
        version, group = make_version(Path(tmp) / "registry", args.rows, args.dims, args.groups)
        print(f"{args.rows:,} rows x {args.dims} values logged in {time.perf_counter() - start:.1f} s")
        path = version.table_file("points")

        start = time.perf_counter()
        naive = pq.read_table(path, columns=["vec_embedding"]).column("vec_embedding").to_pylist()
        baseline = time.perf_counter() - start
        del naive

        start = time.perf_counter()
        found = shanty.similarity_map([shanty.MapSource(version, "points", "vec_embedding")], "group")
        mapped = time.perf_counter() - start
        ours = found.matrix.shape

        mine = np.flatnonzero(group == 0)
        xs, ys = found.x[mine], found.y[mine]
        box = [[xs.min(), ys.min()], [xs.max(), ys.min()], [xs.max(), ys.max()], [xs.min(), ys.max()]]
        start = time.perf_counter()
        selected = found.selected(box)[0]
        selecting = time.perf_counter() - start

        start = time.perf_counter()
        nearest = found.similar(0, k=10)
        finding = time.perf_counter() - start

        points = pa.table({"x": found.x, "y": found.y, "color": found.color})
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, points.schema) as writer:
            writer.write_table(points)
        sent = sink.getvalue().size

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"embedding column to Python lists (baseline): {baseline:8.2f} s")
        print(
            f"similarity_map (read {ours[0]:,} x {ours[1]}, PCA, colours): {mapped:8.2f} s  ({baseline / mapped:.1f}x faster)"
        )
        print(f"rows inside a drawn box ({len(selected):,} of group 0's {len(mine):,}): {selecting:8.3f} s")
        print(f"10 nearest rows of one row:            {finding:8.3f} s  (first: {nearest[0][0]}, {nearest[0][1]:.3f})")
        print(f"to the browser: {sent / 1e6:.1f} MB of Arrow (x, y, colour), labels: {found.labels is not None}")
        print(f"peak memory of this process: {peak:,.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
