"""Artifacts: projects -> artifacts -> versions (read-only for now)."""

import pandas as pd
import streamlit as st

from components.workspace import configured_root, load_demo_into, workspace_api
from shanty.formatting import human_size

api = workspace_api()
st.title("Artifacts")
st.caption(f"Registry: `{api.root}`")

projects = api.projects()
if not projects:
    st.info(
        "This registry is empty. Log something with `shanty ref add URI --project P --name N --type T`, or load the demo."
    )
    if configured_root() and st.button("Load the demo workspace into this registry"):
        load_demo_into(configured_root())
        st.rerun()
    st.stop()

project = st.selectbox("Project", projects, key="project")
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
        ]
    ),
    hide_index=True,
    width="stretch",
)
if artifacts:
    name = st.selectbox("Artifact", [a.name for a in artifacts], key="artifact")
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
