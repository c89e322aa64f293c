"""The query spec and its compiler, as tables of cases.

``OPERATOR_CASES``: one condition (a filter, or an expression's text) -> the
ids of the ``SONGS`` rows it keeps, or a fragment of the compiled SQL and the
bound values. Every operator of :mod:`shanty.query.operators`, and every
spelling of it, has a case: a new operator is one row there and one line here.
``SQL_CASES``: spec -> a fragment of the compiled SQL and the bound values.
``RESULT_CASES``: spec -> the ids of the rows it returns from ``SONGS``.
Also: serialisation round trips, QueryError for mistakes, injection attempts.

Table files are written with ``tests.kits.tables.write_table`` (pyarrow, not
the table model, so the file format contract is tested independently).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shanty.errors import QueryError
from shanty.query.compile import compile_count, compile_query, plan_query
from shanty.query.expr import parse_expression, tokenize
from shanty.query.operators import OPERATORS, find_operator, parse_filter_text
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
from tests.kits.tables import media, write_table

SONGS = {
    "id": [1, 2, 3, 4, 5, 6],
    "title": ["Blue Whale", "blue moon", None, "Red Sky", "x'; DROP TABLE t; --", "Whale song"],
    "score": [0.5, 0.9, None, 0.1, 0.7, 0.5],
    "plays": [10, 3, 7, 10, 0, None],
    "live": [True, False, None, True, False, True],
    "day": [dt.date(2024, 1, 1), dt.date(2024, 2, 1), None, dt.date(2023, 12, 31), dt.date(2024, 3, 1), None],
    "tags": [["sea"], [], None, ["sky", "red"], ["sea"], None],
    "audio": ["s3://b/a/1.wav", "s3://b/a/2.wav", None, "gs://c/4.flac", "s3://b/a/5.wav", "s3://b/b/6.wav"],
    'odd "name"': ["q1", "q2", "q3", "q4", "q5", "q6"],
}
SONGS_MEDIA = {"audio": "audio"}
SCHEMA = {
    "songs": TableSchema(
        {
            "id": "BIGINT",
            "title": "VARCHAR",
            "score": "DOUBLE",
            "plays": "BIGINT",
            "live": "BOOLEAN",
            "day": "DATE",
            "tags": "VARCHAR[]",
            "audio": "STRUCT(uri VARCHAR, entry VARCHAR)",
            'odd "name"': "VARCHAR",
        },
        SONGS_MEDIA,
    )
}


@pytest.fixture
def songs(tmp_path: Path) -> dict[str, Path]:
    return {"songs": write_table(tmp_path / "songs.parquet", SONGS, SONGS_MEDIA)}


def where(*filters: Filter, match: str = "all", expression: str | None = None) -> Query:
    return Query(filters=filters, match=match, expression=expression)


class Sql(NamedTuple):
    """A fragment expected in the compiled count SQL, and the values bound after the source path."""

    fragment: str
    values: list[Any]


# condition (a Filter, or an expression's text) -> Sql, or the ids of the SONGS rows it keeps (in order)
OPERATOR_CASES = [
    (Filter("plays", "=", 3), Sql('(l."plays" = CAST($2 AS BIGINT))', [3])),
    (Filter("plays", "==", 3), Sql('(l."plays" = CAST($2 AS BIGINT))', [3])),
    (Filter("plays", "!=", 3), Sql('((l."plays" = CAST($2 AS BIGINT)) IS NOT TRUE)', [3])),
    (Filter("plays", "<>", 3), Sql('((l."plays" = CAST($2 AS BIGINT)) IS NOT TRUE)', [3])),
    (Filter("score", "<", 0.5), Sql('(l."score" < CAST($2 AS DOUBLE))', [0.5])),
    (Filter("score", "<=", "0.5"), Sql('(l."score" <= CAST($2 AS DOUBLE))', [0.5])),
    (Filter("plays", ">", "7"), Sql('(l."plays" > CAST($2 AS BIGINT))', [7])),
    (Filter("plays", ">=", 7.5), Sql('(l."plays" >= CAST($2 AS DOUBLE))', [7.5])),
    (Filter("plays", "between", [1, 5]), Sql("BETWEEN CAST($2 AS BIGINT) AND CAST($3 AS BIGINT)", [1, 5])),
    (Filter("title", "in", ["a", "b"]), Sql('(l."title" IN (CAST($2 AS VARCHAR), CAST($3 AS VARCHAR)))', ["a", "b"])),
    (Filter("title", "not in", ["a"]), Sql('(((l."title" IN (CAST($2 AS VARCHAR)))) IS NOT TRUE)', ["a"])),
    (Filter("title", "in", []), Sql("WHERE (FALSE)", [])),
    (Filter("title", "contains", "Whale"), Sql('contains(lower(l."title"), lower(CAST($2 AS VARCHAR)))', ["Whale"])),
    (Filter("title", "contains", "42"), Sql('contains(l."title", CAST($2 AS VARCHAR))', ["42"])),
    (Filter("title", "starts_with", "Bl"), Sql('starts_with(l."title", CAST($2 AS VARCHAR))', ["Bl"])),
    (Filter("title", "regex", "^B"), Sql('regexp_matches(l."title", CAST($2 AS VARCHAR))', ["^B"])),
    (Filter("title", "ends_with", "Sky"), Sql('ends_with(l."title", CAST($2 AS VARCHAR))', ["Sky"])),
    (Filter("title", "is_null"), Sql('(l."title" IS NULL)', [])),
    (Filter("title", "not_null"), Sql('(l."title" IS NOT NULL)', [])),
    (Filter("audio", "=", "s3://x"), Sql("(struct_extract(l.\"audio\", 'uri') = CAST($2 AS VARCHAR))", ["s3://x"])),
    (Filter("audio", "is_null"), Sql("(struct_extract(l.\"audio\", 'uri') IS NULL)", [])),
    (Filter("plays", "contains", "1"), Sql('contains(CAST(l."plays" AS VARCHAR), CAST($2 AS VARCHAR))', ["1"])),
    (Filter("live", "=", "true"), Sql('(l."live" = CAST($2 AS BOOLEAN))', [True])),
    (Filter("day", ">", "2024-01-15"), Sql('(l."day" > CAST($2 AS DATE))', [dt.date(2024, 1, 15)])),
    (Filter("day", "<", "2024-01-15T10:00"), Sql("CAST($2 AS TIMESTAMP)", [dt.datetime(2024, 1, 15, 10)])),
    (Filter('odd "name"', "=", "q1"), Sql('(l."odd ""name""" = CAST($2 AS VARCHAR))', ["q1"])),
    (Filter("title", "=", "x'; DROP TABLE t; --"), Sql('(l."title" = CAST($2 AS VARCHAR))', ["x'; DROP TABLE t; --"])),
    ("`odd \"name\"` = 'a'", Sql('(l."odd ""name""" = CAST($2 AS VARCHAR))', ["a"])),
    ("   ", Sql("SELECT count(*) FROM __shanty_src0 AS l", [])),
    ("title == 'a'", Sql('(l."title" = CAST($2 AS VARCHAR))', ["a"])),
    ("title <> 'a'", Sql('((l."title" = CAST($2 AS VARCHAR)) IS NOT TRUE)', ["a"])),
    ("title startswith 'Bl'", Sql('starts_with(l."title", CAST($2 AS VARCHAR))', ["Bl"])),
    ("title regex '^B'", Sql('regexp_matches(l."title", CAST($2 AS VARCHAR))', ["^B"])),
    (Filter("title", "=", "Red Sky"), [4]),
    (Filter("title", "!=", "Red Sky"), [1, 2, 3, 5, 6]),
    (Filter("plays", "<", 7), [2, 5]),
    (Filter("plays", "<=", 7), [2, 3, 5]),
    (Filter("score", ">", 0.5), [2, 5]),
    (Filter("score", ">=", 0.5), [1, 2, 5, 6]),
    (Filter("plays", "between", [3, 7]), [2, 3]),
    (Filter("title", "in", ["Red Sky", "blue moon", "nope"]), [2, 4]),
    (Filter("plays", "not in", [10]), [2, 3, 5, 6]),
    (Filter("plays", "in", []), []),
    (Filter("plays", "not in", []), [1, 2, 3, 4, 5, 6]),
    (Filter("title", "contains", "whale"), [1, 6]),
    (Filter("title", "contains", "BLUE"), [1, 2]),
    (Filter("title", "starts_with", "blue"), [2]),
    (Filter("title", "startswith", "blue"), [2]),
    (Filter("title", "regex", "^[A-Z]"), [1, 4, 6]),
    (Filter("title", "matches", "^[A-Z]"), [1, 4, 6]),
    (Filter("score", "is_null"), [3]),
    (Filter("plays", "not_null"), [1, 2, 3, 4, 5]),
    (Filter("audio", "=", "gs://c/4.flac"), [4]),
    (Filter("audio", "starts_with", "s3://b/a/"), [1, 2, 5]),
    (Filter("audio", "contains", "FLAC"), [4]),
    (Filter("audio", "regex", r"/\d\.wav$"), [1, 2, 5, 6]),
    (Filter("audio", "not_null"), [1, 2, 4, 5, 6]),
    (Filter("live", "=", True), [1, 4, 6]),
    (Filter("day", ">=", "2024-01-15"), [2, 5]),
    (Filter("day", "between", ["2024-01-01", "2024-02-01"]), [1, 2]),
    (Filter("tags", "contains", "sea"), [1, 5]),
    (Filter("tags", "is_null"), [3, 6]),
    (Filter("title", "=", "x'; DROP TABLE t; --"), [5]),
    ("plays = 10", [1, 4]),
    ("plays == 10", [1, 4]),
    ("plays != 10", [2, 3, 5, 6]),
    ("plays <> 10", [2, 3, 5, 6]),
    ("plays < 7", [2, 5]),
    ("plays <= 7", [2, 3, 5]),
    ("score > 0.5", [2, 5]),
    ("score >= 0.5", [1, 2, 5, 6]),
    ("plays between 3 and 7", [2, 3]),
    ("plays in (3, 7)", [2, 3]),
    ("plays not in (10)", [2, 3, 5, 6]),
    ("title contains 'whale'", [1, 6]),
    ("title not contains 'whale'", [2, 3, 4, 5]),
    ("title startswith 'blue'", [2]),
    ("title starts_with 'blue'", [2]),
    ("title matches '^[A-Z]'", [1, 4, 6]),
    ("title regex '^[A-Z]'", [1, 4, 6]),
    ("score is null", [3]),
    ("plays is not null", [1, 2, 3, 4, 5]),
    ("audio startswith 's3://b/a/'", [1, 2, 5]),
]


