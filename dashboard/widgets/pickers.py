"""The one set of pickers every view uses: project -> artifact -> version -> table, each kept in the URL.

Each picker is a selectbox keyed by its URL parameter (``project``,
``artifact``, ``version``, ``table``, with a prefix such as ``a_`` where a
view picks twice). What can be picked comes from the library
(``Api.projects``, ``Api.artifacts``, ``ArtifactVersion.tables``...); the
scans of the whole registry are cached here, in the UI layer, for a few
seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from dashboard.widgets.deeplink import choose
from shanty import Api, ArtifactVersion, TableSchema, read_schema

__all__ = [
    "artifacts_with_tables",
    "forget_registry_scans",
    "pick_artifact",
    "pick_project",
    "pick_table",
    "pick_two_tables",
    "pick_version",
    "saved_joins",
]

SCAN_SECONDS = 10  # how long a scan of every artifact's latest version is reused


@st.cache_data(ttl=SCAN_SECONDS, show_spinner=False)
def artifacts_with_tables(root: str) -> list[str]:
    """``project/artifact`` of every artifact whose latest version holds a table."""
    api = Api(root)
    return [
        f"{project}/{info.name}"
        for project in api.projects()
        for info in api.artifacts(project)
        if api.artifact(f"{project}/{info.name}:latest").tables()
    ]


@st.cache_data(ttl=SCAN_SECONDS, show_spinner=False)
def saved_joins(root: str) -> list[str]:
    """``project/artifact:version/name`` of every joined table in the registry's latest versions."""
    api = Api(root)
    found = []
    for project in api.projects():
        for info in api.artifacts(project):
            version = api.artifact(f"{project}/{info.name}:latest")
            found += [f"{version.qualified_name}/{name}" for name in version.joined_tables()]
    return found


def forget_registry_scans() -> None:
    """Drop the cached scans, after this session logged something they must show at once."""
    artifacts_with_tables.clear()
    saved_joins.clear()


def pick_project(api: Api, key: str = "project") -> str | None:
    """The project selectbox; None (with nothing drawn) when the registry has no project."""
    projects = api.projects()
    return choose("Project", projects, key=key) if projects else None


def pick_artifact(names: Sequence[str], key: str = "artifact", label: str = "Artifact") -> str | None:
    """An artifact selectbox over ``names`` (plain names or ``project/name``)."""
    return choose(label, list(names), key=key) if names else None


def pick_version(
    versions: Sequence[ArtifactVersion], key: str = "version", label: str = "Version", newest_first: bool = True
) -> ArtifactVersion:
    """A version selectbox over ``versions`` (oldest first, as ``Api.versions`` returns them)."""
    ordered = list(reversed(versions)) if newest_first else list(versions)
    chosen = choose(label, [v.version for v in ordered], key=key)
    return next(v for v in versions if v.version == chosen)


def pick_table(api: Api, prefix: str = "", label: str = "") -> tuple[ArtifactVersion, str, Path] | None:
    """Artifact, version and table selectboxes (URL keys ``<prefix>artifact``, ``<prefix>version``, ``<prefix>table``).

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
        artifact = pick_artifact(tables, key=f"{prefix}artifact", label=f"{label}Artifact".strip())
    with columns[1]:
        version = pick_version(api.versions(artifact), key=f"{prefix}version")
    names = version.tables()
    if not names:
        st.warning(f"{version.qualified_name} holds no table; pick another version.")
        return None
    with columns[2]:
        name = choose("Table", names, key=f"{prefix}table")
    return version, name, version.table_file(name)


def pick_two_tables(
    api: Api, sides: tuple[tuple[str, str], tuple[str, str]]
) -> tuple[tuple[ArtifactVersion, str, Path, TableSchema], tuple[ArtifactVersion, str, Path, TableSchema], list[str]]:
    """Two table pickers side by side, ``sides`` = ((URL prefix, title), ...); stops the page unless both are chosen.

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
