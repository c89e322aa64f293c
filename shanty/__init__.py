"""shanty: version media in S3 / GCS / local buckets by reference, and explore it.

The public API mirrors W&B's artifacts so scripts port with
``import shanty as wandb``::

    run = shanty.init(project="songs", job_type="upload")
    at = shanty.Artifact("sample_songs", type="raw_data")
    at.add_reference("gs://bucket/whalesong")
    run.log_artifact(at)
"""

from __future__ import annotations

from typing import Any

from .api import Api, Run, current_run, finish, init, log_artifact, login, use_artifact
from .artifact import Artifact, ArtifactVersion
from .diff import Change, ChangeKind, Diff, DiffSummary, diff_manifests
from .download import DownloadReport
from .errors import (
    ChangedObjectError,
    ConflictError,
    InvalidInputError,
    MalformedError,
    NotFoundError,
    ShantyError,
    StorageError,
)
from .manifest import Manifest, ManifestEntry
from .media import Audio, Image, Media, Video
from .records import ArtifactInfo, RunInfo, VersionInfo
from .registry import Registry, default_root
from .tables import JoinedTable, Table
from .wandb_import import import_wandb_artifact

__version__ = "0.1.0"

__all__ = [
    "Api",
    "Artifact",
    "ArtifactInfo",
    "ArtifactVersion",
    "Audio",
    "Change",
    "ChangeKind",
    "ChangedObjectError",
    "ConflictError",
    "Diff",
    "DiffSummary",
    "DownloadReport",
    "Image",
    "InvalidInputError",
    "JoinedTable",
    "MalformedError",
    "Manifest",
    "ManifestEntry",
    "Media",
    "NotFoundError",
    "Registry",
    "Run",
    "RunInfo",
    "ShantyError",
    "StorageError",
    "Table",
    "VersionInfo",
    "Video",
    "__version__",
    "current_run",
    "default_root",
    "diff_manifests",
    "finish",
    "import_wandb_artifact",
    "init",
    "log_artifact",
    "login",
    "use_artifact",
]


def __getattr__(name: str) -> Any:
    # ``wandb.run`` is the active run; a module attribute cannot change by
    # itself, so it is computed on access.
    if name == "run":
        return current_run()
    raise AttributeError(f"module 'shanty' has no attribute {name!r}")
