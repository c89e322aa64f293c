"""Widgets that edit a :class:`shanty.Query`: filters, expression, grouping, paging.

Each returns a new Query (queries are frozen values); the page keeps the
current one in session state and in the URL (``q``).
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from shanty import Aggregate, Filter, GroupBy, Query, QueryError, Sort
from shanty.query.spec import FILTER_OPS, TableSchema

PAGE_SIZES = (10, 25, 50, 100, 200)
_NUMBER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")


def _typed(raw: str, sql_type: str) -> object:
    text = raw.strip()
    upper = sql_type.upper()
    if upper in _NUMBER:
        return int(text)
    if upper in ("DOUBLE", "FLOAT", "REAL") or upper.startswith("DECIMAL"):
        return float(text)
    if upper == "BOOLEAN":
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{raw!r} is not true or false")
        return text.lower() == "true"
    return text


def parse_filter_value(op: str, raw: str, sql_type: str) -> object:
    """The value of a filter typed in a text box, converted to the column's type."""
    if op in ("is_null", "not_null"):
        return None
    if op in ("in", "not in"):
        return [_typed(part, sql_type) for part in raw.split(",") if part.strip()]
    if op == "between":
        parts = [p for p in raw.split(",") if p.strip()]
        if len(parts) != 2:
            raise ValueError("between takes two values separated by a comma, e.g. 1, 5")
        return [_typed(p, sql_type) for p in parts]
    if op in ("contains", "starts_with", "regex") or sql_type.upper().startswith("STRUCT"):
        return raw
    return _typed(raw, sql_type)


def toggle_sort(query: Query, column: str) -> Query:
    """Header click: ascending -> descending -> no sort on that column."""
    current = next((s for s in query.sort if s.column == column), None)
    if current is None:
        sort = (Sort(column),)
    elif not current.descending:
        sort = (Sort(column, descending=True),)
    else:
        sort = ()
    return dataclasses.replace(query, sort=sort, page=1)


def filter_editor(query: Query, schema: TableSchema, key: str) -> Query:
    """Show the active filters (removable) and a form to add one."""
    for index, item in enumerate(query.filters):
        shown = "" if item.value is None else f" {item.value!r}"
        if st.button(f"✕ {item.column} {item.op}{shown}", key=f"{key}-rm-{index}", help="remove this filter"):
            remaining = query.filters[:index] + query.filters[index + 1 :]
            return dataclasses.replace(query, filters=remaining, page=1)
    with st.form(f"{key}-add", clear_on_submit=True, border=False):
        left, middle, right, button = st.columns([3, 2, 3, 1], vertical_alignment="bottom")
        column = left.selectbox("Column", list(schema.columns), key=f"{key}-col")
        op = middle.selectbox("Operator", FILTER_OPS, key=f"{key}-op")
        raw = right.text_input("Value", key=f"{key}-value", placeholder="for in / between: a, b")
        if button.form_submit_button("Add filter"):
            try:
                value = parse_filter_value(op, raw, schema.columns[column])
                return dataclasses.replace(query, filters=(*query.filters, Filter(column, op, value)), page=1)
            except (ValueError, QueryError) as exc:
                st.error(f"That filter cannot be used: {exc}")
    return query


def grouping_editor(query: Query, schema: TableSchema, key: str) -> Query:
    """Group-by columns, with counts, means of numeric columns and media samples."""
    current = list(query.group_by.columns) if query.group_by else []
    chosen = st.multiselect("Group by", list(schema.columns), default=current, key=f"{key}-group")
    if chosen == current:
        return query
    if not chosen:
        return dataclasses.replace(query, group_by=None, sort=(), page=1)
    numeric = [c for c, t in schema.columns.items() if c not in chosen and t.upper() in (*_NUMBER, "DOUBLE", "FLOAT")]
    aggregates = (Aggregate("count"), *(Aggregate("mean", c) for c in numeric[:3]))
    samples = 3 if any(c not in chosen for c in schema.media) else 0
    return dataclasses.replace(query, group_by=GroupBy(tuple(chosen), aggregates, samples), sort=(), page=1)
