"""The DuckDB engine: schemas, joins, paging, caching, threads and column summaries."""

from __future__ import annotations

import datetime as dt
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shanty.errors import MalformedError, NotFoundError, QueryError
from shanty.query import summaries as summaries_module
from shanty.query.compile import compile_count, compile_query
from shanty.query.database import read_schema
from shanty.query.run import run_query
from shanty.query.spec import Aggregate, Filter, GroupBy, Join, Query, Sort
from shanty.query.sql import bind_sources
from shanty.query.summaries import column_summaries
from tests.kits.songs import SONGS
from tests.kits.tables import media, write_table


@pytest.fixture
def music(tmp_path: Path) -> dict[str, Path]:
    """Originals (song 3 has no synth) and synth renditions (song 9 has no original)."""
    original = write_table(
        tmp_path / "original.parquet",
        {"song_id": [1, 2, 3], "title": ["one", "two", "three"], "audio": ["s3://o/1.wav", "s3://o/2.wav", None]},
        {"audio": "audio"},
    )
    synth = write_table(
        tmp_path / "synth.parquet",
        {
            "song_id": [1, 1, 2, 9, 2],
            "instrument": ["piano", "violin", "piano", "drums", "violin"],
            "audio": ["s3://s/1p.wav", "s3://s/1v.wav", "s3://s/2p.wav", "s3://s/9d.wav", None],
        },
        {"audio": "audio"},
    )
    return {"original": original, "synth": synth}


def test_read_schema_reports_types_and_media(songs: dict[str, Path]) -> None:
    schema = read_schema(songs["songs"])
    assert list(schema.columns) == list(SONGS)
    assert schema.columns["id"] == "BIGINT" and schema.columns["day"] == "DATE"
    assert schema.columns["audio"].startswith("STRUCT(uri VARCHAR")
    assert dict(schema.media) == {"audio": "audio"}


def test_a_plain_parquet_file_is_a_table_without_media(tmp_path: Path) -> None:
    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "plain.parquet")
    assert dict(read_schema(tmp_path / "plain.parquet").media) == {}
    assert run_query(Query(), {"t": tmp_path / "plain.parquet"}).rows == [{"a": 1}, {"a": 2}]


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (b"{not json", "not valid JSON"),
        (json.dumps({"version": 2, "media": {}}).encode(), "newer shanty"),
        (json.dumps({"version": 1, "media": {"a": "smell"}}).encode(), "unknown media kind 'smell'"),
        (json.dumps({"version": 1, "media": {"a": "audio"}}).encode(), "not a struct with a uri"),
        (json.dumps({"version": 1, "media": {"zz": "audio"}}).encode(), "missing"),
    ],
)
def test_bad_table_metadata_is_malformed(tmp_path: Path, metadata: bytes, message: str) -> None:
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"a": [1]}).replace_schema_metadata({b"shanty.table": metadata}), path)
    with pytest.raises(MalformedError, match=message):
        read_schema(path)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="No table file"):
        run_query(Query(), {"t": tmp_path / "nope.parquet"})
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(MalformedError, match="not a readable Parquet table"):
        read_schema(tmp_path / "junk.parquet")
    with pytest.raises(QueryError, match="no table to query"):
        run_query(Query(), {})


def test_join_gives_one_row_per_song_and_instrument_with_both_audio_cells(music: dict[str, Path]) -> None:
    spec = Query(join=Join("synth", ("song_id",)), sort=(Sort("song_id"), Sort("synth.instrument")))
    result = run_query(spec, music)
    assert result.columns == ("song_id", "original.title", "original.audio", "synth.instrument", "synth.audio")
    assert result.media == {"original.audio": "audio", "synth.audio": "audio"}
    assert [(r["song_id"], r["synth.instrument"]) for r in result.rows] == [
        (1, "piano"),
        (1, "violin"),
        (2, "piano"),
        (2, "violin"),
    ]
    assert result.rows[0]["original.audio"] == media("s3://o/1.wav")
    assert result.rows[0]["synth.audio"] == media("s3://s/1p.wav")
    assert result.rows[3]["synth.audio"] is None
    assert result.total_rows == 4
    assert result.sources == {
        "song_id": "original",
        "original.title": "original",
        "original.audio": "original",
        "synth.instrument": "synth",
        "synth.audio": "synth",
    }


