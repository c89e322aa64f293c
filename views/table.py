"""Table: play a logged media table; sort, filter, group, page, summarise, export."""

import dataclasses
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from components.deeplink import choose, publish
from components.media_links import cells_for_page
from components.media_table import media_table
from components.query_controls import PAGE_SIZES, filter_editor, grouping_editor, toggle_sort
from components.workspace import workspace_api
from shanty import Query, QueryError, ShantyError, column_summaries, read_schema, run_query
from shanty.export import export_query
from shanty.table_entries import TABLE_SUFFIX

api = workspace_api()
st.title("Table")


@st.cache_data(show_spinner=False)
def _summaries(path: str, stamp: float) -> list:
    return column_summaries(path)


tables = []  # (project, artifact) with at least one table in its latest version
for project in api.projects():
    for info in api.artifacts(project):
        if any(p.endswith(TABLE_SUFFIX) for p in api.artifact(f"{project}/{info.name}:latest").manifest.entries):
            tables.append(f"{project}/{info.name}")
if not tables:
    st.info(
        "No table has been logged yet: `artifact.add(shanty.Table(...), 'name')`, then `run.log_artifact(artifact)`."
    )
    st.stop()

top = st.columns([3, 1, 2])
with top[0]:
    artifact_name = choose("Artifact", tables, key="artifact")
versions = api.versions(artifact_name)
with top[1]:
    version_label = choose("Version", [v.version for v in reversed(versions)], key="version")
version = next(v for v in versions if v.version == version_label)
names = sorted(p.removesuffix(TABLE_SUFFIX) for p in version.manifest.entries if p.endswith(TABLE_SUFFIX))
with top[2]:
    table_name = choose("Table", names, key="table") if names else None
if table_name is None:
    st.warning(f"{version.qualified_name} holds no table; pick another version.")
    st.stop()

path = version.table_file(table_name)
schema = read_schema(path)

# The query lives in session state and in the URL (q); a bad URL falls back to the whole table.
view = f"{artifact_name}:{version_label}/{table_name}"
if st.session_state.get("query_view") != view:
    try:
        st.session_state.query = Query.from_url_token(st.query_params["q"]) if "q" in st.query_params else Query()
    except QueryError as exc:
        st.warning(f"The link's query could not be read ({exc}); showing the whole table.")
        st.session_state.query = Query()
    st.session_state.query_view = view
query: Query = st.session_state.query

with st.expander("Filter and group", expanded=bool(query.filters or query.expression or query.group_by)):
    query = filter_editor(query, schema, key="filters")
    expression = st.text_input(
        "Expression",
        key=f"expression-{view}",
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
    query = grouping_editor(query, schema, key="grouping")

try:
    result = run_query(query, {table_name: path})
except ShantyError as exc:
    st.error(str(exc))
    if st.button("Reset the view"):
        st.session_state.query = Query()
        st.rerun()
    st.stop()

info_col, size_col, page_col = st.columns([4, 1, 1], vertical_alignment="bottom")
noun = "groups" if result.grouped else "rows"
info_col.markdown(f"**{result.total_rows:,} {noun}** · page {result.page} of {max(result.page_count, 1)}")
page_size = size_col.selectbox(
    "Rows per page", PAGE_SIZES, index=PAGE_SIZES.index(query.page_size) if query.page_size in PAGE_SIZES else 2
)
page = page_col.number_input(
    "Page", min_value=1, max_value=max(result.page_count, 1), value=min(query.page, max(result.page_count, 1))
)
if page_size != query.page_size or page != query.page:
    query = dataclasses.replace(query, page_size=page_size, page=1 if page_size != query.page_size else int(page))
    st.session_state.query = query
    st.rerun()

sort = query.sort[0] if query.sort else None
clicked = media_table(
    columns=[{"name": c, "kind": result.media.get(c)} for c in result.columns],
    rows=cells_for_page(result, version),
    sort={"column": sort.column, "descending": sort.descending} if sort else None,
    key="media-table",
)
if clicked and not result.grouped:
    query = toggle_sort(query, clicked["column"])

if query != st.session_state.query:
    st.session_state.query = query
    publish(
        artifact=artifact_name,
        version=version_label,
        table=table_name,
        q=query.to_url_token() if query != Query() else None,
    )
    st.rerun()
publish(
    artifact=artifact_name,
    version=version_label,
    table=table_name,
    q=query.to_url_token() if query != Query() else None,
)

with st.expander("Column summaries"):
    for summary in _summaries(str(path), Path(path).stat().st_mtime):
        st.markdown(
            f"**{summary.name}** · {summary.media or summary.type} · {summary.null_count:,} empty · {summary.distinct_count:,} distinct"
        )
        if summary.histogram is not None:
            edges = summary.histogram.edges
            st.bar_chart(
                pd.DataFrame(
                    {"count": summary.histogram.counts}, index=[f"{edges[i]:.3g}" for i in range(len(edges) - 1)]
                ),
                height=160,
            )
        elif summary.top_values:
            st.dataframe(pd.DataFrame(summary.top_values, columns=["value", "count"]), hide_index=True, height=160)

with st.expander("Export the filtered rows"):
    export_format = st.radio("Format", ["csv", "parquet"], horizontal=True)
    if st.button("Prepare the export"):
        target = Path(tempfile.mkdtemp(prefix="shanty-export-")) / f"{table_name}.{export_format}"
        with st.spinner("Exporting..."):
            written = export_query(query, {table_name: path}, target, export_format)
        st.download_button(f"Download {written:,} rows", target.read_bytes(), file_name=target.name)
