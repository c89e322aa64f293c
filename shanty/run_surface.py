"""The rest of W&B's ``wandb.Run`` surface, as a base class of :class:`shanty.api.Run`: the run's
descriptive fields (tags, notes, group, path, dir...), ``define_metric``, files (``save`` / ``restore``),
models (``log_model`` / ``use_model`` / ``link_model``), ``link_artifact``, ``log_code``, ``alert``, and
the calls that mean nothing without a W&B server (``watch``, ``mark_preempting``), accepted.

The class reads and writes the run through what ``Run`` provides: ``_info`` (the record), ``_record``
(write changes), ``log_artifact``, ``use_artifact``, ``_metrics``, ``_files`` and ``_logger``.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .artifact import Artifact, ArtifactVersion
from .errors import InvalidInputError
from .names import alias_list
from .registry import Registry
from .run_files import restore_file
from .run_metrics import Metric

if TYPE_CHECKING:
    from .records import RunInfo
    from .run_files import RunFiles
    from .run_log import RunLogger
    from .run_metrics import MetricSet

__all__ = ["ALERT_LEVELS", "RunStatus", "RunSurface", "code_artifact_name"]

ALERT_LEVELS = ("INFO", "WARN", "ERROR")
ENTITY = ""  # there are no entities (users, teams) here; "" keeps W&B's str type and "entity/project" paths


def code_artifact_name(project: str, program: str) -> str:
    """W&B's name for ``log_code``'s artifact: ``source-<project>-<script path>``, made safe as W&B does."""
    cleaned = re.sub(r"[^a-zA-Z0-9_\-.]", "_", f"source-{project}-{program}")
    return cleaned if len(cleaned) <= 128 else re.sub(r"(^.{63}).*(.{63}$)", r"\g<1>..\g<2>", cleaned)


@dataclass(frozen=True)
class RunStatus:
    """W&B's ``run.status()``: what is left to sync. Everything is written as it is logged here."""

    sync_items_total: int = 0
    sync_items_pending: int = 0
    sync_time: datetime | None = None


def _py_files(path: str, root: str) -> bool:
    return path.endswith(".py")


def _not_wandb(path: str, root: str) -> bool:
    return "wandb" in Path(os.path.relpath(path, root)).parts[:-1]  # W&B's default exclude: its own folder


def _call(fn: Callable[..., bool], path: str, root: str) -> bool:
    # W&B passes (path, root) to two-argument callables and (path) to one-argument ones.
    try:
        return bool(fn(path, root))
    except TypeError:
        return bool(fn(path))


