"""Diff: what changed between two versions of an artifact, with A/B playback of modified media."""

import pandas as pd
import streamlit as st

from dashboard.routes.media import media_url
from dashboard.widgets.deeplink import publish, seed
from dashboard.widgets.media_table import media_table
from dashboard.widgets.pickers import pick_artifact, pick_project, pick_version
from dashboard.workspace import workspace_api
from shanty import ChangeKind, cell_kind_of, diff_manifest_files, human_size

PAGE_SIZE = 100
KINDS = [k.value for k in ChangeKind]

api = workspace_api()
st.title("Diff")


@st.cache_data(show_spinner="Comparing the manifests...")
def _diff(old_file: str, new_file: str):
    return diff_manifest_files(old_file, new_file)


top = st.columns([2, 3, 1, 1])
with top[0]:
    project = pick_project(api)
if project is None:
    st.info("This registry is empty.")
    st.stop()
artifacts = [a.name for a in api.artifacts(project)]
if not artifacts:
    st.info(f"{project} has no artifacts yet.")
    st.stop()
with top[1]:
    name = pick_artifact(artifacts)
versions = api.versions(f"{project}/{name}")
seed("old", versions[-2].version if len(versions) > 1 else versions[0].version)  # default: previous vs latest
seed("new", versions[-1].version)
with top[2]:
    old = pick_version(versions, key="old", label="Old", newest_first=False)
with top[3]:
    new = pick_version(versions, key="new", label="New", newest_first=False)
old_label, new_label = old.version, new.version

diff = _diff(str(old.manifest_file()), str(new.manifest_file()))
summary = diff.summary
st.markdown(
    f"**{old.qualified_name}** ({summary.old_files:,} files, {human_size(summary.old_bytes)}) → "
    f"**{new.qualified_name}** ({summary.new_files:,} files, {human_size(summary.new_bytes)})"
)
totals = pd.DataFrame(
    [
        {
            "change": k.value,
            "files": summary.kind(k).count,
            "bytes": summary.kind(k).new_bytes or summary.kind(k).old_bytes,
        }
        for k in ChangeKind
    ]
).set_index("change")
chart, numbers = st.columns([2, 1])
chart.bar_chart(totals["files"], height=180, horizontal=True)
numbers.dataframe(totals.assign(bytes=totals["bytes"].map(human_size)), height=220)

seed("kinds", [k for k in KINDS if k != "unchanged"], lambda raw: [k for k in raw.split(",") if k in KINDS])
seed("path_q", "")
seed("page", 1, int)
filters = st.columns([3, 3, 1])
kinds = filters[0].multiselect("Show", KINDS, key="kinds", help="unchanged files are hidden unless you add them")
search = filters[1].text_input("Path contains", key="path_q")
page = filters[2].number_input("Page", min_value=1, step=1, key="page")
changes = diff.changes(kinds=kinds, path_contains=search or None, page=int(page), page_size=PAGE_SIZE)
st.caption(f"{changes.total:,} change(s) · page {changes.page} of {max(changes.page_count, 1)}")

rows = [
    {
        "change": c.kind.value,
        "path": c.path,
        "old path": c.old.path if c.old and c.old.path != c.path else "",
        "old size": c.old.size if c.old else None,
        "new size": c.new.size if c.new else None,
        "Δ bytes": c.size_delta,
        "old digest": c.old.digest if c.old else "",
        "new digest": c.new.digest if c.new else "",
        "old object version": (c.old.object_version or "") if c.old else "",
        "new object version": (c.new.object_version or "") if c.new else "",
    }
    for c in changes.changes
]
colors = {"added": "#1f6f43", "removed": "#7a2731", "modified": "#7a5b16", "renamed": "#24527a", "unchanged": ""}
frame = pd.DataFrame(
    rows,
    columns=[
        "change",
        "path",
        "old path",
        "old size",
        "new size",
        "Δ bytes",
        "old digest",
        "new digest",
        "old object version",
        "new object version",
    ],
)
st.dataframe(
    frame.style.apply(lambda row: [f"background-color: {colors.get(row['change'], '')}"] * len(row), axis=1),
    hide_index=True,
    width="stretch",
)

# A/B: each side is fetched at the object version its own manifest recorded.
playable = [c for c in changes.changes if cell_kind_of(c.new or c.old)]
if playable:
    st.subheader("Listen / look: A/B")
    chosen = st.selectbox("File", [c.path for c in playable], key="ab")
    change = next(c for c in playable if c.path == chosen)
    kind = cell_kind_of(change.new or change.old)

    def cell(version, entry):
        return (
            {
                "url": media_url(version, entry.path, absolute=False),
                "caption": f"{version.version} · {human_size(entry.size)} · {entry.digest[:10]}",
            }
            if entry
            else None
        )

    media_table(
        columns=[
            {"name": "change", "kind": None},
            {"name": f"A: {old.version}", "kind": kind},
            {"name": f"B: {new.version}", "kind": kind},
        ],
        rows=[[change.kind.value, cell(old, change.old), cell(new, change.new)]],
        sort=None,
        key="ab-table",
    )

publish(
    project=project,
    artifact=name,
    old=old_label,
    new=new_label,
    kinds=",".join(kinds),
    path_q=search or None,
    page=int(page) if page > 1 else None,
)
