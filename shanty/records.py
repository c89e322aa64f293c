"""Value objects the registry returns: versions, artifacts, runs.

They are frozen snapshots; re-read the registry for fresh state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ArtifactInfo", "RunInfo", "VersionInfo"]


@dataclass(frozen=True)
class VersionInfo:
    """One committed version of an artifact."""

    project: str
    artifact: str
    index: int
    type: str
    digest: str
    manifest_key: str
    file_count: int
    total_size: int
    created_at: str
    description: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict, compare=False)
    aliases: tuple[str, ...] = ()
    run_id: str | None = None
    job_type: str | None = None
    tags: tuple[str, ...] = ()
    ttl_seconds: int | None = None  # the version expires this long after created_at; None: never
    id: str = ""  # the identity no repair can renumber: the hash of its log record (``vN`` is a label)

    @property
    def version(self) -> str:
        """W&B's spelling of the version: ``"v3"``."""
        return f"v{self.index}"

    @property
    def qualified_name(self) -> str:
        return f"{self.project}/{self.artifact}:{self.version}"


@dataclass(frozen=True)
class ArtifactInfo:
    """An artifact (all versions of one name) in a project."""

    project: str
    name: str
    type: str
    version_count: int
    latest: VersionInfo


@dataclass(frozen=True)
class RunInfo:
    """A run: one execution of a script that logged or used artifacts."""

    id: str
    project: str
    job_type: str | None
    name: str | None
    started_at: str
    finished_at: str | None = None
    state: str = "running"
    config: Mapping[str, Any] = field(default_factory=dict, compare=False)
    logged: tuple[str, ...] = ()
    used: tuple[str, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict, compare=False)
    # W&B's init(tags=, notes=, group=); records written before these existed read with the defaults.
    tags: tuple[str, ...] = ()
    notes: str | None = None
    group: str | None = None
    metrics: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)  # define_metric, in call order
    alerts: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)  # run.alert(...), oldest first
