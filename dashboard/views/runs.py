"""Runs: a run's state, times, config and summary, a line chart per logged metric, and its artifacts."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.auth import visible_projects
from dashboard.widgets.deeplink import notes_area, publish, remember
from dashboard.widgets.pickers import pick_project, select
from dashboard.widgets.plain import plain
from dashboard.workspace import workspace_api
from shanty import EMPTY, Api, NotFoundError, format_number, format_time, format_value

KEY_NARROW = {"key": st.column_config.TextColumn(width="small")}  # values (table names) get the room
SCAN_SECONDS = 10  # how long a project's run list and a run's history are reused
CHART_COLUMNS = 3
STATE_COLOURS = {"finished": "green", "running": "blue", "failed": "red"}

api = workspace_api()
zone = st.context.timezone
st.title("Runs")
notes_area()


@st.cache_data(ttl=SCAN_SECONDS, show_spinner=False)
def _runs(root: str, project: str) -> list[dict[str, Any]]:
    """The project's runs, newest first, as plain facts (cached values must pickle)."""
    found = [
        {
            "id": r.id,
            "name": r.name or r.id,
            "job_type": r.job_type,
            "state": r.state,
            "started_at": r.started_at,
            "history": r.has_history,
        }
        for r in Api(root).runs(project)
    ]
    return sorted(found, key=lambda r: r["started_at"], reverse=True)


@st.cache_data(ttl=SCAN_SECONDS, show_spinner="Reading the run's history...")
def _history(root: str, project: str, run_id: str) -> pd.DataFrame:
    return Api(root).run(f"{project}/{run_id}").history(samples=2000)


def _flat(values: Any, prefix: str = "") -> dict[str, Any]:
    # Nested config / summary values as dotted keys (``val.loss``), as the charts name them.
    if isinstance(values, dict) and "_type" not in values:
        out: dict[str, Any] = {}
        for key, value in values.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): values}


def _shown(value: Any) -> str:
    if isinstance(value, dict) and value.get("_type") in ("table-file", "joined-table"):
        return f"table {value.get('artifact')}"
    if isinstance(value, dict) and "_type" in value:
        return f"{value['_type']} ({value.get('count', 1)})"
    if isinstance(value, bool) or value is None:
        return format_value(value)
    if isinstance(value, int | float):
        return format_number(value)
    return format_value(value, zone)


def _facts(values: dict[str, Any]) -> pd.DataFrame:
    flat = _flat(dict(values))
    return pd.DataFrame({"key": list(flat), "value": [_shown(v) for v in flat.values()]}, columns=["key", "value"])


def _metrics(frame: pd.DataFrame) -> list[str]:
    """Numeric, non-bool columns the user logged (not ``_step``, ``_runtime``, ``_timestamp``)."""
    return [
        c
        for c in frame.columns
        if not str(c).startswith("_")
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
        and frame[c].notna().any()
    ]


def _chart(frame: pd.DataFrame, metric: str) -> alt.Chart:
    points = frame[["_step", metric]].dropna().rename(columns={metric: "value"})
    base = alt.Chart(points, title=alt.Title(metric, anchor="start", fontSize=14))
    line = base.mark_line(point=len(points) <= 30, strokeWidth=2).encode(
        x=alt.X("_step:Q", title="step", axis=alt.Axis(tickMinStep=1, format="~s")),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False), axis=alt.Axis(format="~g")),
        tooltip=[alt.Tooltip("_step:Q", title="step"), alt.Tooltip("value:Q", title=metric, format=",.4~g")],
    )
    return line.properties(height=200)


project_box, run_box = st.columns([1, 3])
with project_box:
    project = pick_project(api)
if project is None:
    st.info("This registry is empty. Log runs with `run = shanty.init(project=...)` and `run.log({...})`.")
    st.stop()
runs = _runs(api.root, project)
if not runs:
    st.info(f"Project {plain(project)} has no runs yet; start one with `shanty.init(project=...)`.")
    st.stop()
labels = {r["id"]: f"{r['name']} · {r['job_type'] or 'run'} · {format_time(r['started_at'], zone)}" for r in runs}
with_history = [r["id"] for r in runs if r["history"]]
with run_box:
    run_id = select(
        "Run",
        list(labels),
        "run",
        default=(with_history or list(labels))[0],
        what="run",
        where=f"project {project}",
        parent=project,
        format_func=lambda value: labels.get(value, value),
        on_pick=lambda _value: remember(project=project),
    )
publish(project=project, run=run_id)
try:
    run = api.run(f"{project}/{run_id}")
except NotFoundError as exc:  # removed since the list was read
    st.warning(plain(exc))
    st.stop()

title, badge = st.columns([6, 1], vertical_alignment="center")
title.subheader(plain(run.name or run.id))
with badge:
    st.badge(run.state, color=STATE_COLOURS.get(run.state, "gray"), width="stretch")
st.caption(
    f"Run `{run.id}` · job type {plain(run.job_type or EMPTY)} · started {format_time(run.started_at, zone)} · "
    + (f"finished {format_time(run.finished_at, zone)}" if run.finished_at else "not finished")
)

frame = _history(api.root, project, run.id) if run.has_history else pd.DataFrame()
metrics = _metrics(frame) if len(frame) else []
st.markdown(f"#### Metrics · {format_number(len(frame))} step(s)" if metrics else "#### Metrics")
if not metrics:
    st.caption("This run logged no numbers; `run.log({'loss': 0.1})` draws a chart per key here.")
for start in range(0, len(metrics), CHART_COLUMNS):
    for box, metric in zip(st.columns(CHART_COLUMNS), metrics[start : start + CHART_COLUMNS], strict=False):
        with box:
            st.altair_chart(_chart(frame, metric), width="stretch")

left, right = st.columns(2)
with left:
    st.markdown("#### Summary")
    st.dataframe(_facts(run.summary), hide_index=True, width="stretch", column_config=KEY_NARROW)
with right:
    st.markdown("#### Config")
    st.dataframe(_facts(run.config), hide_index=True, width="stretch", column_config=KEY_NARROW)

st.markdown("#### Artifacts")
rows, links = [], []
readable = set(visible_projects(api.root, api.projects()))  # lineage never names a project the viewer cannot read
for role, names in (("logged", run.logged), ("used", run.used)):
    for name in dict.fromkeys(names):
        if name.split("/", 1)[0] not in readable:
            continue
        try:
            version = api.artifact(name)
        except NotFoundError:
            rows.append({"artifact": name, "role": role, "type": EMPTY, "files": EMPTY, "tables": "(deleted)"})
            continue
        tables = version.tables()
        rows.append(
            {
                "artifact": name,
                "role": role,
                "type": version.type,
                "files": format_number(version.file_count),
                "tables": ", ".join(tables) or EMPTY,
            }
        )
        ref = f"{version.project}/{version.source_name}"
        links += [(ref, version.version, table) for table in tables]
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
else:
    st.caption("This run logged and used no artifact.")
for ref, version_label, table in links:
    st.page_link(
        "dashboard/views/table.py",
        label=f"Open {table} of {ref}:{version_label} in the Table view",
        icon=":material/table_view:",
        query_params={"artifact": ref, "version": version_label, "table": table},
    )
