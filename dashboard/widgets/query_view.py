"""The query-driven part shared by the table and join views: controls, one page, summaries."""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from dashboard.widgets.deeplink import clear_note, link_value, note, publish
from dashboard.widgets.media_links import cells_for_page, table_columns
from dashboard.widgets.media_table import media_table
from dashboard.widgets.plain import plain
from dashboard.widgets.query_controls import PAGE_SIZES, filter_editor, grouping_editor, toggle_sort
from shanty import ArtifactVersion, Query, QueryError, QueryResult, ShantyError, TableSchema, format_number, run_query

_QUERY_WIDGETS = "query-widget:"  # prefix of the keys of widgets that edit the query (cleared on reset)


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


def controls(query: Query, schema: TableSchema, view: str) -> Query:
    """Filters, expression, match mode and grouping in an expander."""
    with st.expander("Filter and group", expanded=bool(query.filters or query.expression or query.group_by)):
        query = filter_editor(query, schema, key=f"{_QUERY_WIDGETS}filters")
        expression = st.text_input(
            "Expression",
            key=f"{_QUERY_WIDGETS}expression-{view}",
            value=query.expression or "",
            placeholder="instrument = 'flute' and (pitch_hz > 300 or song_id startswith 'orca')",
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


def run_or_explain(query: Query, sources: dict[str, Any], view: str) -> QueryResult:
    """Run the query; on a user mistake show the sentence and a button that resets the view, and stop."""
    try:
        with st.spinner("Running the query...", show_time=True):
            return run_query(query, sources)
    except ShantyError as exc:
        st.error(plain(exc))
        if st.button("Reset the view", help="forget the filters, expression, grouping and sort"):
            reset_view(view)
            st.rerun()
        st.stop()


def page_of_rows(query: Query, result: QueryResult, versions: ArtifactVersion | dict[str, ArtifactVersion]) -> Query:
    """Row count, paging widgets and the media table; returns the query after header clicks / paging.

    A page past the end (from a link) gets a note and becomes the last page.
    """
    last = max(result.page_count, 1)
    if query.page > last:
        note(
            "page",
            f"Page {query.page:,} does not exist: there {'is 1 page' if last == 1 else f'are {last:,} pages'}, so this is page {last:,}.",
        )
        return dataclasses.replace(query, page=last)
    info, size_box, page_box = st.columns([4, 1, 1], vertical_alignment="bottom")
    noun = "groups" if result.grouped else "rows"
    info.markdown(f"**{format_number(result.total_rows)} {noun}** · page {result.page:,} of {last:,}")
    default_size = PAGE_SIZES.index(query.page_size) if query.page_size in PAGE_SIZES else 2
    page_size = size_box.selectbox("Rows per page", PAGE_SIZES, index=default_size)
    page = page_box.number_input("Page", min_value=1, max_value=last, value=query.page)
    if page_size != query.page_size:
        return dataclasses.replace(query, page_size=page_size, page=1)
    if page != query.page:
        clear_note("page")
        return dataclasses.replace(query, page=int(page))
    sort = query.sort[0] if query.sort else None
    clicked = media_table(
        columns=table_columns(result),
        rows=cells_for_page(result, versions, st.context.timezone),
        sort={"column": sort.column, "descending": sort.descending} if sort else None,
        key="media-table",
    )
    if clicked and not result.grouped:
        return toggle_sort(query, clicked["column"])
    return query


def keep(query: Query, **url: Any) -> None:
    """Store the query and the view in the URL; rerun when the query changed."""
    url["q"] = query.to_url_token() if query != Query() else None
    publish(**url)
    if query != st.session_state.query:
        st.session_state.query = query
        st.rerun()