@pytest.mark.parametrize(
    ("how", "pairs"),
    [
        ("inner", [(1, "piano"), (1, "violin"), (2, "piano"), (2, "violin")]),
        ("left", [(1, "piano"), (1, "violin"), (2, "piano"), (2, "violin"), (3, None)]),
        ("outer", [(1, "piano"), (1, "violin"), (2, "piano"), (2, "violin"), (3, None), (9, "drums")]),
    ],
)
def test_join_kinds_and_coalesced_keys(music: dict[str, Path], how: str, pairs: list[tuple]) -> None:
    result = run_query(Query(join=Join("synth", ("song_id",), how), sort=(Sort("song_id"),)), music)
    assert [(r["song_id"], r["synth.instrument"]) for r in result.rows] == pairs
    assert result.total_rows == len(pairs)


def test_join_default_order_follows_the_main_table(music: dict[str, Path]) -> None:
    result = run_query(Query(join=Join("synth", ("song_id",), "outer")), music)
    assert [(r["song_id"], r["synth.instrument"]) for r in result.rows] == [
        (1, "piano"),
        (1, "violin"),
        (2, "piano"),
        (2, "violin"),
        (3, None),
        (9, "drums"),
    ]


def test_join_filters_sorts_pages_and_groups_on_prefixed_names(music: dict[str, Path]) -> None:
    spec = Query(
        join=Join("synth", ("song_id",), "left"),
        expression="synth.audio is not null and original.audio startswith 's3://o/'",
        sort=(Sort("synth.audio", descending=True),),
        columns=("song_id", "synth.audio"),
        page=2,
        page_size=2,
    )
    result = run_query(spec, music)
    assert result.total_rows == 3 and result.page_count == 2
    assert result.rows == [{"song_id": 1, "synth.audio": media("s3://s/1p.wav")}]
    grouped = run_query(
        Query(
            join=Join("synth", ("song_id",)),
            group_by=GroupBy(("synth.instrument",), (Aggregate("count"),), samples=1),
        ),
        music,
    )
    assert grouped.rows == [
        {
            "synth.instrument": "piano",
            "count": 2,
            "samples(original.audio)": [media("s3://o/1.wav")],
            "samples(synth.audio)": [media("s3://s/1p.wav")],
        },
        {
            "synth.instrument": "violin",
            "count": 2,
            "samples(original.audio)": [media("s3://o/1.wav")],
            "samples(synth.audio)": [media("s3://s/1v.wav")],
        },
    ]
    assert grouped.sources == {
        "synth.instrument": "synth",
        "count": "original",
        "samples(original.audio)": "original",
        "samples(synth.audio)": "synth",
    }


