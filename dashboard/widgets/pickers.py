"""The one set of pickers every view uses: project -> artifact -> version -> table, each kept in the URL.

Each picker is a selectbox keyed by its URL parameter (``project``,
``artifact``, ``version``, ``table``, with a prefix such as ``a_`` where a
view picks twice). Its first value comes from the link, else from the shared
selection (what the user last picked in any view), else from the view's
default; a link naming something that does not exist gets a note saying
what exists. When what a list depends on changes (another artifact), the
picker starts again from its default: picking an artifact shows its latest
version. What can be picked comes from the library; scans of the whole
registry are cached here, in the UI layer, for a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard.auth import nothing_readable, visible_projects
from dashboard.widgets.deeplink import clear_note, link_broken, link_value, note, remember, shared
from dashboard.widgets.later import keyed
from dashboard.widgets.plain import plain
from shanty import Api, ArtifactVersion, RemoteFile, TableSchema, enriched_from, read_schema

__all__ = [
    "Catalog",
    "catalog",
    "forget_registry_scans",
    "pick_artifact",
    "pick_project",
    "pick_table",
    "pick_two_tables",
    "pick_version",
    "preset_table",
    "saved_joins",
    "select",
    "two_tables_to_compare",
    "two_tables_to_join",
]

SCAN_SECONDS = 10  # how long a scan of every artifact's latest version is reused
_PARENT = "shanty:parent:"


@dataclass(frozen=True)
class Catalog:
    """The registry at a glance, most recently changed artifact first: ``project/name`` refs, their
    version counts, and the tables and joined tables of their latest versions (named in ``latest``)."""

    refs: tuple[str, ...]
    version_counts: dict[str, int]
    tables: dict[str, tuple[str, ...]]
    joined: dict[str, tuple[str, ...]]
    latest: dict[str, str]

    def with_tables(self) -> list[str]:
        """Refs whose latest version holds a table, most recent first; artifacts of joined tables (which
        carry the tables they join) after the ones that hold tables of their own."""
        holding = [r for r in self.refs if self.tables[r]]
        return [r for r in holding if not self.joined[r]] + [r for r in holding if self.joined[r]]


def catalog(root: str) -> Catalog:
    """A :class:`Catalog` of the registry at ``root`` (one manifest read per artifact, cached), holding only
    the projects this session's viewer may read (:func:`dashboard.auth.visible_projects`)."""
    found = _scan(root)
    projects = {ref.split("/", 1)[0] for ref in found.refs}
    visible = set(visible_projects(root, sorted(projects)))
    if visible == projects:
        return found
    refs = tuple(r for r in found.refs if r.split("/", 1)[0] in visible)
    return Catalog(
        refs,
        {r: found.version_counts[r] for r in refs},
        {r: found.tables[r] for r in refs},
        {r: found.joined[r] for r in refs},
        {r: found.latest[r] for r in refs},
    )


@st.cache_data(ttl=SCAN_SECONDS, show_spinner=False)
def _scan(root: str) -> Catalog:
    # The whole registry, shared by every session; catalog() filters it per viewer.
    api = Api(root)
    refs, counts, tables, joined, latest_of = [], {}, {}, {}, {}
    for info in api.recent_artifacts():
        ref = f"{info.project}/{info.name}"
        # By its number, not by "latest": a damaged (read-only) log still answers numbers of intact versions
        latest = api.artifact(f"{ref}:{info.latest.version}")
        refs.append(ref)
        counts[ref], latest_of[ref] = info.version_count, info.latest.version
        tables[ref], joined[ref] = tuple(latest.tables()), tuple(latest.joined_tables())
    return Catalog(tuple(refs), counts, tables, joined, latest_of)


def saved_joins(root: str) -> list[str]:
    """``project/artifact:version/name`` of every joined table in the registry's latest versions."""
    found = catalog(root)
    return [f"{ref}:{found.latest[ref]}/{name}" for ref in found.refs for name in found.joined[ref]]


