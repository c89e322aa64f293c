"""Compare two tables (two versions of one, or any two): row-level diff with A/B media, and side by side."""

import streamlit as st

from dashboard.widgets.charts import change_chart
from dashboard.widgets.deeplink import clear_note, link_value, note, notes_area, seed
from dashboard.widgets.media_links import cells_for_page, sign_cell, table_columns
from dashboard.widgets.media_table import media_table
from dashboard.widgets.paging import fit_page, page_input
from dashboard.widgets.pickers import pick_two_tables, two_tables_to_compare
from dashboard.widgets.plain import plain
from dashboard.widgets.query_controls import apply_action
from dashboard.widgets.query_view import controls, keep, load_query, run_or_explain
from dashboard.workspace import workspace_api
from shanty import RowKind, ShantyError, TableSchema, diff_tables, format_number, format_value, run_query, suggest_key

PAGE_SIZE = 25

api = workspace_api()
zone = st.context.timezone
st.title("Compare")
notes_area()
sidebar = st.sidebar.container()
sidebar.caption(
    "A is the old or left table, B the new or right one. Rows are matched by key columns (or by whole-row content)."
)
with sidebar:
    (av, at_name, apath, aschema), (bv, bt_name, bpath, bschema), shared = pick_two_tables(
        api, (("a_", "A"), ("b_", "B")), two_tables_to_compare(api), stacked=True
    )

# The key: the link's, else the fewest shared columns that identify every row on both sides; again for new tables.
pair = f"{apath}|{bpath}"
if st.session_state.get("key-for") != pair:
    st.session_state.pop("key", None)
    st.session_state["key-for"] = pair
if "key" not in st.session_state:
    linked = link_value("key")
    wanted = [k for k in linked.split(",") if k] if linked is not None else list(suggest_key(apath, bpath))
    unknown = [k for k in wanted if k not in shared]
    if unknown:
        note(
            "key",
            f"The link matches rows by {', '.join(map(repr, unknown))}, which the two tables do not share; "
            f"they share: {', '.join(map(repr, shared)) or 'no plain column'}.",
        )
    st.session_state["key"] = [k for k in wanted if k in shared]
key = sidebar.multiselect(
    "Match rows by",
    shared,
    key="key",
    help="none: rows match when every cell is equal",
    on_change=clear_note,
    args=("key",),
)

try:
    diff = diff_tables(apath, bpath, key or None)
except ShantyError as exc:
    st.error(plain(exc))
    st.stop()

counts = {k.value: diff.count(k) for k in RowKind} | {"unchanged": diff.unchanged}
sidebar.altair_chart(change_chart(counts, noun="rows"), width="stretch")
notes = []
if diff.columns_added:
    notes.append(f"columns only in B: {plain(', '.join(diff.columns_added))}")
if diff.columns_removed:
    notes.append(f"columns only in A: {plain(', '.join(diff.columns_removed))}")
st.caption(
    f"A: {plain(f'{av.qualified_name}/{at_name}')} ({format_number(diff.old_rows)} rows) · "
    f"B: {plain(f'{bv.qualified_name}/{bt_name}')} ({format_number(diff.new_rows)} rows)"
    + ("" if not notes else " · " + "; ".join(notes))
    + " · play a row, then X switches A/B at the same playhead"
)


def shown(value, media: str | None, version):
    """A cell as the table shows it: media signed for ``version``, other values formatted for people."""
    if media:
        return sign_cell(value, media, version)
    return None if value is None else format_value(value, zone)


tab_diff, tab_side = st.tabs(["Row changes (A/B)", "Side by side"])
with tab_diff:
    kinds = [k.value for k in RowKind if key or k is not RowKind.CHANGED]
    seed(
        "kind",
        "changed" if key and counts["changed"] else next((k for k in kinds if counts[k]), kinds[0]),
        lambda raw: RowKind(raw).value,
    )
    if st.session_state["kind"] not in kinds:
        st.session_state["kind"] = kinds[0]
    choice, info, box = st.columns([5, 2, 1], vertical_alignment="center")
    kind = choice.radio(
        "Rows",
        kinds,
        key="kind",
        horizontal=True,
        format_func=lambda k: f"{k} ({counts[k]:,})",
        label_visibility="collapsed",
    )
    pages = -(-counts[kind] // PAGE_SIZE)
    page = fit_page("diff_page", pages)
    rows = diff.rows(kind, page, PAGE_SIZE)
    with box:
        page_input("diff_page", pages, label_visibility="collapsed")
    first = (page - 1) * PAGE_SIZE
    info.caption(f"{kind} rows {first + 1:,}–{first + len(rows):,} of {counts[kind]:,}" if rows else "")
    if not rows:
        st.info(f"No {kind} rows.")
    elif kind == "changed":
        changed = sorted({c for r in rows for c in r.changed_columns}, key=list(bschema.columns).index)
        columns = [{"name": k, "kind": None} for k in key]
        for c in changed:
            media, at = bschema.media.get(c), len(columns)
            # Each A cell is paired with its B cell: the player switches between them at the same playhead.
            columns += [
                {"name": f"A: {c}", "kind": media, "partner": at + 1},
                {"name": f"B: {c}", "kind": media, "partner": at},
            ]
        body, marks = [], []
        for r in rows:
            line = [format_value(r.key[k], zone) for k in key]
            for c in changed:
                media = bschema.media.get(c)
                line += [shown(r.old.get(c), media, av), shown(r.new.get(c), media, bv)]
            body.append(line)
            marks.append([len(key) + 2 * changed.index(c) + j for c in r.changed_columns for j in (0, 1)])
        media_table(columns, body, key="compare-changed", view_key=f"{pair}|changed", highlight=marks, pinned=list(key))
    else:
        version, schema = (bv, bschema) if kind == "added" else (av, aschema)
        names = list(schema.columns)
        body = [
            [shown((r.new if kind == "added" else r.old).get(c), schema.media.get(c), version) for c in names]
            for r in rows
        ]
        media_table(
            [{"name": c, "kind": schema.media.get(c)} for c in names],
            body,
            key="compare-rows",
            view_key=f"{pair}|{kind}",
            pinned=list(key) or names[:1],
        )

with tab_side:
    # The same filters and sort on both tables, shown next to each other.
    common = {c: t for c, t in aschema.columns.items() if c in bschema.columns}
    view = f"compare|{av.qualified_name}/{at_name}|{bv.qualified_name}/{bt_name}"
    both = TableSchema(common, {c: k for c, k in aschema.media.items() if c in common})
    query = controls(load_query(view), both, view)
    left, right = st.columns(2)
    for box, version, name, path, label in ((left, av, at_name, apath, "A"), (right, bv, bt_name, bpath, "B")):
        with box:
            result = run_or_explain(query, {name: path}, view) if label == "A" else run_query(query, {name: path})
            st.markdown(
                f"**{label}: {plain(f'{version.qualified_name}/{name}')}** · {format_number(result.total_rows)} rows"
            )
            action = media_table(
                table_columns(result),
                cells_for_page(result, version, zone),
                key=f"side-{label}",
                view_key=f"{view}|{label}",
                sort={"column": query.sort[0].column, "descending": query.sort[0].descending} if query.sort else None,
                pinned=list(key) or list(result.columns[:1]),
            )
            # Sorting or filtering from either header applies to both sides.
            try:
                query = apply_action(query, action, both)
            except ShantyError as exc:
                st.error(plain(exc))

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
    diff_page=page if page > 1 else None,
)