class RunSurface:
    """Base of :class:`shanty.api.Run` holding its W&B-compatibility surface."""

    _info: RunInfo
    _metrics: MetricSet
    _files: RunFiles
    _logger: RunLogger
    _dir: Path | None
    _dir_root: str | None
    registry: Registry
    project: str
    id: str
    _record: Callable[..., None]
    log_artifact: Callable[..., ArtifactVersion]
    use_artifact: Callable[..., ArtifactVersion]

    # --- the run's fields -------------------------------------------------------------------
    @property
    def name(self) -> str | None:
        """The run's display name; setting it is stored (W&B's ``run.name = ...``)."""
        return self.__dict__.get("_name")

    @name.setter
    def name(self, value: str | None) -> None:
        self.__dict__["_name"] = value
        if "_info" in self.__dict__:
            self._record(name=value)

    @property
    def tags(self) -> tuple[str, ...]:
        """The run's tags (W&B's tuple); ``run.tags = (...)`` / ``run.tags += ("x",)`` is stored."""
        return tuple(self._info.tags)

    @tags.setter
    def tags(self, value: Any) -> None:
        self._record(tags=tuple(str(t) for t in alias_list(value)))

    @property
    def notes(self) -> str | None:
        """The run's notes (W&B's description); setting them is stored."""
        return self._info.notes

    @notes.setter
    def notes(self, value: str | None) -> None:
        self._record(notes=value)

    @property
    def group(self) -> str | None:
        """The run's group (``init(group=...)``); setting it is stored."""
        return self._info.group

    @group.setter
    def group(self, value: str | None) -> None:
        self._record(group=value)

    entity = property(lambda self: ENTITY, doc="W&B's entity: there are none here, so always ''.")
    path = property(lambda self: f"{self.project}/{self.id}", doc="``project/id``, what ``Api().run`` takes.")
    url = property(lambda self: None, doc="None, as for W&B's offline runs: the library knows no dashboard URL.")
    project_url = property(lambda self: None, doc="None, as :attr:`url`.")
    sweep_id = property(lambda self: None, doc="None: there are no sweeps here.")
    offline = property(lambda self: False, doc="False: every run stores what it logs in its registry at once.")
    disabled = property(
        lambda self: False, doc="False: init(mode='disabled') is accepted but the run still records, here."
    )

    @property
    def start_time(self) -> float:
        """When the run started, in Unix seconds (W&B's ``start_time``)."""
        return datetime.fromisoformat(self._info.started_at).timestamp()

    @property
    def starting_step(self) -> int:
        """The first step of this execution: 0, or where a resumed run went on."""
        return self.__dict__.get("_starting_step", 0)

    @property
    def dir(self) -> str:
        """W&B's ``run.dir``: a local folder whose files are stored as the run's files when it finishes
        (``init(dir=D)``: ``D/wandb/run-<id>/files``, else a fresh temporary folder). Made on first use."""
        if self._dir is None:
            if self._dir_root is not None:
                self._dir = Path(self._dir_root, "wandb", f"run-{self.id}", "files")
                self._dir.mkdir(parents=True, exist_ok=True)
            else:
                self._dir = Path(tempfile.mkdtemp(prefix=f"shanty-run-{self.id}-"))
        return str(self._dir)

    def status(self) -> RunStatus:
        """W&B's sync status: nothing is ever pending here."""
        return RunStatus(sync_time=datetime.now(UTC))

    def mark_preempting(self) -> None:
        """W&B's ``mark_preempting``: the run's state becomes ``preempting`` until it finishes (here the
        mark is only recorded; nothing restarts the run)."""
        self._record(state="preempting")

    # --- metrics ----------------------------------------------------------------------------
    def define_metric(
        self,
        name: str,
        step_metric: str | Metric | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> Metric:
        """W&B's ``define_metric`` (see :mod:`shanty.run_metrics`); the definition is stored on the run
        record. ``hidden`` is kept for the dashboard; ``goal`` (older W&B) is kept and has no effect."""
        metric = self._metrics.define(name, step_metric, step_sync, hidden, summary, goal, overwrite)
        self._record(metrics=self._metrics.records())
        return metric

    def watch(self, models: Any = None, criterion: Any = None, log: Any = "gradients", log_freq: int = 1000,
              idx: Any = None, log_graph: bool = False) -> None:  # fmt: skip
        """W&B's ``watch``: accepted; gradients, parameters and graphs are not recorded here."""

    def unwatch(self, models: Any = None) -> None:
        """W&B's ``unwatch``: accepted; nothing is watched here."""

    def alert(self, title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
        """W&B's ``alert``: there is no Slack or email here, so the alert is appended to the run record
        (``Api().run(path).alerts``) and printed to stderr. As W&B, an alert with the same title within
        ``wait_duration`` (default one minute) of the last one is dropped. InvalidInputError for a level
        other than INFO, WARN, ERROR."""
        level_name = str(getattr(level, "value", level or "INFO"))
        if level_name not in ALERT_LEVELS:
            raise InvalidInputError(f"An alert's level is one of {', '.join(ALERT_LEVELS)}, not {level!r}.")
        wait = wait_duration if wait_duration is not None else timedelta(minutes=1)
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        now = datetime.now(UTC)
        same = [a for a in self._info.alerts if a.get("title") == title]
        if same and (now - datetime.fromisoformat(same[-1]["time"])).total_seconds() < seconds:
            return
        alert = {"title": str(title), "text": str(text), "level": level_name, "time": now.isoformat()}
        self._record(alerts=(*self._info.alerts, alert))
        print(f"shanty: {level_name} alert: {title}: {text}", file=sys.stderr)

    # --- files -------------------------------------------------------------------------------
    def save(self, glob_str: Any, base_path: Any = None, policy: str = "live", glob: bool = True) -> list[str]:
        """W&B's ``run.save``: see :meth:`shanty.run_files.RunFiles.save`."""
        return self._files.save(glob_str, base_path, policy, glob)

    def restore(
        self, name: str, run_path: str | None = None, replace: bool = False, root: str | None = None
    ) -> IO[str] | None:
        """W&B's ``restore`` with this run's path and ``run.dir`` as defaults (see
        :func:`shanty.run_files.restore_file`)."""
        return restore_file(self.registry, name, run_path or self.path, replace, root or self.dir)

    def log_code(
        self,
        root: str | None = ".",
        name: str | None = None,
        include_fn: Callable[..., bool] = _py_files,
        exclude_fn: Callable[..., bool] = _not_wandb,
    ) -> ArtifactVersion | None:
        """W&B's ``log_code``: the files below ``root`` that ``include_fn`` takes and ``exclude_fn`` does not
        (default: ``.py`` files outside ``wandb/`` folders) as a ``code`` artifact named ``name``, else
        ``source-<project>-<script>``. None (and nothing logged) when no file matches, as W&B."""
        if root is None:
            return None
        root = os.path.abspath(root)
        artifact = Artifact(name or code_artifact_name(self.project, _program()), "code")
        for folder, _, names in os.walk(root):
            for file_name in sorted(names):
                path = os.path.join(folder, file_name)
                if _call(include_fn, path, root) and not _call(exclude_fn, path, root):
                    artifact.add_file(path, name=os.path.relpath(path, root).replace(os.sep, "/"))
        if not len(artifact.manifest):
            print("shanty: log_code found no files to log under " + root, file=sys.stderr)
            return None
        return self.log_artifact(artifact)

    # --- artifacts and models ---------------------------------------------------------------------
    def upsert_artifact(self, artifact_or_path: Any, name: str | None = None, type: str | None = None,
                        aliases: list[str] | None = None, distributed_id: str | None = None) -> ArtifactVersion:  # fmt: skip
        """W&B's ``upsert_artifact`` (distributed writers adding to one version): here each call logs the
        artifact as :meth:`log_artifact` does; ``distributed_id`` has no effect."""
        return self.log_artifact(artifact_or_path, name, type, aliases)

    def finish_artifact(self, artifact_or_path: Any, name: str | None = None, type: str | None = None,
                        aliases: list[str] | None = None, distributed_id: str | None = None) -> ArtifactVersion:  # fmt: skip
        """W&B's ``finish_artifact``: logs the artifact as :meth:`log_artifact` does (nothing is pending)."""
        return self.log_artifact(artifact_or_path, name, type, aliases)

    def link_artifact(self, artifact: Artifact | ArtifactVersion, target_path: str,
                      aliases: list[str] | None = None) -> ArtifactVersion:  # fmt: skip
        """W&B's ``link_artifact``: log a draft first, then :meth:`ArtifactVersion.link` it to
        ``target_path`` (a bare collection name goes into this run's project)."""
        version = artifact if isinstance(artifact, ArtifactVersion) else artifact.logged or self.log_artifact(artifact)
        target = target_path if "/" in target_path else f"{self.project}/{target_path}"
        return version.link(target, aliases)

    def log_model(self, path: Any, name: str | None = None, aliases: list[str] | None = None) -> ArtifactVersion:
        """W&B's ``log_model``: the file or folder ``path`` (or a bucket URI) as an artifact of type ``model``
        named ``name``, else ``run-<id>-<base name>``. Returns the version (W&B returns None)."""
        default = f"run-{self.id}-{os.path.basename(os.fspath(path).rstrip('/'))}"
        return self.log_artifact(path, name or default, "model", aliases)

    def use_model(self, name: str) -> str:
        """W&B's ``use_model``: use and download the model artifact ``name`` (its type must contain
        ``model``); the path of its one file, else of the folder. InvalidInputError for another type."""
        version = self.use_artifact(name)
        if "model" not in version.type.lower():
            raise InvalidInputError(f"{version.qualified_name} has type {version.type!r}; use_model takes models.")
        folder = version.download()
        files = os.listdir(folder)
        return os.path.join(folder, files[0]) if len(files) == 1 else folder

    def link_model(self, path: Any, registered_model_name: str, name: str | None = None,
                   aliases: list[str] | None = None) -> ArtifactVersion:  # fmt: skip
        """W&B's ``link_model``: :meth:`log_model`, then link the version into the collection
        ``model-registry/<registered_model_name>`` (a project of this registry; there is no hosted model
        registry). InvalidInputError for a name holding ``/``."""
        if "/" in registered_model_name:
            raise InvalidInputError("Give only the registered model's name, without entity or project.")
        return self.log_model(path, name).link(f"model-registry/{registered_model_name}", aliases)


def _program() -> str:
    program = sys.argv[0] if sys.argv and sys.argv[0] else "python"
    try:
        return os.path.relpath(os.path.abspath(program))
    except ValueError:
        return os.path.basename(program)