def test_join_mistakes(music: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(
        QueryError, match=re.escape("Unknown sort column 'audio'; did you mean 'original.audio' or 'synth.audio'?")
    ):
        run_query(Query(join=Join("synth", ("song_id",)), sort=(Sort("audio"),)), music)
    with pytest.raises(QueryError, match="Unknown join key in table 'original' 'instrument'"):
        run_query(Query(join=Join("synth", ("instrument",))), music)
    with pytest.raises(QueryError, match="Unknown table 'synht'; did you mean 'synth'"):
        run_query(Query(join=Join("synht", ("song_id",))), music)
    other = write_table(tmp_path / "o.parquet", {"song_id": ["1"]})
    with pytest.raises(QueryError, match="holds number values in 'original' but text values in 'other'"):
        run_query(Query(join=Join("other", ("song_id",))), {**music, "other": other})


def test_compiled_sql_run_directly_gives_the_same_page(music: dict[str, Path]) -> None:
    spec = Query(join=Join("synth", ("song_id",), "outer"), sort=(Sort("synth.instrument"),), page_size=3, page=2)
    schemas = {name: read_schema(path) for name, path in music.items()}
    sql, params = compile_query(spec, schemas)
    count_sql, count_params = compile_count(spec, schemas)
    with duckdb.connect() as db:
        rows = db.execute(sql, bind_sources(params, music)).fetchall()
        total = db.execute(count_sql, bind_sources(count_params, music)).fetchone()[0]
    result = run_query(spec, music)
    assert [tuple(r.values()) for r in result.rows] == rows
    assert result.total_rows == total == 6


@pytest.mark.parametrize("name", ["t[1].parquet", "t*.parquet", "t?.parquet", "t{1,2}.parquet"])
def test_file_names_that_look_like_globs_read_only_that_file(tmp_path: Path, name: str) -> None:
    for decoy in ("t1.parquet", "t2.parquet", "tx.parquet"):
        write_table(tmp_path / decoy, {"a": [0]})
    path = write_table(tmp_path / name, {"a": [1, 2]})
    assert [r["a"] for r in run_query(Query(), {"t": path}).rows] == [1, 2]
    assert column_summaries(path)[0].rows == 2


def test_counts_follow_a_rewritten_file(tmp_path: Path) -> None:
    path = write_table(tmp_path / "t.parquet", {"a": [1, 2, 3]})
    spec = Query(filters=(Filter("a", ">", 1),))
    assert run_query(spec, {"t": path}).total_rows == 2
    write_table(path, {"a": [5, 6, 7, 8], "b": ["w", "x", "y", "z"]})
    again = run_query(spec, {"t": path})
    assert again.total_rows == 4 and again.columns == ("a", "b")


def test_threads_get_consistent_results(songs: dict[str, Path]) -> None:
    specs = [Query(filters=(Filter("plays", ">=", n),), sort=(Sort("score", descending=True),)) for n in range(12)]
    expected = [[r["id"] for r in run_query(s, songs).rows] for s in specs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(lambda s: [r["id"] for r in run_query(s, songs).rows], specs * 4))
    assert got == expected * 4


def test_columns_named_like_internal_ones_do_not_break_paging(tmp_path: Path) -> None:
    path = write_table(
        tmp_path / "t.parquet",
        {"file_row_number": [9, 8, 7, 6], "__shanty_row": ["a", "b", "c", "d"], "k": [1, 1, 0, 0]},
    )
    pages = [run_query(Query(sort=(Sort("k"),), page=p, page_size=1), {"t": path}).rows for p in (1, 2, 3, 4)]
    assert [rows[0]["file_row_number"] for rows in pages] == [7, 6, 9, 8]


def test_timestamps_compare_in_utc(tmp_path: Path) -> None:
    stamps = [dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC), dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)]
    path = write_table(
        tmp_path / "t.parquet",
        {
            "at": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "naive": pa.array([s.replace(tzinfo=None) for s in stamps]),
        },
    )
    sources = {"t": path}
    assert run_query(Query(expression="at > '2024-01-01T11:00'"), sources).total_rows == 1
    assert run_query(Query(expression="at > '2024-01-01T11:00+02:00'"), sources).total_rows == 2
    assert run_query(Query(expression="naive >= '2024-01-01T13:00+01:00'"), sources).total_rows == 1
    assert run_query(Query(filters=(Filter("naive", "<", "2024-01-02"),)), sources).total_rows == 2


def test_column_summaries(songs: dict[str, Path]) -> None:
    summaries = {s.name: s for s in column_summaries(songs["songs"], top_values=2, bins=4)}
    assert list(summaries) == list(SONGS)
    plays = summaries["plays"]
    assert (plays.kind, plays.rows, plays.null_count, plays.distinct_count, plays.min, plays.max) == (
        "number",
        6,
        1,
        4,
        0,
        10,
    )
    assert not plays.distinct_approximate
    assert plays.histogram is not None
    assert plays.histogram.edges == (0.0, 2.5, 5.0, 7.5, 10.0)
    assert plays.histogram.counts == (1, 1, 1, 2)
    title = summaries["title"]
    assert title.top_values == ()  # every title is distinct
    live = summaries["live"]
    assert live.top_values == ((True, 3), (False, 2)) and live.histogram is None
    audio = summaries["audio"]
    assert (audio.kind, audio.media, audio.min, audio.max) == ("media", "audio", "gs://c/4.flac", "s3://b/b/6.wav")
    assert summaries["tags"].kind == "other" and summaries["tags"].null_count == 2
    assert summaries["day"].min == dt.date(2023, 12, 31)


