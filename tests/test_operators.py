"""The operator table, case by case: every operator and every spelling of it (a new operator is one
row in ``shanty/query/operators.py`` plus one line in ``OPERATOR_CASES`` here).

``OPERATOR_CASES``: one condition (a filter, or an expression's text) -> the ids of the ``SONGS`` rows it
keeps, or a fragment of the compiled SQL and the bound values. ``PARSE_TEXT_CASES``: what a value typed
into the UI becomes for each operator and column kind.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from shanty.errors import QueryError
from shanty.query.compile import compile_count
from shanty.query.expr import parse_expression, tokenize
from shanty.query.operators import OPERATORS, find_operator, parse_filter_text
from shanty.query.run import run_query
from shanty.query.spec import Filter, Query
from shanty.query.sql import SourceParam
from tests.kits.songs import SCHEMA, SONGS, where


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
