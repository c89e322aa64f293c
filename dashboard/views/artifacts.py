"""Artifacts: projects -> artifacts -> versions, editable notes and aliases, and a version's files."""

import dataclasses

import pandas as pd
import streamlit as st

from dashboard.auth import demo_denied, nothing_readable, write_denied
from dashboard.widgets.deeplink import notes_area, publish, seed, toast_after_rerun
from dashboard.widgets.paging import fit_page, page_input, requested_page
from dashboard.widgets.pickers import pick_artifact, pick_project, pick_version
from dashboard.widgets.plain import plain
from dashboard.workspace import configured_root, load_demo_into, workspace_api
from shanty import (
    EMPTY,
    Filter,
    Query,
    ShantyError,
    Sort,
    format_number,
    format_time,
    format_uri,
    human_size,
    run_query,
)

FILES_PAGE_SIZE = 100

api = workspace_api()
zone = st.context.timezone
st.title("Artifacts")
st.caption(f"Registry: `{format_uri(api.root)}`")
notes_area()

project = pick_project(api)
if project is None:
    hidden = nothing_readable(api.root, api.projects())  # projects exist, none this viewer may read
    st.info(
        hidden
        or "This registry is empty. Log something with `shanty ref add URI --project P --name N --type T`, or load the demo."
    )
    root = configured_root()
    if root:
        # The demo is logged into its own project: with an access policy, only its writers may load it.
        denied = demo_denied(root)
        if st.button("Load the demo workspace into this registry", disabled=denied is not None):
            denied = demo_denied(root, fresh=True)  # asked again: a disabled button is no guard on its own
            if denied is None:
                with st.spinner("Building the demo workspace..."):
                    load_demo_into(root)
                st.rerun()
        if denied:
            st.caption(plain(denied))
    st.stop()

artifacts = api.recent_artifacts(project)
st.dataframe(
    pd.DataFrame(
        [
            {
                "artifact": a.name,
                "type": a.type,
                "versions": format_number(a.version_count),
                "latest": a.latest.version,
                "changed": format_time(a.latest.created_at, zone),
                "files": format_number(a.latest.file_count),
                "size": human_size(a.latest.total_size),
            }
            for a in artifacts
        ],
        columns=["artifact", "type", "versions", "latest", "changed", "files", "size"],
    ),
    hide_index=True,
    width="stretch",
)
for damaged, sentence in api.damaged_artifacts(project).items():
    st.warning(plain(f"{damaged}: {sentence}"), icon=":material/build:")
name = pick_artifact(api, project)
if name is None:
    st.stop()

versions = api.versions(f"{project}/{name}")
st.dataframe(
    pd.DataFrame(
        [
            {
                "version": v.version,
                "aliases": ", ".join(v.aliases) or EMPTY,
                "created": format_time(v.created_at, zone),
                "job": v.info.job_type or EMPTY,
                "files": format_number(v.file_count),
                "size": human_size(v.size),
                "digest": v.digest,
                "note": v.description or EMPTY,
            }
            for v in reversed(versions)
        ]
    ),
    hide_index=True,
    width="stretch",
)

version = pick_version(versions)
chosen = version.version
read_only = write_denied(api.root, project)  # None: this viewer may edit (always, without an access policy)

with st.form(f"edit-{project}-{name}-{chosen}"):
    st.subheader(version.qualified_name)
    if read_only:
        st.info(plain(read_only))
    note_text = st.text_area("Note", value=version.description or "", disabled=read_only is not None)
    aliases = st.text_input(
        "Aliases (comma separated; 'latest' and 'vN' are automatic)",
        value=", ".join(a for a in version.aliases if a != "latest"),
        disabled=read_only is not None,
    )
    if st.form_submit_button("Save note and aliases", disabled=read_only is not None):
        typed = [a.strip() for a in aliases.split(",") if a.strip()]
        is_latest = "latest" in version.aliases
        try:  # the library says which aliases cannot be set, and why ('latest' and 'vN' are derived)
            # Asked again, fresh: a disabled button is no guard against a forged click or a grant revoked since.
            refused = write_denied(api.root, project, fresh=True)
            if refused is None:
                version.description = note_text or None
                version.aliases = typed + (["latest"] if is_latest and "latest" not in typed else [])
                version.save()
        except ShantyError as exc:
            refused = str(exc)
        if refused:
            st.error(f"Nothing was saved: {plain(refused)}")
        else:
            if "latest" in typed:
                toast_after_rerun(f"'latest' needs no setting: it always names the newest version, {chosen}.", "ℹ️")
            toast_after_rerun(f"Saved the note and aliases of {version.qualified_name}.", "✅")
            st.rerun()  # the form shows what was stored

st.subheader(f"Files of {chosen}")
seed("files_q", "")
search = st.text_input("Search paths", key="files_q")
query = Query(
    filters=(Filter("path", "contains", search),) if search else (),
    sort=(Sort("path"),),
    columns=("path", "size", "digest", "version", "ref"),
    page=requested_page("files_page"),
    page_size=FILES_PAGE_SIZE,
)
files = {"manifest": version.manifest_source()}  # scanned in place in a bucket registry
result = run_query(query, files)
if fit_page("files_page", result.page_count) != query.page:
    result = run_query(dataclasses.replace(query, page=st.session_state["files_page"]), files)
info, box = st.columns([5, 1], vertical_alignment="bottom")
info.caption(f"{format_number(result.total_rows)} file(s) · page {result.page} of {max(result.page_count, 1)}")
with box:
    page_input("files_page", result.page_count)
st.dataframe(
    pd.DataFrame(
        [
            {
                "path": row["path"],
                "size": human_size(row["size"]),
                "digest": row["digest"],
                "object version": row["version"] or EMPTY,
                "source": format_uri(row["ref"]) if row["ref"] else "stored in the registry",
            }
            for row in result.rows
        ],
        columns=["path", "size", "digest", "object version", "source"],
    ),
    hide_index=True,
    width="stretch",
)
publish(
    project=project,
    artifact=name,
    version=chosen,
    files_q=search or None,
    files_page=result.page if result.page > 1 else None,
)
