"""Tables and manifests in a bucket registry are queried where they lie: no download, only the bytes needed.

Runs on moto's S3 server and fake-gcs-server (the kits). Every in-place
result is compared with the same query over a local copy of the file, and
``$SHANTY_CACHE`` must stay empty while the bucket's objects are queried.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import shanty
from shanty import Aggregate, Filter, GroupBy, Query, Sort, column_summaries, export_query, query_summaries, run_query
from shanty.errors import ShantyError
from shanty.storage.in_place import RemoteFile, read_count
from tests.conftest import BACKENDS

BUCKETS = [b for b in ("s3", "gcs") if b in BACKENDS]

QUERIES = [
    Query(),
    Query(filters=(Filter("label", "=", "b"),), sort=(Sort("score", descending=True),), page_size=7),
    Query(filters=(Filter("score", ">", 0.5),), sort=(Sort("id"),), page=3, page_size=25),
    Query(expression="label in ('a', 'c') and id < 300", columns=("id", "text"), page_size=10),
    Query(filters=(Filter("text", "contains", "row 1"),), match="any", page=2, page_size=50),
    Query(group_by=GroupBy(("label",), (Aggregate("count"), Aggregate("mean", "score")))),
]


@pytest.fixture(params=BUCKETS)
def bucket_kit(request: pytest.FixtureRequest):
    """The S3 kit, then the GCS kit."""
    return request.getfixturevalue(f"{request.param}_kit")


def columns(rows: int, seed: int = 0) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    return {
        "id": np.arange(rows),
        "score": rng.random(rows).round(6),
        "label": np.array(["a", "b", "c", "d"])[rng.integers(0, 4, rows)],
        "text": [f"row {i} " + "lorem ipsum " * 8 for i in range(rows)],
    }


def log_table(root: str, table: shanty.Table) -> shanty.ArtifactVersion:
    with shanty.init(project="p", root=root) as run:
        artifact = shanty.Artifact("tables", type="dataset")
        artifact.add(table, "t")
        return run.log_artifact(artifact)


def cache_files() -> list[Path]:
    cache = Path(os.environ["SHANTY_CACHE"])
    return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []


def same(result: shanty.QueryResult) -> tuple[object, ...]:
    return result.columns, result.rows, result.total_rows, result.page_count, result.grouped


def test_a_logged_table_is_queried_in_place_with_the_results_of_a_local_copy(bucket_kit, tmp_path: Path) -> None:
    data = columns(600)
    version = log_table(bucket_kit.new_bucket(versioned=False) + "/r", shanty.Table(dataframe=_frame(data)))
    assert not cache_files()  # logging encodes nothing here: the cache starts empty
    source = version.table_source("t")
    assert isinstance(source, RemoteFile)
    schema = shanty.read_schema(source)
    in_place = [same(run_query(q, {"t": source})) for q in QUERIES]
    filtered = Query(filters=(Filter("label", "!=", "d"),))
    profiles = [
        query_summaries(filtered, {"t": source}),
        column_summaries(source, where=filtered),
        column_summaries(str(source)),  # the DuckDB name stands for the object too (the dashboard keys by it)
    ]
    exported = tmp_path / "in-place.csv"
    assert export_query(filtered, {"t": source}, exported) == sum(label != "d" for label in data["label"])
    assert not cache_files(), "querying in place must not download the table"
    assert read_count(source).requests > 0

    local = version.table_file("t")  # now downloaded: the reference answers
    assert isinstance(local, Path) and cache_files()
    assert shanty.read_schema(local) == schema
    assert in_place == [same(run_query(q, {"t": local})) for q in QUERIES]
    assert profiles == [
        query_summaries(filtered, {"t": local}),
        column_summaries(local, where=filtered),
        column_summaries(local),
    ]
    export_query(filtered, {"t": local}, tmp_path / "local.csv")
    assert exported.read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert version.table_source("t") == local  # a cached copy is read instead of the bucket


def _frame(data: dict[str, object]):
    import pandas as pd

    return pd.DataFrame(data)


def _big_table(path: Path, rows: int) -> None:
    # Many row groups, as a large logged table has: a filtered first page needs only a few of them.
    pq.write_table(pa.table(columns(rows, seed=1)), path, row_group_size=rows // 40, compression="zstd")


def test_a_filtered_first_page_reads_a_small_part_of_the_file(bucket_kit, tmp_path: Path) -> None:
    file = tmp_path / "big.table.parquet"
    _big_table(file, 200_000)
    with shanty.init(project="p", root=bucket_kit.new_bucket(versioned=False) + "/r") as run:
        artifact = shanty.Artifact("big", type="dataset")
        artifact.add_file(str(file), name="big.table.parquet")
        version = run.log_artifact(artifact)
    source = version.table_source("big")
    assert isinstance(source, RemoteFile) and source.size == file.stat().st_size
    spec = Query(filters=(Filter("id", "between", [150_000, 150_049]),), page_size=20)

    result = run_query(spec, {"big": source})

    assert result.rows == run_query(spec, {"big": file}).rows and result.total_rows == 50
    assert [row["id"] for row in result.rows] == list(range(150_000, 150_020))
    read = read_count(source)
    # The footer, then the id column of the row groups whose statistics may match, then one row group's
    # other columns: a few percent of the file, in a handful of requests.
    assert read.bytes < 0.1 * source.size, f"read {read.bytes} of {source.size} bytes"
    assert read.requests <= 8
    assert not cache_files()


def test_a_pinned_reference_is_read_at_its_recorded_version(bucket_kit, tmp_path: Path) -> None:
    bucket = bucket_kit.new_bucket(versioned=True)
    original, changed = tmp_path / "old.parquet", tmp_path / "new.parquet"
    pq.write_table(pa.table({"n": [1, 2, 3]}), original)
    pq.write_table(pa.table({"n": [7, 8, 9, 10]}), changed)
    bucket_kit.put(f"{bucket}/data/t.table.parquet", original.read_bytes())
    with shanty.init(project="p", root=str(tmp_path / "registry")) as run:
        artifact = shanty.Artifact("refs", type="dataset")
        artifact.add_reference(f"{bucket}/data/t.table.parquet")
        version = run.log_artifact(artifact)
    bucket_kit.put(f"{bucket}/data/t.table.parquet", changed.read_bytes())  # overwritten after logging

    source = version.table_source("t")

    assert (
        isinstance(source, RemoteFile) and source.version == version.manifest.entries["t.table.parquet"].object_version
    )
    assert [row["n"] for row in run_query(Query(), {"t": source}).rows] == [1, 2, 3]
    assert not cache_files()


def test_an_overwritten_unversioned_reference_is_refused_not_misread(s3_kit, tmp_path: Path) -> None:
    bucket = s3_kit.new_bucket(versioned=False)
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pq.write_table(pa.table({"n": list(range(100))}), first)
    pq.write_table(pa.table({"n": list(range(100, 250))}), second)
    s3_kit.put(f"{bucket}/t.table.parquet", first.read_bytes())
    with shanty.init(project="p", root=str(tmp_path / "registry")) as run:
        artifact = shanty.Artifact("refs", type="dataset")
        artifact.add_reference(f"{bucket}/t.table.parquet")
        version = run.log_artifact(artifact)
    s3_kit.put(f"{bucket}/t.table.parquet", second.read_bytes())

    # Reads are conditional on the recorded ETag (If-Match): the new bytes are never taken for the old.
    with pytest.raises(ShantyError, match="replaced"):
        run_query(Query(), {"t": version.table_source("t")})


def test_a_manifest_in_a_bucket_registry_is_queried_in_place(bucket_kit, tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    for i in range(30):
        (folder / f"f{i:02d}.txt").write_text(f"file {i}")
    with shanty.init(project="p", root=bucket_kit.new_bucket(versioned=False) + "/r") as run:
        artifact = shanty.Artifact("files", type="dataset")
        artifact.add_dir(str(folder))
        version = run.log_artifact(artifact)
    spec = Query(filters=(Filter("path", "contains", "1"),), sort=(Sort("path", descending=True),), page_size=5)

    source = version.manifest_source()
    found = same(run_query(spec, {"manifest": source}))

    assert isinstance(source, RemoteFile) and not cache_files()
    assert found == same(run_query(spec, {"manifest": version.manifest_file()}))
    assert found[2] == 12  # f01, f10-f19, f21


FALLBACK_SCRIPT = """
import pathlib, sys