def _case_id(case: Any) -> str:
    condition, _ = case
    return condition if isinstance(condition, str) else f"{condition.column} {condition.op} {condition.value!r}"


@pytest.mark.parametrize(("condition", "expected"), OPERATOR_CASES, ids=[_case_id(c) for c in OPERATOR_CASES])
def test_operator(songs: dict[str, Path], condition: Filter | str, expected: Sql | list[int]) -> None:
    spec = where(condition) if isinstance(condition, Filter) else where(expression=condition)
    if isinstance(expected, Sql):
        sql, params = compile_count(spec, SCHEMA)
        assert expected.fragment in sql
        assert params[0] == SourceParam("songs")
        assert list(params[1:]) == expected.values
        assert sql.count("$") == len(params)
    else:
        result = run_query(spec, songs)
        assert [row["id"] for row in result.rows] == expected
        assert result.columns == tuple(SONGS)
        assert result.media == {"audio": "audio"}


def test_every_operator_has_a_case() -> None:
    # A filter keeps the canonical name; so do the tokens of keywords and symbols.
    filtered = {c.op for c, _ in OPERATOR_CASES if isinstance(c, Filter)}
    written = {token.value for text, _ in OPERATOR_CASES if isinstance(text, str) for token in tokenize(text)}
    tested = filtered | written
    assert [op.name for op in OPERATORS if op.name not in tested] == []


