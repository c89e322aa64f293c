from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from shanty.errors import InvalidInputError
from shanty.query.export import export_query
from shanty.query.spec import Filter, Query, Sort
from tests.kits.tables import write_table


@pytest.fixture
def table(tmp_path: Path) -> Path:
    n = 25_000  # more than one engine page
    return write_table(
        tmp_path / "t.parquet",
        {
            "id": list(range(n)),
            "kind": ["a" if i % 3 else "b" for i in range(n)],
            "audio": [f"s3://b/{i}.wav" for i in range(n)],
        },
        {"audio": "audio"},
    )


def test_csv_export_has_every_matching_row(table: Path, tmp_path: Path) -> None:
    spec = Query(filters=(Filter("kind", "=", "b"),), sort=(Sort("id", descending=True),), page=3, page_size=10)
    count = export_query(spec, {"t": table}, tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "kind", "audio"]
    assert count == len(rows) - 1 == len(range(0, 25_000, 3))
    assert rows[1] == ["24999", "b", "s3://b/24999.wav"]


def test_parquet_export_keeps_media_structs(table: Path, tmp_path: Path) -> None:
    count = export_query(Query(filters=(Filter("id", "<", 5),)), {"t": table}, tmp_path / "out.parquet", "parquet")
    back = pq.read_table(tmp_path / "out.parquet")
    assert count == back.num_rows == 5
    assert back.column("audio").to_pylist()[0]["uri"] == "s3://b/0.wav"


def test_empty_result_and_bad_format(table: Path, tmp_path: Path) -> None:
    assert export_query(Query(filters=(Filter("id", "<", 0),)), {"t": table}, tmp_path / "e.parquet", "parquet") == 0
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 0
    with pytest.raises(InvalidInputError, match="csv, parquet"):
        export_query(Query(), {"t": table}, tmp_path / "x.xlsx", "xlsx")
