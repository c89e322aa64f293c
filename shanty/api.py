"""The W&B-shaped run surface: ``init``, ``Run``, ``log`` (``Api`` lives in :mod:`shanty.public_api`).

Scripts written for W&B's Artifacts by Reference port by changing one line,
``import shanty as wandb``. Everything is synchronous and local-first: the
registry is files under a root URI, there is no server and no login.
"""

from __future__ import annotations

import atexit
import os
import secrets
import string
import sys
from pathlib import Path
from typing import Any

from .artifact import Artifact, ArtifactVersion
from .errors import InvalidInputError
from .names import alias_list, check_name, parse_artifact_ref
from .records import RunInfo
from .registry import Registry, now_iso
from .run_files import RunFiles
from .run_history import HistoryStore
from .run_log import RunLogger
from .run_metrics import MetricSet
from .run_surface import RunSurface
from .run_values import AttrDict

__all__ = ["Run", "current_run", "finish", "init", "log", "log_artifact", "login", "use_artifact"]

DEFAULT_PROJECT = "uncategorized"  # W&B's name for runs without a project
_current: Run | None = None


def _run_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))


RESUME_MODES = ("allow", "must", "never", "auto")


class Run(RunSurface):
    """One execution of a script; records which artifact versions it logged and used, its config and
    summary (stored with every record write and when it finishes), its tags, notes, group, metric
    definitions, alerts and files. W&B's further ``Run`` surface is :class:`~shanty.run_surface.RunSurface`."""

    def __init__(
        self,
        project: str | None = None,
        job_type: str | None = None,
        name: str | None = None,
        config: dict[str, Any] | None = None,
        root: str | os.PathLike[str] | None = None,
        *,
        run_id: str | None = None,
        resume: bool | str | None = None,
        tags: Any = None,
        notes: str | None = None,
        group: str | None = None,
        dir: str | os.PathLike[str] | None = None,
    ):
        self.registry = Registry(root)
        self.project = check_name(project or DEFAULT_PROJECT, "Project")
        previous = self._previous(run_id, resume)
        self.id = previous.id if previous else (check_name(run_id, "Run id") if run_id else _run_id())
        self.resumed = previous is not None  # W&B's run.resumed
        self.job_type = job_type if job_type is not None or previous is None else previous.job_type
        self.name = name or (previous.name if previous else None) or f"{self.job_type or 'run'}-{self.id}"
        # W&B keeps a resumed run's config and summary; the new config's keys are set over them.
        self.config = AttrDict({**(previous.config if previous else {}), **(config or {})})
        self.summary = AttrDict(previous.summary if previous else {})
        if previous is not None:
            self._info = RunInfo(**{**previous.__dict__, "finished_at": None, "state": "running"})
        else:
            self._info = RunInfo(self.id, self.project, self.job_type, self.name, now_iso())
        # A resumed run keeps its tags, notes and group unless new ones are given (W&B's init).
        described = {"tags": tuple(str(t) for t in alias_list(tags))} if tags is not None else {}
        described.update({k: v for k, v in (("notes", notes), ("group", group)) if v is not None})
        self._record(job_type=self.job_type, name=self.name, **described)
        self._metrics = MetricSet(self._info.metrics)
        self._dir: Path | None = None
        self._dir_root = os.fspath(dir) if dir is not None else None
        self._files = RunFiles(self.id, lambda: Path(self.dir), self._commit)
        store = HistoryStore(self.registry, self.project, self.id)
        self._logger = RunLogger(store, self.id, self.summary, self._commit_logged, self._record, self._metrics)
        self._starting_step = self._logger.step

    def _previous(self, run_id: str | None, resume: bool | str | None) -> RunInfo | None:
        """The run record to continue (W&B's ``init(id=, resume=)``), or None for a new run."""
        mode = {True: "allow", False: "never", None: "never"}.get(resume, resume)  # type: ignore[arg-type]
        if mode not in RESUME_MODES:
            raise InvalidInputError(f"resume={resume!r} is not one of {', '.join(RESUME_MODES)}, True or False.")
        if run_id is None:
            if mode == "must":
                raise InvalidInputError("resume='must' needs the id of the run to resume: init(id=..., resume='must').")
            return None
        found = self.registry.run(self.project, check_name(run_id, "Run id"))
        if found is not None and found.state == "deleted":  # W&B refuses a deleted run's id too
            raise InvalidInputError(f"The run {self.project}/{run_id} was deleted; its id cannot be used again.")
        if found is None and mode == "must":
            raise InvalidInputError(f"There is no run {self.project}/{run_id} to resume; check the id or the project.")
        if found is not None and mode == "never":
            raise InvalidInputError(
                f"The run {self.project}/{run_id} exists; pass resume='allow' to continue it, or use another id."
            )
        return found

    def __repr__(self) -> str:
        return f"<Run {self.project}/{self.id} job_type={self.job_type}>"

    def _record(self, **changes: Any) -> None:
        info = self._info
        changes.update(config=dict(self.config), summary=dict(self.summary))
        self._info = RunInfo(**{**info.__dict__, **changes})
        self.registry.write_run(self._info)

    def log_artifact(
        self,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        tags: list[str] | None = None,
    ) -> ArtifactVersion:
        """Commit an artifact as a new version, or return the identical existing one.

        A path or URI instead of an Artifact is logged as a new artifact named
        ``name`` (default: its base name) of ``type`` (default ``unspecified``).
        The new aliases and ``tags`` are applied either way; ``latest`` moves by itself.
        """
        if _current_finished(self):
            raise InvalidInputError("This run is finished; start a new one with shanty.init().")
        artifact = artifact_or_path
        if not isinstance(artifact, Artifact):
            text = os.fspath(artifact)
            artifact = Artifact(name or Path(text.rstrip("/")).name, type or "unspecified")
            if "://" in text:
                artifact.add_reference(text)
            elif os.path.isfile(text):
                artifact.add_file(text)
            else:
                artifact.add_dir(text)
        elif artifact.logged is not None:
            raise InvalidInputError(
                f"{artifact.logged.qualified_name} is already logged; create a new Artifact to log changes."
            )
        logged = self._commit(artifact, aliases, tags)
        self._record(logged=(*self._info.logged, logged.qualified_name))
        return logged

    def log(self, data: dict[str, Any], step: int | None = None, commit: bool | None = None, sync: Any = None) -> None:
        """W&B's ``run.log``: scalars to the history (``_step`` counts up; ``commit=False`` adds to the
        pending row; a ``step`` below the current one is ignored with a warning) and to ``summary``; a
        Table becomes the next version of ``run-<id>-<key>``; media are gathered per key into such a
        table when the run finishes. See :mod:`shanty.run_log`. ``sync`` is W&B's and has no effect."""
        self._log(data, step, commit, 4)

    def _log(self, data: dict[str, Any], step: int | None, commit: bool | None, stacklevel: int) -> None:
        if _current_finished(self):
            raise InvalidInputError("This run is finished; start a new one with shanty.init().")
        self._logger.log(data, step, commit, stacklevel=stacklevel)

    @property
    def step(self) -> int:
        """The step the next committed row gets (W&B's ``run.step``)."""
        return self._logger.step

    def _commit_logged(self, artifact: Artifact) -> ArtifactVersion:
        """Store a draft that ``run.log`` made and record it as logged by this run (once per version)."""
        version = self._commit(artifact)
        if version.qualified_name not in self._info.logged:
            self._record(logged=(*self._info.logged, version.qualified_name))
        return version

    def _commit(self, artifact: Artifact, aliases: Any = None, tags: Any = None) -> ArtifactVersion:
        """Store a draft as the next version of its artifact (or the identical existing one)."""
        artifact._upload_local_files(self.registry)
        info, _created = self.registry.commit_version(
            self.project,
            artifact.name,
            type=artifact.type,
            manifest=artifact.manifest,
            description=artifact.description,
            metadata=artifact.metadata,
            # W&B scripts pass "latest" (derived here: the newest version holds it) and "" (YOLOv5's
            # `"best" if best_model else ""`); W&B accepts both, so they are dropped, not refused.
            aliases=[a for a in alias_list(aliases) if a and a != "latest"],
            run={"id": self.id, "job_type": self.job_type},
        )
        logged = ArtifactVersion(self.registry, info)
        if artifact.tags or artifact.ttl is not None or tags:  # W&B keeps these apart from the contents
            logged.tags = sorted({*logged.tags, *alias_list(artifact.tags), *alias_list(tags)})
            logged.ttl = artifact.ttl if artifact.ttl is not None else logged.ttl
            logged.save()
        artifact.logged = logged
        return logged

    def use_artifact(
        self, artifact_or_name: str | ArtifactVersion | Artifact, type: str | None = None
    ) -> ArtifactVersion:
        """Resolve ``name:alias`` / ``project/name:vN`` and record the use (lineage). A draft
        :class:`Artifact` is stored first, as W&B does, and recorded as used (not logged) by this run."""
        if _current_finished(self):
            raise InvalidInputError("This run is finished; start a new one with shanty.init().")
        if isinstance(artifact_or_name, ArtifactVersion):
            version = artifact_or_name
        elif isinstance(artifact_or_name, Artifact):
            version = artifact_or_name.logged or self._commit(artifact_or_name)
        elif not isinstance(artifact_or_name, str):
            raise InvalidInputError(
                f"use_artifact takes 'name:alias', an Artifact or a logged version, not {_type_name(artifact_or_name)}."
            )
        else:
            ref = parse_artifact_ref(artifact_or_name, default_project=self.project)
            version = ArtifactVersion(self.registry, self.registry.resolve(ref))
        if type is not None and version.type != type:
            raise InvalidInputError(f"{version.qualified_name} has type {version.type!r}, not {type!r}.")
        self._record(used=(*self._info.used, version.qualified_name))
        return version

    def finish(self, exit_code: int | None = None) -> None:
        """Write what ``log`` still holds, then mark the run finished (``failed`` with a non-zero exit
        code, or when writing fails: that error is raised after the run is marked)."""
        global _current
        if self._info.finished_at is None:
            try:
                self._logger.close()
                self._files.close(self._dir is not None)
            except BaseException:
                self._record(finished_at=now_iso(), state="failed")
                raise
            self._record(finished_at=now_iso(), state="failed" if exit_code else "finished")
        if _current is self:
            _current = None

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.finish(1 if exc_type else 0)


