"""shanty: version media in S3 / GCS / local buckets by reference, and explore it.

The public API mirrors W&B's artifacts so scripts port with
``import shanty as wandb``::

    run = shanty.init(project="songs", job_type="upload")
    at = shanty.Artifact("sample_songs", type="raw_data")
    at.add_reference("gs://bucket/whalesong")
    run.log_artifact(at)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Nothing heavy is imported here: `import shanty` and `shanty --help` stay fast (no pandas, pyarrow,
# DuckDB, cloud SDKs or PyAV until a name that needs them is used). Each public name is imported on
# first access (PEP 562) from the module _EXPORTS names for it; the TYPE_CHECKING block repeats them
# for type checkers and editors. A new export goes in both and in __all__ (tests/test_cold_start.py
# checks that the three agree).
if TYPE_CHECKING:
    from .api import Run, current_run, finish, init, log, log_artifact, login, use_artifact
    from .artifact import Artifact, ArtifactVersion
    from .diff.manifest_files import ChangePage, ManifestDiff, diff_manifest_files
    from .diff.manifests import Change, ChangeKind, Diff, DiffSummary, diff_manifests
    from .diff.tables import RowChange, RowKind, TableDiff, diff_tables, suggest_key
    from .download import DownloadReport
    from .enrichment import (
        PROJECTIONS,
        RUNNERS,
        EnrichResult,
        MapSource,
        SimilarityMap,
        colour_columns,
        embedding_columns,
        enrich,
        enriched_from,
        similarity_map,
    )
    from .errors import (
        ChangedObjectError,
        ConflictError,
        InvalidInputError,
        MalformedError,
        NotFoundError,
        QueryError,
        ShantyError,
        StorageError,
    )
    from .formatting import EMPTY, format_number, format_time, format_uri, format_value, human_size
    from .manifest import Manifest, ManifestEntry
    from .media.content_types import cell_kind_of
    from .public_api import Api
    from .query import (
        Aggregate,
        ColumnSummary,
        Filter,
        GroupBy,
        Join,
        Query,
        QueryResult,
        Sort,
        TableSchema,
        column_summaries,
        join_prefix,
        parse_filter_text,
        query_summaries,
        read_schema,
        relation_schema,
        run_query,
    )
    from .query.export import EXPORT_FORMATS, export_query
    from .records import ArtifactInfo, RunInfo, VersionInfo
    from .registry import Registry, default_root
    from .run_history import RunView
    from .run_module import alert, define_metric, link_model, log_model, restore, save, unwatch, use_model, watch
    from .storage.in_place import RemoteFile
    from .tables.annotations import Classes
    from .tables.cells import Audio, Image, Media, Video
    from .tables.table import JoinedTable, Table
    from .wandb_compat import ArtifactTTL, CommError, Error, Histogram, Settings, UsageError
    from .wandb_import import import_wandb, import_wandb_artifact, import_wandb_run

_EXPORTS: dict[str, tuple[str, ...]] = {
    "api": ("Run", "current_run", "finish", "init", "log", "log_artifact", "login", "use_artifact"),
    "artifact": ("Artifact", "ArtifactVersion"),
    "diff.manifest_files": ("ChangePage", "ManifestDiff", "diff_manifest_files"),
    "diff.manifests": ("Change", "ChangeKind", "Diff", "DiffSummary", "diff_manifests"),
    "diff.tables": ("RowChange", "RowKind", "TableDiff", "diff_tables", "suggest_key"),
    "download": ("DownloadReport",),
    "enrichment": (
        "PROJECTIONS",
        "RUNNERS",
        "EnrichResult",
        "MapSource",
        "SimilarityMap",
        "colour_columns",
        "embedding_columns",
        "enrich",
        "enriched_from",
        "similarity_map",
    ),
    "errors": (
        "ChangedObjectError",
        "ConflictError",
        "InvalidInputError",
        "MalformedError",
        "NotFoundError",
        "QueryError",
        "ShantyError",
        "StorageError",
    ),
    "formatting": ("EMPTY", "format_number", "format_time", "format_uri", "format_value", "human_size"),
    "manifest": ("Manifest", "ManifestEntry"),
    "media.content_types": ("cell_kind_of",),
    "public_api": ("Api",),
    "query": (
        "Aggregate",
        "ColumnSummary",
        "Filter",
        "GroupBy",
        "Join",
        "Query",
        "QueryResult",
        "Sort",
        "TableSchema",
        "column_summaries",
        "join_prefix",
        "parse_filter_text",
        "query_summaries",
        "read_schema",
        "relation_schema",
        "run_query",
    ),
    "query.export": ("EXPORT_FORMATS", "export_query"),
    "records": ("ArtifactInfo", "RunInfo", "VersionInfo"),
    "registry": ("Registry", "default_root"),
    "run_history": ("RunView",),
    "run_module": (
        "alert",
        "define_metric",
        "link_model",
        "log_model",
        "restore",
        "save",
        "unwatch",
        "use_model",
        "watch",
    ),
    "storage.in_place": ("RemoteFile",),
    "tables.annotations": ("Classes",),
    "tables.cells": ("Audio", "Image", "Media", "Video"),
    "tables.table": ("JoinedTable", "Table"),
    "wandb_compat": ("ArtifactTTL", "CommError", "Error", "Histogram", "Settings", "UsageError"),
    "wandb_import": ("import_wandb", "import_wandb_artifact", "import_wandb_run"),
}

_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__version__ = "0.1.0"

__all__ = [
    "EMPTY",
    "EXPORT_FORMATS",
    "PROJECTIONS",
    "RUNNERS",
    "Aggregate",
    "Api",
    "Artifact",
    "ArtifactInfo",
    "ArtifactTTL",
    "ArtifactVersion",
    "Audio",
    "Change",
    "ChangeKind",
    "ChangePage",
    "ChangedObjectError",
    "Classes",
    "ColumnSummary",
    "CommError",
    "ConflictError",
    "Diff",
    "DiffSummary",
    "DownloadReport",
    "EnrichResult",
    "Error",
    "Filter",
    "GroupBy",
    "Histogram",
    "Image",
    "InvalidInputError",
    "Join",
    "JoinedTable",
    "MalformedError",
    "Manifest",
    "ManifestDiff",
    "ManifestEntry",
    "MapSource",
    "Media",
    "NotFoundError",
    "Query",
    "QueryError",
    "QueryResult",
    "Registry",
    "RemoteFile",
    "RowChange",
    "RowKind",
    "Run",
    "RunInfo",
    "RunView",
    "Settings",
    "ShantyError",
    "SimilarityMap",
    "Sort",
    "StorageError",
    "Table",
    "TableDiff",
    "TableSchema",
    "UsageError",
    "VersionInfo",
    "Video",
    "__version__",
    "alert",
    "cell_kind_of",
    "colour_columns",
    "column_summaries",
    "current_run",
    "default_root",
    "define_metric",
    "diff_manifest_files",
    "diff_manifests",
    "diff_tables",
    "embedding_columns",
    "enrich",
    "enriched_from",
    "export_query",
    "finish",
    "format_number",
    "format_time",
    "format_uri",
    "format_value",
    "human_size",
    "import_wandb",
    "import_wandb_artifact",
    "import_wandb_run",
    "init",
    "join_prefix",
    "link_model",
    "log",
    "log_artifact",
    "log_model",
    "login",
    "parse_filter_text",
    "query_summaries",
    "read_schema",
    "relation_schema",
    "restore",
    "run_query",
    "save",
    "similarity_map",
    "suggest_key",
    "unwatch",
    "use_artifact",
    "use_model",
    "watch",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value
    # ``wandb.run`` is the active run; a module attribute cannot change by
    # itself, so it is computed on access.
    if name == "run":
        from .api import current_run

        return current_run()
    if name in ("config", "summary"):  # ``wandb.config`` / ``wandb.summary``: the active run's
        from .api import current_run

        active = current_run()
        if active is None:
            raise AttributeError(f"shanty.{name} belongs to a run; call shanty.init(...) first.")
        return getattr(active, name)
    if not name.startswith("_"):  # ``shanty.storage`` after a bare ``import shanty``: submodules load on use
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":  # the submodule exists but something it needs is missing
                raise
    raise AttributeError(f"module 'shanty' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
