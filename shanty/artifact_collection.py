"""W&B's artifact collections and types (``Api().artifact_collection(type, name)``, ``artifact.collection``,
``Api().artifact_type(s)``): views over the registry's artifacts, read when asked.

A collection here is one artifact name in a project (all its versions); a type is
the set of a project's artifacts of that type. They take the function that makes
a version object (``ArtifactVersion``) so this module sits below ``artifact``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import InvalidInputError, NotFoundError
from .records import VersionInfo
from .registry import Registry

__all__ = ["ArtifactCollection", "ArtifactType"]


class ArtifactCollection:
    """W&B's ``ArtifactCollection``: ``name``, ``type``, ``project``, ``entity`` (''), ``aliases`` (of every
    version, ``latest`` included), ``created_at`` / ``updated_at``, ``description``, ``tags``,
    :meth:`artifacts` / :meth:`versions` (oldest first) and :meth:`is_sequence`."""

    def __init__(self, registry: Registry, project: str, name: str, make_version: Callable[[VersionInfo], Any]):
        self._registry, self.project, self.name, self._make = registry, project, name, make_version
        self.entity = ""  # no entities here (see shanty.run_surface.ENTITY)
        self._infos = registry.versions(project, name)  # NotFoundError when there is no such artifact

    def __repr__(self) -> str:
        return f"<ArtifactCollection {self.project}/{self.name} ({self.type})>"

    type = property(lambda self: self._infos[0].type)
    id = property(lambda self: f"{self.project}/{self.name}", doc="``project/name``: unique in a registry.")
    created_at = property(lambda self: self._infos[0].created_at)
    updated_at = property(lambda self: self._infos[-1].created_at)
    description = property(lambda self: self._infos[-1].description, doc="The newest version's description.")
    tags = property(lambda self: sorted({t for v in self._infos for t in v.tags}), doc="Tags of its versions.")

    @property
    def aliases(self) -> list[str]:
        """Every alias of its versions, ``latest`` included, sorted."""
        return sorted({a for v in self._infos for a in v.aliases})

    def artifacts(self, per_page: int = 50) -> list[Any]:
        """Its versions, oldest first (``per_page`` is W&B's and has no effect)."""
        return [self._make(info) for info in self._infos]

    versions = artifacts

    def is_sequence(self) -> bool:
        """True: every collection here is a sequence of logged versions (there are no portfolios)."""
        return True

    def load(self) -> ArtifactCollection:
        """Read the collection again."""
        self._infos = self._registry.versions(self.project, self.name)
        return self


class ArtifactType:
    """W&B's ``ArtifactType``: ``name``, ``project`` and the :meth:`collections` of that type."""

    def __init__(self, registry: Registry, project: str, name: str, make_version: Callable[[VersionInfo], Any]):
        self._registry, self.project, self.name, self._make = registry, project, name, make_version

    def __repr__(self) -> str:
        return f"<ArtifactType {self.project}/{self.name}>"

    def collections(self, per_page: int = 50) -> list[ArtifactCollection]:
        """The project's artifacts of this type, by name."""
        found = [a.name for a in self._registry.artifacts(self.project) if a.type == self.name]
        return [ArtifactCollection(self._registry, self.project, n, self._make) for n in found]

    def collection(self, name: str) -> ArtifactCollection:
        """The artifact ``name`` of this type; NotFoundError if there is none, InvalidInputError when it has
        another type."""
        found = ArtifactCollection(self._registry, self.project, name, self._make)
        if found.type != self.name:
            raise InvalidInputError(f"{self.project}/{name} has type {found.type!r}, not {self.name!r}.")
        return found


def require_type(registry: Registry, project: str, type_name: str) -> None:
    """NotFoundError unless ``project`` has an artifact of ``type_name``."""
    if not any(a.type == type_name for a in registry.artifacts(project)):
        raise NotFoundError(f"The project {project} has no artifact of type {type_name!r}.")