def forget_registry_scans() -> None:
    """Drop the cached scans, after this session logged something they must show at once."""
    _scan.clear()


def _shown(values: Sequence[str], limit: int = 12) -> str:
    listed = ", ".join(repr(v) for v in values[:limit])
    return listed + (f" and {len(values) - limit} more" if len(values) > limit else "") if values else "none"


def select(
    label: str,
    options: Sequence[str],
    key: str,
    *,
    default: str,
    what: str,
    where: str,
    parent: str = "",
    preferred: str | None = None,
    on_pick: Callable[[str], None] | None = None,
    **selectbox: object,
) -> str:
    """A selectbox of ``options`` whose value is kept under ``key`` (also its URL parameter).

    First value: the link's (a value not in ``options`` gets a note naming
    ``what`` was asked for, ``where`` it is missing, and the options), else ``preferred`` (the shared selection) when
    it is an option, else ``default``. ``parent`` names what the options
    depend on: when it changes, the picker starts again from its default.
    ``on_pick(value)`` runs when the user picks.
    """
    scope = _PARENT + key
    if key in st.session_state and (st.session_state.get(scope) != parent or st.session_state[key] not in options):
        del st.session_state[key]  # what this list depends on changed: start again from the default
    if key not in st.session_state:
        value = preferred if preferred in options else default
        linked = link_value(key)
        if linked is not None and linked in options:
            value = linked
        elif linked is not None:
            link_broken()  # the pickers below this one follow the fallback, not the rest of the link
            note(
                key,
                f"The link names {what} {linked!r}, which does not exist; showing {value!r}. It has: {_shown(options)}.",
            )
        st.session_state[key] = value
    else:
        # Set, not just kept: a widget of another view with this key (another widget id) would otherwise
        # make Streamlit show this one's first option instead of the value the user picked.
        st.session_state[key] = st.session_state[key]
    st.session_state[scope] = parent

    def picked() -> None:
        clear_note(key)
        if on_pick is not None:
            on_pick(st.session_state[key])

    return keyed(lambda box: box.selectbox(label, list(options), key=key, on_change=picked, **selectbox), key)


def pick_project(api: Api, key: str = "project", default: str | None = None) -> str | None:
    """The project selectbox (default: the shared one, else ``default``, else the most recently changed);
    None, with nothing drawn, when the registry has no project."""
    projects = visible_projects(api.root, api.projects())
    if not projects:
        return None
    recent = catalog(api.root).refs
    fallback = default or (recent[0].split("/")[0] if recent else projects[0])
    return select(
        "Project",
        projects,
        key,
        default=fallback,
        what="project",
        where="this registry",
        preferred=shared().get("project"),
        on_pick=lambda value: remember(project=value),
    )


def pick_artifact(
    api: Api, project: str, key: str = "artifact", label: str = "Artifact", min_versions: int = 1
) -> str | None:
    """An artifact selectbox over ``project``'s artifact names (default: the shared one, else the most
    recently changed with at least ``min_versions`` versions); None when the project has none."""
    names = [a.name for a in api.artifact_collections(project)]
    if not names:
        return None
    found = catalog(api.root)
    recent = [r.split("/", 1)[1] for r in found.refs if r.startswith(project + "/")]
    enough = [n for n in recent if found.version_counts.get(f"{project}/{n}", 0) >= min_versions]
    default = (enough or recent or names)[0]
    return select(
        label,
        names,
        key,
        default=default,
        what="artifact",
        where=f"project {project}",
        parent=project,
        preferred=shared().get("artifact") if shared().get("project") == project else None,
        on_pick=lambda value: remember(project=project, artifact=value),
    )


