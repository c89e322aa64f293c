"""Diff two manifests as data.

``diff_manifests`` returns :class:`Change` values and a :class:`DiffSummary`;
the CLI and the dashboard only format them. Content identity is the entry
digest: a new object version with the same bytes is *unchanged*, a removed
and an added path with the same digest pair up as *renamed*.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from ..manifest import Manifest, ManifestEntry

__all__ = ["Change", "ChangeKind", "Diff", "DiffSummary", "KindTotals", "diff_manifests"]


class ChangeKind(StrEnum):
    """What happened to a path between two manifests."""

    ADDED = "added"
    REMOVED = "removed"
    MODIFIED = "modified"
    RENAMED = "renamed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Change:
    """One path's fate between two manifests; ``old``/``new`` is None when absent."""

    kind: ChangeKind
    old: ManifestEntry | None
    new: ManifestEntry | None

    @property
    def path(self) -> str:
        """The path now (a removed entry's old path; a renamed one's new path)."""
        return (self.new or self.old).path  # type: ignore[union-attr]

    @property
    def size_delta(self) -> int:
        """New size minus old size, an absent side counting 0."""
        return (self.new.size if self.new else 0) - (self.old.size if self.old else 0)


@dataclass(frozen=True)
class KindTotals:
    """How many changes of one kind, and their bytes on each side."""

    count: int = 0
    old_bytes: int = 0
    new_bytes: int = 0

    @property
    def delta(self) -> int:
        """New bytes minus old bytes."""
        return self.new_bytes - self.old_bytes


@dataclass(frozen=True)
class DiffSummary:
    """Counts and bytes per change kind, plus the size of each side."""

    added: KindTotals
    removed: KindTotals
    modified: KindTotals
    renamed: KindTotals
    unchanged: KindTotals
    old_files: int
    new_files: int
    old_bytes: int
    new_bytes: int

    def kind(self, kind: ChangeKind) -> KindTotals:
        """The totals of ``kind``."""
        return getattr(self, kind.value)

    @property
    def changed(self) -> bool:
        """Whether anything but unchanged entries was found."""
        return any(self.kind(k).count for k in ChangeKind if k is not ChangeKind.UNCHANGED)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; each kind's totals also carry their ``delta``."""
        out = asdict(self)
        for kind in ChangeKind:
            out[kind.value]["delta"] = self.kind(kind).delta
        return out


@dataclass(frozen=True)
class Diff:
    """Every change between two manifests, sorted by path, and their summary."""

    changes: tuple[Change, ...]
    summary: DiffSummary

    def of_kind(self, kind: ChangeKind) -> list[Change]:
        """The changes of ``kind``, in path order."""
        return [c for c in self.changes if c.kind is kind]


def diff_manifests(old: Manifest, new: Manifest) -> Diff:
    """Compare two manifests entry by entry; changes are sorted by path."""
    changes: list[Change] = []
    removed: list[ManifestEntry] = []
    for path, before in old.entries.items():
        after = new.entries.get(path)
        if after is None:
            removed.append(before)
        elif after.digest == before.digest:
            changes.append(Change(ChangeKind.UNCHANGED, before, after))
        else:
            changes.append(Change(ChangeKind.MODIFIED, before, after))
    added = [e for p, e in new.entries.items() if p not in old.entries]

    # Pair removed and added entries that share a digest as renames, one to one
    # in path order, so the result is deterministic when copies exist.
    gone_by_digest: dict[str, list[ManifestEntry]] = defaultdict(list)
    for entry in sorted(removed, key=lambda e: e.path):
        gone_by_digest[entry.digest].append(entry)
    for entry in sorted(added, key=lambda e: e.path):
        candidates = gone_by_digest.get(entry.digest)
        if candidates:
            changes.append(Change(ChangeKind.RENAMED, candidates.pop(0), entry))
        else:
            changes.append(Change(ChangeKind.ADDED, None, entry))
    for leftovers in gone_by_digest.values():
        changes.extend(Change(ChangeKind.REMOVED, e, None) for e in leftovers)

    changes.sort(key=lambda c: c.path)
    totals: dict[ChangeKind, list[int]] = {k: [0, 0, 0] for k in ChangeKind}
    for change in changes:
        bucket = totals[change.kind]
        bucket[0] += 1
        bucket[1] += change.old.size if change.old else 0
        bucket[2] += change.new.size if change.new else 0
    summary = DiffSummary(
        **{k.value: KindTotals(*totals[k]) for k in ChangeKind},
        old_files=len(old),
        new_files=len(new),
        old_bytes=old.total_size,
        new_bytes=new.total_size,
    )
    return Diff(tuple(changes), summary)
