"""The W&B-shaped public surface: ``init``, ``Run``, ``Api``.

Scripts written for W&B's Artifacts by Reference port by changing one line,
``import shanty as wandb``. Everything is synchronous and local-first: the
registry is files under a root URI, there is no server and no login.
"""

from __future__ import annotations

import json
import os
import secrets
import string
from pathlib import Path
from typing import Any

from .artifact import Artifact, ArtifactVersion
from .diff.manifests import Diff, diff_manifests
from .errors import InvalidInputError, NotFoundError
from .jsonfile import plain_json_value
from .names import alias_list, check_name, parse_artifact_ref
from .records import ArtifactInfo, RunInfo
from .registry import Registry, now_iso

__all__ = ["Api", "Run", "current_run", "finish", "init", "log_artifact", "login", "use_artifact"]

DEFAULT_PROJECT = "uncategorized"  # W&B's name for runs without a project
_current: Run | None = None


def _run_id() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(8))


class AttrDict(dict):
    """A dict whose keys are also attributes, as W&B's ``run.config`` and ``run.summary`` are:
    ``config.lr = 0.1`` and ``config["lr"]`` are the same entry. ``update(values, allow_val_change=...)``
    takes W&B's extra argument; ``as_dict()`` is a plain copy."""

    def __init__(self, *values: Any, **more: Any) -> None:
        super().__init__()
        self.update(*values, **more)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __setitem__(self, key: str, value: Any) -> None:
        # A value JSON cannot store is refused where it is set, not when the run is saved.
        try:
            json.dumps(value, default=plain_json_value)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"{key!r} = {type(value).__name__}: a run's config and summary hold plain values (numbers, text, "
                f"lists, dicts, numpy values); {exc}."
            ) from None
        super().__setitem__(key, value)

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def update(self, *values: Any, allow_val_change: bool | None = None, **more: Any) -> None:  # type: ignore[override]
        for key, value in dict(*values, **more).items():
            self[key] = value

    def setdefaults(self, values: dict[str, Any]) -> None:
        """W&B's ``config.setdefaults``: set the keys not set yet."""
        for key, value in values.items():
            if key not in self:
                self[key] = value

    def as_dict(self) -> dict[str, Any]:
        return dict(self)


RESUME_MODES = ("allow", "must", "never", "auto")


class Run:
    """One execution of a script; records which artifact versions it logged and used, its config and
    summary (stored with every record write and when it finishes)."""

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
    ):
        self.registry = Registry(root)
        self.project = check_name(project or DEFAULT_PROJECT, "Project")
        previous = self._previous(run_id, resume)
        self.id = previous.id if previous else (check_name(run_id, "Run id") if run_id else _run_id())
        self.job_type = job_type if job_type is not None or previous is None else previous.job_type
        self.name = name or (previous.name if previous else None) or f"{self.job_type or 'run'}-{self.id}"
        # W&B keeps a resumed run's config and summary; the new config's keys are set over them.
        self.config = AttrDict({**(previous.config if previous else {}), **(config or {})})
        self.summary = AttrDict(previous.summary if previous else {})
        if previous is not None:
            self._info = RunInfo(**{**previous.__dict__, "finished_at": None, "state": "running"})
        else:
            self._info = RunInfo(self.id, self.project, self.job_type, self.name, now_iso())
        self._record(job_type=self.job_type, name=self.name)

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
    ) -> ArtifactVersion:
        """Commit an artifact as a new version, or return the identical existing one.

        A path or URI instead of an Artifact is logged as a new artifact named
        ``name`` (default: its base name) of ``type`` (default ``unspecified``).
        The new aliases are applied either way; ``latest`` moves by itself.
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
        logged = self._commit(artifact, aliases)
        self._record(logged=(*self._info.logged, logged.qualified_name))
        return logged

    def _commit(self, artifact: Artifact, aliases: Any = None) -> ArtifactVersion:
        """Store a draft as the next version of its artifact (or the identical existing one)."""
        artifact._upload_local_files(self.registry)
        info, _created = self.registry.commit_version(
            self.project,
            artifact.name,
            type=artifact.type,
            manifest=artifact.manifest,
            description=artifact.description,
            metadata=artifact.metadata,
            aliases=alias_list(aliases),
            run={"id": self.id, "job_type": self.job_type},
        )
        logged = ArtifactVersion(self.registry, info)
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
        """Mark the run finished (``failed`` with a non-zero exit code)."""
        global _current
        if self._info.finished_at is None:
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
    refuse it. W&B-only arguments (entity, tags, notes, group, mode, dir,
    reinit, settings) are accepted so ported scripts run; they have no effect.
    """
    global _current
    if _current is not None:
        _current.finish()
    _current = Run(project, job_type, name, config, root, run_id=id, resume=resume)
    return _current


