"""Widgets that edit a :class:`shanty.Query`: filters, expression, grouping, paging.

Each returns a new Query (queries are frozen values); the page keeps the
current one in session state and in the URL (``q``). What a typed value
means and which columns are numeric is the library's call
(:func:`shanty.query.parse_filter_text`, :attr:`shanty.query.TableSchema.kinds`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from dashboard.widgets.plain import plain
from shanty import Aggregate, Filter, GroupBy, Query, QueryError, Sort, format_value
from shanty.query import FILTER_OPS, TableSchema, parse_filter_text

__all__ = ["PAGE_SIZES", "apply_action", "filter_editor", "filter_value", "group_by", "grouping_editor", "toggle_sort"]

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


def _shown(item: Filter) -> str:
    """A filter's value as people read it: ``1.5 and 1.575`` for a range, ``'a', 'b'`` for a list."""
    if item.value is None:
        return ""
    values = item.value if isinstance(item.value, list | tuple) else [item.value]
    texts = [repr(v) if isinstance(v, str) else format_value(v) for v in values]
    return " " + (" and ".join(texts) if item.op in ("between",) else ", ".join(texts))


def filter_editor(query: Query, schema: TableSchema, key: str) -> Query:
    """Show the active filters (removable) and a form to add one."""
    for index, item in enumerate(query.filters):
        if st.button(
            plain(f"✕ {item.column} {item.op}{_shown(item)}"), key=f"{key}-rm-{index}", help="remove this filter"
        ):
            remaining = query.filters[:index] + query.filters[index + 1 :]
            return dataclasses.replace(query, filters=remaining, page=1)
    with st.form(f"{key}-add", clear_on_submit=True, border=False):
        # Stacked for the sidebar: column and operator, then the value and the button.
        left, right = st.columns([3, 2])
        column = left.selectbox("Column", list(schema.columns), key=f"{key}-col")
        op = right.selectbox("Operator", FILTER_OPS, key=f"{key}-op")
        value_box, button = st.columns([3, 2], vertical_alignment="bottom")
        raw = value_box.text_input("Value", key=f"{key}-value", placeholder="a, b for in / between")
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
    widget, seen = f"{key}-group", f"{key}-group-seen"
    if st.session_state.get(seen) != current:
        # The grouping changed elsewhere (a header menu, a group opened, a link): the box shows it.
        st.session_state[widget] = current
        st.session_state[seen] = current
    chosen = st.multiselect("Group by", list(schema.columns), key=widget)
    st.session_state[seen] = chosen
    return query if chosen == current else group_by(query, schema, chosen)


def group_by(query: Query, schema: TableSchema, columns: list[str]) -> Query:
    """``query`` grouped by ``columns`` (none: ungrouped), with counts, means of up to three numeric
    columns and three media samples per group, largest groups first."""
    if not columns:
        return dataclasses.replace(query, group_by=None, sort=(), page=1)
    numeric = [c for c, kind in schema.kinds.items() if c not in columns and kind == "number"]
    aggregates = (Aggregate("count"), *(Aggregate("mean", c) for c in numeric[:3]))
    samples = 3 if any(c not in columns for c in schema.media) else 0
    grouping = GroupBy(tuple(columns), aggregates, samples)
    return dataclasses.replace(query, group_by=grouping, sort=(Sort(aggregates[0].name, descending=True),), page=1)


def filter_value(value: Any) -> Any:
    """A cell's value as the media table sends it back to become a Filter (JSON): text, numbers,
    booleans and None as they are, a media cell by its uri, a date or time as ISO text."""
    if isinstance(value, dict):
        return value.get("uri")
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _with_filter(query: Query, added: Filter) -> Query:
    # A header click on a column replaces the filter an earlier click put there (same operator), so
    # clicking another bar or value moves the filter instead of intersecting it away.
    kept = tuple(f for f in query.filters if not (f.column == added.column and f.op == added.op))
    return dataclasses.replace(query, filters=(*kept, added), page=1)


def apply_action(query: Query, action: dict[str, Any] | None, schema: TableSchema) -> Query:
    """The query after the media table's ``action`` (see :mod:`dashboard.widgets.media_table`).

    Raises QueryError for a filter that cannot be used (a typed value that does not fit its column);
    unknown actions change nothing.
    """
    if not action:
        return query
    kind, column = action.get("type"), action.get("column")
    if kind == "sort" and column:
        if action.get("clear"):
            return dataclasses.replace(query, sort=tuple(s for s in query.sort if s.column != column), page=1)
        if "descending" in action:
            return dataclasses.replace(query, sort=(Sort(column, descending=bool(action["descending"])),), page=1)
        return toggle_sort(query, column)
    if kind == "filter" and column:
        return _with_filter(query, Filter(column, action.get("op", "="), action.get("value")))
    if kind == "filter_text" and column:
        kinds = {**schema.kinds, **{c: "text" for c in schema.media}}
        value = parse_filter_text(action.get("op", "="), str(action.get("text", "")), kinds.get(column, "text"), column)
        return _with_filter(query, Filter(column, action.get("op", "="), value))
    if kind == "group" and column:
        return group_by(query, schema, [column])
    if kind == "open_group" and query.group_by is not None and isinstance(action.get("keys"), dict):
        # The group's key values, as the table sent them (raw, a media key by its uri).
        filters = []
        for key in query.group_by.columns:
            value = action["keys"].get(key)
            filters.append(Filter(key, "is_null") if value is None else Filter(key, "=", value))
        kept = tuple(f for f in query.filters if f.column not in query.group_by.columns)
        return dataclasses.replace(query, group_by=None, sort=(), filters=(*kept, *filters), page=1)
    if kind == "page":
        step = 1 if action.get("delta", 1) > 0 else -1
        return dataclasses.replace(query, page=max(1, query.page + step))
    return query
