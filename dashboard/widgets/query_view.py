"""The query-driven part shared by the table and join views: sidebar controls, one page of the media table
(with statistics in its headers), the URL."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from dashboard.widgets.deeplink import clear_note, first_run, link_value, note, publish
from dashboard.widgets.header_stats import header_stats
from dashboard.widgets.media_links import cells_for_page, group_keys, table_columns
from dashboard.widgets.media_table import media_table
from dashboard.widgets.plain import plain
from dashboard.widgets.query_controls import PAGE_SIZES, apply_action, filter_editor, grouping_editor
from shanty import ArtifactVersion, Query, QueryError, QueryResult, ShantyError, TableSchema, format_number, run_query
from shanty.query import FILTER_OPS

_QUERY_WIDGETS = "query-widget:"  # prefix of the keys of widgets that edit the query (cleared on reset)
_OPEN_ROW = "media-table-open-row"  # the row the inspector opens on the next run (a step past the page's edge)
_TABLE = "media-table"  # the media table's key: its pending action is in st.session_state[_TABLE]
_DONE = "media-table-done"  # the nonce of the last action applied (an action is applied once)


def load_query(view: str) -> Query:
    """The view's Query: from session state, else from the link (``q``, on a visit's first run), else the
    whole table. A link whose query cannot be read gets a note and the whole table."""
    if st.session_state.get("query_view") != view:
        st.session_state.query = Query()
        token = link_value("q")
        if token is not None:
            try:
                st.session_state.query = Query.from_url_token(token)
            except QueryError as exc:
                note("q", f"The link's query could not be read ({exc}); showing the whole table.")
        st.session_state.query_view = view
    return st.session_state.query


def reset_view(view: str) -> None:
    """Forget the view's query and what its widgets hold (the expression text included)."""
    st.session_state.query = Query()
    st.session_state.query_view = view
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(_QUERY_WIDGETS)]:
        del st.session_state[key]
    clear_note("q")


def controls(query: Query, schema: TableSchema, view: str, box: Any = None) -> Query:
    """Filters, expression, match mode, shown columns and grouping: in the sidebar (or ``box``, a container
    in it), so the table's first rows are in the first screen (headers also sort, filter and group)."""
    with box if box is not None else st.sidebar:
        st.subheader("Filter and group", divider="gray")
        query = filter_editor(query, schema, key=f"{_QUERY_WIDGETS}filters")
        expression = st.text_input(
            "Expression",
            key=f"{_QUERY_WIDGETS}expression-{view}",
            value=query.expression or "",
            placeholder="instrument = 'flute' and pitch_hz > 300",
        )
        if (expression or None) != query.expression:
            query = dataclasses.replace(query, expression=expression or None, page=1)
        match = st.radio(
            "Filters must",
            ["all", "any"],
            index=["all", "any"].index(query.match),
            horizontal=True,
            format_func=lambda m: f"match {m}",
        )
        if match != query.match:
            query = dataclasses.replace(query, match=match, page=1)
        shown = st.multiselect("Columns shown (none = all)", list(schema.columns), default=list(query.columns or ()))
        if tuple(shown) != tuple(query.columns or ()):
            query = dataclasses.replace(query, columns=tuple(shown) or None)
        return grouping_editor(query, schema, key=f"{_QUERY_WIDGETS}grouping")


def run_or_explain(
    query: Query, sources: Mapping[str, Any], view: str, before_stop: Callable[[], Any] | None = None
) -> QueryResult:
    """Run the query; on a user mistake show the sentence and a button that resets the view, and stop
    (after ``before_stop``, which draws what the page still needs, e.g. the controls that fix it)."""
    try:
        with st.spinner("Running the query...", show_time=True):
            return run_query(query, sources)
    except ShantyError as exc:
        st.error(plain(exc))
        if before_stop is not None:
            before_stop()
        if st.button("Reset the view", help="forget the filters, expression, grouping and sort"):
            reset_view(view)
            st.rerun()
        st.stop()


def _open_row() -> int | None:
    """The row to open in the inspector: the link's (``row``, 1-based, read on a visit's first run) or the
    one a step past the page's edge asked for. It is sent until a run completes without a rerun
    (:func:`keep`): the browser may draw only the last of several quick runs, and opens a row once."""
    linked = link_value("row")
    if linked is not None and linked.isdigit() and int(linked) >= 1:
        st.session_state[_OPEN_ROW] = int(linked) - 1
    return st.session_state.get(_OPEN_ROW)


def take_action(query: Query, schema: TableSchema) -> Query:
    """The query after what the user did in the media table since the last run (a header sort, filter or
    grouping, a group opened, a step past the page's edge), applied *before* the query runs, so the
    next rows come in this run. A filter that cannot be used gets a sentence and changes nothing."""
    pending = st.session_state.get(_TABLE)
    action = pending.get("action") if hasattr(pending, "get") else None
    if not isinstance(action, dict) or action.get("nonce") == st.session_state.get(_DONE):
        return query
    st.session_state[_DONE] = action.get("nonce")
    try:
        changed = apply_action(query, action, schema)
    except QueryError as exc:
        st.error(f"That filter cannot be used: {plain(exc)}")
        return query
    if action.get("type") == "page" and changed.page != query.page:
        st.session_state[_OPEN_ROW] = 0 if changed.page > query.page else -1
    return changed


