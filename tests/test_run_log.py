"""``run.log`` / ``wandb.log`` as W&B scripts use them: history, steps, summary, tables and media."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import shanty as wandb
from shanty import run_log
from shanty.errors import InvalidInputError
from shanty.run_log import run_table_name


def in_a_fresh_process(code: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        check=check,
        env=os.environ.copy(),
    )


READ_HISTORY = """
    import json, sys, shanty
    run = shanty.Api(sys.argv[1]).run(sys.argv[2])
    frame = run.history(keys=["loss", "train.acc"], samples=1000)
    print(json.dumps({
        "state": run.state,
        "summary": run.summary,
        "steps": [row["_step"] for row in run.scan_history()],
        "loss": frame["loss"].tolist(),
        "acc": frame["train.acc"].tolist(),
        "columns": sorted(run.history().columns),
    }))
"""


def test_history_round_trips_on_every_backend_and_a_resumed_run_goes_on(
    registry_root: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_log, "FLUSH_ROWS", 4)  # several chunks, written while the run goes on
    with wandb.init(project="p", id="train-1", root=registry_root) as run:
        for step in range(10):
            run.log({"loss": np.float32(1 / (step + 1)), "train": {"acc": step / 10}})
    store_names = run._logger.store.chunk_names()
    assert store_names == ["00000000.jsonl", "00000001.jsonl", "00000002.jsonl"]

    stored = json.loads(in_a_fresh_process(READ_HISTORY, registry_root, "p/train-1").stdout)
    assert stored["steps"] == list(range(10)) and stored["state"] == "finished"
    assert stored["loss"] == pytest.approx([1 / (s + 1) for s in range(10)])
    assert stored["acc"] == pytest.approx([s / 10 for s in range(10)])
    assert stored["summary"] == {"loss": pytest.approx(0.1), "train": {"acc": 0.9}}
    assert stored["columns"] == ["_runtime", "_step", "_timestamp", "loss", "train.acc"]

    with wandb.init(project="p", id="train-1", resume="allow", root=registry_root) as again:
        assert again.step == 10
        again.log({"loss": 0.05})
    stored = json.loads(in_a_fresh_process(READ_HISTORY, registry_root, "p/train-1").stdout)
    assert stored["steps"] == list(range(11)) and stored["summary"]["loss"] == 0.05
    assert again._logger.store.chunk_names()[-1] == "00000003.jsonl"  # appended, nothing rewritten


def test_steps_follow_wandb() -> None:
    run = wandb.init(project="p")
    wandb.log({"a": 1})  # step 0
    wandb.log({"b": 2}, commit=False)  # pending at step 1
    wandb.log({"c": 3})  # merged into step 1
    run.log({"d": 4}, step=5)  # an explicit step stays pending until the step moves on
    run.log({"e": 5}, step=5)
    with pytest.warns(UserWarning, match="step 2, lower than the current step 5; .* ignored") as caught:
        run.log({"ignored": 1}, step=2)
    assert caught[0].filename == __file__  # the warning points at the script's line
    run.log({"f": 6})  # commits step 5 with d, e and f
    run.log({"g": 7}, step=np.int64(8), commit=True)
    run.log({"h": 8})
    run.finish()
    rows = [
        {k: v for k, v in r.items() if not k.startswith("_") or k == "_step"}
        for r in wandb.Api().run(f"p/{run.id}").scan_history()
    ]
    assert rows == [
        {"a": 1, "_step": 0},
        {"b": 2, "c": 3, "_step": 1},
        {"d": 4, "e": 5, "f": 6, "_step": 5},
        {"g": 7, "_step": 8},
        {"h": 8, "_step": 9},
    ]
    assert "ignored" not in wandb.Api().run(f"p/{run.id}").summary


def test_summary_is_the_last_value_unless_set_after_it() -> None:
    with wandb.init(project="p") as run:
        for loss in (3.0, 2.0, 1.0):
            run.log({"loss": loss, "val": {"acc": loss / 4}, "flag": loss < 2, "phase": f"epoch {loss}"})
        run.summary["best_loss"] = 1.0
        run.log({"loss": 0.5, "val": {"f1": 0.7}})
        run.summary["loss"] = 0.25  # set explicitly after the last log: kept
    summary = wandb.Api().run(f"p/{run.id}").summary
    assert summary == {
        "loss": 0.25,
        "val": {"acc": 0.25, "f1": 0.7},
        "flag": True,
        "phase": "epoch 1.0",
        "best_loss": 1.0,
    }


def test_nan_and_history_samples() -> None:
    with wandb.init(project="p") as run:
        for step in range(100):
            run.log({"loss": float("nan") if step == 3 else step})
    view = wandb.Api().run(f"p/{run.id}")
    frame = view.history(samples=10)
    assert len(frame) == 10 and frame["_step"].iloc[0] == 0 and frame["_step"].iloc[-1] == 99
    assert np.isnan(view.history(keys=["loss"], pandas=False, samples=1000)[3]["loss"])
    assert view.has_history and not wandb.init(project="p").finish() and not wandb.Api().runs("p")[-1].has_history


def png(path: Path, shade: int) -> str:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes([shade]) * 16)
    return str(path)


def wav(path: Path, shade: int) -> str:
    path.write_bytes(b"RIFF" + bytes([shade]) * 40)
    return str(path)


def test_a_logged_table_is_a_versioned_artifact_of_the_run(tmp_path: Path) -> None:
    table = wandb.Table(columns=["id", "image", "score"], data=[[1, wandb.Image(png(tmp_path / "a.png", 1)), 0.5]])
    with wandb.init(project="p", id="eval-1") as run:
        run.log({"preds": table})
        run.log({"preds": table})  # unchanged: no new version
        table.add_data(2, wandb.Image(png(tmp_path / "b.png", 2)), 0.25)
        run.log({"preds": table, "val/preds": wandb.Table(columns=["x"], data=[[1]])})
    api = wandb.Api()
    versions = api.versions("p/run-eval-1-preds")
    assert [(v.version, v.type) for v in versions] == [("v0", "run_table"), ("v1", "run_table")]
    assert len(versions[1].get("preds")) == 2 and versions[1].tables() == ["preds"]
    spaced = run_table_name("eval-1", "val/preds")
    assert spaced.startswith("run-eval-1-valpreds-") and len(spaced) == len("run-eval-1-valpreds-") + 6
    assert api.artifact(f"p/{spaced}:v0").tables() == ["val/preds"]  # wandb 0.31's sanitized name, key kept
    view = api.run("p/eval-1")
    refs = [row["preds"] for row in view.scan_history()]
    assert [r["artifact"] for r in refs] == ["p/run-eval-1-preds:v0", "p/run-eval-1-preds:v0", "p/run-eval-1-preds:v1"]
    assert refs[-1] == {
        "_type": "table-file",
        "artifact": "p/run-eval-1-preds:v1",
        "table": "preds",
        "nrows": 2,
        "ncols": 3,
    }
    assert view.logged == ("p/run-eval-1-preds:v0", "p/run-eval-1-preds:v1", f"p/{spaced}:v0")
    assert [v.qualified_name for v in view.logged_artifacts()] == list(view.logged)


def test_a_joined_table_is_logged_with_its_tables() -> None:
    left = wandb.Table(columns=["k", "a"], data=[[1, "x"], [2, "y"]])
    right = wandb.Table(columns=["k", "b"], data=[[1, 10]])
    with wandb.init(project="p", id="j") as run:
        run.log({"both": wandb.JoinedTable(left, right, "k")})
    version = wandb.Api().artifact("p/run-j-both:v0")
    assert version.joined_tables() == ["both"] and sorted(version.tables()) == ["both-table1", "both-table2"]
    assert len(version.get("both").table1) == 2


def test_media_are_gathered_per_key_into_a_table_when_the_run_finishes(tmp_path: Path) -> None:
    with wandb.init(project="p", id="media-1") as run:
        for step in range(3):
            run.log({"loss": step, "sample": wandb.Image(png(tmp_path / f"{step}.png", step), caption=f"step {step}")})
        run.log({"examples": [wandb.Audio(wav(tmp_path / f"{i}.wav", i), sample_rate=8000) for i in range(2)]})
        assert wandb.Api().artifact_exists("p/run-media-1-sample") is False  # committed at the end
    api = wandb.Api()
    sample = api.artifact("p/run-media-1-sample:v0").get("sample")
    assert sample.columns == ["step", "sample"] and sample.get_column("step") == [0, 1, 2]
    assert [cell.caption for cell in sample.get_column("sample")] == ["step 0", "step 1", "step 2"]
    examples = api.artifact("p/run-media-1-examples:latest").get("examples")
    assert examples.get_column("step") == [3, 3] and examples.media_columns == {"examples": "audio"}
    rows = list(api.run("p/media-1").scan_history())
    assert rows[0]["sample"]["_type"] == "image-file" and rows[0]["sample"]["table"] == "run-media-1-sample"
    assert rows[3]["examples"]["_type"] == "audio-list" and rows[3]["examples"]["count"] == 2
    assert api.run("p/media-1").summary["sample"]["artifact"] == "p/run-media-1-sample:v0"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"model": object()}, "cannot store 'model' = object; log numbers, text"),
        ({"nested": {"bad": {1, 2}}}, "cannot store 'nested.bad' = set"),
        ({3: 1.0}, "keys must be non-empty strings, not 3"),
        ({"_step": 4}, "'_step' is set by run.log itself"),
        ([("loss", 1)], "takes a dict of values"),
    ],
)
def test_bad_values_are_one_sentence_and_nothing_of_the_call_is_kept(data, message: str) -> None:
    run = wandb.init(project="p")
    run.log({"ok": 1}, commit=False)
    with pytest.raises(InvalidInputError, match=message) as caught:
        run.log({"first": 2, **data} if isinstance(data, dict) else data)
    assert str(caught.value).count(". ") == 0 and str(caught.value).endswith(".")
    run.finish()
    assert [
        {k: v for k, v in r.items() if not k.startswith("_")} for r in wandb.Api().run(f"p/{run.id}").scan_history()
    ] == [{"ok": 1}]


def test_misuse_is_explained(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="No run is active"):
        wandb.log({"loss": 1})
    run = wandb.init(project="p")
    run.log({"m": wandb.Image(png(tmp_path / "a.png", 1))})
    with pytest.raises(InvalidInputError, match="key 'm' mixes media kinds \\(audio, image\\)"):
        run.log({"m": wandb.Audio(wav(tmp_path / "a.wav", 1))})
    with pytest.raises(InvalidInputError, match="step must be a whole number"):
        run.log({"x": 1}, step=-1)
    run.finish()
    with pytest.raises(InvalidInputError, match="finished"):
        run.log({"x": 1})


def test_an_exception_in_the_with_block_still_writes_the_history_and_fails_the_run() -> None:
    with pytest.raises(RuntimeError), wandb.init(project="p", id="boom") as run:
        run.log({"loss": 1.0})
        run.log({"loss": 0.5}, commit=False)
        raise RuntimeError("diverged")
    view = wandb.Api().run("p/boom")
    assert view.state == "failed" and [r["loss"] for r in view.scan_history()] == [1.0, 0.5]


def test_a_script_that_never_calls_finish_keeps_its_history(tmp_path: Path) -> None:
    script = """
        import sys, shanty as wandb
        wandb.init(project="p", id=sys.argv[1])
        for i in range(3):
            wandb.log({"loss": 1.0 / (i + 1)})
        if sys.argv[1] == "crash":
            raise SystemError("out of memory")
    """
    in_a_fresh_process(script, "clean")
    crashed = in_a_fresh_process(script, "crash", check=False)
    assert crashed.returncode == 1 and "SystemError: out of memory" in crashed.stderr, crashed.stderr
    api = wandb.Api()
    assert [r["loss"] for r in api.run("p/clean").scan_history()] == pytest.approx([1.0, 0.5, 1 / 3])
    assert (api.run("p/clean").state, api.run("p/crash").state) == ("finished", "failed")
    assert len(list(api.run("p/crash").scan_history())) == 3