def current_run() -> Run | None:
    """The run started by the last ``init`` that is not finished (``wandb.run``)."""
    return _current


def _need_run() -> Run:
    if _current is None:
        raise InvalidInputError("No run is active; call shanty.init(project=...) first.")
    return _current


def log_artifact(
    artifact: Artifact | str, name: str | None = None, type: str | None = None, aliases: list[str] | None = None
) -> ArtifactVersion:
    """``wandb.log_artifact``: log with the current run."""
    return _need_run().log_artifact(artifact, name, type, aliases)


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


class Api:
    """Read-only access to a registry, no run needed (``wandb.Api``)."""

    def __init__(self, root: str | os.PathLike[str] | None = None):
        self.registry = Registry(root)

    @property
    def root(self) -> str:
        return self.registry.root

    def projects(self) -> list[str]:
        return self.registry.projects()

    def artifact_collections(self, project_name: str, type_name: str | None = None) -> list[ArtifactInfo]:
        """The artifacts of a project (W&B's collections), by name; only those of ``type_name`` when given.
        ``entity/project`` is accepted, the entity ignored."""
        found = self.registry.artifacts(check_name(project_name.rsplit("/", 1)[-1], "Project"))
        return [a for a in found if type_name is None or a.type == type_name]

    def artifacts(self, type_name: str, name: str, per_page: int = 50, tags: Any = None) -> list[ArtifactVersion]:
        """W&B's ``Api.artifacts``: every version of ``project/name`` (``entity/`` ignored), oldest first,
        which must be of ``type_name``. ``per_page`` and ``tags`` are accepted and have no effect (all
        versions come at once; there are no tags here). NotFoundError for an unknown artifact,
        InvalidInputError for another type."""
        versions = self.versions(name)
        if versions and versions[0].type != type_name:
            raise InvalidInputError(
                f"{versions[0].project}/{versions[0].source_name} has type {versions[0].type!r}, not {type_name!r}."
            )
        return versions

    def artifact_versions(self, type_name: str, name: str, per_page: int = 50) -> list[ArtifactVersion]:
        """W&B's older name for :meth:`artifacts`."""
        return self.artifacts(type_name, name, per_page)

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        """Whether ``project/name[:alias]`` names a version (of ``type``, when given)."""
        try:
            version = self.artifact(name)
        except NotFoundError:
            return False
        return type is None or version.type == type

    def recent_artifacts(self, project: str | None = None, *, min_versions: int = 1) -> list[ArtifactInfo]:
        """Artifacts of ``project`` (of every project when None) with at least ``min_versions`` versions,
        the most recently changed first: by the time of their latest version, then by project and name."""
        projects = [project] if project is not None else self.projects()
        found = [a for p in projects for a in self.artifact_collections(p) if a.version_count >= min_versions]
        found.sort(key=lambda a: (a.project, a.name))
        return sorted(found, key=lambda a: a.latest.created_at, reverse=True)

    def versions(self, project_and_name: str) -> list[ArtifactVersion]:
        """All versions of ``project/name`` (``entity/`` in front is ignored), oldest first."""
        ref = parse_artifact_ref(project_and_name)
        if ref.project is None:
            raise InvalidInputError(f"Write the artifact as 'project/{ref.name}'.")
        return [ArtifactVersion(self.registry, v) for v in self.registry.versions(ref.project, ref.name)]

    def artifact(self, name: str) -> ArtifactVersion:
        """One version: ``project/name:alias`` (``entity/`` in front is ignored)."""
        return ArtifactVersion(self.registry, self.registry.resolve(parse_artifact_ref(name)))

    def runs(self, path: str) -> list[RunInfo]:
        """The runs of a project, oldest first; ``entity/project`` (W&B's path) is accepted, the entity
        ignored (there are none here)."""
        return self.registry.runs(path.rsplit("/", 1)[-1])

    def run(self, path: str) -> RunInfo:
        """One run by ``project/id`` (``entity/project/id`` accepted, the entity ignored): its job type,
        config, summary, state and the versions it logged and used. NotFoundError when there is none."""
        parts = path.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise InvalidInputError(f"Write the run as 'project/run_id', not {path!r}.")
        found = self.registry.run(parts[-2], parts[-1])
        if found is None:
            raise NotFoundError(f"There is no run {parts[-2]}/{parts[-1]} in {self.root}.")
        return found

    def diff(self, old: str | ArtifactVersion, new: str | ArtifactVersion) -> Diff:
        """Diff two versions given as references or ArtifactVersion objects."""
        a = old if isinstance(old, ArtifactVersion) else self.artifact(old)
        b = new if isinstance(new, ArtifactVersion) else self.artifact(new)
        return diff_manifests(a.manifest, b.manifest)
