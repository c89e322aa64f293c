"""Widgets that edit a :class:`shanty.Query`: filters, expression, grouping, paging.

Each returns a new Query (queries are frozen values); the page keeps the
current one in session state and in the URL (``q``). What a typed value
means and which columns are numeric is the library's call
(:func:`shanty.query.parse_filter_text`, :attr:`shanty.query.TableSchema.kinds`).
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from dashboard.widgets.plain import plain
from shanty import Aggregate, Filter, GroupBy, Query, QueryError, Sort
from shanty.query import FILTER_OPS, TableSchema, parse_filter_text

__all__ = ["PAGE_SIZES", "filter_editor", "grouping_editor", "toggle_sort"]

PAGE_SIZES = (10, 25, 50, 100, 200)


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
                value = parse_filter_text(op, raw, schema.kinds[column], column)
                return dataclasses.replace(query, filters=(*query.filters, Filter(column, op, value)), page=1)
            except QueryError as exc:
                st.error(f"That filter cannot be used: {plain(exc)}")
    return query


def grouping_editor(query: Query, schema: TableSchema, key: str) -> Query:
    """Group-by columns, with counts, means of numeric columns and media samples."""
    current = list(query.group_by.columns) if query.group_by else []
    chosen = st.multiselect("Group by", list(schema.columns), default=current, key=f"{key}-group")
    if chosen == current:
        return query
    if not chosen:
        return dataclasses.replace(query, group_by=None, sort=(), page=1)
    numeric = [c for c, kind in schema.kinds.items() if c not in chosen and kind == "number"]
    aggregates = (Aggregate("count"), *(Aggregate("mean", c) for c in numeric[:3]))
    samples = 3 if any(c not in chosen for c in schema.media) else 0
    return dataclasses.replace(query, group_by=GroupBy(tuple(chosen), aggregates, samples), sort=(), page=1)
