"""query_summaries: the header statistics of a view, over the rows its join, filters and expression keep."""

from __future__ import annotations

from pathlib import Path

import pytest

from shanty import Aggregate, Filter, GroupBy, Join, Query, QueryError, Sort, query_summaries, run_query
from tests.kits.songs import where
from tests.kits.tables import write_table


@pytest.fixture
def joined(tmp_path: Path, songs: dict[str, Path]) -> dict[str, Path]:
    """The songs table and a second one keyed by ``id`` (genre per song; song 6 has none)."""
    genres = {"id": [1, 2, 3, 4, 5], "genre": ["pop", "pop", "jazz", "pop", None], "bpm": [120, 90, 100, 128, 70]}
    return {**songs, "genres": write_table(tmp_path / "genres.parquet", genres)}


def by_name(summaries: list) -> dict:
    return {s.name: s for s in summaries}


def test_whole_table_matches_the_rows(songs: dict[str, Path]) -> None:
    summaries = by_name(query_summaries(Query(), songs))
    assert list(summaries) == ["id", "title", "score", "plays", "live", "day", "tags", "audio", 'odd "name"']
    assert summaries["plays"].rows == 6 and summaries["plays"].null_count == 1
    assert summaries["plays"].min == 0 and summaries["plays"].max == 10
    assert sum(summaries["score"].histogram.counts) == 5  # one score is empty
    assert summaries["live"].top_values == ((True, 3), (False, 2))


@pytest.mark.parametrize(
    ("spec", "rows"),
    [
        (where(Filter("plays", ">=", 7)), 3),
        (where(expression="title contains 'hale'"), 2),
        (where(Filter("live", "=", True), Filter("plays", "=", 3), match="any"), 4),
        # Sort, grouping and page never change what is profiled.
        (Query(filters=(Filter("plays", ">=", 7),), sort=(Sort("id", True),), page=3, page_size=10), 3),
        (Query(filters=(Filter("plays", ">=", 7),), group_by=GroupBy(("live",), (Aggregate("count"),))), 3),
    ],
)
def test_the_filters_choose_the_rows(songs: dict[str, Path], spec: Query, rows: int) -> None:
    summaries = query_summaries(spec, songs, columns=["plays", "title"])
    assert [s.name for s in summaries] == ["title", "plays"]  # in the view's order, not the argument's
    assert {s.rows for s in summaries} == {rows}
    counted = run_query(Query(filters=spec.filters, match=spec.match, expression=spec.expression), songs)
    assert counted.total_rows == rows


def test_a_join_is_profiled_under_the_result_names(joined: dict[str, Path]) -> None:
    spec = Query(join=Join("genres", ("id",), "inner"), filters=(Filter("genres.genre", "=", "pop"),))
    result = run_query(spec, joined)
    summaries = by_name(query_summaries(spec, joined))
    assert list(summaries) == list(result.columns)
    assert summaries["genres.genre"].top_values == (("pop", 3),)
    assert summaries["genres.bpm"].min == 90 and summaries["genres.bpm"].max == 128
    assert summaries["id"].rows == result.total_rows == 3


def test_only_the_shown_columns_are_profiled(songs: dict[str, Path]) -> None:
    spec = Query(columns=("title", "id"))
    assert [s.name for s in query_summaries(spec, songs)] == ["title", "id"]
    assert [s.name for s in query_summaries(spec, songs, columns={"id", "plays"})] == ["id"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (where(Filter("nope", "=", 1)), "nope"),
        (where(expression="plays >"), "expression"),
        (Query(join=Join("missing", ("id",))), "missing"),
    ],
)
def test_bad_specs_raise_query_errors(songs: dict[str, Path], spec: Query, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        query_summaries(spec, songs)


def test_top_values_are_exact_and_ordered(tmp_path: Path) -> None:
    # Ties are broken by value, so the order is the same on every run.
    values = ["b"] * 3 + ["a"] * 3 + ["c"] * 2 + ["d"]
    path = write_table(tmp_path / "t.parquet", {"v": values})
    (summary,) = query_summaries(Query(), {"t": path}, top_values=3)
    assert summary.top_values == (("a", 3), ("b", 3), ("c", 2))
    assert summary.distinct_count == 4