def pick_version(
    versions: Sequence[ArtifactVersion],
    key: str = "version",
    label: str = "Version",
    *,
    default: ArtifactVersion | None = None,
    newest_first: bool = True,
    preferred: str | None = None,
) -> ArtifactVersion:
    """A version selectbox over ``versions`` (oldest first, as ``Api.versions`` returns them); default:
    ``preferred`` (a ``vN``, else the shared version of this artifact), else ``default``, else the latest."""
    ordered = list(reversed(versions)) if newest_first else list(versions)
    first = versions[-1]
    ref = f"{first.project}/{first.source_name}"
    selection = shared()
    if preferred is None and (selection.get("project"), selection.get("artifact")) == tuple(ref.split("/", 1)):
        preferred = selection.get("version")
    chosen = select(
        label,
        [v.version for v in ordered],
        key,
        default=(default or first).version,
        what="version",
        where=ref,
        parent=ref,
        preferred=preferred,
        on_pick=lambda value: remember(project=first.project, artifact=first.source_name, version=value),
    )
    return next(v for v in versions if v.version == chosen)


def _remember_ref(ref: str) -> None:
    project, name = ref.split("/", 1)
    remember(project=project, artifact=name)


def pick_table(
    api: Api,
    prefix: str = "",
    label: str = "",
    default: tuple[str, str | None, str | None] | None = None,
    *,
    stacked: bool = False,
) -> tuple[ArtifactVersion, str, Path | RemoteFile] | None:
    """Artifact, version and table selectboxes (URL keys ``<prefix>artifact``, ``<prefix>version``,
    ``<prefix>table``); ``default`` is (artifact ref, version or None for the latest, table or None).

    Without a default: the shared selection when its artifact holds a table,
    else the most recently changed artifact that does. Returns (version,
    table name, what the query engine reads: a local Parquet file, or a bucket registry's object read in
    place), or None after saying why nothing can be shown. ``stacked`` puts the
    three boxes under each other (for the sidebar) instead of on one line.
    """
    refs = catalog(api.root).with_tables()
    if not refs:
        st.info(
            nothing_readable(api.root, api.projects())  # tables exist, in projects this viewer may not read
            or "No table has been logged yet: `artifact.add(shanty.Table(...), 'name')`, then `run.log_artifact(artifact)`."
        )
        return None
    selection = shared()
    chosen_ref = f"{selection.get('project')}/{selection.get('artifact')}"
    ref, version_label, table = default or (
        (chosen_ref, selection.get("version"), selection.get("table")) if chosen_ref in refs else (refs[0], None, None)
    )
    columns = [st.container(), *st.columns([1, 2])] if stacked else st.columns([3, 1, 2])
    with columns[0]:
        artifact = select(
            f"{label}Artifact".strip(),
            refs,
            f"{prefix}artifact",
            default=ref if ref in refs else refs[0],
            what="artifact with a table",
            where="this registry",
            on_pick=_remember_ref,
        )
    versions = api.versions(artifact)
    with columns[1]:
        preferred = version_label if artifact == ref else None
        version = pick_version(versions, key=f"{prefix}version", preferred=preferred or versions[-1].version)
    names = version.tables()
    if not names:
        st.warning(f"{plain(version.qualified_name)} holds no table; pick another version.")
        return None
    with columns[2]:
        name = select(
            "Table",
            names,
            f"{prefix}table",
            default=table if table in names else names[0],
            what="table",
            where=version.qualified_name,
            parent=version.qualified_name,
            on_pick=lambda value: remember(
                project=version.project, artifact=version.source_name, version=version.version, table=value
            ),
        )
    return version, name, version.table_source(name)


Side = tuple[str, str | None, str | None]  # (artifact ref, version or None for the latest, table or None)


def preset_table(prefix: str, ref: str, version: str, table: str) -> None:
    """Point the table pickers with ``prefix`` at ``ref``:``version``/``table`` (as a saved join does)."""
    for key, value, parent in (
        ("artifact", ref, ""),
        ("version", version, ref),
        ("table", table, f"{ref}:{version}"),
    ):
        st.session_state[prefix + key] = value
        st.session_state[_PARENT + prefix + key] = parent


