"""Pick a logged table: artifact -> version -> table, each choice kept in the URL."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.widgets.deeplink import choose
from shanty import Api, ArtifactVersion, read_schema
from shanty.tables.packing import TABLE_SUFFIX


@st.cache_data(ttl=10, show_spinner=False)
def artifacts_with_tables(root: str) -> list[str]:
    api = Api(root)
    found = []
    for project in api.projects():
        for info in api.artifacts(project):
            entries = api.artifact(f"{project}/{info.name}:latest").manifest.entries
            if any(p.endswith(TABLE_SUFFIX) for p in entries):
                found.append(f"{project}/{info.name}")
    return found


def pick_table(api: Api, prefix: str = "", label: str = "") -> tuple[ArtifactVersion, str, Path] | None:
    """Three selectboxes (URL keys ``<prefix>artifact``, ``<prefix>version``, ``<prefix>table``).

    Returns (version, table name, local Parquet file), or None after telling
    the user why nothing can be shown.
    """
    tables = artifacts_with_tables(api.root)
    if not tables:
        st.info(
            "No table has been logged yet: `artifact.add(shanty.Table(...), 'name')`, then `run.log_artifact(artifact)`."
        )
        return None
    columns = st.columns([3, 1, 2])
    with columns[0]:
        artifact = choose(f"{label}Artifact".strip(), tables, key=f"{prefix}artifact")
    versions = api.versions(artifact)
    with columns[1]:
        chosen = choose("Version", [v.version for v in reversed(versions)], key=f"{prefix}version")
    version = next(v for v in versions if v.version == chosen)
    names = sorted(p.removesuffix(TABLE_SUFFIX) for p in version.manifest.entries if p.endswith(TABLE_SUFFIX))
    if not names:
        st.warning(f"{version.qualified_name} holds no table; pick another version.")
        return None
    with columns[2]:
        name = choose("Table", names, key=f"{prefix}table")
    return version, name, version.table_file(name)


def pick_two_tables(api: Api, sides: tuple[tuple[str, str], tuple[str, str]]) -> tuple[tuple, tuple, list[str]]:
    """Two pickers side by side, ``sides`` = ((URL prefix, title), ...); stops the page unless both are chosen.

    Returns ((version, name, file, schema) per side) and the plain (non-media)
    columns both tables have, in the first table's order: the candidate keys.
    """
    picked = []
    for box, (prefix, title) in zip(st.columns(2), sides, strict=True):
        with box:
            st.subheader(title)
            picked.append(pick_table(api, prefix=prefix))
    if None in picked:
        st.stop()
    first, second = ((*p, read_schema(p[2])) for p in picked)
    shared = [c for c in first[3].columns if c in second[3].columns and c not in first[3].media]
    return first, second, shared
