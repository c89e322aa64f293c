"""How much of W&B's public surface shanty has: a Markdown table (name | present | same behaviour).

Run by hand with the real client installed (``pip install wandb==0.31.0``)::

    python bench/wandb_surface.py > /work/helpers/surface-table.md

The *present* column is computed: the W&B names are read from the installed
``wandb`` (its module ``__all__`` in the package and its stub, ``dir()`` of
its classes, plus the attributes W&B sets per instance), and each is looked
up on live shanty objects made in a temporary registry. The *behaviour*
column comes from :data:`BEHAVIOUR`, written by hand; a present name missing
from it reads "not reviewed".
"""

from __future__ import annotations

import ast
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SAME = "yes"
# section -> name -> "yes" | "differs: ..." | "accepted, no effect: ..."
BEHAVIOUR: dict[str, dict[str, str]] = {
    "module": {
        "init": "differs: entity / mode / reinit / settings accepted, no effect; adds root=",
        "finish": SAME,
        "login": "accepted, no effect: no server; returns True",
        "save": "differs: files stored by value as the artifact run-<id>-files",
        "restore": SAME,
        "config": SAME,
        "summary": SAME,
        "log": SAME,
        "Api": "differs: reads the registry (root=), not a server",
        "Image": SAME,
        "Audio": SAME,
        "Video": SAME,
        "Table": SAME,
        "Histogram": SAME,
        "ArtifactTTL": "differs: INHERIT means never expires (no collection defaults)",
        "log_artifact": SAME,
        "use_artifact": SAME,
        "log_model": "differs: returns the version (W&B returns None)",
        "use_model": SAME,
        "link_model": "differs: links into the project model-registry of this registry",
        "define_metric": "differs: hidden / step_metric stored for the dashboard, not used by charts yet",
        "Error": SAME,
        "Artifact": SAME,
        "Settings": "accepted, no effect: values kept as attributes",
        "watch": "accepted, no effect: gradients are not recorded",
        "unwatch": "accepted, no effect: nothing is watched",
        "Run": SAME,
        "JoinedTable": SAME,
        "Classes": SAME,
        "alert": "differs: stored on the run record and printed to stderr (no Slack / email)",
        "run": SAME,
    },
    "Run": {
        "alert": "differs: stored on the run record and printed to stderr (no Slack / email)",
        "config": SAME,
        "define_metric": "differs: hidden / step_metric stored, charts do not use them yet",
        "dir": "differs: a temporary folder unless init(dir=); stored as run files at finish",
        "disabled": "differs: always False (mode='disabled' still records)",
        "entity": "differs: always '' (no entities)",
        "finish": SAME,
        "finish_artifact": "differs: logs at once (nothing is pending)",
        "group": SAME,
        "id": SAME,
        "job_type": SAME,
        "link_artifact": "differs: the link is a version in a project of this registry",
        "link_model": "differs: links into the project model-registry of this registry",
        "log": SAME,
        "log_artifact": SAME,
        "log_code": SAME,
        "log_model": "differs: returns the version (W&B returns None)",
        "mark_preempting": "differs: only recorded as the state preempting",
        "name": SAME,
        "notes": SAME,
        "offline": "differs: always False (everything is stored at once)",
        "path": "differs: project/id (no entity)",
        "project": SAME,
        "project_url": "differs: None (no server URL)",
        "restore": SAME,
        "resumed": SAME,
        "save": "differs: files stored by value as the artifact run-<id>-files",
        "start_time": SAME,
        "starting_step": SAME,
        "status": "accepted, no effect: nothing is ever pending",
        "step": SAME,
        "summary": SAME,
        "sweep_id": "accepted, no effect: no sweeps, None",
        "tags": SAME,
        "unwatch": "accepted, no effect: nothing is watched",
        "upsert_artifact": "differs: each call logs a version (no distributed writers)",
        "url": "differs: None (no server URL), as W&B's offline runs",
        "use_artifact": SAME,
        "use_model": SAME,
        "watch": "accepted, no effect: gradients are not recorded",
    },
    "Artifact": {
        "add": SAME,
        "add_dir": SAME,
        "add_file": SAME,
        "add_reference": SAME,
        "aliases": SAME,
        "checkout": SAME,
        "collection": SAME,
        "commit_hash": "differs: the SHA-256 naming the stored manifest",
        "created_at": SAME,
        "delete": SAME,
        "description": SAME,
        "digest": SAME,
        "digest_algorithm": SAME,
        "download": SAME,
        "entity": "differs: always '' (no entities)",
        "file": SAME,
        "file_count": SAME,
        "files": SAME,
        "finalize": "accepted, no effect: drafts stay open until logged",
        "get": SAME,
        "get_entry": SAME,
        "get_path": SAME,
        "history_step": "differs: always None (not recorded)",
        "id": "differs: project/name:vN instead of an opaque id",
        "incremental": "accepted, no effect: versions are always logged whole",
        "is_draft": SAME,
        "is_link": SAME,
        "link": "differs: the link is a version in a project of this registry",
        "linked_artifacts": SAME,
        "logged_by": "differs: returns the run record (RunInfo)",
        "manifest": SAME,
        "metadata": SAME,
        "name": SAME,
        "new_draft": SAME,
        "new_file": SAME,
        "project": SAME,
        "qualified_name": "differs: project/name:vN (no entity)",
        "remove": SAME,
        "save": SAME,
        "size": SAME,
        "source_artifact": SAME,
        "source_collection": SAME,
        "source_entity": "differs: always '' (no entities)",
        "source_name": "differs: the bare collection name (W&B: name:vN)",
        "source_project": SAME,
        "source_qualified_name": "differs: project/name:vN (no entity)",
        "source_version": SAME,
        "state": SAME,
        "tags": SAME,
        "ttl": SAME,
        "type": SAME,
        "unlink": SAME,
        "updated_at": "differs: the creation time (edits are not dated)",
        "url": "differs: None (no server URL)",
        "use_as": "accepted, no effect: None once logged",
        "used_by": "differs: returns run records (RunInfo)",
        "verify": SAME,
        "version": SAME,
        "wait": "accepted, no effect: logging is synchronous",
    },
    "Api": {
        "artifact": SAME,
        "artifact_collection": SAME,
        "artifact_collection_exists": SAME,
        "artifact_collections": "differs: returns ArtifactInfo records (name, type, version_count, latest)",
        "artifact_exists": SAME,
        "artifact_type": SAME,
        "artifact_types": SAME,
        "artifact_versions": SAME,
        "artifacts": SAME,
        "create_run": SAME,
        "default_entity": "differs: always None (no entities)",
        "flush": "accepted, no effect: no cache to drop",
        "from_path": "differs: projects and runs only (no sweeps or reports)",
        "project": SAME,
        "projects": "differs: Project objects that are also the names (str)",
        "registry": "differs: an attribute, this Api's Registry (W&B: a hosted registry by name)",
        "run": SAME,
        "runs": "differs: per_page has no effect; all runs are returned as a list",
    },
    "public Run": {
        "config": SAME,
        "created_at": SAME,
        "delete": "differs: the record stays as a hidden tombstone; history chunks stay stored",
        "description": SAME,
        "display_name": SAME,
        "entity": "differs: always '' (no entities)",
        "file": SAME,
        "files": SAME,
        "group": SAME,
        "history": "differs: sampling keeps first and last evenly (deterministic)",
        "id": SAME,
        "job_type": SAME,
        "lastHistoryStep": SAME,
        "log_artifact": SAME,
        "logged_artifacts": SAME,
        "name": SAME,
        "notes": SAME,
        "path": "differs: ['', project, id] (no entity)",
        "project": SAME,
        "save": SAME,
        "scan_history": SAME,
        "state": SAME,
        "summary": "differs: a plain dict; stored with update()",
        "summary_metrics": SAME,
        "tags": SAME,
        "update": SAME,
        "url": "differs: None (no server URL)",
        "use_artifact": SAME,
        "used_artifacts": SAME,
        "metadata": "differs: None (no wandb-metadata.json is recorded)",
        "system_metrics": "differs: {} (not recorded)",
        "sweep": "accepted, no effect: no sweeps, None",
        "sweep_name": "accepted, no effect: no sweeps, None",
        "rawconfig": SAME,
        "json_config": SAME,
        "load": SAME,
    },
    "Table": {
        "add_column": SAME,
        "add_computed_columns": SAME,
        "add_data": SAME,
        "add_row": SAME,
        "cast": "differs: int / float / str / bool, media kinds and Classes (no W&B type objects)",
        "columns": SAME,
        "data": SAME,
        "get_column": SAME,
        "get_dataframe": SAME,
        "get_index": "differs: plain ints (W&B: _TableIndex values)",
        "iterrows": SAME,
    },
}