def _type_name(value: Any) -> str:
    return type(value).__name__


def _current_finished(run: Run) -> bool:
    return run._info.finished_at is not None


def init(
    project: str | None = None,
    job_type: str | None = None,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    *,
    root: str | os.PathLike[str] | None = None,
    id: str | None = None,
    resume: bool | str | None = None,
    entity: str | None = None,
    tags: Any = None,
    notes: str | None = None,
    group: str | None = None,
    mode: str | None = None,
    dir: str | None = None,
    reinit: Any = None,
    settings: Any = None,
) -> Run:
    """Start a run (W&B's ``wandb.init``). The registry root is ``root``, else
    ``$SHANTY_ROOT``, else ``~/.shanty``. ``id`` names the run (default: a
    random one); ``resume`` as W&B: ``"allow"``/``True``/``"auto"`` continue
    run ``id`` if it exists (its config and summary kept), ``"must"`` requires
    it, ``"never"``/``False`` (and no ``resume`` with an existing ``id``)
    refuse it. ``tags``, ``notes`` and ``group`` are stored on the run record
    (``Api().run(path).tags``...); ``dir`` holds ``run.dir`` (``dir/wandb/run-<id>/files``).
    W&B-only arguments (entity, mode, reinit, settings) are accepted so ported
    scripts run; they have no effect (there are no entities, and every run records).
    """
    global _current
    if _current is not None:
        _current.finish()
    _current = Run(
        project, job_type, name, config, root, run_id=id, resume=resume, tags=tags, notes=notes, group=group, dir=dir
    )
    return _current


