"""The Runs view with Streamlit's AppTest (no browser), on the demo workspace (its training run)."""

from __future__ import annotations

import shanty
from tests.kits.apptest import notes


def as_dict(frame) -> dict[str, str]:
    """A key / value table (summary or config) as key -> shown value."""
    return dict(zip(frame["key"], frame["value"], strict=True))


def test_runs_opens_on_the_training_run_with_a_chart_per_metric(app) -> None:
    at = app("dashboard/views/runs.py")
    assert not at.exception
    assert at.selectbox(key="run").value == "whalenet-1" and at.query_params["run"] == "whalenet-1"
    assert any(
        "Run `whalenet-1` · job type train · started " in c.value and "· finished " in c.value for c in at.caption
    )
    assert any("Metrics · 60 step(s)" in m.value for m in at.markdown)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 6  # loss, accuracy, lr, epoch, val.loss, val.accuracy
    summary, config, artifacts = (d.value for d in at.dataframe)
    shown = as_dict(summary)
    assert shown["best_val_accuracy"] == "0.8965" and shown["val.accuracy"] == "0.8775"
    assert shown["predictions"] == "table cshanty/run-whalenet-1-predictions:v0"
    assert as_dict(config)["batch_size"] == "16" and as_dict(config)["model"] == "whalenet-small"
    assert list(artifacts["role"]) == ["logged", "logged", "used"]
    assert len(at.get("page_link")) == 2  # predictions and val_sample, to the Table view


def test_a_broken_link_is_explained_and_a_run_without_history_says_so(app, demo_root: str) -> None:
    at = app("dashboard/views/runs.py", project="cshanty", run="nobody")
    assert not at.exception
    assert any("The link names run 'nobody', which does not exist" in n for n in notes(at))
    assert at.selectbox(key="run").value == "whalenet-1"
    upload = next(r.id for r in shanty.Api(demo_root).runs("cshanty") if r.job_type == "upload")
    at.selectbox(key="run").set_value(upload).run()
    assert not at.exception and not at.get("vega_lite_chart")
    assert any("logged no numbers" in c.value for c in at.caption)
    assert at.query_params["run"] == upload
