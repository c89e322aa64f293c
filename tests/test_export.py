from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shanty.errors import InvalidInputError
from shanty.query.export import export_query
from shanty.query.run import run_query
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


def test_parquet_export_of_a_column_empty_in_its_first_pages_keeps_every_row(tmp_path: Path) -> None:
    # Null in the first 10,050 rows (more than one engine page), text after: the file keeps the column's type.
    n = 10_050
    notes = [None] * 10_000 + [f"n{i}" for i in range(n - 10_000)]
    source = write_table(tmp_path / "t.parquet", {"id": list(range(n)), "note": pa.array(notes, pa.string())})
    count = export_query(Query(), {"t": source}, tmp_path / "out.parquet", "parquet")
    back = pq.read_table(tmp_path / "out.parquet")
    assert count == back.num_rows == n
    assert back.schema.field("note").type == pa.string() and back.column("note").to_pylist()[-1] == "n49"


def test_a_failed_export_leaves_no_file(table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from shanty.query import export

    calls = []

    def failing_second_page(spec, sources):
        calls.append(spec.page)
        if spec.page == 2:
            raise OSError("disk full")
        return run_query(spec, sources)

    monkeypatch.setattr(export, "run_query", failing_second_page)
    for format in ("csv", "parquet"):
        with pytest.raises(OSError, match="disk full"):
            export_query(Query(), {"t": table}, tmp_path / f"out.{format}", format)
        assert not (tmp_path / f"out.{format}").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.parquet"]  # no partial file left beside it


def test_csv_cells_a_spreadsheet_would_run_are_written_as_text(tmp_path: Path) -> None:
    cells = ['=HYPERLINK("http://evil")', "+1", "-2+3", "@SUM(A1)", "plain", "x=1"]
    source = write_table(tmp_path / "t.parquet", {"text": cells, "number": [-1, 2, -3, 4, 5, 6]})
    export_query(Query(), {"t": source}, tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    assert [r[0] for r in rows] == ['\'=HYPERLINK("http://evil")', "'+1", "'-2+3", "'@SUM(A1)", "plain", "x=1"]
    assert [r[1] for r in rows] == ["-1", "2", "-3", "4", "5", "6"]  # numbers stay numbers
