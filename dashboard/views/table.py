"""Table: play a logged media table; sort, filter, group, page, summarise, export."""

import tempfile
from pathlib import Path

import streamlit as st

from dashboard.widgets.charts import histogram_chart
from dashboard.widgets.deeplink import first_run, notes_area
from dashboard.widgets.later import rows_first
from dashboard.widgets.pickers import pick_table
from dashboard.widgets.plain import plain
from dashboard.widgets.query_view import keep, load_query, query_page
from dashboard.workspace import workspace_api
from shanty import (
    EXPORT_FORMATS,
    Query,
    column_summaries,
    export_query,
    format_number,
    format_value,
    read_schema,
)

api = workspace_api()
st.title("Table")
notes_area()


@st.cache_data(show_spinner="Summarising the columns...")
def _summaries(path: str, stamp: float, rows_token: str) -> list:
    return column_summaries(path, where=Query.from_url_token(rows_token))


with rows_first(first_run()):  # on a visit's first run the pickers are drawn after the rows
    with st.sidebar:
        picked = pick_table(api, stacked=True)
    if picked is None:
        st.stop()
    version, table_name, path = picked
    view = f"{version.qualified_name}/{table_name}"
    query = query_page(load_query(view), read_schema(path), {table_name: path}, version, view)
keep(query, artifact=f"{version.project}/{version.source_name}", version=version.version, table=table_name)

with st.expander("Column summaries (of the rows the filters keep)"):
    # Computed on request: charts would otherwise load with (and delay) the first view of the table.
    rows_only = Query(filters=query.filters, match=query.match, expression=query.expression)
    summaries = (
        _summaries(str(path), Path(path).stat().st_mtime if isinstance(path, Path) else 0.0, rows_only.to_url_token())
        if st.toggle("Compute column summaries", key="summaries")
        else []
    )
    for summary in summaries:
        st.markdown(
            f"**{plain(summary.name)}** · {plain(summary.media or summary.type)} · "
            f"{format_number(summary.null_count)} empty · {format_number(summary.distinct_count)} distinct"
            + (f" · {format_value(summary.min)} to {format_value(summary.max)}" if summary.kind == "number" else "")
        )
        if summary.histogram is not None:
            st.altair_chart(histogram_chart(summary.histogram), width="stretch")
        elif summary.top_values:
            st.dataframe(
                {"value": [format_value(v) for v, _ in summary.top_values], "rows": [n for _, n in summary.top_values]},
                hide_index=True,
                height=160,
            )

with st.expander("Export the filtered rows"):
    export_format = st.radio("Format", EXPORT_FORMATS, horizontal=True)
    if st.button("Prepare the export"):
        target = Path(tempfile.mkdtemp(prefix="shanty-export-")) / f"{table_name}.{export_format}"
        bar = st.progress(0.0, text="Exporting...")

        def shown(done: int, total: int | None, _label: str) -> None:
            fraction = done / total if total else 0.0
            bar.progress(min(fraction, 1.0), text=f"Exported {format_number(done)} of {format_number(total or 0)} rows")

        written = export_query(query, {table_name: path}, target, export_format, progress_sink=shown)
        bar.empty()
        st.download_button(f"Download {format_number(written)} rows", target.read_bytes(), file_name=target.name)
