"""Row-level table diffs: by key, by whole row, paging, schema changes and mistakes."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from shanty.diff.tables import RowChange, RowKind, diff_tables, suggest_key
from shanty.errors import NotFoundError, QueryError
from tests.kits.tables import media, write_table

OLD = {
    "song_id": [1, 2, 3, 4, 5],
    "title": ["one", "two", "three", "four", None],
    "score": [0.5, 0.6, 0.7, 0.8, 0.9],
    "audio": ["s3://a/1.wav", "s3://a/2.wav", "s3://a/3.wav", None, "s3://a/5.wav"],
}
NEW = {
    "song_id": [2, 1, 4, 6, 5, 7],
    "title": ["two", "ONE", "four", "six", None, "seven"],
    "score": [0.6, 0.5, 0.8, 0.1, 0.95, 0.2],
    "audio": ["s3://a/2.wav", "s3://a/1.wav", "s3://a/4.wav", "s3://a/6.wav", "s3://a/5.wav", None],
}


@pytest.fixture
def versions(tmp_path: Path) -> tuple[Path, Path]:
    old = write_table(tmp_path / "old.parquet", OLD, {"audio": "audio"})
    new = write_table(tmp_path / "new.parquet", NEW, {"audio": "audio"})
    return old, new


def test_keyed_counts_and_rows(versions: tuple[Path, Path]) -> None:
    diff = diff_tables(*versions, key=["song_id"])
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (2, 1, 3, 1)
    assert (diff.old_rows, diff.new_rows) == (5, 6)
    assert [r.key["song_id"] for r in diff.rows("added")] == [6, 7]
    assert diff.rows(RowKind.REMOVED) == [
        RowChange(
            RowKind.REMOVED,
            {"song_id": 3},
            {"song_id": 3, "title": "three", "score": 0.7, "audio": media("s3://a/3.wav")},
            None,
        )
    ]
    changed = diff.rows("changed")
    assert [(r.key["song_id"], r.changed_columns) for r in changed] == [
        (1, ("title",)),
        (4, ("audio",)),
        (5, ("score",)),
    ]
    assert changed[0].old["title"] == "one" and changed[0].new["title"] == "ONE"
    assert changed[1].old["audio"] is None and changed[1].new["audio"] == media("s3://a/4.wav")
    assert not diff.identical and diff.count("changed") == 3


def test_keyed_paging(versions: tuple[Path, Path]) -> None:
    diff = diff_tables(*versions, key="song_id")
    pages = [[r.key["song_id"] for r in diff.rows("changed", page, 2)] for page in (1, 2, 3)]
    assert pages == [[1, 4], [5], []]


def test_identical_tables(versions: tuple[Path, Path]) -> None:
    diff = diff_tables(versions[0], versions[0], key=["song_id"])
    assert diff.identical and diff.unchanged == 5
    assert diff.rows("added") == diff.rows("changed") == []


def test_whole_row_diff_counts_copies(tmp_path: Path) -> None:
    old = write_table(tmp_path / "old.parquet", {"a": [1, 1, 1, 2, 3, None], "b": ["x", "x", "x", "y", "z", "n"]})
    new = write_table(tmp_path / "new.parquet", {"a": [4, 1, 2, 2, None, 4], "b": ["w", "x", "y", "y", "n", "w"]})
    diff = diff_tables(old, new)
    assert diff.key is None
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (3, 3, 0, 3)
    assert diff.rows("added") == [
        RowChange(RowKind.ADDED, {}, None, {"a": 4, "b": "w"}, (), 2),
        RowChange(RowKind.ADDED, {}, None, {"a": 2, "b": "y"}, (), 1),
    ]
    assert diff.rows("removed") == [
        RowChange(RowKind.REMOVED, {}, {"a": 1, "b": "x"}, None, (), 2),
        RowChange(RowKind.REMOVED, {}, {"a": 3, "b": "z"}, None, (), 1),
    ]
    assert diff.rows("removed", page=2, page_size=1)[0].old == {"a": 3, "b": "z"}
    assert diff.rows("changed") == []


def test_column_changes_are_reported_and_retyped_columns_compared_as_text(tmp_path: Path) -> None:
    old = write_table(tmp_path / "old.parquet", {"k": [1, 2], "gone": [1, 1], "n": [1, 2]})
    new = write_table(tmp_path / "new.parquet", {"k": [1, 2], "n": ["1", "3"], "fresh": [True, False]})
    diff = diff_tables(old, new, key=["k"])
    assert diff.columns_added == ("fresh",) and diff.columns_removed == ("gone",)
    assert diff.columns_retyped == (("n", "BIGINT", "VARCHAR"),)
    assert [(r.key, r.changed_columns) for r in diff.rows("changed")] == [({"k": 2}, ("n",))]
    assert diff.rows("changed")[0].new == {"k": 2, "n": "3", "fresh": False}


def test_composite_and_null_keys(tmp_path: Path) -> None:
    old = write_table(tmp_path / "old.parquet", {"s": [1, 1, None], "i": ["p", "v", "p"], "x": [1, 2, 3]})
    new = write_table(tmp_path / "new.parquet", {"s": [1, 1, None], "i": ["p", "d", "p"], "x": [1, 2, 4]})
    diff = diff_tables(old, new, key=["s", "i"])
    assert (diff.added, diff.removed, diff.changed) == (1, 1, 1)
    assert diff.rows("changed")[0].key == {"s": None, "i": "p"}
    assert diff.rows("added")[0].key == {"s": 1, "i": "d"}


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ({"k": [1, 1]}, {"k": [1]}, ["k"], "The key 'k' is not unique in the old table: 1 appears 2 times"),
        ({"k": [1], "j": [1]}, {"k": [2, 2], "j": [1, 1]}, ["k", "j"], "not unique in the new table: (2, 1) appears 2"),
        ({"k": [1]}, {"k": [1]}, ["kk"], "Unknown key column in the old table 'kk'; did you mean 'k'?"),
        ({"k": [1], "j": [2]}, {"k": [1]}, ["j"], "Unknown key column in the new table 'j'"),
        ({"k": [1]}, {"j": [1]}, None, "share no column"),
    ],
)
def test_mistakes(tmp_path: Path, old: dict, new: dict, key, message: str) -> None:
    old_path = write_table(tmp_path / "old.parquet", old)
    new_path = write_table(tmp_path / "new.parquet", new)
    with pytest.raises(QueryError) as caught:
        diff_tables(old_path, new_path, key=key)
    assert message in str(caught.value)


def test_bad_paging_and_missing_files(versions: tuple[Path, Path], tmp_path: Path) -> None:
    diff = diff_tables(*versions, key=["song_id"])
    with pytest.raises(QueryError, match="Unknown row kind"):
        diff.rows("renamed")
    with pytest.raises(QueryError, match="page number"):
        diff.rows("added", page=0)
    with pytest.raises(QueryError, match="page size"):
        diff.rows("added", page_size=0)
    with pytest.raises(NotFoundError):
        diff_tables(tmp_path / "nope.parquet", versions[1])


def test_struct_and_list_cells_compare_by_value(tmp_path: Path) -> None:
    old = write_table(tmp_path / "old.parquet", {"k": [1, 2], "tags": pa.array([["a"], ["b"]])})
    new = write_table(tmp_path / "new.parquet", {"k": [1, 2], "tags": pa.array([["a"], ["b", "c"]])})
    diff = diff_tables(old, new, key=["k"])
    assert diff.changed == 1 and diff.rows("changed")[0].key == {"k": 2}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"id": [1, 2], "v": [1, 1]}, {"id": [2, 3], "v": [5, 5]}, ("id",)),
        # The fewest columns that tell every row apart on both sides, earlier columns first.
        (
            {"song": ["a", "a", "b"], "inst": ["x", "y", "x"]},
            {"song": ["a", "b"], "inst": ["y", "y"]},
            ("song", "inst"),
        ),
        ({"a": [1, 1], "b": [1, 2], "c": [3, 4]}, {"a": [1, 2], "b": [1, 2], "c": [3, 3]}, ("b",)),
        # Unique on one side only is no key; nothing unique at all is no key: diff whole rows.
        ({"id": [1, 2]}, {"id": [1, 1]}, ()),
        ({"id": [1, 2], "only_old": [1, 2]}, {"id": [1, 1], "only_new": [5, 6]}, ()),
    ],
)
def test_suggest_key(tmp_path: Path, old: dict, new: dict, expected: tuple) -> None:
    a, b = write_table(tmp_path / "a.parquet", old), write_table(tmp_path / "b.parquet", new)
    assert suggest_key(a, b) == expected


def test_suggest_key_leaves_media_columns_out(tmp_path: Path) -> None:
    columns = {"audio": ["s3://b/1.wav", "s3://b/2.wav"], "take": [1, 1]}
    a = write_table(tmp_path / "a.parquet", columns, {"audio": "audio"})
    assert suggest_key(a, a) == ()
