"""Table: play a logged media table; sort, filter, group, page, summarise, export."""

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.widgets.pickers import pick_table
from dashboard.widgets.query_view import controls, keep, load_query, page_of_rows, run_or_explain
from dashboard.workspace import workspace_api
from shanty import EXPORT_FORMATS, column_summaries, export_query, read_schema

api = workspace_api()
st.title("Table")


@st.cache_data(show_spinner=False)
def _summaries(path: str, stamp: float) -> list:
    return column_summaries(path)


picked = pick_table(api)
if picked is None:
    st.stop()
version, table_name, path = picked
view = f"{version.qualified_name}/{table_name}"
url = {"artifact": f"{version.project}/{version.source_name}", "version": version.version, "table": table_name}

query = controls(load_query(view), read_schema(path), view)
result = run_or_explain(query, {table_name: path})
query = page_of_rows(query, result, version)
keep(query, **url)

with st.expander("Column summaries"):
    # Computed on request: charts would otherwise load with (and delay) the first view of the table.
    summaries = (
        _summaries(str(path), Path(path).stat().st_mtime)
        if st.toggle("Compute column summaries", key="summaries")
        else []
    )
    for summary in summaries:
        st.markdown(
            f"**{summary.name}** · {summary.media or summary.type} · {summary.null_count:,} empty · {summary.distinct_count:,} distinct"
        )
        if summary.histogram is not None:
            edges = summary.histogram.edges
            labels = [f"{edges[i]:.3g}" for i in range(len(edges) - 1)]
            st.bar_chart(pd.DataFrame({"count": summary.histogram.counts}, index=labels), height=160)
        elif summary.top_values:
            st.dataframe(pd.DataFrame(summary.top_values, columns=["value", "count"]), hide_index=True, height=160)

with st.expander("Export the filtered rows"):
    export_format = st.radio("Format", EXPORT_FORMATS, horizontal=True)
    if st.button("Prepare the export"):
        target = Path(tempfile.mkdtemp(prefix="shanty-export-")) / f"{table_name}.{export_format}"
        with st.spinner("Exporting..."):
            written = export_query(query, {table_name: path}, target, export_format)
        st.download_button(f"Download {written:,} rows", target.read_bytes(), file_name=target.name)