def wandb_names() -> dict[str, tuple[Any, list[str]]]:
    """Each section's W&B class and public names."""
    import wandb
    from wandb.apis import public

    stub = Path(wandb.__file__).with_name("__init__.pyi")
    listed = set(wandb.__all__)
    for node in ast.walk(ast.parse(stub.read_text())):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            listed |= set(ast.literal_eval(node.value))
    listed |= {"login", "restore", "Settings", "Error", "Artifact", "JoinedTable", "Classes", "alert", "run"}
    listed.discard("__version__")

    def public_of(cls: type, extra: tuple[str, ...] = ()) -> list[str]:
        return sorted({n for n in dir(cls) if not n.startswith("_")} | set(extra))

    per_instance = {  # attributes W&B sets on instances (not visible with dir() of the class)
        "Run": ("summary",),
        "public Run": ("tags", "created_at", "notes", "group", "job_type", "description", "display_name", "project"),
        "Table": ("columns", "data"),
    }
    return {
        "module": (wandb, sorted(listed)),
        "Run": (wandb.Run, public_of(wandb.Run, per_instance["Run"])),
        "Artifact": (wandb.Artifact, public_of(wandb.Artifact)),
        "Api": (public.Api, public_of(public.Api)),
        "public Run": (public.Run, public_of(public.Run, per_instance["public Run"])),
        "Table": (wandb.Table, public_of(wandb.Table, per_instance["Table"])),
        "Image": (wandb.Image, public_of(wandb.Image)),
        "Audio": (wandb.Audio, public_of(wandb.Audio)),
        "Video": (wandb.Video, public_of(wandb.Video)),
        "JoinedTable": (wandb.JoinedTable, public_of(wandb.JoinedTable)),
    }


