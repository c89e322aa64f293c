"""What the media table sends back (header clicks, menus, groups, paging) turns into Queries: a table of cases,
and the header statistics drawn for a view."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.widgets.header_stats import header_stats
from dashboard.widgets.media_links import group_keys, table_columns
from dashboard.widgets.query_controls import apply_action
from shanty import Aggregate, Filter, GroupBy, Query, QueryError, Sort, TableSchema, run_query

SCHEMA = TableSchema(
    {"id": "BIGINT", "title": "VARCHAR", "score": "DOUBLE", "audio": "STRUCT(uri VARCHAR)"}, {"audio": "audio"}
)
SORTED = Query(sort=(Sort("score"),), page=4)
FILTERED = Query(filters=(Filter("score", "between", (0.1, 0.2)), Filter("title", "=", "a")), page=2)
GROUPED = Query(
    filters=(Filter("title", "=", "x"), Filter("id", ">", 1)),
    group_by=GroupBy(("title", "audio"), (Aggregate("count"),)),
    sort=(Sort("count", True),),
)

CASES = [
    # (name, query before, action, query after)
    ("no action", SORTED, None, SORTED),
    ("unknown type", SORTED, {"type": "dance", "column": "id"}, SORTED),
    ("name click sorts ascending", Query(page=3), {"type": "sort", "column": "id"}, Query(sort=(Sort("id"),))),
    ("second click descends", SORTED, {"type": "sort", "column": "score"}, Query(sort=(Sort("score", True),))),
    ("menu: descending", SORTED, {"type": "sort", "column": "id", "descending": True}, Query(sort=(Sort("id", True),))),
    ("menu: clear", SORTED, {"type": "sort", "column": "score", "clear": True}, Query()),
    (
        "bar click adds a range",
        SORTED,
        {"type": "filter", "column": "score", "op": "between", "value": [0.5, 0.75]},
        Query(sort=(Sort("score"),), filters=(Filter("score", "between", (0.5, 0.75)),)),
    ),
    (
        "another bar moves the range",
        FILTERED,
        {"type": "filter", "column": "score", "op": "between", "value": [0.3, 0.4]},
        Query(filters=(Filter("title", "=", "a"), Filter("score", "between", (0.3, 0.4)))),
    ),
    (
        "a value click keeps other operators",
        FILTERED,
        {"type": "filter", "column": "score", "op": "=", "value": 0.5},
        Query(filters=(*FILTERED.filters, Filter("score", "=", 0.5))),
    ),
    (
        "typed filter is parsed by the operator table",
        Query(),
        {"type": "filter_text", "column": "id", "op": "in", "text": "1, 2"},
        Query(filters=(Filter("id", "in", (1, 2)),)),
    ),
    (
        "typed filter on a media column reads text",
        Query(),
        {"type": "filter_text", "column": "audio", "op": "contains", "text": "whale"},
        Query(filters=(Filter("audio", "contains", "whale"),)),
    ),
    (
        "group from the header: counts, means, samples, largest first",
        Query(page=5),
        {"type": "group", "column": "title"},
        Query(
            group_by=GroupBy(("title",), (Aggregate("count"), Aggregate("mean", "id"), Aggregate("mean", "score")), 3),
            sort=(Sort("count", True),),
        ),
    ),
    (
        "opening a group filters to its keys and ungroups",
        GROUPED,
        {"type": "open_group", "row": 0, "keys": {"title": "y", "audio": None}},
        Query(filters=(Filter("id", ">", 1), Filter("title", "=", "y"), Filter("audio", "is_null"))),
    ),
    ("opening without keys changes nothing", GROUPED, {"type": "open_group", "row": 0}, GROUPED),
    ("next page", SORTED, {"type": "page", "delta": 1}, Query(sort=(Sort("score"),), page=5)),
    ("previous page, never below 1", Query(), {"type": "page", "delta": -1}, Query()),
]


@pytest.mark.parametrize(("before", "action", "after"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_actions(before: Query, action: dict | None, after: Query) -> None:
    assert apply_action(before, action, SCHEMA) == after


@pytest.mark.parametrize(
    "action",
    [
        {"type": "filter_text", "column": "id", "op": ">", "text": "many"},
        {"type": "filter_text", "column": "id", "op": "between", "text": "1"},
    ],
)
def test_a_typed_filter_that_does_not_fit_is_a_query_error(action: dict) -> None:
    with pytest.raises(QueryError):
        apply_action(Query(), action, SCHEMA)


def test_header_statistics_of_a_view(songs: dict[str, Path]) -> None:
    query = Query(filters=(Filter("plays", ">=", 3),))
    result = run_query(query, songs)
    stats = header_stats(query, result, songs)
    assert "audio" not in stats  # media columns get no statistics
    plays = stats["plays"]
    # plays is a small integer range: one bar per value, a bar filters to that value.
    assert plays["type"] == "histogram" and plays["discrete"] is True
    assert sum(plays["counts"]) == result.total_rows == 4
    assert plays["labels"][0] == "3" and plays["edges"][0] == 3
    live = stats["live"]
    assert live["type"] == "top" and [v["value"] for v in live["values"]] == [True, False]
    assert [v["count_label"] for v in live["values"]] == ["2", "1"]
    # The next view with the same rows finds them ready; a new filter does not, unless asked to wait.
    assert header_stats(query.__class__(filters=query.filters, sort=(Sort("id"),)), result, songs, wait=False) == stats
    other = Query(filters=(Filter("plays", ">=", 4),))
    assert header_stats(other, run_query(other, songs), songs, wait=False) is None


def test_columns_say_what_their_header_offers(songs: dict[str, Path]) -> None:
    grouped = Query(group_by=GroupBy(("live",), (Aggregate("count"),), samples=2))
    result = run_query(grouped, songs)
    specs = {c["name"]: c for c in table_columns(result, {}, ("live",))}
    assert specs["live"]["sortable"] and specs["live"]["filterable"] and not specs["live"]["groupable"]
    assert specs["count"]["sortable"] and not specs["count"]["filterable"]
    assert not specs["samples(audio)"]["sortable"]
    keys = group_keys(result, ("live",))
    assert keys == [{"live": row["live"]} for row in result.rows]
    assert group_keys(run_query(Query(), songs), ()) is None


def test_active_filters_read_as_people_write_them(app) -> None:
    query = Query(
        filters=(Filter("duration_s", "between", (1.5, 1.5749999)), Filter("instrument", "in", ("sax", "oboe")))
    )
    at = app("dashboard/views/table.py", artifact="cshanty/synth_samples", q=query.to_url_token())
    assert not at.exception
    labels = [b.label.replace("\\", "") for b in at.button if b.label.startswith("✕")]  # Markdown escapes removed
    assert labels == ["✕ duration_s between 1.5 and 1.575", "✕ instrument in 'sax', 'oboe'"]
