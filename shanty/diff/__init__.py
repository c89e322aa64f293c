"""Diffs as data: manifests (in memory and in DuckDB), tables row by row, and their renderings."""

from .manifest_files import ChangePage, ManifestDiff, diff_manifest_files
from .manifests import Change, ChangeKind, Diff, DiffSummary, diff_manifests
from .tables import RowChange, RowKind, TableDiff, diff_tables, suggest_key

__all__ = [
    "Change",
    "ChangeKind",
    "ChangePage",
    "Diff",
    "DiffSummary",
    "ManifestDiff",
    "RowChange",
    "RowKind",
    "TableDiff",
    "diff_manifest_files",
    "diff_manifests",
    "diff_tables",
    "suggest_key",
]
