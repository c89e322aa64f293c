"""Join: two tables side by side on key columns, both media cells playable in one row."""

import re

import streamlit as st

import shanty
from dashboard.widgets.deeplink import seed
from dashboard.widgets.pickers import artifacts_with_tables, pick_two_tables
from dashboard.widgets.query_view import controls, keep, load_query, page_of_rows, run_or_explain
from dashboard.workspace import workspace_api
from shanty import Join, JoinedTable, Query, ShantyError
from shanty.query.spec import TableSchema
from shanty.tables.packing import JOINED_SUFFIX, TABLE_SUFFIX

api = workspace_api()
st.title("Join")
st.caption("Pick two tables (any artifacts, any versions) and the key columns they share.")


def side_name(table: str, other: str | None = None) -> str:
    """A short column prefix from a table name: ``synth_song_samples`` -> ``synth``."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", table).split("_")[0] or "t"
    return name + "2" if name == other else name


@st.cache_data(ttl=10, show_spinner=False)
def saved_joins(root: str) -> list[str]:
    """``project/artifact:version/name`` of every joined table in the registry's latest versions."""
    found = []
    client = shanty.Api(root)
    for project in client.projects():
        for info in client.artifacts(project):
            version = client.artifact(f"{project}/{info.name}:latest")
            found += [
                f"{version.qualified_name}/{p.removesuffix(JOINED_SUFFIX)}"
                for p in version.manifest.entries
                if p.endswith(JOINED_SUFFIX)
            ]
    return found


saved = saved_joins(api.root)
if saved:
    seed("saved", "")
    opened = st.selectbox("Open a saved join", ["", *saved], key="saved", format_func=lambda s: s or "—")
    if opened and st.session_state.get("saved_opened") != opened:
        # Point the pickers at the saved join's two tables and keys, then show it like any other join.
        ref, _, name = opened.rpartition("/")
        joined = api.artifact(ref).get(name)
        for side, table in (("l_", joined.table1), ("r_", joined.table2)):
            version, entry = table.source
            st.session_state[f"{side}artifact"] = f"{version.project}/{version.source_name}"
            st.session_state[f"{side}version"] = version.version
            st.session_state[f"{side}table"] = entry.removesuffix(TABLE_SUFFIX)
        st.session_state["on"] = list(joined.join_key)
        st.session_state["saved_opened"] = opened

(lv, lt, lpath, lschema), (rv, rt, rpath, rschema), shared = pick_two_tables(api, (("l_", "Left"), ("r_", "Right")))
if not shared:
    st.warning(f"{lt} and {rt} share no column to join on; pick other tables.")
    st.stop()

lname, rname = side_name(lt), side_name(rt, side_name(lt))
seed("on", [shared[0]], lambda raw: [k for k in raw.split(",") if k in shared])
seed("how", "inner")
on = st.multiselect("Join on", shared, key="on")
how = st.radio("Join kind", ["inner", "left", "outer"], key="how", horizontal=True)
if not on:
    st.info("Choose at least one key column.")
    st.stop()

view = f"{lv.qualified_name}/{lt}|{rv.qualified_name}/{rt}|{','.join(on)}|{how}"
base = load_query(view)
if base.join != Join(rname, tuple(on), how):
    # A new join starts with the columns worth comparing: keys, every media cell, the right side's values.
    right_values = [f"{rname}.{c}" for c in rschema.columns if c not in on]
    left_media = [f"{lname}.{c}" for c in lschema.media]
    base = Query(join=Join(rname, tuple(on), how), columns=(*on, *left_media, *right_values))
# Columns of the joined result, named as the engine names them: keys bare, the rest by side.
joined = TableSchema(
    {
        **{k: lschema.columns[k] for k in on},
        **{f"{n}.{c}": t for n, s in ((lname, lschema), (rname, rschema)) for c, t in s.columns.items() if c not in on},
    },
    {f"{n}.{c}": kind for n, s in ((lname, lschema), (rname, rschema)) for c, kind in s.media.items()},
)
query = controls(base, joined, view)
result = run_or_explain(query, {lname: lpath, rname: rpath})
query = page_of_rows(query, result, {lname: lv, rname: rv})
url = {
    "l_artifact": f"{lv.project}/{lv.source_name}",
    "l_version": lv.version,
    "l_table": lt,
    "r_artifact": f"{rv.project}/{rv.source_name}",
    "r_version": rv.version,
    "r_table": rt,
    "on": ",".join(on),
    "how": how,
}
keep(query, **url)

with st.expander("Save this join as a joined table (like W&B's joined-table)"), st.form("save-join"):
    name = st.text_input("Artifact name", value=f"{lname}_{rname}_join")
    table = st.text_input("Joined table name", value=f"{lname}_{rname}")
    if st.form_submit_button("Log it"):
        try:
            with shanty.Run(project=lv.project, job_type="join", root=api.root) as run:
                artifact = shanty.Artifact(name, type="analysis", description=f"{lt} ⋈ {rt} on {', '.join(on)} ({how})")
                artifact.add(JoinedTable(lv.get(lt), rv.get(rt), on), table)
                logged = run.log_artifact(artifact)
            artifacts_with_tables.clear()  # the new artifact must show in the pickers at once
            saved_joins.clear()
            st.success(f"Logged {logged.qualified_name}; open it again from 'Open a saved join'.")
        except ShantyError as exc:
            st.error(str(exc))