def _selected_table(found: Catalog) -> Side | None:
    selection = shared()
    ref = f"{selection.get('project')}/{selection.get('artifact')}"
    return (ref, selection.get("version"), selection.get("table")) if ref in found.with_tables() else None


def _plain_columns(api: Api, ref: str, version: str | None, table: str) -> set[str]:
    schema = read_schema(api.artifact(f"{ref}:{version or 'latest'}").table_source(table))
    return {c for c in schema.columns if c not in schema.media}


def two_tables_to_join(api: Api) -> tuple[Side, Side] | None:
    """Two different tables that share a plain column: the selected one (else the most recently changed
    table) and the most recently changed other table it shares a column with; None when there is none."""
    found = catalog(api.root)
    tables = [(ref, None, name) for ref in found.with_tables() for name in found.tables[ref]]
    chosen = _selected_table(found)
    firsts = ([chosen] if chosen else []) + tables
    for left in firsts[:4]:  # a few candidates: reading schemas costs a table file each
        name = left[2] or found.tables[left[0]][0]
        columns = _plain_columns(api, left[0], left[1], name)
        for right in tables:
            if (right[0], right[2]) != (left[0], name) and columns & _plain_columns(api, right[0], None, right[2]):
                return (left[0], left[1], name), right
    return None


def two_tables_to_compare(api: Api) -> tuple[Side, Side] | None:
    """Two versions of one table: the selected version (else the latest, or the one an enrichment of
    the latest was made from: the last change of rows) and the one before it, of the selected artifact,
    else of the most recently changed artifact with two versions holding a table; else two different
    tables as :func:`two_tables_to_join` picks them."""
    found = catalog(api.root)
    chosen = _selected_table(found)
    candidates = ([chosen[0]] if chosen else []) + [r for r in found.with_tables() if found.version_counts[r] >= 2]
    for ref in candidates:
        labels = [v.version for v in api.versions(ref)]
        if len(labels) < 2:
            continue
        picked = chosen is not None and chosen[0] == ref and chosen[1] in labels
        wanted = chosen[1] if picked else labels[-1]
        index = max(labels.index(wanted), 1)
        if not picked and index >= 2 and enriched_from(api.artifact(f"{ref}:{wanted}")) is not None:
            index -= 1  # the latest only added measured columns: open on the last change of rows instead
        table = (chosen[2] if chosen and chosen[0] == ref else None) or found.tables[ref][0]
        return (ref, labels[index - 1], table), (ref, labels[index], table)
    return two_tables_to_join(api)


def pick_two_tables(
    api: Api,
    sides: tuple[tuple[str, str], tuple[str, str]],
    defaults: tuple[tuple[str, str | None, str | None], tuple[str, str | None, str | None]] | None = None,
    *,
    stacked: bool = False,
) -> tuple[
    tuple[ArtifactVersion, str, Path | RemoteFile, TableSchema],
    tuple[ArtifactVersion, str, Path | RemoteFile, TableSchema],
    list[str],
]:
    """Two table pickers side by side (``stacked``: one under the other, for the sidebar), ``sides`` =
    ((URL prefix, title), ...), ``defaults`` one (artifact ref, version, table) each; stops the page
    unless both are chosen.

    Returns ((version, name, file, schema) per side) and the plain (non-media)
    columns both tables have, in the first table's order: the candidate keys.
    """
    picked = []
    boxes = [st.container(), st.container()] if stacked else st.columns(2)
    for index, (box, (prefix, title)) in enumerate(zip(boxes, sides, strict=True)):
        with box:
            if stacked:
                st.markdown(f"**{title}**")
            else:
                st.subheader(title)
            default = defaults[index] if defaults else None
            picked.append(pick_table(api, prefix=prefix, default=default, stacked=stacked))
    if None in picked:
        st.stop()
    first, second = ((*p, read_schema(p[2])) for p in picked)
    shared_columns = [c for c in first[3].columns if c in second[3].columns and c not in first[3].media]
    return first, second, shared_columns