def shanty_objects(folder: Path) -> dict[str, list[Any]]:
    """Live shanty objects per section, made in a temporary registry (a name is present on any of them)."""
    import numpy as np

    import shanty

    os.environ["SHANTY_ROOT"] = str(folder / "registry")
    (folder / "f.txt").write_text("x")
    run = shanty.init(project="surface", id="r1")
    draft = shanty.Artifact("a", "data")
    draft.add_file(str(folder / "f.txt"))
    version = run.log_artifact(draft)
    table = shanty.Table(columns=["x"], data=[[1]])
    run.finish()
    shanty.init(project="surface", id="r2")  # active while names are looked up: wandb.config needs a run here

    def media(make: Any, cls: type) -> list[Any]:
        try:
            return [make(), cls]
        except Exception:  # an optional codec missing: the class alone answers
            return [cls]

    return {
        "module": [shanty],
        "Run": [run, shanty.Run],
        "Artifact": [shanty.Artifact("b", "data"), version],
        "Api": [shanty.Api()],
        "public Run": [shanty.Api().run("surface/r1")],
        "Table": [table],
        "Image": media(lambda: shanty.Image(np.zeros((4, 4, 3), dtype=np.uint8)), shanty.Image),
        "Audio": media(lambda: shanty.Audio(np.zeros(800, dtype=np.float32), sample_rate=8000), shanty.Audio),
        "Video": media(lambda: shanty.Video(np.zeros((2, 3, 8, 8), dtype=np.uint8), fps=4), shanty.Video),
        "JoinedTable": [shanty.JoinedTable(table, shanty.Table(columns=["x"], data=[[1]]), "x")],
    }


def present(objects: list[Any], name: str) -> bool:
    for obj in objects:
        try:
            if hasattr(obj, name):
                return True
        except Exception:  # a property that needs more state: it exists
            return True
    return False


def table() -> str:
    """The Markdown table, one section per W&B class."""
    with tempfile.TemporaryDirectory() as folder:
        objects = shanty_objects(Path(folder))
        lines = ["# W&B 0.31 public names in shanty", ""]
        lines.append("Generated by `bench/wandb_surface.py`: *present* is computed, *same behaviour* is")
        lines.append("written by hand in that script (`not reviewed` where nobody has checked yet). The module's")
        lines.append("`config` / `summary` are looked up with a run active (without one, shanty has none; W&B")
        lines.append("has placeholders).")
        for section, (_cls, names) in wandb_names().items():
            found = [n for n in names if present(objects[section], n)]
            lines += ["", f"## {section} ({len(found)} of {len(names)} present)", ""]
            lines += ["| name | present | same behaviour |", "|---|---|---|"]
            for name in names:
                here = name in found
                said = BEHAVIOUR.get(section, {}).get(name, "not reviewed") if here else "–"
                lines.append(f"| `{name}` | {'yes' if here else 'no'} | {said} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(table())
