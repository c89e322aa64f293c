"""Artifacts: projects -> artifacts -> versions, editable notes and aliases, and a version's files."""

import pandas as pd
import streamlit as st

from dashboard.widgets.deeplink import publish, seed
from dashboard.widgets.pickers import pick_artifact, pick_project, pick_version
from dashboard.workspace import configured_root, load_demo_into, workspace_api
from shanty import Filter, Query, ShantyError, Sort, human_size, run_query

FILES_PAGE_SIZE = 100

api = workspace_api()
st.title("Artifacts")
st.caption(f"Registry: `{api.root}`")

project = pick_project(api)
if project is None:
    st.info(
        "This registry is empty. Log something with `shanty ref add URI --project P --name N --type T`, or load the demo."
    )
    if configured_root() and st.button("Load the demo workspace into this registry"):
        load_demo_into(configured_root())
        st.rerun()
    st.stop()

artifacts = api.artifacts(project)
st.dataframe(
    pd.DataFrame(
        [
            {
                "artifact": a.name,
                "type": a.type,
                "versions": a.version_count,
                "latest": a.latest.version,
                "size": human_size(a.latest.total_size),
            }
            for a in artifacts
        ],
        columns=["artifact", "type", "versions", "latest", "size"],
    ),
    hide_index=True,
    width="stretch",
)
if not artifacts:
    st.stop()

name = pick_artifact([a.name for a in artifacts])
versions = api.versions(f"{project}/{name}")
st.dataframe(
    pd.DataFrame(
        [
            {
                "version": v.version,
                "aliases": ", ".join(v.aliases),
                "created": v.created_at[:19].replace("T", " "),
                "job": v.info.job_type or "",
                "files": v.file_count,
                "size": human_size(v.size),
                "digest": v.digest,
                "note": v.description or "",
            }
            for v in reversed(versions)
        ]
    ),
    hide_index=True,
    width="stretch",
)

version = pick_version(versions)
chosen = version.version

with st.form(f"edit-{project}-{name}-{chosen}"):
    st.subheader(f"{version.qualified_name}")
    note = st.text_area("Note", value=version.description or "")
    aliases = st.text_input(
        "Aliases (comma separated; 'latest' is automatic)", value=", ".join(a for a in version.aliases if a != "latest")
    )
    if st.form_submit_button("Save note and aliases"):
        version.description = note or None
        version.aliases = [a.strip() for a in aliases.split(",") if a.strip()]
        try:
            version.save()
            st.success("Saved.")
            st.rerun()
        except ShantyError as exc:
            st.error(str(exc))

st.subheader(f"Files of {version.version}")
seed("files_q", "")
seed("files_page", 1, int)
search = st.text_input("Search paths", key="files_q")
page_number = st.number_input("Page", min_value=1, step=1, key="files_page")
query = Query(
    filters=(Filter("path", "contains", search),) if search else (),
    sort=(Sort("path"),),
    columns=("path", "size", "digest", "version", "ref"),
    page=int(page_number),
    page_size=FILES_PAGE_SIZE,
)
result = run_query(query, {"manifest": version.manifest_file()})
st.caption(f"{result.total_rows:,} file(s) · page {result.page} of {max(result.page_count, 1)}")
st.dataframe(
    pd.DataFrame(result.rows, columns=list(result.columns)).rename(
        columns={"version": "object version", "ref": "reference"}
    ),
    hide_index=True,
    width="stretch",
)
publish(
    project=project,
    artifact=name,
    version=chosen,
    files_q=search or None,
    files_page=int(page_number) if page_number > 1 else None,
)