def page_of_rows(
    query: Query,
    result: QueryResult,
    versions: ArtifactVersion | dict[str, ArtifactVersion],
    sources: Mapping[str, str | os.PathLike[str]],
    schema: TableSchema,
    view: str,
    pinned: list[str] | None = None,
    rows_first: bool = False,
) -> Query:
    """Row count and paging in one line, then the media table with statistics in its headers; returns
    the query after the paging widgets (the table's own actions are :func:`take_action`'s).

    ``rows_first`` draws the table before the paging widgets above it (on a visit's first run they
    cannot have changed): the browser then shows rows before it loads the widgets' code.
    A page past the end (from a link) gets a note and becomes the last page.
    """
    last = max(result.page_count, 1)
    if query.page > last:
        note(
            "page",
            f"Page {query.page:,} does not exist: there {'is 1 page' if last == 1 else f'are {last:,} pages'}, so this is page {last:,}.",
        )
        return dataclasses.replace(query, page=last)
    line = st.container()

    def paging() -> Query:
        info, size_box, page_box = line.columns([6, 1, 1], vertical_alignment="center")
        noun = "groups" if result.grouped else "rows"
        filtered = " (filtered)" if query.filters or query.expression else ""
        info.markdown(f"**{format_number(result.total_rows)} {noun}**{filtered} · page {result.page:,} of {last:,}")
        default_size = PAGE_SIZES.index(query.page_size) if query.page_size in PAGE_SIZES else 2
        page_size = size_box.selectbox(
            "Rows per page",
            PAGE_SIZES,
            index=default_size,
            label_visibility="collapsed",
            format_func=lambda n: f"{n} / page",
        )
        page = page_box.number_input(
            "Page", min_value=1, max_value=last, value=query.page, label_visibility="collapsed"
        )
        if page_size != query.page_size:
            return dataclasses.replace(query, page_size=page_size, page=1)
        if page != query.page:
            clear_note("page")
            return dataclasses.replace(query, page=int(page))
        return query

    if not rows_first:
        changed = paging()
        if changed != query:
            return changed
    sort = query.sort[0] if query.sort else None
    keys = query.group_by.columns if query.group_by else ()
    # Statistics not worked out yet come right after the rows: they would delay the first row.
    stats = header_stats(query, result, sources, st.context.timezone, wait=False)
    media_table(
        table_columns(result, stats, keys),
        cells_for_page(result, versions, st.context.timezone),
        key=_TABLE,
        view_key=f"{view}|{','.join(result.columns)}",
        sort={"column": sort.column, "descending": sort.descending} if sort else None,
        pinned=list(keys) if result.grouped else (pinned or list(result.columns[:1])),
        grouped=result.grouped,
        operators=list(FILTER_OPS),
        paging={
            "offset": (result.page - 1) * result.page_size,
            "total": result.total_rows,
            "has_next": result.page < last,
            "has_previous": result.page > 1,
        },
        open_row=_open_row(),
        group_keys=group_keys(result, keys),
        stats_pending=stats is None,
    )
    if stats is None:
        header_stats(query, result, sources, st.context.timezone, wait=True)
        st.session_state.query = query  # what this run showed (an action may have changed it)
        st.rerun()  # the same view again, now with its statistics
    return paging() if rows_first else query


def query_page(
    base: Query,
    schema: TableSchema,
    sources: Mapping[str, str | os.PathLike[str]],
    versions: ArtifactVersion | dict[str, ArtifactVersion],
    view: str,
    pinned: list[str] | None = None,
) -> Query:
    """The query-driven part of a view: sidebar controls, the table's actions, the query, one page of the
    media table; returns the query to :func:`keep`.

    On a visit's first run nothing in the sidebar or the paging line can have changed yet, so the rows
    are drawn first and the widgets after them: the first row does not wait for the widgets' code.
    """
    box = st.sidebar.container()
    rows_first = first_run()
    query = base if rows_first else controls(base, schema, view, box)
    query = take_action(query, schema)
    # A query that fails stops the page: in rows-first order its controls (which can fix it) are drawn first.
    fix = (lambda: controls(query, schema, view, box)) if rows_first else None
    result = run_or_explain(query, sources, view, before_stop=fix)
    query = page_of_rows(query, result, versions, sources, schema, view, pinned, rows_first=rows_first)
    return controls(query, schema, view, box) if rows_first else query


def keep(query: Query, **url: Any) -> None:
    """Store the query and the view in the URL; rerun when the query changed."""
    url["q"] = query.to_url_token() if query != Query() else None
    if not first_run():
        url["row"] = None  # the inspector's row is the browser's; a link's row is read on the first run only
    publish(**url)
    if query != st.session_state.query:
        st.session_state.query = query
        st.rerun()
    st.session_state.pop(_OPEN_ROW, None)  # this run is the one the browser shows
