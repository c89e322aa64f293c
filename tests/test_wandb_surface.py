"""The W&B names real scripts call beyond logging: define_metric, save / restore, models, code, alerts,
the run's descriptive fields, the public Run's edits, the Api's projects / types / collections, and the
version facts. Where there is state, it is read back from a fresh process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

import shanty as wandb
from shanty.errors import InvalidInputError, NotFoundError


def fresh(code: str) -> object:
    """The JSON a fresh interpreter prints running ``code`` against $SHANTY_ROOT (``api`` is an Api)."""
    script = "import json, shanty\napi = shanty.Api()\n" + textwrap.dedent(code)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


# --- module level: define_metric, Histogram, errors, Settings -----------------------------------
def test_define_metric_summaries_follow_wandb(tmp_path: Path) -> None:
    with wandb.init(project="p", id="m1") as run:
        wandb.define_metric("loss", summary="min,max")
        wandb.define_metric("acc", summary="mean")
        run.define_metric("val/*", summary="last,first")
        run.define_metric("noise", summary="none")
        for step, (loss, acc) in enumerate([(0.5, 0.25), (0.2, 0.5), (0.4, 0.75)]):
            wandb.log({"loss": loss, "acc": acc, "val/f1": step, "noise": step, "plain": step})
        assert run.summary["loss"] == {"min": 0.2, "max": 0.5}
    summary = fresh("print(json.dumps(api.run('p/m1').summary_metrics))")
    assert summary["loss"] == {"min": 0.2, "max": 0.5}
    assert summary["acc"] == {"mean": 0.5}
    assert summary["val/f1"] == {"last": 2, "first": 0}
    assert "noise" not in summary and summary["plain"] == 2  # undefined metrics keep the last value
    stored = fresh("print(json.dumps(api.run('p/m1').metrics))")
    assert {"name": "loss", "summary": ["min", "max"]} in stored


def test_define_metric_merges_syncs_the_step_metric_and_refuses_bad_calls() -> None:
    with wandb.init(project="p", id="m2") as run:
        run.define_metric("epoch", hidden=True)
        metric = run.define_metric("val_loss", step_metric="epoch")
        assert run.define_metric("val_loss", summary="min").step_metric == "epoch"  # merged, as W&B
        assert run.define_metric("val_loss", summary="max", overwrite=True).step_metric is None
        run.define_metric("val_loss", step_metric=metric.step_metric)
        run.log({"epoch": 3, "train": 1.0})
        run.log({"val_loss": 0.5})  # no epoch given: W&B inserts the last one
        for bad in [dict(name=""), dict(name="a*b"), dict(name="x", summary="median"), dict(name="x", goal="up")]:
            with pytest.raises(InvalidInputError):
                run.define_metric(**bad)
    rows = list(wandb.Api().run("p/m2").scan_history())
    assert rows[1]["val_loss"] == 0.5 and rows[1]["epoch"] == 3


def test_histograms_are_stored_as_wandb_writes_them() -> None:
    with wandb.init(project="p", id="h1") as run:
        run.log({"weights": wandb.Histogram([1, 2, 2, 3], num_bins=2)})
        run.log({"grads": wandb.Histogram(np_histogram=np.histogram([0.0, 1.0, 1.0], bins=2))})
    rows = fresh("print(json.dumps(list(api.run('p/h1').scan_history())))")
    assert rows[0]["weights"] == {"_type": "histogram", "values": [1, 3], "bins": [1.0, 2.0, 3.0]}
    assert rows[1]["grads"]["values"] == [1, 2]
    with pytest.raises(InvalidInputError, match="at most 512 bins"):
        wandb.Histogram(np_histogram=([1] * 513, list(range(514))))
    with pytest.raises(InvalidInputError, match="bin edges"):
        wandb.Histogram(np_histogram=([1, 2], [0, 1]))


def test_error_names_settings_and_ttl_inherit() -> None:
    assert wandb.Error is wandb.ShantyError and issubclass(wandb.UsageError, wandb.Error)
    assert wandb.CommError is wandb.StorageError
    with pytest.raises(wandb.Error):
        wandb.Api().artifact("p/nothing:v0")
    settings = wandb.Settings(start_method="thread", silent=True)
    assert settings.start_method == "thread"
    with wandb.init(project="p", settings=settings) as run:
        artifact = wandb.Artifact("a", "data")
        with artifact.new_file("x.txt") as f:
            f.write("x")
        version = run.log_artifact(artifact)
    version.ttl = timedelta(days=1)
    version.save()
    version.ttl = wandb.ArtifactTTL.INHERIT  # no collection default here: never expires
    version.save()
    assert fresh("print(json.dumps(api.artifact('p/a:v0').info.ttl_seconds))") is None


# --- run files: save / restore / files ----------------------------------------------------------
def test_saved_files_are_stored_and_restored_from_another_process(tmp_path: Path) -> None:
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "model.pt").write_bytes(b"weights-1")
    (tmp_path / "ckpt" / "notes.txt").write_text("first")
    with wandb.init(project="p", id="f1") as run:
        copies = wandb.save("ckpt/*.pt")
        assert [Path(c).relative_to(run.dir).as_posix() for c in copies] == ["ckpt/model.pt"]
        run.save(str(tmp_path / "ckpt" / "notes.txt"), base_path=str(tmp_path), policy="end")
        (tmp_path / "ckpt" / "model.pt").write_bytes(b"weights-final")  # "live": the final contents are kept
        Path(run.dir, "written.txt").write_text("into run.dir")  # files written into run.dir are kept too
        assert wandb.save("s3://bucket/x") == []
        with pytest.raises(InvalidInputError, match="policy"):
            run.save("ckpt/*", policy="sometimes")
    names = fresh("print(json.dumps([(f.name, f.size) for f in api.run('p/f1').files()]))")
    assert names == [["ckpt/model.pt", 13], ["ckpt/notes.txt", 5], ["written.txt", 12]]
    got = fresh(
        f"""
        f = api.run('p/f1').file('ckpt/model.pt')
        print(json.dumps([f.download({str(tmp_path / "out")!r}).read(), f.md5, f.url]))
        """
    )
    assert got[0] == "weights-final" and got[2] is None
    view = wandb.Api().run("p/f1")
    assert [f.name for f in view.files(pattern="%.txt")] == ["ckpt/notes.txt", "written.txt"]
    with pytest.raises(InvalidInputError, match="exists"):
        view.file("ckpt/model.pt").download(str(tmp_path / "out"))
    with pytest.raises(NotFoundError):
        view.file("nothing")
    restored = wandb.restore("ckpt/notes.txt", run_path="team/p/f1", root=str(tmp_path / "r"))
    assert restored is not None and restored.read() == "first"
    assert wandb.restore("missing.txt", run_path="p/f1", root=str(tmp_path / "r")) is None
    with pytest.raises(InvalidInputError, match="run_path"):
        wandb.restore("x")


# --- models, code, links, alerts ----------------------------------------------------------------
def test_models_are_logged_used_and_linked(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    with wandb.init(project="p", id="train1") as run:
        logged = wandb.log_model(str(tmp_path / "model.onnx"), aliases=["best"])
        assert (logged.source_name, logged.type) == ("run-train1-model.onnx", "model")
        linked = run.link_model(str(tmp_path / "model.onnx"), "detector", name="det", aliases=["prod"])
        with pytest.raises(InvalidInputError):
            run.link_model(str(tmp_path / "model.onnx"), "team/detector")
    assert linked.qualified_name == "model-registry/detector:v0" and "prod" in linked.aliases
    with wandb.init(project="p", id="eval1"):
        path = wandb.use_model("p/det:latest")
        assert Path(path).read_bytes() == b"onnx" and Path(path).name == "model.onnx"
        wandb.run.log_artifact(str(tmp_path / "model.onnx"), name="notmodel", type="dataset")
        with pytest.raises(InvalidInputError, match="use_model takes models"):
            wandb.use_model("p/notmodel:latest")
    used = fresh("print(json.dumps(api.run('p/eval1').used))")
    assert "p/det:v0" in used


def test_link_artifact_log_code_watch_and_alerts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print('hi')")
    (tmp_path / "src" / "data.csv").write_text("a,b")
    (tmp_path / "src" / "wandb").mkdir()
    (tmp_path / "src" / "wandb" / "debug.py").write_text("")
    with wandb.init(project="p", id="c1") as run:
        code = run.log_code(str(tmp_path / "src"))
        assert code.type == "code" and code.source_name.startswith("source-p-")
        assert sorted(code.manifest.entries) == ["train.py"]
        assert run.log_code(str(tmp_path / "src"), include_fn=lambda p: p.endswith(".md")) is None
        named = run.log_code(str(tmp_path / "src"), name="mycode", exclude_fn=lambda p, root: False)
        assert sorted(named.manifest.entries) == ["train.py", "wandb/debug.py"]
        draft = wandb.Artifact("ds", "dataset")
        draft.add_file(str(tmp_path / "src" / "data.csv"))
        link = run.link_artifact(draft, "golden", aliases=["v-ok"])
        assert link.qualified_name == "p/golden:v0" and draft.is_draft() is False
        assert wandb.watch(object(), log="all", log_freq=10) is None and wandb.unwatch() is None
        wandb.alert("Low accuracy", "acc 0.1 < 0.5", level="WARN")
        wandb.alert("Low accuracy", "again", level="WARN")  # within wait_duration: dropped, as W&B
        run.alert("Done", "ok", wait_duration=0)
        with pytest.raises(InvalidInputError, match="level"):
            run.alert("x", "y", level="LOUD")
    assert "WARN alert: Low accuracy" in capsys.readouterr().err
    alerts = fresh("print(json.dumps([(a['title'], a['level']) for a in api.run('p/c1').alerts]))")
    assert alerts == [["Low accuracy", "WARN"], ["Done", "INFO"]]


# --- the run's fields ---------------------------------------------------------------------------
def test_init_tags_notes_group_are_stored_and_run_fields_answer_as_wandb(tmp_path: Path) -> None:
    run = wandb.init(project="p", id="r1", tags=["baseline"], notes="first try", group="exp-1", dir=str(tmp_path))
    assert (run.tags, run.notes, run.group, run.entity, run.path, run.url) == (
        ("baseline",),
        "first try",
        "exp-1",
        "",
        "p/r1",
        None,
    )
    run.tags += ("gpu",)
    run.name = "renamed"
    assert run.dir == str(tmp_path / "wandb" / "run-r1" / "files") and Path(run.dir).is_dir()
    assert run.start_time > 1.7e9 and run.starting_step == 0 and not run.offline and not run.disabled
    assert run.status().sync_items_pending == 0
    run.log({"x": 1})
    run.mark_preempting()
    assert wandb.Api().run("p/r1").state == "preempting"
    run.finish()
    got = fresh("v = api.run('p/r1'); print(json.dumps([v.tags, v.notes, v.group, v.name, v.state]))")
    assert got == [["baseline", "gpu"], "first try", "exp-1", "renamed", "finished"]
    again = wandb.init(project="p", id="r1", resume="allow")  # a resumed run keeps them
    assert again.tags == ("baseline", "gpu") and again.starting_step == 1
    again.finish()
    # records written before these fields existed still read
    record = Path(wandb.Api().root.removeprefix("file://"), "projects", "p", "runs", "r1.json")
    old = {
        k: v
        for k, v in json.loads(record.read_text()).items()
        if k not in ("tags", "notes", "group", "metrics", "alerts")
    }
    record.write_text(json.dumps(old))
    assert wandb.Api().run("p/r1").tags == []


def test_upsert_and_finish_artifact_log_it(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    with wandb.init(project="p") as run:
        assert run.upsert_artifact(str(tmp_path / "a.txt"), name="up", type="data", distributed_id="x").version == "v0"
        assert run.finish_artifact(str(tmp_path / "a.txt"), name="fin", type="data").version == "v0"


# --- the public Run: edits, delete, lineage after the fact ---------------------------------------
def test_public_run_edits_persist_and_delete_hides_the_run(tmp_path: Path) -> None:
    with wandb.init(project="p", id="e1", config={"lr": 0.1}) as run:
        run.log({"loss": 1.0})
        run.log({"loss": 0.5})
        artifact = wandb.Artifact("kept", "data")
        with artifact.new_file("k.txt") as f:
            f.write("k")
        run.log_artifact(artifact)
    api = wandb.Api()
    view = api.run("team/p/runs/e1")
    assert (view.path, view.entity, view.url, view.lastHistoryStep) == (["", "p", "e1"], "", None, 1)
    assert api.run("/".join(view.path)).id == "e1" and api.from_path("team/p/e1").id == "e1"
    view.config["lr"] = 0.2
    view.summary["best"] = 0.5
    view.name, view.notes, view.tags, view.group = "edited", "after the fact", ["reviewed"], "g"
    view.update()
    got = fresh(
        "v = api.run('p/e1'); print(json.dumps([v.config, v.summary_metrics['best'], v.name, v.notes, v.tags, v.group]))"
    )
    assert got == [{"lr": 0.2}, 0.5, "edited", "after the fact", ["reviewed"], "g"]
    view.delete()
    assert fresh("print(json.dumps([r.id for r in api.runs('p')]))") == []
    with pytest.raises(NotFoundError):
        api.run("p/e1")
    assert api.artifact("p/kept:v0").type == "data"  # artifacts stay
    with pytest.raises(InvalidInputError, match="deleted"):
        wandb.init(project="p", id="e1", resume="allow")


def test_public_run_records_lineage_after_the_fact(tmp_path: Path) -> None:
    with wandb.init(project="p", id="src") as run:
        artifact = wandb.Artifact("data", "dataset")
        with artifact.new_file("d.txt") as f:
            f.write("d")
        version = run.log_artifact(artifact)
    api = wandb.Api()
    made = api.create_run(project="p", run_id="late")
    assert made.state == "running"
    with pytest.raises(InvalidInputError, match="exists"):
        api.create_run(project="p", run_id="late")
    made.use_artifact(api.artifact("p/data:v0"))
    made.log_artifact(version, aliases=["reviewed"])
    with pytest.raises(InvalidInputError, match="logged version"):
        made.use_artifact(wandb.Artifact("draft", "x"))
    got = fresh("v = api.run('p/late'); print(json.dumps([v.used, v.logged, api.artifact('p/data:reviewed').version]))")
    assert got == [["p/data:v0"], ["p/data:v0"], "v0"]


# --- Api: projects, types, collections -----------------------------------------------------------
def test_api_projects_types_and_collections(tmp_path: Path) -> None:
    for name, type_ in [("songs", "raw_data"), ("songs", "raw_data"), ("model", "model")]:
        with wandb.init(project="p") as run:
            artifact = wandb.Artifact(name, type_)
            with artifact.new_file("f.txt") as f:
                f.write(f"{name}{len(wandb.Api().projects())}{tmp_path}{run.id}")
            run.log_artifact(artifact, aliases=["best"] if type_ == "model" else None)
    api = wandb.Api()
    assert [p.name for p in api.projects()] == ["p"] and api.projects() == ["p"]
    assert api.project("p").runs()[0].project == "p" and api.from_path("team/p").name == "p"
    assert api.default_entity is None and api.flush() is None
    assert [t.name for t in api.artifact_types("p")] == ["model", "raw_data"]
    assert [c.name for c in api.artifact_type("raw_data", "p").collections()] == ["songs"]
    collection = api.artifact_collection("raw_data", "team/p/songs")
    assert (collection.name, collection.type, collection.aliases) == ("songs", "raw_data", ["latest"])
    assert [v.version for v in collection.versions()] == ["v0", "v1"] and collection.is_sequence()
    assert api.artifact_collection_exists("p/model", "model") and not api.artifact_collection_exists("p/model", "x")
    with pytest.raises(NotFoundError):
        api.artifact_type("nothing", "p")
    assert wandb.Api(overrides={"project": "p"}).artifact("songs:v1").version == "v1"
    with pytest.raises(InvalidInputError):
        api.artifact("p/songs:v0", type="model")


# --- versions and drafts ---------------------------------------------------------------------------
def test_version_facts_drafts_links_and_single_files(tmp_path: Path) -> None:
    draft = wandb.Artifact("weights", "model", incremental=False, use_as="w")
    assert (draft.id, draft.state, draft.is_draft(), draft.entity) == (None, "PENDING", True, "")
    draft.finalize()
    with draft.new_file("w.bin", mode="wb") as f:
        f.write(b"w1")
    with wandb.init(project="p") as run:
        version = run.log_artifact(draft)
    assert (draft.state, draft.id, version.state, version.is_draft()) == ("COMMITTED", version.id, "COMMITTED", False)
    # the id is the version's identity (its log record's hash), not its renumberable name
    assert re.fullmatch(r"[0-9a-f]{20}", version.id) and wandb.Api().artifact("p/weights:v0").id == version.id
    assert (version.entity, version.url, version.incremental, version.use_as, version.history_step) == (
        "",
        None,
        False,
        None,
        None,
    )
    assert len(version.commit_hash) == 64 and version.updated_at == version.created_at
    assert (version.source_qualified_name, version.source_project, version.source_version) == (
        "p/weights:v0",
        "p",
        "v0",
    )
    assert Path(version.file(str(tmp_path / "one"))).read_bytes() == b"w1"
    assert [v.version for v in version.collection.versions()] == ["v0"]
    # new_draft: the same files, changed, logged as the next version
    changed = version.new_draft()
    with changed.new_file("extra.txt") as f:
        f.write("x")
    changed.remove("w.bin")
    with wandb.init(project="p") as run:
        second = run.log_artifact(changed)
    assert second.version == "v1" and sorted(second.manifest.entries) == ["extra.txt"]
    assert sorted(version.manifest.entries) == ["w.bin"]
    # links: the copy knows its source; unlink removes only the copy
    link = version.link("registry/best-weights", aliases=["prod"])
    assert link.is_link and link.source_qualified_name == "p/weights:v0" and link.source_artifact.version == "v0"
    assert [v.qualified_name for v in version.linked_artifacts] == ["registry/best-weights:v0"]
    assert fresh("print(json.dumps(len(api.artifact('p/weights:v0').linked_artifacts)))") == 1
    with pytest.raises(InvalidInputError, match="not a linked"):
        version.unlink()
    link.unlink()
    assert fresh("print(json.dumps(len(api.artifact('p/weights:v0').linked_artifacts)))") == 0
    with pytest.raises(InvalidInputError, match="one-file"):
        _two_files(tmp_path).file()


def _two_files(tmp_path: Path) -> wandb.ArtifactVersion:
    artifact = wandb.Artifact("two", "data")
    for name in ("a", "b"):
        (tmp_path / name).write_text(name)
        artifact.add_file(str(tmp_path / name))
    with wandb.init(project="p") as run:
        return run.log_artifact(artifact)


def test_public_run_reads_and_deleting_with_artifacts() -> None:
    with wandb.init(project="p", id="x1", config={"lr": 0.5}, notes="n") as run:
        assert (run.project_url, run.sweep_id) == (None, None)
        artifact = wandb.Artifact("gone", "data")
        with artifact.new_file("g.txt") as f:
            f.write("g")
        version = run.log_artifact(artifact, aliases=["best"])
    assert (version.digest_algorithm, version.source_collection.name) == ("manifest_md5", "gone")
    view = wandb.Api().run("p/x1")
    assert json.loads(view.json_config) == {"lr": {"value": 0.5}} and view.rawconfig == {"lr": 0.5}
    assert (view.metadata, view.system_metrics, view.sweep_name, view.description) == (None, {}, None, "n")
    view.config["lr"] = 9
    assert view.load().config == {"lr": 0.5} and view.config == {"lr": 0.5}  # unsaved edits dropped
    view.delete(delete_artifacts=True)
    with pytest.raises(NotFoundError):
        wandb.Api().artifact("p/gone:best")
    with pytest.raises(NotFoundError):
        view.load()


def test_run_files_and_tags_live_in_bucket_registries_too(registry_root: str, tmp_path: Path) -> None:
    (tmp_path / "best.pt").write_bytes(b"best")
    with wandb.init(project="p", id="b1", root=registry_root, tags=["bucket"]) as run:
        run.save(str(tmp_path / "best.pt"), base_path=str(tmp_path))
    got = fresh(
        f"""
        api = shanty.Api({registry_root!r})
        view = api.run('p/b1')
        print(json.dumps([view.tags, [f.name for f in view.files()]]))
        """
    )
    assert got == [["bucket"], ["best.pt"]]
    restored = wandb.restore("best.pt", run_path="p/b1", root=str(tmp_path / "r"), registry_root=registry_root)
    assert restored is not None and Path(restored.name).read_bytes() == b"best"
