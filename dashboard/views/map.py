"""Map: a table's rows placed by their embeddings (one or two tables on one map); select to filter, click
to play, find the rows most like one."""

import streamlit as st

from dashboard.widgets.deeplink import clear_note, first_run, link_value, note, notes_area, publish, seed
from dashboard.widgets.map_rows import cached_map, legend_of, lines_of, points_of, row_list, selected_rows
from dashboard.widgets.pickers import catalog, pick_table
from dashboard.widgets.plain import plain
from dashboard.widgets.scatter_map import scatter_map
from dashboard.workspace import workspace_api
from shanty import PROJECTIONS, Api, ShantyError, colour_columns, embedding_columns, format_number

api = workspace_api()
st.title("Map")
notes_area()


@st.cache_data(ttl=10, show_spinner=False)
def _first_mapped(root: str, column: str | None = None, besides: str | None = None) -> tuple[str, None, str] | None:
    """The most recently changed artifact whose latest version holds a table with embeddings (with vector
    ``column``, and not the artifact ``besides``, when given)."""
    found = catalog(root)
    reader = Api(root)
    for ref in found.with_tables():
        if ref == besides:
            continue
        version = reader.artifact(f"{ref}:latest")
        for table in found.tables[ref]:
            vectors = embedding_columns(version, table)
            if vectors and (column is None or column in vectors):
                return ref, None, table
    return None


def _seeded(key: str, options: list[str], default: str) -> None:
    """Give selectbox ``key`` its value: the link's (when one of ``options``), else ``default``; a value
    no longer offered (another table was picked) falls back to ``default``."""
    seed(key, default)
    if st.session_state[key] not in options:
        if first_run() and link_value(key) is not None:
            note(key, f"The link's {key}={link_value(key)!r} is not offered here; showing {default!r}.")
        st.session_state[key] = default


def _parse_polygon(text: str) -> list[list[float]]:
    points = [[float(v) for v in pair.split(",")] for pair in text.split(";") if pair]
    if len(points) < 3 or len(points) > 400 or any(len(p) != 2 for p in points):
        raise ValueError("a selection is 3 to 400 points x,y separated by ;")
    return points


def _polygon_text(polygon: list[list[float]] | None) -> str | None:
    return ";".join(f"{x:.6g},{y:.6g}" for x, y in polygon) if polygon else None


default = _first_mapped(api.root)
with st.sidebar:
    picked = pick_table(api, "m_", default=default if default else None, stacked=True)
if picked is None:
    st.stop()
version, table, _ = picked
vectors = embedding_columns(version, table)
if not vectors:
    st.info(
        f"{plain(version.qualified_name)}/{plain(table)} has no embedding column yet. Measure its media and "
        f"log them as a new version, then pick that version:"
    )
    st.code(f"shanty enrich {version.qualified_name} --table {table}", language="bash")
    st.stop()

with st.sidebar:
    _seeded("m_embedding", vectors, vectors[0])
    column = st.selectbox("Embedding", vectors, key="m_embedding")
    two = st.toggle("A second table on the same map", key="m_two", value=seed("m_two", False, lambda v: v == "1"))
    second, other_vectors = None, []
    if two:
        st.caption("Rows of both tables are placed together, so distances mean the same on both.")
        partner = _first_mapped(api.root, column, f"{version.project}/{version.source_name}")
        other = pick_table(api, "m2_", "Second ", partner, stacked=True)
        if other is not None:
            other_vectors = embedding_columns(other[0], other[1])
            if column in other_vectors:
                second = other
            else:
                st.warning(f"That table has no {plain(column)!r} column; pick an enriched table.")
    groups = colour_columns(version, table)  # columns that name groups first
    shared = groups
    if second is not None:
        theirs = set(colour_columns(second[0], second[1]))
        shared = [c for c in groups if c in theirs]
    colour_options = (["(table)"] if second is not None else []) + shared
    colour_options = colour_options or ["(table)"]
    _seeded("m_color", colour_options, colour_options[0])
    color = st.selectbox("Colour by", colour_options, key="m_color")
    _seeded("m_method", list(PROJECTIONS), PROJECTIONS[0])
    method = st.radio(
        "Projection", PROJECTIONS, key="m_method", horizontal=True, format_func=str.upper, help="UMAP needs umap-learn"
    )
    pair = None
    if second is not None:
        _seeded("m_pair", ["(none)", *shared], shared[0] if shared else "(none)")
        pair = st.selectbox("Lines between rows with the same", ["(none)", *shared], key="m_pair")
        pair = None if pair == "(none)" else pair

