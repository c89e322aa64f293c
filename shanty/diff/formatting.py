"""Turn diff and registry values into text, JSON or Markdown (edges only)."""

from __future__ import annotations

from typing import Any

from ..formatting import human_size
from ..manifest import ManifestEntry
from .manifests import Change, ChangeKind, Diff

__all__ = ["diff_to_json", "diff_to_markdown", "diff_to_text", "entry_to_json"]

_SIGN = {
    ChangeKind.ADDED: "+",
    ChangeKind.REMOVED: "-",
    ChangeKind.MODIFIED: "~",
    ChangeKind.RENAMED: ">",
    ChangeKind.UNCHANGED: " ",
}


def entry_to_json(entry: ManifestEntry | None) -> dict[str, Any] | None:
    """A manifest entry as a JSON-ready dict (None stays None)."""
    if entry is None:
        return None
    return {
        "path": entry.path,
        "digest": entry.digest,
        "size": entry.size,
        "ref": entry.ref,
        "version": entry.object_version,
        "extra": dict(entry.extra),
    }


def _change_json(change: Change) -> dict[str, Any]:
    return {
        "kind": change.kind.value,
        "path": change.path,
        "size_delta": change.size_delta,
        "old": entry_to_json(change.old),
        "new": entry_to_json(change.new),
    }


def diff_to_json(diff: Diff, old_name: str, new_name: str, include_unchanged: bool = False) -> dict[str, Any]:
    """A JSON-ready dict: both names, the summary and the changes."""
    changes = [c for c in diff.changes if include_unchanged or c.kind is not ChangeKind.UNCHANGED]
    return {
        "old": old_name,
        "new": new_name,
        "summary": diff.summary.to_dict(),
        "changes": [_change_json(c) for c in changes],
    }


def _change_line(change: Change) -> str:
    if change.kind is ChangeKind.RENAMED:
        return f"{change.old.path} -> {change.new.path}"  # type: ignore[union-attr]
    if change.kind is ChangeKind.MODIFIED:
        return f"{change.path} ({human_size(change.size_delta, signed=True)})"
    entry = change.new or change.old
    return f"{change.path} ({human_size(entry.size)})"  # type: ignore[union-attr]


def _summary_rows(diff: Diff) -> list[tuple[str, int, str]]:
    rows = []
    for kind in ChangeKind:
        totals = diff.summary.kind(kind)
        if kind in (ChangeKind.ADDED,):
            size = human_size(totals.new_bytes, signed=True)
        elif kind is ChangeKind.REMOVED:
            size = human_size(-totals.old_bytes, signed=True)
        elif kind is ChangeKind.MODIFIED:
            size = human_size(totals.delta, signed=True)
        else:
            size = human_size(totals.new_bytes)
        rows.append((kind.value, totals.count, size))
    return rows


def diff_to_text(diff: Diff, old_name: str, new_name: str, include_unchanged: bool = False) -> str:
    """Plain-text diff: a summary table, then one line per change."""
    s = diff.summary
    lines = [
        f"{old_name} ({s.old_files} files, {human_size(s.old_bytes)}) -> {new_name} ({s.new_files} files, {human_size(s.new_bytes)})",
        "",
    ]
    lines += [f"  {kind:<10} {count:>8}  {size}" for kind, count, size in _summary_rows(diff)]
    shown = [c for c in diff.changes if include_unchanged or c.kind is not ChangeKind.UNCHANGED]
    if shown:
        lines.append("")
        lines += [f"{_SIGN[c.kind]} {_change_line(c)}" for c in shown]
    elif not s.changed:
        lines += ["", "No changes."]
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`").replace("*", "\\*").replace("_", "\\_")


def diff_to_markdown(diff: Diff, old_name: str, new_name: str, limit: int = 200) -> str:
    """Markdown for a pull-request comment: summary table and up to ``limit`` changes."""
    lines = [f"### `{old_name}` → `{new_name}`", "", "| change | files | bytes |", "|---|---:|---:|"]
    lines += [f"| {kind} | {count} | {size} |" for kind, count, size in _summary_rows(diff)]
    shown = [c for c in diff.changes if c.kind is not ChangeKind.UNCHANGED]
    if shown:
        lines += ["", "| | path | size |", "|---|---|---:|"]
        for change in shown[:limit]:
            entry = change.new or change.old
            size = (
                human_size(change.size_delta, signed=True)
                if change.kind is ChangeKind.MODIFIED
                else human_size(entry.size)
            )  # type: ignore[union-attr]
            path = (
                _md_escape(change.path)
                if change.kind is not ChangeKind.RENAMED
                else f"{_md_escape(change.old.path)} → {_md_escape(change.new.path)}"
            )  # type: ignore[union-attr]
            lines.append(f"| {change.kind.value} | {path} | {size} |")
        if len(shown) > limit:
            lines.append(f"\n… and {len(shown) - limit} more changes.")
    return "\n".join(lines)