def current_run() -> Run | None:
    """The run started by the last ``init`` that is not finished (``wandb.run``)."""
    return _current


def _need_run() -> Run:
    if _current is None:
        raise InvalidInputError("No run is active; call shanty.init(project=...) first.")
    return _current


def log(data: dict[str, Any], step: int | None = None, commit: bool | None = None, sync: Any = None) -> None:
    """``wandb.log``: log with the current run (see :meth:`Run.log`)."""
    _need_run()._log(data, step, commit, 4)


@atexit.register
def _finish_at_exit() -> None:
    # W&B finishes the active run when the script ends, so rows still buffered are written; an uncaught
    # exception (the interpreter sets sys.last_value for it) marks the run failed.
    if _current is not None:
        _current.finish(1 if getattr(sys, "last_value", None) is not None else 0)


def log_artifact(
    artifact: Artifact | str,
    name: str | None = None,
    type: str | None = None,
    aliases: list[str] | None = None,
    tags: list[str] | None = None,
) -> ArtifactVersion:
    """``wandb.log_artifact``: log with the current run."""
    return _need_run().log_artifact(artifact, name, type, aliases, tags)


def use_artifact(artifact_or_name: str | ArtifactVersion | Artifact, type: str | None = None) -> ArtifactVersion:
    """``wandb.use_artifact``: use with the current run."""
    return _need_run().use_artifact(artifact_or_name, type)


def finish(exit_code: int | None = None) -> None:
    """``wandb.finish``: finish the current run, if any."""
    if _current is not None:
        _current.finish(exit_code)


def login(*_: Any, **__: Any) -> bool:
    """W&B compatibility: there is no server to log in to. Always True."""
    return True
