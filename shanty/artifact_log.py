"""The artifact log's records: what each kind holds (checked as it is read) and the replay of a log into
an artifact's current state.

An artifact is an append-only log of immutable JSON records (``version``,
``alias``, ``unalias``, ``note``, ``metadata``, ``tags``, ``ttl``, ``delete``); :class:`ArtifactState` replays
them in order, and :func:`check_record` names a damaged record instead of
letting it fail later. Writing them is :class:`~shanty.registry.Registry`'s.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from .errors import InvalidInputError, MalformedError
from .records import VersionInfo

__all__ = ["ArtifactState", "check_metadata", "check_record"]


class ArtifactState:
    """An artifact's state, replayed from its log."""

    def __init__(self) -> None:
        self.versions: list[dict[str, Any]] = []
        self.alias_of: dict[str, int] = {}
        self.notes: dict[int, str | None] = {}
        self.metadata: dict[int, dict[str, Any]] = {}
        self.tags: dict[int, list[str]] = {}
        self.ttl: dict[int, int | None] = {}  # seconds after creation, None: never expires
        self.deleted: set[int] = set()
        self._latest: tuple[int | None] | None = None  # cache of the newest readable version (info() asks per version)

    def apply(self, record: dict[str, Any]) -> None:
        self._latest = None  # the newest readable version may change with any record
        op = record["op"]
        if op in ("alias", "note", "metadata", "tags", "ttl", "delete") and record["version"] >= len(self.versions):
            raise MalformedError(
                f"The registry record {record.get('_key', '')} names version v{record['version']}, which its log "
                "does not hold before it; the log is damaged: restore it from a backup."
            )
        if op == "version":
            index = len(self.versions)
            self.versions.append(record)
            self.notes[index] = record.get("description")
            for alias in record.get("aliases", []):
                self.alias_of[alias] = index
        elif op == "alias":
            for alias in record["aliases"]:
                self.alias_of[alias] = record["version"]
        elif op == "unalias":
            for alias in record["aliases"]:
                self.alias_of.pop(alias, None)
        elif op == "note":
            self.notes[record["version"]] = record["text"]
        elif op == "metadata":
            self.metadata[record["version"]] = record["metadata"] or {}
        elif op == "tags":
            self.tags[record["version"]] = list(record["tags"])
        elif op == "ttl":
            self.ttl[record["version"]] = record["ttl_seconds"]
        elif op == "delete":
            self.deleted.add(record["version"])
            for alias in [a for a, i in self.alias_of.items() if i == record["version"]]:
                del self.alias_of[alias]

    def ttl_of(self, index: int) -> int | None:
        return self.ttl.get(index, self.versions[index].get("ttl_seconds"))

    def gone(self, index: int, now: datetime | None = None) -> str | None:
        """Why version ``index`` is no longer readable (``"deleted"``, ``"expired"``), else None."""
        if index in self.deleted:
            return "deleted"
        ttl = self.ttl_of(index)
        if ttl is not None:
            created = datetime.fromisoformat(self.versions[index]["time"])
            if (now or datetime.now(created.tzinfo)) >= created + timedelta(seconds=ttl):
                return "expired"
        return None

    def live(self, now: datetime | None = None) -> list[int]:
        """Indexes of the versions still readable, oldest first."""
        return [i for i in range(len(self.versions)) if self.gone(i, now) is None]

    def info(self, project: str, artifact: str, index: int) -> VersionInfo:
        record = self.versions[index]
        aliases = sorted(a for a, i in self.alias_of.items() if i == index)
        if self._latest is None:
            live = self.live()
            self._latest = (live[-1] if live else None,)
        if index == self._latest[0]:
            aliases.insert(0, "latest")
        run = record.get("run") or {}
        return VersionInfo(
            project=project,
            artifact=artifact,
            index=index,
            type=record["type"],
            digest=record["digest"],
            manifest_key=record["manifest"],
            file_count=record["file_count"],
            total_size=record["total_size"],
            created_at=record["time"],
            description=self.notes.get(index),
            metadata=self.metadata.get(index, record.get("metadata") or {}),
            aliases=tuple(aliases),
            run_id=run.get("id"),
            job_type=run.get("job_type"),
            tags=tuple(self.tags.get(index, record.get("tags") or [])),
            ttl_seconds=self.ttl_of(index),
        )


def check_record(record: Any, where: str) -> dict[str, Any]:
    required = {
        "version": ("type", "digest", "manifest", "file_count", "total_size", "time"),
        "alias": ("version", "aliases"),
        "unalias": ("aliases",),
        "note": ("version", "text"),
        "metadata": ("version", "metadata"),
        "tags": ("version", "tags"),
        "ttl": ("version", "ttl_seconds"),
        "delete": ("version",),
    }
    if not isinstance(record, dict) or record.get("op") not in required:
        raise MalformedError(
            f"The registry record {where} is damaged (unknown content); restore it from a backup or remove it."
        )
    missing = [key for key in required[record["op"]] if key not in record]
    if missing:
        raise MalformedError(
            f"The registry record {where} is damaged (missing {', '.join(missing)}); restore it from a backup."
        )
    wrong = [key for key, fits in _FIELD_TYPES.items() if key in record and not fits(record[key])]
    if wrong:
        raise MalformedError(
            f"The registry record {where} is damaged ({', '.join(wrong)} of the wrong type); restore it from a backup."
        )
    return record


def check_metadata(metadata: Any, artifact: str) -> None:
    if not isinstance(metadata, dict):
        raise InvalidInputError(f"The metadata of {artifact} must be a dict, not {type(metadata).__name__}.")
    try:
        json.dumps(metadata)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"The metadata of {artifact} is not JSON-serialisable ({exc}); use plain values."
        ) from exc


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# What each record field must hold, whatever the op: a damaged field is named, never a crash later.
_FIELD_TYPES = {
    "type": lambda v: isinstance(v, str),
    "digest": lambda v: isinstance(v, str),
    "manifest": lambda v: isinstance(v, str),
    "file_count": _count,
    "total_size": _count,
    "time": lambda v: isinstance(v, str),
    "version": _count,
    "aliases": _text_list,
    "text": lambda v: v is None or isinstance(v, str),
    "description": lambda v: v is None or isinstance(v, str),
    "metadata": lambda v: v is None or isinstance(v, dict),
    "tags": _text_list,
    "ttl_seconds": lambda v: v is None or _count(v),
    "run": lambda v: v is None or (isinstance(v, dict) and all(isinstance(x, str | None) for x in v.values())),
}