@pytest.mark.parametrize("operator", [op for op in OPERATORS if op.syntax], ids=lambda o: o.name)
def test_expressions_accept_every_spelling(operator) -> None:
    canonical = parse_expression(f"a {operator.name} 'x'")
    for spelling in operator.aliases:
        assert parse_expression(f"a {spelling.upper()} 'x'") == canonical


@pytest.mark.parametrize("operator", OPERATORS, ids=lambda o: o.name)
def test_aliases_are_stored_as_the_canonical_name(operator) -> None:
    value = {"none": None, "scalar": "x", "pair": ["a", "b"], "list": ["a"]}[operator.shape]
    for spelling in (operator.name, *operator.aliases):
        assert Filter("c", spelling, value) == Filter("c", operator.name, value)
        assert find_operator(spelling) is operator


def test_old_url_tokens_with_old_spellings_still_load() -> None:
    old = {
        "filters": [{"column": "t", "op": "starts_with", "value": "a"}, {"column": "t", "op": "regex", "value": "b"}]
    }
    token = "j" + base64.urlsafe_b64encode(json.dumps(old).encode()).decode().rstrip("=")
    spec = Query.from_url_token(token)
    assert [(f.op, f.value) for f in spec.filters] == [("startswith", "a"), ("matches", "b")]
    assert Query.from_url_token(spec.to_url_token()) == spec


