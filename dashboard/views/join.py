"""Join: two tables side by side on key columns, both media cells playable in one row."""

import streamlit as st

import shanty
from dashboard.auth import write_denied
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
        # Only a join the list offers (a link may name one in a project this viewer cannot read).
        if opened and opened in saved and st.session_state.get("saved_opened") != opened:
            # Point the pickers at the saved join's two tables and keys, then show it like any other join.
            ref, _, name = opened.rpartition("/")
            saved_join = api.artifact(ref).get(name)
            for side, table in (("l_", saved_join.table1), ("r_", saved_join.table2)):
                version, table_name = table.logged_as
                preset_table(side, f"{version.project}/{version.source_name}", version.version, table_name)
            paired = saved_join.left_keys != saved_join.right_keys
            st.session_state["pair"] = paired
            st.session_state["on"] = [] if paired else list(saved_join.left_keys)
            st.session_state["l_key"], st.session_state["r_key"] = saved_join.left_keys[0], saved_join.right_keys[0]
            st.session_state["saved_opened"] = opened

    with sidebar:
        (lv, lt, lpath, lschema), (rv, rt, rpath, rschema), shared = pick_two_tables(
            api, (("l_", "Left"), ("r_", "Right")), two_tables_to_join(api), stacked=True
        )
    lname = join_prefix(lt)
    rname = join_prefix(rt, lname)
    # Keys named alike are picked together (several make a composite key); keys named differently (W&B's
    # JoinedTable key pair) one on each side. Tables sharing no plain column can only be paired.
    left_columns = [c for c in lschema.columns if c not in lschema.media]
    right_columns = [c for c in rschema.columns if c not in rschema.media]
    seed("pair", not shared, lambda raw: raw == "1")
    seed("on", shared[:1], lambda raw: [k for k in raw.split(",") if k in shared])
    for key, columns in (("l_key", left_columns), ("r_key", right_columns)):
        seed(key, columns[0] if columns else None)
        if st.session_state[key] not in columns:  # another table was picked: its first column
            st.session_state[key] = columns[0] if columns else None
    seed("how", "inner")
    with sidebar:
        pair = not shared or keyed(lambda box: box.toggle("Keys named differently", key="pair"), "pair")
        if pair:
            l_key = keyed(lambda box: box.selectbox(f"Key in {lname}", left_columns, key="l_key"), "l_key")
            r_key = keyed(lambda box: box.selectbox(f"Key in {rname}", right_columns, key="r_key"), "r_key")
            on, right_on = [l_key] if l_key else [], [r_key] if r_key else []
        else:
            on = keyed(lambda box: box.multiselect("Join on", shared, key="on"), "on")
            right_on = list(on)
        how = keyed(lambda box: box.radio("Join kind", ["inner", "left", "outer"], key="how", horizontal=True), "how")
    if not on or not right_on:
        st.info("Choose at least one key column on each side.")
        st.stop()

    keys = ",".join(a if a == b else f"{a}={b}" for a, b in zip(on, right_on, strict=True))
    view = f"{lv.qualified_name}/{lt}|{rv.qualified_name}/{rt}|{keys}|{how}"
    join = Join(rname, tuple(on), how, right_on=tuple(right_on))
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
    "on": None if pair else ",".join(on),
    "pair": "1" if pair else None,
    "l_key": on[0] if pair else None,
    "r_key": right_on[0] if pair else None,
    "how": how,
}
keep(query, **url)

read_only = write_denied(api.root, lv.project)  # the joined table is logged into the left table's project
with st.expander("Save this join as a joined table (like W&B's joined-table)"), st.form("save-join"):
    if read_only:
        st.info(plain(read_only))
    name = st.text_input("Artifact name", value=f"{lname}_{rname}_join", disabled=read_only is not None)
    table = st.text_input("Joined table name", value=f"{lname}_{rname}", disabled=read_only is not None)
    if st.form_submit_button("Log it", disabled=read_only is not None):
        try:
            # Asked again, fresh: a disabled button is no guard against a forged click or a grant revoked since.
            refused = write_denied(api.root, lv.project, fresh=True)
            if refused:
                st.error(plain(refused))
                st.stop()
            with shanty.Run(project=lv.project, job_type="join", root=api.root) as run:
                artifact = shanty.Artifact(name, type="analysis", description=f"{lt} ⋈ {rt} on {keys} ({how})")
                # W&B's join_key: a name or the pair [left key, right key]; same-named composite keys as pairs
                join_key = [on[0], right_on[0]] if pair else on[0] if len(on) == 1 else [[k, k] for k in on]
                artifact.add(JoinedTable(lv.get(lt), rv.get(rt), join_key), table)
                logged = run.log_artifact(artifact)
            forget_registry_scans()  # the new artifact must show in the pickers at once
            st.success(f"Logged {logged.qualified_name}; open it again from 'Open a saved join'.")
        except ShantyError as exc:
            st.error(plain(exc))
