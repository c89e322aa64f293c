"""The expression language: parser cases, error cases, and fuzzing.

Fuzzing checks three things: arbitrary text and token soups either parse or
raise QueryError (and what parses then compiles and runs in DuckDB, or raises
QueryError); generated expressions survive render -> parse unchanged; and
DuckDB returns exactly the rows a small Python reference evaluator selects.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from shanty.errors import QueryError
from shanty.query.expr import MAX_DEPTH, TEXT_OPS, parse_expression
from shanty.query.nodes import (
    And,
    Between,
    Column,
    Comparison,
    InList,
    IsNull,
    Literal,
    Not,
    Or,
    TextMatch,
    Truth,
)
from shanty.query.run import run_query
from shanty.query.spec import Query
from tests.kits.tables import write_table

WORD_OPERATORS = [f"'{name}'" for name in TEXT_OPS]

a, b, x = Column("a"), Column("b"), Column("x")


def lit(value: Any) -> Literal:
    return Literal(value)


PARSE_CASES = [
    ("a = 1", Comparison("=", a, lit(1))),
    ("a == 'x'", Comparison("=", a, lit("x"))),
    ("a <> 2", Comparison("!=", a, lit(2))),
    ("a != -2.5", Comparison("!=", a, lit(-2.5))),
    ("A.b.c >= -1.5e3", Comparison(">=", Column("A.b.c"), lit(-1500.0))),
    ("1 < a", Comparison("<", lit(1), a)),
    ("a = .5", Comparison("=", a, lit(0.5))),
    ("a=b", Comparison("=", a, b)),
    ('`weird name` != "q\\"t"', Comparison("!=", Column("weird name"), lit('q"t'))),
    ("`a``b` is null", IsNull(Column("a`b"))),
    ("`and` = 1", Comparison("=", Column("and"), lit(1))),
    ("naïve_col = 1", Comparison("=", Column("naïve_col"), lit(1))),
    ("x IS NOT NULL", IsNull(x, negated=True)),
    (
        "x contains 'a' AND b StartsWith 'c'",
        And((TextMatch("contains", x, lit("a")), TextMatch("startswith", b, lit("c")))),
    ),
    ("x starts_with 'b'", TextMatch("startswith", x, lit("b"))),
    (r"x matches '\d+\.'", TextMatch("matches", x, lit(r"\d+\."))),
    ("x not contains 'a'", Not(TextMatch("contains", x, lit("a")))),
    ("x in (1, 'a', true, null)", InList(x, (lit(1), lit("a"), lit(True), lit(None)))),
    ("x NOT IN (b)", Not(InList(x, (b,)))),
    ("x between 1 and 2 and b", And((Between(x, lit(1), lit(2)), Truth(b)))),
    ("x not between a and 'z'", Not(Between(x, a, lit("z")))),
    ("not not x", Not(Not(Truth(x)))),
    ("a or b and x", Or((Truth(a), And((Truth(b), Truth(x)))))),
    ("(a or b) and x", And((Or((Truth(a), Truth(b))), Truth(x)))),
    ("a or b or x", Or((Truth(a), Truth(b), Truth(x)))),
    ("TRUE", Truth(lit(True))),
    ("x = 'it\\'s'", Comparison("=", x, lit("it's"))),
    ("x = '\\u00e9\\n\\t\\\\'", Comparison("=", x, lit("é\n\t\\"))),
    ("x = ''", Comparison("=", x, lit(""))),
    ("  ( ( a ) )  ", Truth(a)),
    # W&B's docs and SQL quote column names with double quotes: a double-quoted subject is a column,
    # a double-quoted value on the right stays a string.
    ('"correct" = false', Comparison("=", Column("correct"), lit(False))),
    ('"my col" in (1, "two")', InList(Column("my col"), (lit(1), lit("two")))),
    ('"a" is not null and x = "a"', And((IsNull(a, negated=True), Comparison("=", x, lit("a"))))),
    ('not "b"', Not(Truth(b))),
    ("'a' = x", Comparison("=", lit("a"), x)),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES)
def test_parses(text: str, expected: Any) -> None:
    assert parse_expression(text) == expected


ERROR_CASES = [
    ("", "Expected a condition but the expression ended at position 1."),
    ("plays >=", "Expected a value or a column name after '>=' but the expression ended at position 9."),
    ("a = 1 b", "Expected 'and', 'or' or the end of the expression after '1' but found 'b' at position 7."),
    ("a = 'abc", "Unterminated string: close it with ' at position 5."),
    ("`abc", "Unterminated column name: close it with a backquote ` at position 1."),
    ("`` = 1", "Empty column name `` at position 1."),
    ("a in 1", "Expected '(' to open the list after 'in' but found '1' at position 6."),
    ("a in (1, 2", "Expected ',' or ')' in the list after '2' but the expression ended at position 11."),
    ("a in ()", "Expected a value or a column name after '(' but found ')' at position 7."),
    ("a between 1 or 2", "Expected 'and' after '1' but found 'or' at position 13."),
    ("a is nul", "Expected 'null' after 'is' but found 'nul' at position 6."),
    # What may follow 'not' comes from the operator table: every word operator, after 'in' and 'between'.
    ("a not > 1", f"Expected 'in', 'between', {', '.join(WORD_OPERATORS[:-1])} or {WORD_OPERATORS[-1]} after 'not'"),
    ("(a = 1", "Expected ')' after '1' but the expression ended at position 7."),
    ("a = 1.2.3", "Malformed number '1.2.' at position 5."),
    ("a = 1e", "Malformed number '1e' at position 5."),
    ("a = 12abc", "Malformed number '12a' at position 5."),
    ("a = #", "Unexpected character '#' at position 5."),
    ("a = !1", "Unexpected character '!' at position 5."),
    ("a = -", "Expected a value or a column name after '=' but found '-' at position 5."),
    ("a = '\\u12'", "Escape \\u needs four hex digits at position 6."),
    ("a = '\\ud800'", "half of a surrogate pair"),
    ("a = " + "9" * 50, "is too long"),
    ("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1), f"nests deeper than {MAX_DEPTH} levels"),
    ("not " * (MAX_DEPTH + 1) + "a", f"nests deeper than {MAX_DEPTH} levels"),
    ("a" * 5000, "keep it under 4000"),
    ("a = 1 or " * 300 + "a", "more than 1000 parts"),
    ("and", "Expected a value or a column name but found 'and' at position 1."),
]


@pytest.mark.parametrize(("text", "message"), ERROR_CASES)
def test_errors_say_where_and_what(text: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_expression(text)
    assert message in str(caught.value)


def test_depth_limit_is_not_a_recursion_error() -> None:
    # Just inside the limit parses; far beyond it is a QueryError, not RecursionError.
    assert parse_expression("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH) == Truth(a)
    with pytest.raises(QueryError):
        parse_expression("(" * 3000 + "a" + ")" * 3000)


# --- fuzzing -----------------------------------------------------------------
ROWS = {
    "n": [1, 2, None, -3, 2, 0, 5, None, 4, 1],
    "x": [0.5, None, -1.25, 2.0, 0.5, 3.5, None, 0.0, -0.5, 1.5],
    "s": ["apple", "Banana", None, "cherry pie", "", "apple", "a'b", 'q"t', "ZED", None],
    "b": [True, False, None, True, True, False, None, False, True, True],
    "id": list(range(10)),
    "d": [dt.date(2024, 1, i + 1) if i % 3 else None for i in range(10)],
    "m": [f"s3://bucket/{i}.wav" if i % 4 else None for i in range(10)],
    "odd col": ["p", "q", "p", None, "q", "p", "q", "p", None, "q"],
}
COLUMNS = ["n", "x", "s", "b", "d", "m", "`odd col`", "tags"]
SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@pytest.fixture(scope="module")
def fuzz_table(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    path = tmp_path_factory.mktemp("fuzz") / "t.parquet"
    tags = [["a"], None, [], ["b", "c"], None, ["a"], [], None, ["z"], ["a"]]
    return {"t": write_table(path, {**ROWS, "tags": tags}, {"m": "audio"})}


def run_or_query_error(text: str, table: dict[str, Path]) -> None:
    """Parse, compile and run ``text``; the only acceptable failure is a QueryError."""
    try:
        parse_expression(text)
    except QueryError:
        event("did not parse")
        return
    try:
        result = run_query(Query(expression=text, page_size=5), table)
    except QueryError:
        event("compiled or ran into a QueryError")
        return
    event("ran")
    assert result.total_rows <= len(ROWS["id"])


@settings(max_examples=300, deadline=None, suppress_health_check=SUPPRESS)
@given(st.text(max_size=120))
def test_arbitrary_text_parses_or_raises_query_error(fuzz_table: dict[str, Path], text: str) -> None:
    run_or_query_error(text, fuzz_table)


TOKENS = [
    *COLUMNS,
    "nope",
    "and",
    "OR",
    "not",
    "In",
    "is",
    "null",
    "true",
    "false",
    "between",
    "contains",
    "startswith",
    "matches",
    "=",
    "==",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "(",
    ")",
    ",",
    "-",
    "1",
    "2.5",
    "-7",
    "1e3",
    "'apple'",
    "'2024-01-03'",
    "'['",
    "'(?=x)'",
    "'\\d'",
    '"q\\"t"',
    "''",
    "'true'",
    "`",
    "'",
    "99999999999999999999",
]


VALUES = [t for t in TOKENS if t[0] in "'\"-0123456789" or t in ("true", "false", "null")]
COMPARE = ["=", "!=", "<", ">=", "contains", "matches", "startswith", "not contains"]
# Clauses shaped like "column op value" reach the compiler and DuckDB far more often than pure soup;
# a random token now and then keeps the parser's error paths busy.
clause = st.one_of(
    st.tuples(st.sampled_from(COLUMNS), st.sampled_from(COMPARE), st.sampled_from(VALUES + COLUMNS)).map(" ".join),
    st.tuples(
        st.sampled_from(COLUMNS), st.sampled_from(["in", "not in"]), st.lists(st.sampled_from(VALUES), min_size=1)
    ).map(lambda p: f"{p[0]} {p[1]} ({', '.join(p[2])})"),
    st.tuples(st.sampled_from(COLUMNS), st.sampled_from(VALUES), st.sampled_from(VALUES)).map(
        lambda p: f"{p[0]} between {p[1]} and {p[2]}"
    ),
    st.tuples(st.sampled_from(COLUMNS), st.sampled_from(["is null", "is not null", ""])).map(" ".join),
    st.sampled_from(TOKENS),
)
clause = st.one_of(clause, clause.map(lambda c: f"not ({c})"))


@settings(max_examples=300, deadline=None, suppress_health_check=SUPPRESS)
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12), st.sampled_from([" ", ""]))
def test_token_soup_runs_or_raises_query_error(fuzz_table: dict[str, Path], tokens: list[str], glue: str) -> None:
    run_or_query_error(glue.join(tokens), fuzz_table)


@settings(max_examples=300, deadline=None, suppress_health_check=SUPPRESS)
@given(clause, st.lists(st.tuples(st.sampled_from(["and", "OR", "and not"]), clause), max_size=3))
def test_clause_soup_runs_or_raises_query_error(fuzz_table: dict[str, Path], first: str, more: list[tuple]) -> None:
    run_or_query_error(" ".join([first, *(f"{glue} {c}" for glue, c in more)]), fuzz_table)


# Well-typed expressions over (n, x, s, b, `odd col`) with a reference evaluator.
def quote_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render_operand(operand: Column | Literal) -> str:
    if isinstance(operand, Column):
        return operand.name if operand.name.isidentifier() else f"`{operand.name}`"
    if isinstance(operand.value, bool):
        return str(operand.value).lower()
    return quote_text(operand.value) if isinstance(operand.value, str) else repr(operand.value)


def render(node: Any) -> str:
    if isinstance(node, And | Or):
        return f" {'and' if isinstance(node, And) else 'OR'} ".join(f"({render(o)})" for o in node.operands)
    if isinstance(node, Not):
        return f"not ({render(node.operand)})"
    if isinstance(node, Comparison):
        return f"{render_operand(node.left)} {node.op} {render_operand(node.right)}"
    if isinstance(node, TextMatch):
        return f"{render_operand(node.subject)} {node.op} {render_operand(node.pattern)}"
    if isinstance(node, InList):
        return f"{render_operand(node.subject)} in ({', '.join(render_operand(v) for v in node.values)})"
    if isinstance(node, Between):
        return f"{render_operand(node.subject)} between {render_operand(node.low)} and {render_operand(node.high)}"
    if isinstance(node, IsNull):
        return f"{render_operand(node.subject)} is {'not ' if node.negated else ''}null"
    return render_operand(node.operand)


numbers = st.one_of(st.integers(-4, 6).map(Literal), st.floats(-4, 6, allow_nan=False).map(Literal))
texts = st.text(alphabet="abpqAZ '\"\\", max_size=4).map(Literal)
numeric_column = st.sampled_from([Column("n"), Column("x")])
text_column = st.sampled_from([Column("s"), Column("odd col")])
numeric = st.one_of(numeric_column, numbers)
textual = st.one_of(text_column, texts)
OPS = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
leaf = st.one_of(
    st.builds(Comparison, OPS, numeric_column, numeric),
    st.builds(Comparison, OPS, text_column, textual),
    st.builds(TextMatch, st.sampled_from(["contains", "startswith"]), text_column, texts),
    st.builds(InList, numeric_column, st.lists(numbers, min_size=1, max_size=3).map(tuple)),
    st.builds(Between, numeric_column, numbers, numbers),
    st.builds(IsNull, st.sampled_from([Column("n"), Column("s"), Column("b")]), st.booleans()),
    st.just(Truth(Column("b"))),
)
conditions = st.recursive(
    leaf,
    lambda inner: st.one_of(
        inner.map(Not),
        st.lists(inner, min_size=2, max_size=3).map(lambda ops: And(tuple(ops))),
        st.lists(inner, min_size=2, max_size=3).map(lambda ops: Or(tuple(ops))),
    ),
    max_leaves=8,
)


def value_of(operand: Column | Literal, row: dict[str, Any]) -> Any:
    return row[operand.name] if isinstance(operand, Column) else operand.value


def evaluate(node: Any, row: dict[str, Any]) -> bool | None:
    """Three-valued logic as documented: a test on null is null, ``not`` maps null to true."""
    if isinstance(node, And | Or):
        values = [evaluate(o, row) for o in node.operands]
        decisive = isinstance(node, Or)
        if decisive in values:
            return decisive
        return None if None in values else not decisive
    if isinstance(node, Not):
        return evaluate(node.operand, row) is not True
    if isinstance(node, Truth):
        return value_of(node.operand, row)
    if isinstance(node, IsNull):
        return (value_of(node.subject, row) is None) != node.negated
    subject = value_of(node.left if isinstance(node, Comparison) else node.subject, row)
    if isinstance(node, Comparison):
        other = value_of(node.right, row)
        if subject is None or other is None:
            return None if node.op != "!=" else True
        return {"=": subject == other, "!=": subject != other, "<": subject < other, "<=": subject <= other}.get(
            node.op, subject > other if node.op == ">" else subject >= other
        )
    if subject is None:
        return None
    if isinstance(node, TextMatch):
        pattern = node.pattern.value
        return pattern.lower() in subject.lower() if node.op == "contains" else subject.startswith(pattern)
    if isinstance(node, InList):
        return subject in [v.value for v in node.values]
    return node.low.value <= subject <= node.high.value


@settings(max_examples=200, deadline=None, suppress_health_check=SUPPRESS)
@given(conditions)
def test_generated_expressions_round_trip_and_match_the_reference(fuzz_table: dict[str, Path], node: Any) -> None:
    text = render(node)
    assert parse_expression(text) == node
    result = run_query(Query(expression=text, sort=(), columns=("id",), page_size=100), fuzz_table)
    rows = [dict(zip(ROWS, values, strict=True)) for values in zip(*ROWS.values(), strict=True)]
    expected = [row["id"] for row in rows if evaluate(node, row) is True]
    assert [row["id"] for row in result.rows] == expected, text


def test_double_quoted_column_names_run_as_wandb_writes_them(songs: dict[str, Path]) -> None:
    # As W&B's docs write table queries: the subject double-quoted, the value in either quotes.
    result = run_query(Query(expression='"live" = true and "odd \\"name\\"" != "q4"'), songs)
    assert sorted(row["id"] for row in result.rows) == [1, 6]