class Fails(NamedTuple):
    """The start of the QueryError expected instead of a value."""

    message: str


# op, text typed in the form, the column's kind -> the value, or Fails(start of the QueryError)
PARSE_TEXT_CASES = [
    ("=", " 7 ", "number", 7),
    ("=", "7.5", "number", 7.5),
    (">", "lots", "number", Fails("Column 'c' holds numbers; 'lots' is not a number")),
    ("=", "True", "bool", True),
    ("=", "maybe", "bool", Fails("Column 'c' holds true/false values; compare it with true or false")),
    ("=", " Red Sky ", "text", "Red Sky"),
    ("=", "2024-01-15", "date", "2024-01-15"),
    ("contains", " sky ", "text", " sky "),
    ("starts_with", "12", "number", "12"),
    ("matches", "^a ", "media", "^a "),
    ("=", " s3://b/a.wav ", "media", "s3://b/a.wav"),
    ("in", "1, 2,, 3", "number", [1, 2, 3]),
    ("not in", "a, b", "text", ["a", "b"]),
    ("between", "1, 5", "number", [1, 5]),
    ("between", "1", "number", Fails("between takes two values separated by a comma")),
    ("is_null", "ignored", "text", None),
    ("~", "1", "number", Fails("Unknown filter operator '~'")),
]


@pytest.mark.parametrize(("op", "raw", "kind", "expected"), PARSE_TEXT_CASES)
def test_parse_filter_text(op: str, raw: str, kind: str, expected: Any) -> None:
    if isinstance(expected, Fails):
        with pytest.raises(QueryError) as caught:
            parse_filter_text(op, raw, kind, "c")
        assert str(caught.value).startswith(expected.message)
    else:
        assert parse_filter_text(op, raw, kind, "c") == expected


# spec, fragment expected in the count SQL, bound values after the source path
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
    "synth": TableSchema({"id": "BIGINT", "day": "DATE", "x": "VARCHAR", "audio": "STRUCT(uri VARCHAR)"}, SONGS_MEDIA),
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
]


@pytest.mark.parametrize(("spec", "ids"), RESULT_CASES)
def test_result_rows(songs: dict[str, Path], spec: Query, ids: list[int]) -> None:
    result = run_query(spec, songs)
    assert [row["id"] for row in result.rows] == ids
    assert result.columns == tuple(SONGS)
    assert result.media == {"audio": "audio"}


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
