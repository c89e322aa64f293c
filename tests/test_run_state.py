"""A run's config, summary and resuming, as W&B scripts use them (``import shanty as wandb``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import shanty as wandb
from shanty.errors import InvalidInputError, NotFoundError


def read_run_in_a_fresh_process(path: str) -> dict:
    code = textwrap.dedent(
        f"""
        import json, shanty
        run = shanty.Api().run({path!r})
        print(json.dumps({{"config": run.config, "summary": run.summary, "state": run.state}}))
        """
    )
    return json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def test_config_and_summary_as_wandb_scripts_write_them() -> None:
    run = wandb.init(project="p", job_type="train", config={"lr": 0.1, "layers": [64, 32]})
    wandb.config.epochs = 3  # attribute access, on the module too
    run.config["batch"] = 16
    run.config.update({"lr": 0.01}, allow_val_change=True)
    run.config.setdefaults({"epochs": 99, "seed": 7})
    assert run.config.lr == 0.01 and run.config.as_dict()["epochs"] == 3 and run.config.seed == 7
    with pytest.raises(AttributeError):
        _ = run.config.missing
    wandb.summary["best_acc"] = np.float32(0.5)  # numpy values are stored as plain numbers
    run.summary.loss = np.array([0.25, 0.125])
    wandb.finish()
    stored = read_run_in_a_fresh_process(f"p/{run.id}")
    assert stored == {
        "config": {"lr": 0.01, "layers": [64, 32], "epochs": 3, "batch": 16, "seed": 7},
        "summary": {"best_acc": 0.5, "loss": [0.25, 0.125]},
        "state": "finished",
    }
    assert [r.id for r in wandb.Api().runs("some-entity/p")] == [run.id]  # W&B's entity/project path


def test_a_value_json_cannot_store_is_refused_where_it_is_set() -> None:
    run = wandb.init(project="p", job_type="train", config={"lr": 0.1})
    with pytest.raises(InvalidInputError, match="'model' = object: a run's config and summary hold plain values"):
        run.config.model = object()
    with pytest.raises(InvalidInputError, match="'bad'"):
        run.summary.update({"ok": 1, "bad": {1, 2}})
    run.finish()
    assert wandb.Api().run(f"p/{run.id}").config == {"lr": 0.1}
    with pytest.raises(InvalidInputError, match="'f' = builtin_function_or_method"):
        wandb.init(project="p", config={"f": print})
    assert len(wandb.Api().runs("p")) == 1  # the refused run was never written


def test_resume_continues_the_run_with_its_config_and_summary() -> None:
    first = wandb.init(project="p", job_type="train", id="yolo-run-1", config={"lr": 0.1})
    first.summary.epoch = 1
    wandb.finish()
    again = wandb.init(project="p", id="yolo-run-1", resume="allow", config={"epochs": 5})
    assert again.id == "yolo-run-1" and again.job_type == "train"
    assert dict(again.config) == {"lr": 0.1, "epochs": 5} and again.summary.epoch == 1
    assert wandb.Api().run("p/yolo-run-1").state == "running"
    again.summary.epoch = 2
    wandb.finish()
    assert wandb.Api().run("entity/p/yolo-run-1").summary == {"epoch": 2}
    assert len(wandb.Api().runs("p")) == 1


@pytest.mark.parametrize(
    ("id_", "resume", "message"),
    [
        ("taken", None, "exists; pass resume='allow'"),
        ("taken", "never", "exists"),
        ("taken", False, "exists"),
        ("nobody", "must", "no run p/nobody to resume"),
        (None, "must", "needs the id"),
        ("taken", "sometimes", "not one of"),
        ("bad/id", "allow", "Run id name"),
    ],
)
def test_resume_mistakes_are_one_sentence_and_write_nothing(id_: str | None, resume, message: str) -> None:
    wandb.init(project="p", id="taken")
    wandb.finish()
    before = [(r.id, r.state) for r in wandb.Api().runs("p")]
    with pytest.raises(InvalidInputError, match=message):
        wandb.init(project="p", id=id_, resume=resume)
    assert [(r.id, r.state) for r in wandb.Api().runs("p")] == before


def test_resume_auto_starts_a_new_run_or_continues_one() -> None:
    run = wandb.init(project="p", id="auto-1", resume="auto")
    run.finish()
    assert wandb.init(project="p", id="auto-1", resume=True).id == "auto-1"
    wandb.finish()


def test_api_run_names_what_is_missing() -> None:
    with pytest.raises(NotFoundError, match="no run p/abc"):
        wandb.Api().run("p/abc")
    with pytest.raises(InvalidInputError, match="project/run_id"):
        wandb.Api().run("just-an-id")


def test_use_artifact_takes_a_draft_as_wandb_does(tmp_path) -> None:
    (tmp_path / "a.wav").write_bytes(b"audio")
    run = wandb.init(project="p", job_type="eval")
    draft = wandb.Artifact("inputs", type="dataset")
    draft.add_file(str(tmp_path / "a.wav"))
    used = run.use_artifact(draft)  # stored first, then recorded as used, not logged
    assert used.qualified_name == "p/inputs:v0" and run.use_artifact(draft).qualified_name == "p/inputs:v0"
    with pytest.raises(InvalidInputError, match="takes 'name:alias', an Artifact or a logged version, not int"):
        run.use_artifact(3)
    wandb.finish()
    stored = wandb.Api().run(f"p/{run.id}")
    assert stored.used == ("p/inputs:v0", "p/inputs:v0") and stored.logged == ()
    with pytest.raises(InvalidInputError, match="finished"):
        run.use_artifact("p/inputs:v0")
