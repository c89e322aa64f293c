"""W&B's public API (``wandb.Api``): read a registry, no run needed; plus the few writes W&B's public API
makes (``create_run``; edits through the returned runs and versions)."""

from __future__ import annotations

import os
from secrets import choice
from string import ascii_lowercase, digits
from typing import Any

from .artifact import ArtifactVersion
from .artifact_collection import ArtifactCollection, ArtifactType, require_type
from .diff.manifest_files import ManifestDiff, collect_changes, diff_manifest_files
from .diff.manifests import Diff, diff_manifests
from .errors import InvalidInputError, NotFoundError
from .names import check_name, parse_artifact_ref
from .records import ArtifactInfo, RunInfo
from .registry import LAZY_MANIFEST_ENTRIES, Registry, now_iso
from .run_filters import check_filters, matches, run_document, sort_key
from .run_history import RunView, run_views

__all__ = ["Api", "Project"]

DEFAULT_PROJECT = "uncategorized"  # W&B's name for runs without a project


class Project(str):
    """A project as W&B's ``Api().project(name)`` gives it: ``name``, ``entity`` (''), ``path``,
    :meth:`runs`, :meth:`artifacts_types`. It is also the project's name as a string (what
    ``Api().projects()`` always returned), so code comparing or printing names keeps working."""

    _root: str | None

    def __new__(cls, name: str, root: str | None = None) -> Project:
        made = super().__new__(cls, name)
        made._root = root  # the registry's root, so a copy (pickle, deepcopy) still reads the same registry
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        return (Project, (str(self), self._root))

    name = property(lambda self: str(self))
    entity = property(lambda self: "")
    path = property(lambda self: ["", str(self)], doc="W&B's [entity, project].")
    url = property(lambda self: None, doc="None: the library knows no dashboard URL.")

    def runs(self, per_page: int = 50) -> list[RunView]:
        return Api(self._root).runs(str(self))

    def artifacts_types(self, per_page: int = 50) -> list[ArtifactType]:
        return Api(self._root).artifact_types(str(self))


def _split(path: str | None, what: str = "path") -> list[str]:
    # W&B paths may start with an entity, and "".join of W&B's [entity, project, id] starts with "/"
    return [p for p in path.strip().split("/") if p] if isinstance(path, str) else []


