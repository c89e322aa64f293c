"""An offline W&B run directory (``wandb/offline-run-<date>-<id>/``) recreated as a shanty run.

Read from ``run-<id>.wandb`` (see :mod:`.records`): the config, the summary,
every history row at its step, and every artifact the run logged. W&B logs
each ``run.log``'d table as an artifact ``run-<id>-<key>`` (type
``run_table``) whose files wait in W&B's staging folder until synced; those
become the same artifacts here, and the row holds the reference
``run.log`` writes (``{"_type": "table-file", "artifact": ..., "table": key}``).
Media logged in rows (their files under ``files/media/``) are gathered per
key into a table ``run-<id>-<key>`` (columns ``step`` and the key), as
``run.log`` does. Every file is copied into the registry by value.

Everything is read and converted before the first write, so bad input leaves
the registry as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..api import DEFAULT_PROJECT, Run
from ..artifact import Artifact, ArtifactVersion
from ..digests import b64_to_hex, md5_b64_file
from ..errors import InvalidInputError, MalformedError, NotFoundError
from ..names import check_name
from ..progress import Progress, ProgressSink
from ..registry import Registry
from ..run_log import RUN_TABLE_TYPE, run_table_name
from ..tables.cells import kind_for_wandb_type
from .convert import build_artifact
from .records import RunExport, read_run_file
from .source import Source, SourceFile, manifest_source

__all__ = ["RunImport", "find_run_file", "import_wandb_run"]

_TABLE_TYPES = ("table-file", "incremental-table-file", "partitioned-table", "joined-table")


@dataclass(frozen=True)
class RunImport:
    """What an import made: the run (``project/id``), its history row count and the versions logged."""

    project: str
    run_id: str
    steps: int
    versions: tuple[ArtifactVersion, ...]


_IMAGE_LIST = "images/separated"  # W&B's history value for a list of images


def find_run_file(folder: Path) -> Path | None:
    """The ``run-<id>.wandb`` of a run directory, else None."""
    found = sorted(folder.glob("run-*.wandb")) if folder.is_dir() else []
    return found[0] if found else None


def _is_media(value: Any) -> bool:
    return isinstance(value, dict) and kind_for_wandb_type(value.get("_type")) is not None


def _cells_of(value: Any) -> list[dict[str, Any]]:
    """The media cells of a history value: one for a media value, one per image of W&B's image list
    (``images/separated``: ``filenames`` with their ``captions``, ``all_boxes``, ``all_masks``), else none."""
    if _is_media(value):
        return [value]
    if not (isinstance(value, dict) and value.get("_type") == _IMAGE_LIST and isinstance(value.get("filenames"), list)):
        return []
    names = value["filenames"]
    fields = {"caption": "captions", "boxes": "all_boxes", "masks": "all_masks"}
    lists = {own: value.get(theirs) if isinstance(value.get(theirs), list) else [] for own, theirs in fields.items()}
    cells = []
    for index, name in enumerate(names):
        cell = {"_type": "image-file", "path": name}
        for own, values in lists.items():
            if index < len(values) and values[index] not in (None, False, ""):
                cell[own] = values[index]
        cells.append(cell)
    return cells


def _paths_in(value: Any) -> list[str]:
    """Every ``path`` a W&B media value names (the file, its masks, boxes and classes files)."""
    if isinstance(value, dict):
        own = [value["path"]] if isinstance(value.get("path"), str) else []
        return own + [p for v in value.values() for p in _paths_in(v)]
    return []


class _Plan:
    """The run converted, nothing written: drafts to log and rows to replay."""

    def __init__(self, export: RunExport, folder: Path, registry: Registry, sink: ProgressSink | None):
        self.export, self.folder, self.registry, self.sink = export, folder, registry, sink
        self.run_id = export.run_id
        self.tables: dict[str, list[Artifact]] = {}  # run-<id>-<key> -> its versions, in order
        self.others: list[tuple[Artifact, tuple[str, ...]]] = []
        for logged in export.artifacts:
            where = f"the artifact {logged.name} that run {self.run_id} logged"
            draft = build_artifact(
                manifest_source(logged.contents, where),
                logged.name,
                logged.type,
                registry,
                logged.description,
                logged.metadata,
                sink,
            )
            if logged.type == RUN_TABLE_TYPE:
                self.tables.setdefault(logged.name, []).append(draft)
            else:
                self.others.append((draft, logged.aliases))
        self.media = self._media_tables()

    def _media_tables(self) -> dict[str, tuple[Artifact, dict[str, str]]]:
        """Per history key holding media: the ``run-<id>-<key>`` table draft, and the registry URI of
        each file it names (for the rows' references)."""
        cells: dict[str, list[list[Any]]] = {}
        for row in self.export.history:
            for key, value in row.items():
                for cell in _cells_of(value):
                    cells.setdefault(key, []).append([row["_step"], cell])
        out = {}
        files = self.folder / "files"
        for key, rows in cells.items():
            found: dict[str, SourceFile] = {}
            uris: dict[str, str] = {}
            for path in (p for _, value in rows for p in _paths_in(value)):
                local = files / path
                if not local.is_file():
                    raise MalformedError(
                        f"The run's {key!r} at step {rows[0][0]} names {path}, which is missing from {files}; "
                        "import the whole run folder."
                    )
                found[path] = SourceFile(path, local)
                uris[path] = self.registry.uri(self.registry.object_key(b64_to_hex(md5_b64_file(local))))
            name = run_table_name(self.run_id, key)
            table = {"columns": ["step", key], "data": rows}
            source = Source(found, str(files), "import the whole run folder.", {f"{key}.table.json": table})
            out[key] = (build_artifact(source, name, RUN_TABLE_TYPE, self.registry, progress_sink=self.sink), uris)
        return out


def _value(value: Any, key: str, media: Mapping[str, tuple[Artifact, dict[str, str]]], tables: dict[str, list]) -> Any:
    """A history value as ``run.log`` stores it: tables and media as references, the rest as it is."""
    if isinstance(value, dict) and value.get("_type") in _TABLE_TYPES:
        versions = tables.get(key)
        if not versions:
            return None  # W&B logged no artifact for it (an old client): nothing to point at
        version = versions.pop(0)
        reference = {"_type": "table-file", "artifact": version.qualified_name, "table": key}
        return {**reference, **{k: value[k] for k in ("nrows", "ncols") if k in value}}
    if isinstance(value, dict) and value.get("_type") == _IMAGE_LIST and key in media:
        return {"_type": "image-list", "count": len(_cells_of(value)), "table": media[key][0].name}  # as run.log
    if _is_media(value) and key in media:
        draft, uris = media[key]
        return {
            "_type": value["_type"],
            "path": uris.get(value.get("path")),
            "caption": value.get("caption"),
            "table": draft.name,
        }
    return value


def import_wandb_run(
    folder: str | Path,
    project: str | None = None,
    root: str | None = None,
    progress_sink: ProgressSink | None = None,
) -> RunImport:
    """Recreate the offline W&B run in ``folder`` in the registry, as the run ``project/<W&B run id>``
    (``project`` defaults to the run's W&B project).

    Raises NotFoundError (no run file), InvalidInputError (the W&B client is missing: one sentence naming
    ``pip install 'shanty[wandb]'``; the run is already in the registry), MalformedError (a damaged run
    file, a file it names missing). Nothing is written unless the whole run reads.
    """
    folder = Path(folder).expanduser()
    run_file = find_run_file(folder)
    if run_file is None:
        raise NotFoundError(f"{folder} holds no run-<id>.wandb file; give a wandb/offline-run-<date>-<id> folder.")
    export = read_run_file(run_file)
    project = check_name(project or export.project or DEFAULT_PROJECT, "Project")
    registry = Registry(root)
    if registry.run(project, check_name(export.run_id, "Run id")) is not None:
        raise InvalidInputError(
            f"The run {project}/{export.run_id} is already in the registry; import it into another project."
        )
    plan = _Plan(export, folder, registry, progress_sink)
    config = {k: v for k, v in export.config.items() if k != "_wandb"}
    versions: list[ArtifactVersion] = []
    with Run(project, export.job_type, export.name, config, root, run_id=export.run_id) as run:
        logged_tables = {}
        for name, drafts in plan.tables.items():
            logged_tables[name] = [run.log_artifact(draft) for draft in drafts]
            versions.extend(logged_tables[name])
        tables = {
            key: logged_tables.get(run_table_name(export.run_id, key), []) for row in export.history for key in row
        }
        last: dict[str, Any] = {}
        with Progress(f"history of {export.run_id}", len(export.history), progress_sink, unit="row") as bar:
            for row in export.history:
                values = {k: _value(v, k, plan.media, tables) for k, v in row.items() if not k.startswith("_")}
                values = {k: v for k, v in values.items() if v is not None or row[k] is None}
                last.update(values)
                if values:
                    run.log(values, step=int(row["_step"]), commit=True)
                bar.advance()
        for draft, _ in plan.media.values():
            versions.append(run.log_artifact(draft))
        for draft, aliases in plan.others:
            versions.append(run.log_artifact(draft, aliases=list(aliases) or None))
        summary = {}
        for key, value in export.summary.items():
            if key.startswith("_"):
                continue
            if isinstance(value, dict) and "_type" in value:  # a table or media: the reference logged last
                if key in last:
                    summary[key] = last[key]
                continue
            summary[key] = value
        run.summary.update(summary)
    return RunImport(project, export.run_id, len(export.history), tuple(versions))
