"""Join: two tables side by side on key columns, both media cells playable in one row."""

import streamlit as st

import shanty
from dashboard.widgets.deeplink import first_run, notes_area, seed
from dashboard.widgets.later import keyed, rows_first
from dashboard.widgets.pickers import (
    forget_registry_scans,
    pick_two_tables,
    preset_table,
    saved_joins,
    two_tables_to_join,
)
from dashboard.widgets.plain import plain
from dashboard.widgets.query_view import keep, load_query, query_page
from dashboard.workspace import workspace_api
from shanty import Join, JoinedTable, Query, ShantyError, join_prefix, relation_schema

api = workspace_api()
st.title("Join")
notes_area()
sidebar = st.sidebar.container()
sidebar.caption("Pick two tables (any artifacts, any versions) and the key columns they share.")

# On a visit's first run the pickers are drawn after the rows (see dashboard.widgets.later).
with rows_first(first_run()):
    saved = saved_joins(api.root)
    if saved:
        seed("saved", "")
        with sidebar:
            opened = keyed(
                lambda box: box.selectbox(
                    "Open a saved join", ["", *saved], key="saved", format_func=lambda s: s or "—"
                ),
                "saved",
            )
        if opened and st.session_state.get("saved_opened") != opened:
            # Point the pickers at the saved join's two tables and keys, then show it like any other join.
            ref, _, name = opened.rpartition("/")
            saved_join = api.artifact(ref).get(name)
            for side, table in (("l_", saved_join.table1), ("r_", saved_join.table2)):
                version, table_name = table.logged_as
                preset_table(side, f"{version.project}/{version.source_name}", version.version, table_name)
            st.session_state["on"] = list(saved_join.join_key)
            st.session_state["saved_opened"] = opened

    with sidebar:
        (lv, lt, lpath, lschema), (rv, rt, rpath, rschema), shared = pick_two_tables(
            api, (("l_", "Left"), ("r_", "Right")), two_tables_to_join(api), stacked=True
        )
    if not shared:
        st.warning(f"{plain(lt)} and {plain(rt)} share no column to join on; pick other tables.")
        st.stop()

    lname = join_prefix(lt)
    rname = join_prefix(rt, lname)
    seed("on", [shared[0]], lambda raw: [k for k in raw.split(",") if k in shared])
    seed("how", "inner")
    with sidebar:
        on = keyed(lambda box: box.multiselect("Join on", shared, key="on"), "on")
        how = keyed(lambda box: box.radio("Join kind", ["inner", "left", "outer"], key="how", horizontal=True), "how")
    if not on:
        st.info("Choose at least one key column.")
        st.stop()

    view = f"{lv.qualified_name}/{lt}|{rv.qualified_name}/{rt}|{','.join(on)}|{how}"
    join = Join(rname, tuple(on), how)
    try:  # the joined columns, named as the engine names them
        joined = relation_schema(Query(join=join), {lname: lschema, rname: rschema})
    except ShantyError as exc:
        st.error(plain(exc))
        st.stop()
    base = load_query(view)
    if base.join != join:
        # A new join starts with the columns worth comparing: keys, the left side's media, every right-side column.
        columns = tuple(c for c in joined.columns if c in on or c in joined.media or joined.sources[c] == rname)
        base = Query(join=join, columns=columns)
    query = query_page(base, joined, {lname: lpath, rname: rpath}, {lname: lv, rname: rv}, view, pinned=list(on))
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
            forget_registry_scans()  # the new artifact must show in the pickers at once
            st.success(f"Logged {logged.qualified_name}; open it again from 'Open a saved join'.")
        except ShantyError as exc:
            st.error(plain(exc))
