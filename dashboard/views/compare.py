"""Compare two tables (two versions of one, or any two): row-level diff with A/B media, and side by side."""

import pandas as pd
import streamlit as st

from dashboard.widgets.deeplink import seed
from dashboard.widgets.media_links import cells_for_page, sign_cell
from dashboard.widgets.media_table import media_table
from dashboard.widgets.pickers import pick_two_tables
from dashboard.widgets.query_view import controls, keep, load_query, run_or_explain
from dashboard.workspace import workspace_api
from shanty import RowKind, ShantyError, diff_tables, run_query

PAGE_SIZE = 25

api = workspace_api()
st.title("Compare")
st.caption(
    "A is the old or left table, B the new or right one. Rows are matched by key columns (or by whole-row content)."
)

(av, at_name, apath, aschema), (bv, bt_name, bpath, bschema), shared = pick_two_tables(api, (("a_", "A"), ("b_", "B")))
seed("key", [], lambda raw: [k for k in raw.split(",") if k in shared])
key = st.multiselect("Match rows by", shared, key="key", help="none: rows match when every cell is equal")

try:
    diff = diff_tables(apath, bpath, key or None)
except ShantyError as exc:
    st.error(str(exc))
    st.stop()

counts = {k.value: diff.count(k) for k in RowKind} | {"unchanged": diff.unchanged}
st.bar_chart(pd.Series(counts, name="rows"), height=160, horizontal=True)
notes = []
if diff.columns_added:
    notes.append(f"columns only in B: {', '.join(diff.columns_added)}")
if diff.columns_removed:
    notes.append(f"columns only in A: {', '.join(diff.columns_removed)}")
st.caption(f"A {diff.old_rows:,} rows · B {diff.new_rows:,} rows" + ("" if not notes else " · " + "; ".join(notes)))

tab_diff, tab_side = st.tabs(["Row changes (A/B)", "Side by side"])
with tab_diff:
    seed("kind", "changed" if key else "added")
    kinds = [k.value for k in RowKind if key or k is not RowKind.CHANGED]
    kind = st.radio("Rows", kinds, key="kind", horizontal=True, format_func=lambda k: f"{k} ({counts[k]:,})")
    page = st.number_input("Page", min_value=1, value=1, step=1, key="diff_page")
    rows = diff.rows(kind, int(page), PAGE_SIZE)
    if not rows:
        st.info(f"No {kind} rows.")
    elif kind == "changed":
        changed = sorted({c for r in rows for c in r.changed_columns}, key=list(bschema.columns).index)
        columns = [{"name": k, "kind": None} for k in key]
        for c in changed:
            media = bschema.media.get(c)
            columns += [{"name": f"A: {c}", "kind": media}, {"name": f"B: {c}", "kind": media}]
        body, marks = [], []
        for r in rows:
            line = [r.key[k] for k in key]
            for c in changed:
                media = bschema.media.get(c)
                old, new = r.old.get(c), r.new.get(c)
                line += [sign_cell(old, media, av), sign_cell(new, media, bv)] if media else [old, new]
            body.append(line)
            marks.append([len(key) + 2 * changed.index(c) + j for c in r.changed_columns for j in (0, 1)])
        media_table(columns, body, None, key="compare-changed", highlight=marks)
    else:
        version, schema = (bv, bschema) if kind == "added" else (av, aschema)
        names = list(schema.columns)
        body = []
        for r in rows:
            row = r.new if kind == "added" else r.old
            body.append(
                [sign_cell(row.get(c), schema.media[c], version) if c in schema.media else row.get(c) for c in names]
            )
        media_table([{"name": c, "kind": schema.media.get(c)} for c in names], body, None, key="compare-rows")

with tab_side:
    # The same filters and sort on both tables, shown next to each other.
    common = {c: t for c, t in aschema.columns.items() if c in bschema.columns}
    view = f"compare|{av.qualified_name}/{at_name}|{bv.qualified_name}/{bt_name}"
    query = controls(
        load_query(view), type(aschema)(common, {c: k for c, k in aschema.media.items() if c in common}), view
    )
    left, right = st.columns(2)
    for box, version, name, path, label in ((left, av, at_name, apath, "A"), (right, bv, bt_name, bpath, "B")):
        with box:
            result = run_or_explain(query, {name: path}) if label == "A" else run_query(query, {name: path})
            st.markdown(f"**{label}: {version.qualified_name}/{name}** · {result.total_rows:,} rows")
            media_table(
                [{"name": c, "kind": result.media.get(c)} for c in result.columns],
                cells_for_page(result, version),
                None,
                key=f"side-{label}",
            )

keep(
    query,
    a_artifact=f"{av.project}/{av.source_name}",
    a_version=av.version,
    a_table=at_name,
    b_artifact=f"{bv.project}/{bv.source_name}",
    b_version=bv.version,
    b_table=bt_name,
    key=",".join(key) or None,
    kind=kind,
)