@pytest.mark.parametrize(
    ("where", "rows", "plays_range", "live_top"),
    [
        (Query(expression="live"), 3, (10, 10), ((True, 3),)),
        (Query(filters=(Filter("plays", ">=", 3),)), 4, (3, 10), ((True, 2), (False, 1))),
        (
            Query(filters=(Filter("title", "contains", "whale"), Filter("id", "=", 5)), match="any"),
            3,
            (0, 10),
            ((True, 2), (False, 1)),
        ),
        (Query(expression="plays > 100"), 0, (None, None), ()),
        # Sort, grouping, columns and the page do not change which rows are profiled.
        (Query(expression="live", sort=(Sort("id"),), columns=("id",), page=3, page_size=1), 3, (10, 10), ((True, 3),)),
    ],
)
def test_column_summaries_follow_the_filters(
    songs: dict[str, Path], where: Query, rows: int, plays_range: tuple, live_top: tuple
) -> None:
    summaries = {s.name: s for s in column_summaries(songs["songs"], where=where, top_values=2, bins=4)}
    assert list(summaries) == list(SONGS)  # every column, whatever the query selects
    plays = summaries["plays"]
    assert (plays.rows, (plays.min, plays.max)) == (rows, plays_range)
    assert summaries["live"].top_values == live_top or (not rows and summaries["live"].top_values == ())
    if plays.histogram is not None:
        assert sum(plays.histogram.counts) == rows - plays.null_count
        assert list(plays.histogram.edges) == sorted(plays.histogram.edges)  # bins in ascending order


def test_summaries_of_a_bad_filter_raise_query_errors(songs: dict[str, Path]) -> None:
    with pytest.raises(QueryError, match="Unknown column 'nope'"):
        column_summaries(songs["songs"], where=Query(expression="nope = 1"))
    with pytest.raises(QueryError, match="not a valid regular expression"):
        column_summaries(songs["songs"], where=Query(expression="title matches '('"))


def test_summaries_of_repeated_values_small_ranges_and_big_tables(tmp_path: Path, monkeypatch) -> None:
    path = write_table(
        tmp_path / "t.parquet",
        {
            "uri": ["s3://a", "s3://b", "s3://a", None, "s3://a", "s3://c"],
            "n": [1, 2, 2, 3, None, 3],
            "x": [0.5, float("nan"), float("inf"), 1.5, None, 0.5],
            "empty": pa.nulls(6),
        },
        {"uri": "image"},
    )
    monkeypatch.setattr(summaries_module, "EXACT_DISTINCT_MAX_ROWS", 2)
    summaries = {s.name: s for s in column_summaries(path)}
    assert summaries["uri"].top_values == (("s3://a", 3), ("s3://b", 1), ("s3://c", 1))
    assert summaries["uri"].distinct_approximate
    n = summaries["n"].histogram
    assert n is not None and n.edges == (1.0, 2.0, 3.0, 4.0) and n.counts == (1, 2, 2)
    x = summaries["x"]
    assert (x.min, x.max) == (0.5, float("inf"))  # NaN skipped, infinity kept
    assert x.histogram is not None and sum(x.histogram.counts) == 3  # finite values only
    assert summaries["empty"].null_count == 6 and summaries["empty"].histogram is None


def test_tables_written_by_shanty_tables_are_queryable(tmp_path: Path) -> None:
    # Guards the file-format contract with shanty.tables (written independently of this engine).
    from shanty.tables.cells import Audio
    from shanty.tables.table import Table

    table = Table(
        columns=["song_id", "audio", "note"],
        data=[
            [1, Audio("s3://b/1.wav", 16000, caption="first"), "a"],
            [2, None, "b"],
            [3, Audio("s3://b/3.wav"), None],
        ],
    )
    path = tmp_path / "t.parquet"
    path.write_bytes(table.to_parquet_bytes())
    assert dict(read_schema(path).media) == {"audio": "audio"}
    result = run_query(Query(filters=(Filter("audio", "contains", "3.wav"),)), {"t": path})
    assert [r["song_id"] for r in result.rows] == [3]
    first = run_query(Query(sort=(Sort("audio"),)), {"t": path}).rows[0]["audio"]
    assert (first["uri"], first["sample_rate"], first["caption"]) == ("s3://b/1.wav", 16000, "first")
    assert run_query(Query(filters=(Filter("audio", "is_null"),)), {"t": path}).rows[0]["song_id"] == 2
