"""The query spec and its compiler, as tables of cases (the operators have theirs in test_operators.py).

``SQL_CASES``: spec -> a fragment of the compiled SQL and the bound values.
``RESULT_CASES``: spec -> the ids of the rows it returns from ``SONGS``.
Also: serialisation round trips, QueryError for mistakes, injection attempts.

The SONGS table and its ``songs`` fixture are in ``tests/kits/songs.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shanty.errors import QueryError
from shanty.query.compile import compile_count, compile_query, plan_query
from shanty.query.relation import join_prefix, relation_schema
from shanty.query.run import run_query
from shanty.query.spec import (
    AGGREGATE_FUNCTIONS,
    Aggregate,
    Filter,
    GroupBy,
    Join,
    Query,
    Sort,
    TableSchema,
)
from shanty.query.sql import SourceParam
from tests.kits.songs import SCHEMA, SONGS, SONGS_MEDIA, where
from tests.kits.tables import media

SQL_CASES = [
    (
        where(Filter("plays", "=", 1), Filter("plays", "=", 2), match="any"),
        '((l."plays" = CAST($2 AS BIGINT)) OR (l."plays" = CAST($3 AS BIGINT)))',
        [1, 2],
    ),
    (
        where(Filter("plays", "=", 1), expression="live or not score > 1"),
        'WHERE ((l."plays" = CAST($2 AS BIGINT))) AND (l."live" OR (((l."score" > CAST($3 AS BIGINT))) IS NOT TRUE))',
        [1, 1],
    ),
    (  # a selection drawn on a map: the row numbers travel as one bound list, never as SQL text
        Query(rows=(4, 0), filters=(Filter("plays", "=", 1),)),
        'WHERE l."__shanty_row" IN (SELECT unnest($2::BIGINT[])) AND ((l."plays" = CAST($3 AS BIGINT)))',
        [[4, 0], 1],
    ),
]


@pytest.mark.parametrize(("spec", "fragment", "values"), SQL_CASES)
def test_compiled_sql(spec: Query, fragment: str, values: list[Any]) -> None:
    sql, params = compile_count(spec, SCHEMA)
    assert fragment in sql
    assert params[0] == SourceParam("songs")
    assert list(params[1:]) == values
    assert sql.count("$") == len(params)


def test_page_sql_binds_limit_and_offset_and_sorts_by_uri() -> None:
    sql, params = compile_query(Query(sort=(Sort("audio", descending=True),), page=3, page_size=20), SCHEMA)
    assert 'ORDER BY struct_extract(l."audio", \'uri\') DESC NULLS LAST, l."__shanty_row" ASC NULLS LAST' in sql
    assert "LIMIT $2 OFFSET $3" in sql
    assert list(params) == [SourceParam("songs"), 20, 40]


JOIN_SCHEMA = {
    **SCHEMA,
    "synth": TableSchema(
        {"id": "BIGINT", "day": "DATE", "x": "VARCHAR", "audio": "STRUCT(uri VARCHAR)", "sid": "BIGINT"}, SONGS_MEDIA
    ),
}

# join, fragments expected in the page SQL, result columns
JOIN_CASES = [
    (
        Join("synth", ("id",)),
        ['FROM __shanty_src0 AS l JOIN __shanty_src1 AS r ON l."id" = r."id"', 'l."id" AS "id"', 'r."x" AS "synth.x"'],
        ("id", "songs.title", "songs.score", "songs.plays", "songs.live", "songs.day", "songs.tags", "songs.audio"),
    ),
    (Join("synth", ("id",), "left"), ["AS l LEFT JOIN __shanty_src1 AS r ON", 'l."id" AS "id"'], None),
    (
        Join("synth", ("id",), "outer"),
        ["AS l FULL OUTER JOIN __shanty_src1 AS r ON", 'COALESCE(l."id", r."id") AS "id"'],
        None,
    ),
    (Join("synth", ("id", "day")), ['ON l."id" = r."id" AND l."day" = r."day"', 'l."day" AS "day"'], None),
    (Join("synth", ("audio",)), ["ON struct_extract(l.\"audio\", 'uri') = struct_extract(r.\"audio\", 'uri')"], None),
    # W&B's JoinedTable key pair: differently named keys; the right key is not repeated, its namesake is prefixed.
    (
        Join("synth", ("id",), "outer", right_on=("sid",)),
        ['ON l."id" = r."sid"', 'COALESCE(l."id", r."sid") AS "id"', 'r."id" AS "synth.id"'],
        None,
    ),
]


@pytest.mark.parametrize(("join", "fragments", "leading"), JOIN_CASES)
def test_join_sql_and_naming(join: Join, fragments: list[str], leading: tuple[str, ...] | None) -> None:
    plan = plan_query(Query(join=join), JOIN_SCHEMA)
    for fragment in fragments:
        assert fragment in plan.page.sql
    assert list(plan.page.params[:2]) == [SourceParam("songs"), SourceParam("synth")]
    assert plan.columns[: len(join.on)] == join.on
    keyed_on_media = "audio" in join.on
    assert plan.media == ({"audio": "audio"} if keyed_on_media else {"songs.audio": "audio", "synth.audio": "audio"})
    if leading:
        assert plan.columns[: len(leading)] == leading


@pytest.mark.parametrize(
    ("join", "message"),
    [
        (Join("synth", ("id",), right_on=("x",)), "Join key 'id' = 'x' holds number values"),
        (Join("synth", ("id",), right_on=("nope",)), "nope"),
    ],
)
def test_join_key_pair_mistakes(join: Join, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        plan_query(Query(join=join), JOIN_SCHEMA)
    assert message in str(caught.value)


def test_join_key_pair_survives_the_dict_and_url_round_trip() -> None:
    spec = Query(join=Join("synth", ("id",), "left", right_on=("sid",)))
    assert Query.from_dict(spec.to_dict()) == spec
    assert Query.from_url_token(spec.to_url_token()) == spec
    assert Join("synth", ("id",), right_on=("id",)).right_on is None  # same names: the plain join


def test_relation_schema_names_columns_as_the_engine_does() -> None:
    spec = Query(join=Join("synth", ("id",), "outer"))
    joined = relation_schema(spec, JOIN_SCHEMA)
    assert tuple(joined.columns) == plan_query(spec, JOIN_SCHEMA).columns
    assert joined.columns["id"] == "BIGINT" and joined.columns["synth.x"] == "VARCHAR"
    assert dict(joined.media) == {"songs.audio": "audio", "synth.audio": "audio"}
    assert joined.kinds["synth.day"] == "date" and joined.kinds["songs.audio"] == "media"
    assert dict(relation_schema(Query(), SCHEMA).columns) == dict(SCHEMA["songs"].columns)
    with pytest.raises(QueryError, match="Unknown table 'nope'"):
        relation_schema(Query(join=Join("nope", ("id",))), JOIN_SCHEMA)


@pytest.mark.parametrize(
    ("table", "other", "prefix"),
    [
        ("synth_song_samples", None, "synth"),
        ("synth_takes", "synth", "synth2"),
        ("my-table.v2", None, "my"),
        ("_x", None, "t"),
    ],
)
def test_join_prefix(table: str, other: str | None, prefix: str) -> None:
    assert join_prefix(table, other) == prefix


def test_schema_kinds() -> None:
    assert dict(SCHEMA["songs"].kinds) == {
        "id": "number",
        "title": "text",
        "score": "number",
        "plays": "number",
        "live": "bool",
        "day": "date",
        "tags": "other",
        "audio": "media",
        'odd "name"': "text",
    }


# spec, ids of the rows returned (in order)
RESULT_CASES = [
    (Query(), [1, 2, 3, 4, 5, 6]),
    (where(Filter("plays", "=", 0), Filter("title", "contains", "sky"), match="any"), [4, 5]),
    (where(Filter("plays", "=", 10), Filter("live", "=", True)), [1, 4]),
    (where(expression="score >= 0.5 and not live"), [2, 5]),
    (where(expression="not (plays > 5)"), [2, 5, 6]),
    (where(Filter("live", "=", True), expression="plays = 10 or score is null"), [1, 4]),
    (Query(sort=(Sort("plays", descending=True),)), [1, 4, 3, 2, 5, 6]),
    (Query(sort=(Sort("plays"),)), [5, 2, 3, 1, 4, 6]),
    (Query(sort=(Sort("audio"),)), [4, 1, 2, 5, 6, 3]),
    (Query(sort=(Sort("live"), Sort("score", descending=True))), [2, 5, 1, 6, 4, 3]),
    (Query(sort=(Sort("title"),), page=2, page_size=4), [5, 3]),  # byte order: "B" < "b", nulls last
    (Query(page=2, page_size=4), [5, 6]),
    (Query(page=3, page_size=4), []),
    (Query(page=1, page_size=10_000), [1, 2, 3, 4, 5, 6]),
    (Query(rows=(4, 0, 2)), [1, 3, 5]),  # row numbers are 0-based; rows keep table order
    (Query(rows=(4, 0), sort=(Sort("plays", descending=True),)), [1, 5]),
    (Query(rows=()), []),
    (Query(rows=(99,)), []),
]


@pytest.mark.parametrize(("spec", "ids"), RESULT_CASES)
def test_result_rows(songs: dict[str, Path], spec: Query, ids: list[int]) -> None:
    result = run_query(spec, songs)
    assert [row["id"] for row in result.rows] == ids
    assert result.columns == tuple(SONGS)
    assert result.media == {"audio": "audio"}


@pytest.mark.parametrize("rows", [(-1,), ("1",), (True,), "12", 5])
def test_rows_must_be_row_numbers(rows: Any) -> None:
    with pytest.raises(QueryError, match="Query rows must be"):
        Query(rows=rows)
    assert Query.from_url_token(Query(rows=(3, 1)).to_url_token()).rows == (3, 1)


def test_totals_and_page_past_the_end(songs: dict[str, Path]) -> None:
    result = run_query(Query(filters=(Filter("plays", "not_null"),), page=9, page_size=2), songs)
    assert (result.rows, result.total_rows, result.page_count, result.page) == ([], 5, 3, 9)
    empty = run_query(Query(filters=(Filter("plays", ">", 1000),)), songs)
    assert (empty.rows, empty.total_rows, empty.page_count) == ([], 0, 0)


def test_media_cells_come_back_as_dicts_and_columns_can_be_chosen(songs: dict[str, Path]) -> None:
    result = run_query(Query(columns=("audio", "id"), filters=(Filter("id", "=", 4),)), songs)
    assert result.columns == ("audio", "id")
    assert result.rows == [{"audio": media("gs://c/4.flac"), "id": 4}]


GROUP_CASES = [
    (
        GroupBy(("live",), (Aggregate("count"), Aggregate("max", "plays"), Aggregate("sum", "plays"))),
        (),
        [
            {"live": False, "count": 2, "max(plays)": 3, "sum(plays)": 3},
            {"live": True, "count": 3, "max(plays)": 10, "sum(plays)": 20},
            {"live": None, "count": 1, "max(plays)": 7, "sum(plays)": 7},
        ],
    ),
    (
        GroupBy(("live",), (Aggregate("count", "score"), Aggregate("min", "audio"))),
        (Sort("count(score)", descending=True),),
        [
            {"live": True, "count(score)": 3, "min(audio)": "gs://c/4.flac"},
            {"live": False, "count(score)": 2, "min(audio)": "s3://b/a/2.wav"},
            {"live": None, "count(score)": 0, "min(audio)": None},
        ],
    ),
    (
        GroupBy(("live",), (), samples=2),
        (Sort("live", descending=True),),
        [
            {"live": True, "samples(audio)": [media("s3://b/a/1.wav"), media("gs://c/4.flac")]},
            {"live": False, "samples(audio)": [media("s3://b/a/2.wav"), media("s3://b/a/5.wav")]},
            {"live": None, "samples(audio)": []},
        ],
    ),
    (
        GroupBy(("audio",), (Aggregate("mean", "live"),)),
        (Sort("audio", descending=True),),
        [
            {"audio": media("s3://b/b/6.wav"), "mean(live)": 1.0},
            {"audio": media("s3://b/a/5.wav"), "mean(live)": 0.0},
            {"audio": media("s3://b/a/2.wav"), "mean(live)": 0.0},
            {"audio": media("s3://b/a/1.wav"), "mean(live)": 1.0},
            {"audio": media("gs://c/4.flac"), "mean(live)": 1.0},
            {"audio": None, "mean(live)": None},
        ],
    ),
]


@pytest.mark.parametrize(("group", "sort", "expected"), GROUP_CASES)
def test_group_rows(songs: dict[str, Path], group: GroupBy, sort: tuple[Sort, ...], expected: list[dict]) -> None:
    result = run_query(Query(group_by=group, sort=sort), songs)
    assert result.rows == expected
    assert result.grouped and result.total_rows == len(expected)


def test_group_paging_counts_groups_and_filters_first(songs: dict[str, Path]) -> None:
    spec = Query(
        filters=(Filter("plays", "not_null"),),
        group_by=GroupBy(("plays",), (Aggregate("mean", "score"),), samples=1),
        page=2,
        page_size=2,
    )
    result = run_query(spec, songs)
    assert result.total_rows == 4 and result.page_count == 2
    assert result.rows == [
        {"plays": 7, "mean(score)": None, "samples(audio)": []},
        {"plays": 10, "mean(score)": 0.3, "samples(audio)": [media("s3://b/a/1.wav")]},
    ]
    assert result.media == {"samples(audio)": "audio"}


def test_injection_attempts_are_inert(songs: dict[str, Path]) -> None:
    evil = "x'; DROP TABLE t; --"
    for spec in (
        where(Filter(evil, "=", 1)),
        Query(sort=(Sort('id" DESC; DROP TABLE x; --'),)),
        where(expression='`title"; DROP TABLE x; --` = 1'),
    ):
        with pytest.raises(QueryError, match=r"Unknown (sort )?column"):
            run_query(spec, songs)
    assert run_query(where(Filter("title", "contains", "'; DROP")), songs).rows[0]["id"] == 5
    assert run_query(where(expression="title = 'x\\'; DROP TABLE t; --'"), songs).total_rows == 1
    assert run_query(Query(), songs).total_rows == 6  # the file is untouched


ERROR_CASES = [
    (where(Filter("scroe", "=", 1)), "Unknown column 'scroe'; did you mean 'score'?"),
    (where(Filter("Title", "=", "a")), "did you mean 'title'"),
    (Query(sort=(Sort("nope"),)), "Unknown sort column 'nope'; the columns are 'id', 'title'"),
    (Query(columns=("id", "idd")), "Unknown selected column 'idd'"),
    (where(Filter("plays", "=", "lots")), "Column 'plays' holds numbers; 'lots' is not a number."),
    (where(Filter("plays", "=", True)), "compare it with a number"),
    (where(Filter("plays", "=", 10**20)), "too large"),
    (where(Filter("title", "=", False)), "compare it with text"),
    (where(Filter("live", "=", 1)), "compare it with true or false"),
    (where(Filter("day", "<", "yesterday")), "'yesterday' is not a date/time"),
    (where(Filter("day", "<", 5)), "compare it with text like '2024-05-01'"),
    (where(Filter("tags", "=", "sea")), "only 'is null', 'is not null' and 'contains' work on it"),
    (where(expression="plays = title"), "Column 'plays' holds numbers but 'title' holds text"),
    (where(expression="plays > null"), "use 'is null'"),
    (where(expression="title matches title"), "'matches' needs a quoted regular expression"),
    (where(expression="plays"), "holds numbers, not true/false"),
    (
        where(expression="plays >="),
        "Expected a value or a column name after '>=' but the expression ended at position 9.",
    ),
    (Query(group_by=GroupBy(("live",), (Aggregate("mean", "title"),))), "mean needs a column of numbers"),
    (Query(group_by=GroupBy(("live",), (Aggregate("count"), Aggregate("count")))), "both be named 'count'"),
    (Query(group_by=GroupBy(("live",), samples=2), sort=(Sort("samples(audio)"),)), "Unknown sort column"),
    (Query(group_by=GroupBy(("live",)), sort=(Sort("plays"),)), "Unknown sort column 'plays'"),
    (Query(join=Join("other", ("id",))), "Unknown table 'other'"),
]


@pytest.mark.parametrize(("spec", "message"), ERROR_CASES)
def test_mistakes_raise_query_error(spec: Query, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        compile_query(spec, SCHEMA)
    assert message in str(caught.value)


def test_invalid_regex_is_a_query_error(songs: dict[str, Path]) -> None:
    with pytest.raises(QueryError, match="not a valid regular expression"):
        run_query(where(Filter("title", "regex", "(?=lookahead)")), songs)


SPEC_ERRORS = [
    (lambda: Filter("a", "~", 1), "Unknown filter operator '~'"),
    (lambda: Filter("a", "=", None), "use the is_null / not_null filters"),
    (lambda: Filter("a", "between", [1]), "two bounds"),
    (lambda: Filter("a", "in", "abc"), "must be a list"),
    (lambda: Filter("a", "is_null", 3), "takes no value"),
    (lambda: Filter("a", "=", float("nan")), "finite number"),
    (lambda: Filter("", "=", 1), "non-empty string"),
    (lambda: Aggregate("median", "a"), "Unknown aggregate"),
    (lambda: Aggregate("sum"), "needs a column"),
    (lambda: GroupBy(()), "at least one column"),
    (lambda: GroupBy(("a",), samples=99), "from 0 to 10"),
    (lambda: Join("b", ("k",), "cross"), "Unknown join kind"),
    (lambda: Join("b", ("k",), right_on=("a", "b")), "one right key per left key"),
    (lambda: Query(page=0), "page number"),
    (lambda: Query(page_size=10**6), "page size"),
    (lambda: Query(match="some"), "'all' or 'any'"),
    (lambda: Query(columns=("a", "a")), "twice"),
    (lambda: Query.from_dict({"filters": [{"column": "a"}]}), "lacks the field(s) op"),
    (lambda: Query.from_dict({"limit": 3}), "unknown field(s) limit"),
    (lambda: Query.from_dict([1]), "must be a mapping"),
    (lambda: Query.from_dict({"sort": "a"}), "must be a list"),
    (lambda: Query.from_url_token("zgarbage!!"), "damaged"),
    (lambda: Query.from_url_token("q" + "A" * 10), "damaged"),
    (lambda: Query.from_url_token(""), "empty or too long"),
    (lambda: Query.from_url_token("jWzFd"), "must be a mapping"),
]


@pytest.mark.parametrize(("make", "message"), SPEC_ERRORS)
def test_malformed_specs_raise_query_error(make, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        make()
    assert message in str(caught.value)


FULL_SPEC = Query(
    filters=(
        Filter("title", "contains", "é ünïcode \"'"),
        Filter("plays", "between", (1, 2.5)),
        Filter("live", "not in", (True,)),
        Filter("day", ">", dt.date(2024, 1, 1)),
        Filter("score", "is_null"),
    ),
    match="any",
    expression="`a b` = 1 and x != -2.5e3",
    sort=(Sort("plays", descending=True), Sort("title")),
    group_by=GroupBy(("live",), (Aggregate("count"), Aggregate("mean", "score")), samples=3),
    join=Join("synth", ("id", "day"), "outer"),
    columns=("live", "count"),
    page=7,
    page_size=25,
)


@pytest.mark.parametrize("spec", [Query(), FULL_SPEC, Query(page=2), where(Filter("a", "=", 0.1 + 0.2))])
def test_round_trips_are_exact(spec: Query) -> None:
    assert Query.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    token = spec.to_url_token()
    assert Query.from_url_token(token) == spec
    assert all(c.isalnum() or c in "-_" for c in token)
    assert FULL_SPEC.filters[3].value == "2024-01-01"


def test_default_query_serialises_to_nothing() -> None:
    assert Query().to_dict() == {}
    assert len(Query().to_url_token()) < 8


# --- random specs ----------------------------------------------------------------
scalars = st.one_of(
    st.booleans(),
    st.integers(-3, 12),
    st.floats(-1, 12, allow_nan=False),
    st.sampled_from(["Blue", "whale", "2024-01-15", "s3://b/a/", "10", "true", "^[a-z]", "(", ""]),
)
filters = st.builds(
    lambda column, op, value, pair: Filter(
        column,
        op,
        None if op in ("is_null", "not_null") else pair if op in ("between", "in", "not in") else value,
    ),
    st.sampled_from(list(SONGS)),
    st.sampled_from(["=", "!=", "<", ">=", "between", "in", "not in", "contains", "starts_with", "regex", "is_null"]),
    scalars,
    st.lists(scalars, min_size=2, max_size=2),
)
sorts = st.lists(st.builds(Sort, st.sampled_from(list(SONGS)), st.booleans()), max_size=2, unique_by=lambda s: s.column)


def _spec(draw_filters, match, sort, page_size) -> Query:
    return Query(filters=tuple(draw_filters), match=match, sort=tuple(sort), page_size=page_size)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(filters, max_size=3), st.sampled_from(["all", "any"]), sorts, st.integers(1, 4))
def test_random_specs_page_through_every_matching_row_once(songs, draw_filters, match, sort, page_size) -> None:
    try:
        spec = _spec(draw_filters, match, sort, page_size)
        first = run_query(spec, songs)
    except QueryError:
        event("QueryError")
        return
    event(f"ran, {first.total_rows} rows")
    ids = []
    for page in range(1, first.page_count + 2):
        result = run_query(Query(**{**spec.__dict__, "page": page}), songs)
        assert result.total_rows == first.total_rows and len(result.rows) <= page_size
        ids += [row["id"] for row in result.rows]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == first.total_rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.sampled_from(["live", "plays", "audio", "title", "tags"]), min_size=1, max_size=2, unique=True),
    st.lists(
        st.one_of(
            st.just(Aggregate("count")),
            st.builds(Aggregate, st.sampled_from(AGGREGATE_FUNCTIONS), st.sampled_from(list(SONGS))),
        ),
        max_size=3,
        unique_by=lambda a: a.name,
    ),
    st.integers(0, 3),
)
def test_random_groupings_run_or_raise_query_error(songs, columns, aggregates, samples) -> None:
    try:
        result = run_query(Query(group_by=GroupBy(tuple(columns), tuple(aggregates), samples), page_size=3), songs)
    except QueryError:
        event("QueryError")
        return
    event("ran")
    assert len(result.rows) == min(3, result.total_rows)
    assert all(
        len(cells) <= samples for row in result.rows for name, cells in row.items() if name.startswith("samples(")
    )