class Missing:  # as if the s3 extra had been installed without fsspec
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "fsspec":
            raise ImportError("No module named 'fsspec' (blocked by the test)")

sys.meta_path.insert(0, Missing())
import shanty
version = shanty.Api({root!r}).artifact("p/tables:v0")
source = version.table_source("t")
assert isinstance(source, pathlib.Path), source  # downloaded into the cache, as before
print(shanty.run_query(shanty.Query(filters=(shanty.Filter("label", "=", "b"),)), {{"t": source}}).total_rows)
"""


def test_without_fsspec_a_bucket_table_is_downloaded_and_queried(s3_kit, tmp_path: Path) -> None:
    import subprocess
    import sys

    root = s3_kit.new_bucket(versioned=False) + "/r"
    data = columns(200)
    log_table(root, shanty.Table(dataframe=_frame(data)))
    done = subprocess.run(
        [sys.executable, "-c", FALLBACK_SCRIPT.format(root=root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=os.environ,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(sum(label == "b" for label in data["label"]))]
    assert cache_files()


def test_the_dashboard_shows_a_bucket_table_without_downloading_it(
    s3_kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.kits.apptest import APP

    root = s3_kit.new_bucket(versioned=False) + "/r"
    data = columns(120)
    log_table(root, shanty.Table(dataframe=_frame(data)))
    monkeypatch.setenv("SHANTY_ROOT", root)
    chosen = Query(filters=(Filter("label", "=", "c"),))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"artifact": "p/tables", "q": chosen.to_url_token()})
    at.switch_page("dashboard/views/table.py")
    at.run()

    assert not at.exception, at.exception
    shown = " ".join(m.value for m in at.markdown if "rows" in m.value)
    assert f"**{sum(label == 'c' for label in data['label'])} rows**" in shown
    assert not cache_files(), "the table view must read the bucket's table in place"
