"""What an enrichment measures: the distinct media objects of a logged table, pinned to their bytes.

A table's media cells are bound to manifest entries; each entry names the
exact bytes (a reference at its object version, or the registry's by-value
copy) and their digest. The work list holds each distinct object once (the
same file in two rows or two columns is measured once) as plain, picklable
values, so a process pool or a Ray cluster can take it as it is.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass

import pyarrow as pa

from ..artifact import ArtifactVersion
from ..errors import InvalidInputError
from ..tables.table import Table

__all__ = ["MediaObject", "WorkList", "media_work"]

MEASURED_KINDS = ("audio", "image", "video")


@dataclass(frozen=True)
class MediaObject:
    """One object to measure: its kind, where its recorded bytes are, and their digest (the cache key)."""

    kind: str
    uri: str
    version: str | None
    size: int
    digest: str
    etag: str | None = None


@dataclass(frozen=True)
class WorkList:
    """The objects of a table to measure, and for each enriched column the digest of every row's cell
    (None where the cell is empty) so results go back to rows."""

    objects: tuple[MediaObject, ...]
    row_digests: dict[str, tuple[str | None, ...]]
    kinds: dict[str, str]

    def to_arrow(self) -> pa.Table:
        """The objects as an Arrow table (the form Ray Data reads, one row per object)."""
        return pa.table(
            {
                "kind": [o.kind for o in self.objects],
                "uri": [o.uri for o in self.objects],
                "version": pa.array([o.version for o in self.objects], pa.string()),
                "size": pa.array([o.size for o in self.objects], pa.int64()),
                "digest": [o.digest for o in self.objects],
                "etag": pa.array([o.etag for o in self.objects], pa.string()),
            }
        )


def object_from_row(row: dict) -> MediaObject:
    """The inverse of :meth:`WorkList.to_arrow` for one row (what a Ray task receives)."""
    return MediaObject(row["kind"], row["uri"], row["version"], int(row["size"]), row["digest"], row["etag"])


def media_work(
    version: ArtifactVersion, table: Table, columns: Sequence[str] | None = None, skip: Set[str] = frozenset()
) -> WorkList:
    """The work list for ``table`` logged in ``version``: every audio, image and video column but those in
    ``skip`` (or only ``columns``), each distinct object once.

    InvalidInputError names a column that is not a measurable media column, or a table without one.
    """
    media = {name: kind for name, kind in table.media_columns.items() if kind in MEASURED_KINDS and name not in skip}
    if columns is not None:
        unknown = [c for c in columns if c not in media]
        if unknown:
            raise InvalidInputError(
                f"Column {unknown[0]!r} of the table holds no audio, image or video; "
                f"choose among {sorted(media) or 'none'}."
            )
        media = {c: media[c] for c in columns}
    if not media:
        raise InvalidInputError("This table has no audio, image or video column to enrich.")
    entries = version.manifest.entries
    registry = version._registry
    objects: dict[tuple[str, str], MediaObject] = {}
    row_digests: dict[str, tuple[str | None, ...]] = {}
    for name, kind in media.items():
        digests: list[str | None] = []
        for cell in table.get_column(name):
            entry = entries.get(cell.entry) if cell is not None and cell.entry else None
            if entry is None:
                digests.append(None)
                continue
            uri, object_version = registry.entry_source(entry)
            etag = entry.extra.get("etag") if object_version is None else None
            objects.setdefault(
                (kind, entry.digest),
                MediaObject(kind, uri, object_version, entry.size, entry.digest, str(etag) if etag else None),
            )
            digests.append(entry.digest)
        row_digests[name] = tuple(digests)
    ordered = tuple(sorted(objects.values(), key=lambda o: (o.kind, o.digest)))  # the same order on every run
    return WorkList(ordered, row_digests, media)
