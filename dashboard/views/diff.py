"""Diff: two versions of an artifact side by side, aligned by path, with A/B playback of changed media."""

import pandas as pd
import streamlit as st

from dashboard.routes.media import server_from_environment
from dashboard.widgets.charts import change_chart, kind_background
from dashboard.widgets.deeplink import notes_area, publish, seed, shared
from dashboard.widgets.media_links import sign_cell
from dashboard.widgets.media_table import media_table
from dashboard.widgets.paging import fit_page, page_input, requested_page
from dashboard.widgets.pickers import catalog, pick_artifact, pick_project, pick_version
from dashboard.workspace import workspace_api
from shanty import EMPTY, ChangeKind, ShantyError, cell_kind_of, diff_manifest_files, format_number, human_size

PAGE_SIZE = 100
KINDS = [k.value for k in ChangeKind]
CHANGED = [k for k in KINDS if k != "unchanged"]

api = workspace_api()
st.title("Diff")
notes_area()


@st.cache_data(show_spinner="Comparing the manifests...")
def _diff(old_file: str, new_file: str):
    return diff_manifest_files(old_file, new_file)


# Without a selection, the most recently changed artifact that has something to compare.
found = catalog(api.root)
busy = [r for r in found.refs if found.version_counts[r] >= 2]
fallback_project = (busy or found.refs or [""])[0].split("/")[0] or None
top = st.columns([2, 3, 1, 1])
with top[0]:
    project = pick_project(api, default=fallback_project)
if project is None:
    st.info("This registry is empty: log two versions of an artifact to compare them here.")
    st.stop()
with top[1]:
    name = pick_artifact(api, project, min_versions=2)
if name is None:
    st.info(f"{project} has no artifacts yet.")
    st.stop()
versions = api.versions(f"{project}/{name}")
labels = [v.version for v in versions]
# The selected version against the one before it; previous vs latest when nothing is selected.
selection = shared()
picked = selection.get("version") if (selection.get("project"), selection.get("artifact")) == (project, name) else None
new_index = labels.index(picked) if picked in labels else len(labels) - 1
new_index = max(new_index, min(1, len(labels) - 1))
with top[2]:
    old = pick_version(versions, key="old", label="Old", newest_first=False, preferred=labels[max(new_index - 1, 0)])
with top[3]:
    new = pick_version(versions, key="new", label="New", newest_first=False, preferred=labels[new_index])
if len(versions) == 1:
    st.info(f"{project}/{name} has one version so far: log another to see what changed.")

diff = _diff(str(old.manifest_file()), str(new.manifest_file()))
summary = diff.summary
st.markdown(
    f"**{old.qualified_name}** ({format_number(summary.old_files)} files, {human_size(summary.old_bytes)}) → "
    f"**{new.qualified_name}** ({format_number(summary.new_files)} files, {human_size(summary.new_bytes)})"
)
counts = {k.value: summary.kind(k).count for k in ChangeKind}
chart, numbers = st.columns([2, 1])
chart.altair_chart(change_chart(counts), width="stretch")
numbers.dataframe(
    pd.DataFrame(
        [
            {
                "change": k.value,
                "files": format_number(summary.kind(k).count),
                "bytes": human_size(summary.kind(k).delta, signed=True) if k is not ChangeKind.UNCHANGED else EMPTY,
            }
            for k in ChangeKind
        ]
    ).style.apply(lambda row: [kind_background(row["change"])] * len(row), axis=1),
    hide_index=True,
)

seed("kinds", CHANGED, lambda raw: [k for k in raw.split(",") if k in KINDS])
seed("path_q", "")
filters = st.columns([3, 3, 1])
kinds = filters[0].multiselect("Show", KINDS, key="kinds", help="unchanged files are listed below, folded")
search = filters[1].text_input("Path contains", key="path_q")
requested = requested_page("page")
changes = diff.changes(kinds=kinds, path_contains=search or None, page=requested, page_size=PAGE_SIZE)
page = fit_page("page", changes.page_count)
if page != requested:
    changes = diff.changes(kinds=kinds, path_contains=search or None, page=page, page_size=PAGE_SIZE)
with filters[2]:
    page_input("page", changes.page_count)
st.caption(f"{format_number(changes.total)} change(s) · page {changes.page:,} of {max(changes.page_count, 1):,}")


# Column labels name each side by its version (two picks of the same version still get two sides).
left, right = (old.version, new.version) if old.version != new.version else (f"{old.version} (A)", f"{new.version} (B)")


def side_by_side(rows) -> pd.DataFrame:
    """Old entries on the left, new on the right, one row per path; a side without the file is empty."""
    frame = pd.DataFrame(
        [
            {
                f"{left}: path": c.old.path if c.old else "",
                f"{left}: size": human_size(c.old.size) if c.old else "",
                f"{left}: object version": (c.old.object_version or EMPTY) if c.old else "",
                "change": c.kind.value,
                f"{right}: path": c.new.path if c.new else "",
                f"{right}: size": human_size(c.new.size) if c.new else "",
                f"{right}: object version": (c.new.object_version or EMPTY) if c.new else "",
            }
            for c in rows
        ],
        columns=[
            f"{left}: path",
            f"{left}: size",
            f"{left}: object version",
            "change",
            f"{right}: path",
            f"{right}: size",
            f"{right}: object version",
        ],
    )
    return frame.style.apply(lambda row: [kind_background(row["change"])] * len(row), axis=1)


st.dataframe(side_by_side(changes.changes), hide_index=True, width="stretch")
if "unchanged" not in kinds and counts["unchanged"]:
    with st.expander(f"Unchanged files ({format_number(counts['unchanged'])})"):
        same = diff.changes(kinds=["unchanged"], path_contains=search or None, page=1, page_size=PAGE_SIZE)
        st.dataframe(side_by_side(same.changes), hide_index=True, width="stretch")
        if same.total > len(same.changes):
            st.caption(
                f"The first {len(same.changes):,} of {format_number(same.total)}; add 'unchanged' to Show to page."
            )

# A/B: each side is played at the object version its own manifest recorded, or says why it cannot be.
playable = [c for c in changes.changes if c.kind is not ChangeKind.UNCHANGED and cell_kind_of(c.new or c.old)]
if playable:
    st.subheader("Listen / look: A/B")
    chosen = st.selectbox("File", [c.path for c in playable], key="ab")
    change = next(c for c in playable if c.path == chosen)
    kind = cell_kind_of(change.new or change.old)
    server = server_from_environment()

    def cell(version, entry):
        if entry is None:
            return f"not in {version.version}"
        try:
            reason = server.why_unplayable(version, entry.path)
        except ShantyError as exc:
            reason = str(exc)
        if reason:
            return reason
        shown = sign_cell({"entry": entry.path}, kind, version)
        return {**shown, "caption": f"{version.version} · {human_size(entry.size)} · {entry.digest[:10]}"}

    media_table(
        [
            {"name": "change", "kind": None},
            {"name": f"A: {old.version}", "kind": kind, "partner": 2},
            {"name": f"B: {new.version}", "kind": kind, "partner": 1},
        ],
        [[change.kind.value, cell(old, change.old), cell(new, change.new)]],
        key="ab-table",
        view_key=f"diff|{old.qualified_name}|{new.qualified_name}",
    )

publish(
    project=project,
    artifact=name,
    old=old.version,
    new=new.version,
    kinds=",".join(kinds) if kinds != CHANGED else None,
    path_q=search or None,
    page=changes.page if changes.page > 1 else None,
)
