"""The artifact log's records: what each kind holds (checked as it is read) and the replay of a log into
an artifact's current state.

An artifact is an append-only log of immutable JSON records (``version``, ``alias``, ``unalias``,
``note``, ``metadata``, ``tags``, ``ttl``, ``delete``, and ``void``: a damaged record ``shanty doctor``
put aside); :class:`ArtifactState` replays them in order. Reading and writing them is
:mod:`shanty.log_store`'s.

Identity. A version *is* its record: its id is the SHA-256 of the record's bytes (:func:`record_id`),
which nothing can renumber. Its number ``vN`` is written into the record when it is appended (one more
than the highest number before it), so removing or voiding a record never renumbers the versions after
it. Records about a version (aliases, notes, ...) name it by id as well as number; one that names a
version no record holds is damage, never a silent retarget. Records written before numbers were stored
are numbered by their position among the version records, as they always were.

Damage. A record that is unreadable, of the wrong shape, missing from the sequence, or naming a version
that does not exist is not applied; it is listed in :attr:`ArtifactState.damage` (one sentence each,
naming the record). A damaged artifact is read-only: it answers explicit version numbers of intact
records; aliases, ``latest``, listings and every write refuse with the first sentence until ``shanty
doctor`` repairs it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from .errors import InvalidInputError, MalformedError, NotFoundError
from .records import VersionInfo

__all__ = ["ArtifactState", "check_metadata", "check_record", "record_id", "record_problem"]

# ops that name a version they are about
_ABOUT_VERSION = ("alias", "note", "metadata", "tags", "ttl", "delete")


def record_id(data: bytes) -> str:
    """The identity of a log record: the first 20 hex digits of the SHA-256 of its bytes as stored."""
    return hashlib.sha256(data).hexdigest()[:20]


class ArtifactState:
    """An artifact's state, replayed from its log (or restored from a snapshot and the records after it)."""

    def __init__(self) -> None:
        self.versions: dict[int, dict[str, Any]] = {}  # vN -> its version record, in number order
        self.ids: dict[str, int] = {}  # version id -> N
        self.alias_of: dict[str, int] = {}
        self.notes: dict[int, str | None] = {}
        self.metadata: dict[int, dict[str, Any]] = {}
        self.tags: dict[int, list[str]] = {}
        self.ttl: dict[int, int | None] = {}  # seconds after creation, None: never expires
        self.deleted: set[int] = set()
        self.damaged: list[tuple[str, str]] = []  # (record key, what is wrong) per damaged record: read-only
        self.last_seq = -1  # the sequence number of the last record applied
        self.legacy_count = 0  # version slots (records and voided versions) before numbers were stored
        self.high = -1  # the highest version number ever held, voided ones included: never reused
        self._latest: tuple[int | None] | None = None  # cache of the newest readable version (info() asks per version)

    # --- replay --------------------------------------------------------------------
    def apply(self, record: dict[str, Any]) -> None:
        """Apply one checked record (see :func:`check_record`); one that names a version the log does not
        hold is noted as damage, not applied."""
        self._latest = None  # the newest readable version may change with any record
        self.last_seq = max(self.last_seq, record.get("_seq", self.last_seq + 1))
        op = record["op"]
        if op == "void":
            if record.get("was") == "version":
                number = record.get("number")
                self.high = max(self.high, number if isinstance(number, int) else self.legacy_count)
                self.legacy_count += "number" not in record
            return
        if op == "version":
            self._add_version(record)
            return
        if op in _ABOUT_VERSION:
            number = self._named_version(record)
            if number is None:
                return
        if op == "alias":
            for alias in record["aliases"]:
                self.alias_of[alias] = number
        elif op == "unalias":
            for alias in record["aliases"]:
                self.alias_of.pop(alias, None)
        elif op == "note":
            self.notes[number] = record["text"]
        elif op == "metadata":
            self.metadata[number] = record["metadata"] or {}
        elif op == "tags":
            self.tags[number] = list(record["tags"])
        elif op == "ttl":
            self.ttl[number] = record["ttl_seconds"]
        elif op == "delete":
            self.deleted.add(number)
            for alias in [a for a, i in self.alias_of.items() if i == number]:
                del self.alias_of[alias]

    def _add_version(self, record: dict[str, Any]) -> None:
        if "number" in record:
            number = record["number"]
            if number <= self.high:
                self.note_damage(
                    record.get("_key", "?"), f"numbers itself v{number}, which an earlier record already held"
                )
                return
        else:
            number = self.legacy_count
            self.legacy_count += 1
        self.high = max(self.high, number)
        self.versions[number] = record
        self.ids[record["_id"]] = number
        self.notes[number] = record.get("description")
        for alias in record.get("aliases", []):
            self.alias_of[alias] = number

    def _named_version(self, record: dict[str, Any]) -> int | None:
        number, wanted = record["version"], record.get("version_id")
        held = self.ids.get(wanted) if wanted is not None else (number if number in self.versions else None)
        if held is None or held != number:
            self.note_damage(record.get("_key", "?"), f"names version v{number}, which its log does not hold before it")
            return None
        return held

    def note_damage(self, where: str, what: str) -> None:
        """Record that the log record ``where`` is damaged (``what``: why, as the end of a sentence that
        starts with the record's name)."""
        self.damaged.append((where, what))

    @property
    def damage(self) -> list[str]:
        """One sentence per damaged record; any makes the artifact read-only."""
        return [f"The registry record {where} {what}" for where, what in self.damaged]

    def damage_sentence(self, action: str = "") -> str | None:
        """The sentence naming the first damaged record and how to repair it; None when intact."""
        if not self.damaged:
            return None
        extra = f" (and {len(self.damaged) - 1} more)" if len(self.damaged) > 1 else ""
        return (
            f"{self.damage[0]}{extra}; the artifact is read-only until it is repaired{action}: run "
            "`shanty doctor --repair` (it keeps every version and the damaged bytes)."
        )

    def check_intact(self, action: str = "") -> None:
        """MalformedError naming the first damaged record (and how to repair it) if there is one."""
        sentence = self.damage_sentence(action)
        if sentence is not None:
            raise MalformedError(sentence)

    # --- derived state -----------------------------------------------------------------
    @property
    def next_number(self) -> int:
        """The number the next version gets: never one a record (even a voided one) held."""
        return self.high + 1

    def number_of(self, version_id: str) -> int | None:
        return self.ids.get(version_id)

    def ttl_of(self, index: int) -> int | None:
        return self.ttl.get(index, self.versions[index].get("ttl_seconds"))

    def gone(self, index: int, now: datetime | None = None) -> str | None:
        """Why version ``index`` is not readable (``"deleted"``, ``"expired"``, ``"missing"``: no intact
        record holds it), else None."""
        if index not in self.versions:
            return "missing"
        if index in self.deleted:
            return "deleted"
        ttl = self.ttl_of(index)
        if ttl is not None:
            created = datetime.fromisoformat(self.versions[index]["time"])
            if (now or datetime.now(created.tzinfo)) >= created + timedelta(seconds=ttl):
                return "expired"
        return None

    def live(self, now: datetime | None = None) -> list[int]:
        """Numbers of the versions still readable, oldest first."""
        return [i for i in self.versions if self.gone(i, now) is None]

    def about(self, index: int) -> dict[str, Any]:
        """The fields a record about version ``index`` names it by (its number and its id)."""
        return {"version": index, "version_id": self.versions[index]["_id"]}

    def held(self, version: VersionInfo) -> dict[str, Any]:
        """:meth:`about` ``version``, checked: NotFoundError when the log no longer holds its record (it
        was deleted from the log, or a repair put it aside), never another version by its number."""
        if self.gone(version.index) == "missing" or (version.id and self.number_of(version.id) != version.index):
            raise NotFoundError(
                f"{version.qualified_name} is no longer in its artifact's log; read the artifact again."
            )
        return self.about(version.index)

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
            id=record["_id"],
        )

    # --- snapshots -----------------------------------------------------------------------
    def to_snapshot(self) -> dict[str, Any]:
        """The state as one JSON object (see :meth:`from_snapshot`); only an intact state is snapshotted."""
        assert not self.damaged, "a damaged state is never snapshotted"
        plain = {n: {k: v for k, v in r.items() if k not in ("_key", "_seq")} for n, r in self.versions.items()}
        return {
            "format": 1,
            "last_seq": self.last_seq,
            "legacy_count": self.legacy_count,
            "high": self.high,
            "versions": [[n, plain[n]] for n in self.versions],
            "aliases": self.alias_of,
            "notes": [[n, t] for n, t in self.notes.items()],
            "metadata": [[n, m] for n, m in self.metadata.items()],
            "tags": [[n, t] for n, t in self.tags.items()],
            "ttl": [[n, t] for n, t in self.ttl.items()],
            "deleted": sorted(self.deleted),
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> ArtifactState:
        """The state a snapshot holds (KeyError / TypeError / ValueError when it is damaged)."""
        if data.get("format") != 1:
            raise ValueError("unknown snapshot format")
        state = cls()
        state.last_seq, state.legacy_count, state.high = (
            int(data["last_seq"]),
            int(data["legacy_count"]),
            int(data["high"]),
        )
        for number, record in data["versions"]:
            state.versions[int(number)] = dict(record)
            state.ids[record["_id"]] = int(number)
        state.alias_of = {str(a): int(n) for a, n in data["aliases"].items()}
        state.notes = {int(n): t for n, t in data["notes"]}
        state.metadata = {int(n): dict(m) for n, m in data["metadata"]}
        state.tags = {int(n): list(t) for n, t in data["tags"]}
        state.ttl = {int(n): t for n, t in data["ttl"]}
        state.deleted = {int(n) for n in data["deleted"]}
        return state


def check_record(record: Any, where: str) -> dict[str, Any]:
    """``record`` if it is a log record of a known kind with its fields of the right types; else
    MalformedError naming ``where``."""
    problem = record_problem(record)
    if problem is not None:
        raise MalformedError(f"The registry record {where} {problem}")
    return record


def record_problem(record: Any) -> str | None:
    """What is wrong with a parsed log record (the end of a sentence naming it), None if nothing."""
    required = {
        "version": ("type", "digest", "manifest", "file_count", "total_size", "time"),
        "alias": ("version", "aliases"),
        "unalias": ("aliases",),
        "note": ("version", "text"),
        "metadata": ("version", "metadata"),
        "tags": ("version", "tags"),
        "ttl": ("version", "ttl_seconds"),
        "delete": ("version",),
        "void": ("was",),
    }
    if not isinstance(record, dict) or record.get("op") not in required:
        return "is damaged (unknown content)"
    missing = [key for key in required[record["op"]] if key not in record]
    if missing:
        return f"is damaged (missing {', '.join(missing)})"
    wrong = [key for key, fits in _FIELD_TYPES.items() if key in record and not fits(record[key])]
    if wrong:
        return f"is damaged ({', '.join(wrong)} of the wrong type)"
    return None


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
    "number": _count,
    "version_id": lambda v: isinstance(v, str),
    "aliases": _text_list,
    "text": lambda v: v is None or isinstance(v, str),
    "description": lambda v: v is None or isinstance(v, str),
    "metadata": lambda v: v is None or isinstance(v, dict),
    "tags": _text_list,
    "ttl_seconds": lambda v: v is None or _count(v),
    "run": lambda v: v is None or (isinstance(v, dict) and all(isinstance(x, str | None) for x in v.values())),
    "was": lambda v: v in ("version", "other"),
}
