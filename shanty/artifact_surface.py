"""The rest of W&B's ``Artifact`` surface, as base classes of :class:`shanty.artifact.Artifact` (a draft)
and :class:`shanty.artifact.ArtifactVersion` (logged): identity and state (``id``, ``entity``, ``state``,
``is_draft``), source and link facts, ``collection``, ``file()``, ``unlink()``, and W&B's no-ops here
(``finalize``, ``incremental``, ``use_as``, ``history_step``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .artifact_collection import ArtifactCollection
from .errors import InvalidInputError, NotFoundError
from .records import VersionInfo
from .registry import Registry

if TYPE_CHECKING:
    from .manifest import Manifest

__all__ = ["DraftSurface", "VersionSurface"]

LINKED_FROM = "linked_from"  # metadata key ArtifactVersion.link writes on the linked copy


class DraftSurface:
    """W&B's draft-side names on :class:`~shanty.artifact.Artifact`; once logged they answer for the
    logged version."""

    logged: Any
    incremental: bool
    use_as: str | None

    @property
    def id(self) -> str | None:
        """None for a draft (as W&B); the version's id once logged."""
        return self.logged.id if self.logged is not None else None

    entity = property(lambda self: "", doc="W&B's entity: there are none here, so ''.")

    @property
    def state(self) -> str:
        """W&B's ``"PENDING"`` for a draft, ``"COMMITTED"`` once logged (logging is synchronous here)."""
        return "PENDING" if self.logged is None else "COMMITTED"

    def is_draft(self) -> bool:
        """Whether this artifact is not logged yet."""
        return self.logged is None

    def finalize(self) -> None:
        """W&B's ``finalize`` (no more files may be added): here a draft stays open until it is logged, and
        a logged one is already closed; accepted, no effect."""


class VersionSurface:
    """W&B's names on a logged :class:`~shanty.artifact.ArtifactVersion`."""

    _registry: Registry
    info: VersionInfo
    metadata: dict[str, Any]
    manifest: Manifest
    qualified_name: str

    incremental = property(lambda self: False, doc="False: a new version is always logged whole here.")
    digest_algorithm = property(lambda self: "manifest_md5", doc="W&B's: the same digest of the manifest.")
    use_as = property(lambda self: None, doc="None: W&B's launch swapping label; not kept here.")
    history_step = property(lambda self: None, doc="None: versions do not record the history step they were logged at.")
    url = property(lambda self: None, doc="None: the library knows no dashboard URL.")
    entity = property(lambda self: "", doc="W&B's entity: there are none here, so ''.")
    source_entity = entity
    state = property(lambda self: "COMMITTED", doc="Always ``COMMITTED``: logging is synchronous here.")
    id = property(
        lambda self: self.info.id,
        doc="The version's identity: the hash of its log record, which no repair renumbers (``vN`` is a label).",
    )
    updated_at = property(lambda self: self.info.created_at, doc="When it was logged (edits are not dated).")

    def is_draft(self) -> bool:
        """False: a logged version."""
        return False

    def finalize(self) -> None:
        """W&B's ``finalize``: a logged version is already final; accepted, no effect."""

    @property
    def commit_hash(self) -> str:
        """The hash its commit wrote: the SHA-256 naming its stored manifest."""
        return self.info.manifest_key.rsplit("/", 1)[-1].removesuffix(".parquet")

    @property
    def is_link(self) -> bool:
        """Whether this version was made by ``link()`` (a copy in another collection)."""
        return LINKED_FROM in self.info.metadata

    @property
    def source_qualified_name(self) -> str:
        """``project/name:vN`` of the version it was logged as (itself, unless it is a link)."""
        return str(self.info.metadata.get(LINKED_FROM, self.info.qualified_name))

    source_project = property(lambda self: self.source_qualified_name.split("/", 1)[0])
    source_version = property(lambda self: self.source_qualified_name.rsplit(":", 1)[-1])

    @property
    def source_artifact(self) -> Any:
        """The version it was logged as (itself, unless it is a link)."""
        if not self.is_link:
            return self
        project, rest = self.source_qualified_name.split("/", 1)
        name, version = rest.rsplit(":", 1)
        return type(self)(self._registry, self._registry.version(project, name, int(version[1:])))

    @property
    def collection(self) -> ArtifactCollection:
        """W&B's ``collection``: every version of this artifact."""
        return ArtifactCollection(
            self._registry, self.info.project, self.info.artifact, lambda i: type(self)(self._registry, i)
        )

    source_collection = collection

    @property
    def linked_artifacts(self) -> list[Any]:
        """The versions ``link()`` made of this one, in every project ([] for a link itself, as W&B)."""
        if self.is_link:
            return []
        found = []
        for project in self._registry.projects():
            for artifact in self._registry.artifacts(project):
                for info in self._registry.versions(project, artifact.name):
                    if info.metadata.get(LINKED_FROM) == self.info.qualified_name:
                        found.append(type(self)(self._registry, info))
        return found

    def unlink(self) -> None:
        """W&B's ``unlink``: remove this linked version from its collection (it is deleted, aliases
        included; the source stays). InvalidInputError for a version that is not a link."""
        if not self.is_link:
            raise InvalidInputError(f"{self.info.qualified_name} is not a linked version; delete() removes it.")
        self._registry.delete_version(self.info, delete_aliases=True)

    def file(self, root: str | os.PathLike[str] | None = None) -> str:
        """W&B's ``file``: download the version's one file (below ``root``, default as ``download``) and
        return its path. InvalidInputError when it holds more than one file."""
        entries = list(self.manifest)
        if len(entries) != 1:
            raise InvalidInputError(
                f"{self.info.qualified_name} holds {len(entries)} files; file() is for one-file artifacts, "
                "use download()."
            )
        folder = self.download(root)  # type: ignore[attr-defined]
        path = os.path.join(folder, entries[0].path)
        if not os.path.isfile(path):
            raise NotFoundError(f"{entries[0].path} was not downloaded to {folder}; download it again.")
        return path