class Api:
    """Access to a registry, no run needed (``wandb.Api``). W&B's ``overrides`` (``{"project": ...}``: the
    project of artifact names given without one), ``timeout`` and ``api_key`` are accepted; a dict as
    the first argument is read as ``overrides``, as W&B's first parameter is. ``fresh_seconds`` > 0 lets
    reads answer from what this object read less than that long ago (see :class:`Registry`)."""

    def __init__(
        self,
        root: str | os.PathLike[str] | dict[str, Any] | None = None,
        overrides: dict[str, Any] | None = None,
        timeout: int | None = None,
        api_key: str | None = None,
        *,
        fresh_seconds: float = 0.0,
    ):
        if isinstance(root, dict):
            root, overrides = None, root
        self.registry = Registry(root, fresh_seconds=fresh_seconds)
        self.settings = {"entity": None, "project": None, **(overrides or {})}

    @property
    def root(self) -> str:
        return self.registry.root

    default_entity = property(lambda self: None, doc="None: there are no entities (users, teams) here.")

    def flush(self) -> None:
        """W&B drops its cache of runs; this Api keeps none (every call reads the registry), so nothing to do."""

    def projects(self, entity: str | None = None, per_page: int = 200) -> list[Project]:
        """The projects holding artifacts or runs (W&B's ``Project`` objects, which are also their names)."""
        return [Project(name, self.root) for name in self.registry.projects()]

    def project(self, name: str, entity: str | None = None) -> Project:
        """The project ``name`` (it need not hold anything yet, as in W&B)."""
        return Project(check_name(name, "Project"), self.root)

    def from_path(self, path: str) -> Project | RunView:
        """W&B's ``from_path``: ``project`` or ``entity/project`` -> :class:`Project`;
        ``entity/project/run_id`` or ``entity/project/runs/run_id`` -> the run. InvalidInputError otherwise
        (there are no sweeps or reports here)."""
        parts = _split(path, "path")
        if len(parts) in (1, 2):
            return self.project(parts[-1])
        if len(parts) == 3:
            return self.run(path)
        if len(parts) == 4 and parts[2] == "runs":
            return self.run(f"{parts[1]}/{parts[3]}")
        raise InvalidInputError(f"Write the path as 'project' or 'project/run_id', not {path!r}.")

    def create_run(
        self, *, run_id: str | None = None, project: str | None = None, entity: str | None = None
    ) -> RunView:
        """W&B's ``Api.create_run``: a new run record (state ``running``) in ``project`` (default
        ``uncategorized``), to edit and ``update()``. InvalidInputError when the id is taken."""
        project = check_name(project or self.settings.get("project") or DEFAULT_PROJECT, "Project")
        run_id = check_name(run_id, "Run id") if run_id else "".join(choice(ascii_lowercase + digits) for _ in range(8))
        if self.registry.run(project, run_id) is not None:
            raise InvalidInputError(f"The run {project}/{run_id} exists; pick another id.")
        info = RunInfo(run_id, project, None, run_id, now_iso())
        self.registry.write_run(info)
        return RunView(self.registry, info)

    def artifact_types(self, project: str | None = None) -> list[ArtifactType]:
        """The artifact types of ``project`` (default: ``overrides["project"]``, else ``uncategorized``)."""
        name = self._project(project)
        types = sorted({a.type for a in self.registry.artifacts(name)})
        return [ArtifactType(self.registry, name, t, self._version) for t in types]

    def artifact_type(self, type_name: str, project: str | None = None) -> ArtifactType:
        """One artifact type of ``project``; NotFoundError when the project has no artifact of that type."""
        name = self._project(project)
        require_type(self.registry, name, type_name)
        return ArtifactType(self.registry, name, type_name, self._version)

    def artifact_collection(self, type_name: str, name: str) -> ArtifactCollection:
        """W&B's ``artifact_collection``: the artifact ``project/name`` (``entity/`` ignored) with all its
        versions. NotFoundError when there is none, InvalidInputError when it has another type."""
        ref = parse_artifact_ref(name, default_project=self.settings.get("project"))
        if ref.project is None:
            raise InvalidInputError(f"Write the collection as 'project/{ref.name}'.")
        return ArtifactType(self.registry, ref.project, type_name, self._version).collection(ref.name)

    def artifact_collection_exists(self, name: str, type: str) -> bool:
        """Whether ``project/name`` is an artifact of ``type``."""
        try:
            self.artifact_collection(type, name)
        except (NotFoundError, InvalidInputError):
            return False
        return True

    def _project(self, project: str | None) -> str:
        return check_name((project or self.settings.get("project") or DEFAULT_PROJECT).rsplit("/", 1)[-1], "Project")

    def _version(self, info: Any) -> ArtifactVersion:
        return ArtifactVersion(self.registry, info)

    def artifact_collections(self, project_name: str, type_name: str | None = None) -> list[ArtifactInfo]:
        """The artifacts of a project (W&B's collections), by name; only those of ``type_name`` when given.
        ``entity/project`` is accepted, the entity ignored."""
        found = self.registry.artifacts(check_name(project_name.rsplit("/", 1)[-1], "Project"))
        return [a for a in found if type_name is None or a.type == type_name]

    def artifacts(self, type_name: str, name: str, per_page: int = 50, tags: Any = None) -> list[ArtifactVersion]:
        """W&B's ``Api.artifacts``: every version of ``project/name`` (``entity/`` ignored), oldest first,
        which must be of ``type_name``; with ``tags`` (one or a list), only the versions holding all of
        them. ``per_page`` is W&B's and has no effect (all versions come at once). NotFoundError for an
        unknown artifact, InvalidInputError for another type."""
        wanted = {tags} if isinstance(tags, str) else set(tags or ())
        versions = [v for v in self.versions(name) if wanted <= set(v.tags)]
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

    def damaged_artifacts(self, project: str) -> dict[str, str]:
        """Artifacts of ``project`` whose log is damaged, by name, each with the sentence saying which
        record and how to repair it (``shanty doctor --repair``); they read only by explicit version."""
        return self.registry.damaged_artifacts(self._project(project))

    def recent_artifacts(self, project: str | None = None, *, min_versions: int = 1) -> list[ArtifactInfo]:
        """Artifacts of ``project`` (of every project when None) with at least ``min_versions`` versions,
        the most recently changed first: by the time of their latest version, then by project and name."""
        projects = [project] if project is not None else self.projects()
        found = [a for p in projects for a in self.artifact_collections(p) if a.version_count >= min_versions]
        found.sort(key=lambda a: (a.project, a.name))
        return sorted(found, key=lambda a: a.latest.created_at, reverse=True)

    def versions(self, project_and_name: str) -> list[ArtifactVersion]:
        """All versions of ``project/name`` (``entity/`` in front is ignored), oldest first."""
        ref = parse_artifact_ref(project_and_name, default_project=self.settings.get("project"))
        if ref.project is None:
            raise InvalidInputError(f"Write the artifact as 'project/{ref.name}'.")
        return [ArtifactVersion(self.registry, v) for v in self.registry.versions(ref.project, ref.name)]

    def artifact(self, name: str, type: str | None = None) -> ArtifactVersion:
        """One version: ``project/name:alias`` (``entity/`` in front is ignored; ``name:alias`` alone reads
        from ``overrides["project"]``). ``type``, when given, must match (InvalidInputError)."""
        found = self.registry.resolve(parse_artifact_ref(name, default_project=self.settings.get("project")))
        if type is not None and found.type != type:
            raise InvalidInputError(f"{found.qualified_name} has type {found.type!r}, not {type!r}.")
        return ArtifactVersion(self.registry, found)

    def runs(
        self,
        path: str | None = None,
        filters: dict[str, Any] | None = None,
        order: str = "+created_at",
        per_page: int = 50,
    ) -> list[RunView]:
        """The runs of a project; ``entity/project`` (W&B's path) is accepted, the entity ignored (there
        are none here). ``filters`` are W&B's MongoDB-style run filters (see :mod:`shanty.run_filters`);
        ``order`` is a field path with ``+`` (default, oldest first) or ``-``, e.g. ``-summary_metrics.acc``
        (runs without the field last). ``per_page`` is W&B's paging and has no effect: all runs are returned."""
        if filters:
            check_filters(filters)
        descending, field = order.startswith("-"), order.lstrip("+-") or "created_at"
        project = self._project(_split(path, "path")[-1] if _split(path, "path") else None)
        views = [(view, run_document(view)) for view in run_views(self.registry, project)]
        chosen = [(view, doc) for view, doc in views if not filters or matches(doc, filters)]
        return [view for view, _ in sorted(chosen, key=lambda pair: sort_key(pair[1], field, descending))]

    def run(self, path: str) -> RunView:
        """One run by ``project/id`` (``entity/project/id`` accepted, the entity ignored): its job type,
        config, summary, state, the versions it logged and used, and its ``history()`` /
        ``scan_history()``. NotFoundError when there is none."""
        parts = _split(path, "run")
        if len(parts) == 4 and parts[2] == "runs":  # W&B's entity/project/runs/id (a run page's path)
            parts = [parts[1], parts[3]]
        if len(parts) not in (2, 3):
            raise InvalidInputError(f"Write the run as 'project/run_id', not {path!r}.")
        found = self.registry.run(parts[-2], parts[-1])
        if found is None or found.state == "deleted":
            raise NotFoundError(f"There is no run {parts[-2]}/{parts[-1]} in {self.root}.")
        return RunView(self.registry, found)

    def diff(self, old: str | ArtifactVersion, new: str | ArtifactVersion) -> Diff:
        """Diff two versions given as references or ArtifactVersion objects. Past
        :data:`~shanty.registry.LAZY_MANIFEST_ENTRIES` entries on either side the manifests are diffed
        in DuckDB (same answer), not loaded; :meth:`diff_pages` then avoids holding every change."""
        a, b = self._version_of(old), self._version_of(new)
        if max(a.file_count, b.file_count) > LAZY_MANIFEST_ENTRIES:
            return collect_changes(self.diff_pages(a, b))
        return diff_manifests(a.manifest, b.manifest)

    def diff_pages(self, old: str | ArtifactVersion, new: str | ArtifactVersion) -> ManifestDiff:
        """The diff of two versions computed in DuckDB over their manifest files: its ``summary`` and
        ``changes(kinds, path_contains, page, page_size)`` a page at a time (see
        :class:`~shanty.diff.manifest_files.ManifestDiff`); for versions of millions of files."""
        a, b = self._version_of(old), self._version_of(new)
        return diff_manifest_files(a.manifest_file(), b.manifest_file())

    def _version_of(self, version: str | ArtifactVersion) -> ArtifactVersion:
        return version if isinstance(version, ArtifactVersion) else self.artifact(version)