tables = ((version.qualified_name, table, column),)
if second is not None:
    tables += ((second[0].qualified_name, second[1], column),)
try:
    found = cached_map(api.root, tables, None if color == "(table)" else color, method, pair)
except ShantyError as exc:
    st.error(plain(exc))
    st.stop()

# The selection (a polygon) and the focused row live in the URL; both belong to one map: another table,
# embedding or projection places the rows elsewhere, so they are dropped
identity = repr((tables, method))
if st.session_state.get("m_for", identity) != identity:
    for stale in ("m_selection", "m_point"):
        st.session_state[stale] = None
st.session_state.m_for = identity
if "m_selection" not in st.session_state:
    raw = link_value("sel")
    st.session_state.m_selection = None
    if raw:
        try:
            st.session_state.m_selection = _parse_polygon(raw)
        except ValueError as exc:
            note("sel", f"The link's selection cannot be used ({exc}); showing every row.")
if "m_point" not in st.session_state:
    raw = link_value("point")
    st.session_state.m_point = None
    if raw:
        try:
            source_index, row = (int(v) for v in raw.split(":"))
            st.session_state.m_point = found.point_of(source_index, row)
        except ValueError:
            note("point", f"The link's point {raw!r} is not table:row; no row is picked.")

explained = found.projection.explained
st.caption(
    f"{format_number(len(found))} rows · {found.projection.method.upper()} of {plain(column)}"
    + (f" (the axes explain {explained[0]:.0%} and {explained[1]:.0%} of the variance)" if explained else "")
    + " · drag a lasso or a box to select, click a point to play it and find rows like it"
)
event = scatter_map(
    points_of(found),
    key="m_map",
    legend=legend_of(found),
    lines=lines_of(found),
    selection=st.session_state.m_selection,
    focus=st.session_state.m_point,
    x_label=f"{found.projection.method.upper()} 1",
    y_label=f"{found.projection.method.upper()} 2",
)
if event.changed:
    st.session_state.m_selection = event.selection or None
    clear_note("sel")
if event.clicked is not None:
    st.session_state.m_point = event.clicked
    clear_note("point")
point = st.session_state.m_point
publish(
    m_two="1" if two else None,
    m_embedding=column if column != vectors[0] else None,
    m_color=color,
    m_method=method if method != PROJECTIONS[0] else None,
    m_pair=pair,
    m_similar_by=st.session_state.get("m_similar_by") if point is not None else None,
    sel=_polygon_text(st.session_state.m_selection),
    point=None if point is None else f"{int(found.source[point])}:{int(found.row[point])}",
)

if point is not None and 0 <= point < len(found):
    st.subheader("Rows like this one", divider="gray")
    usable = [v for v in vectors if second is None or v in other_vectors]
    # The tune (melody) finds a song's renderings on any instrument; the embedding finds the same sound
    by_default = next((v for v in usable if v.endswith("_melody")), column)
    _seeded("m_similar_by", usable, by_default)
    by = st.selectbox("Find rows like it by", usable, key="m_similar_by")
    try:
        row_list(found, [(point, None), *found.similar(point, k=10, column=by)], "m_similar", color)
    except ShantyError as exc:
        st.warning(plain(exc))

polygon = st.session_state.m_selection
if polygon:
    st.subheader("Selected rows", divider="gray")
    chosen = found.selected(polygon)
    if not any(chosen.values()):
        st.info("The selection holds no rows; draw around some points, or press Esc on the map to clear it.")
    for index, rows in chosen.items():
        if rows:
            selected_rows(found.sources[index], rows, key=f"m_page{index}")
elif point is None and first_run():
    st.caption("Select points on the map to list their rows here.")
