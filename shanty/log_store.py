"""Artifact logs on storage: reading one in a few requests whatever its length, and appending to it.

Layout under ``projects/<p>/artifacts/<a>/``::

    log/<seq>.json          the records, numbered densely from 0 (see :mod:`shanty.artifact_log`)
    snapshots/<seq>.json    the state after records 0..seq, written every SNAPSHOT_EVERY records

A read lists the snapshots (one request), reads the newest (once: it is immutable), then lists the log
*after* it (one request) and reads the records it has not seen, re-reading the last one (a record put
back in place of a removed last one must show the same to every reader). So reading an artifact costs
a handful of requests whatever the number of its records. A snapshot is derived data written with
create-if-absent by whoever first replays that far (writers, and readers when they can write): every
writer replaying the same records writes the same bytes, so the race is harmless; a snapshot that does
not parse is passed over for an older one (``shanty doctor`` rewrites it).

An append is a create-if-absent of the next sequence number, the one primitive every backend offers
atomically; losers of a race re-read and retry. A damaged log is read-only: appends refuse.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from .artifact_log import ArtifactState, record_id, record_problem
from .errors import ConflictError, NotFoundError, ShantyError
from .names import check_name
from .storage import Storage
from .storage.location import join_uri

__all__ = ["SNAPSHOT_EVERY", "LogStore", "now_iso", "parse_record", "seq_name"]

SNAPSHOT_EVERY = 64  # records between snapshots: a cold read fetches at most about this many records
MAX_APPEND_ATTEMPTS = 200
_SEQ = re.compile(r"^(\d{10})\.json$")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_record(data: bytes, key: str) -> tuple[dict[str, Any] | None, str]:
    """``(record, "")`` for the bytes of an intact log record stored at ``key`` (with its ``_seq``,
    ``_key`` and ``_id``, in memory only); ``(None, what is wrong)`` otherwise."""
    try:
        record = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, "is not valid JSON"
    problem = record_problem(record)
    if problem is not None:
        return None, problem
    record["_seq"], record["_key"], record["_id"] = int(key.rsplit("/", 1)[1][:10]), key, record_id(data)
    return record, ""


def seq_name(seq: int) -> str:
    """The file name of log record (or snapshot) number ``seq``."""
    return f"{seq:010d}.json"


class LogStore:
    """Reads and appends artifact logs below ``root`` on ``storage``.

    ``fresh_seconds`` > 0 lets a read answer from the state this store read (or wrote) less than that
    long ago, without a request (the dashboard's reruns); appends always read afresh.
    """

    def __init__(self, storage: Storage, root: str, fresh_seconds: float = 0.0):
        self.storage = storage
        self.root = root
        self.fresh_seconds = fresh_seconds
        self._records: dict[str, dict[str, Any]] = {}  # intact records by key: immutable once written
        self._snapshots: dict[str, ArtifactState | None] = {}  # by key; None: damaged
        self._fresh: dict[tuple[str, str], tuple[ArtifactState, float]] = {}
        self._unwritable = False  # a snapshot write was refused: this reader does not try again
        self._lock = threading.Lock()

    def artifact_dir(self, project: str, artifact: str, *parts: str) -> str:
        check_name(project, "Project")
        check_name(artifact, "Artifact")
        return join_uri(self.root, "projects", project, "artifacts", artifact, *parts)

    # --- reading -------------------------------------------------------------------------
    def state(self, project: str, artifact: str, *, fresh: bool = False) -> ArtifactState:
        """The artifact's replayed state (damage noted in it, never raised: see
        :meth:`ArtifactState.check_intact`). An artifact with no log has an empty state."""
        key = (project, artifact)
        if not fresh and self.fresh_seconds > 0:
            cached = self._fresh.get(key)
            if cached is not None and cached[1] > time.monotonic():
                return cached[0]
        state = self._read(project, artifact)
        self._remember(key, state)
        return state

    def _remember(self, key: tuple[str, str], state: ArtifactState) -> None:
        if self.fresh_seconds > 0:
            with self._lock:
                self._fresh[key] = (state, time.monotonic() + self.fresh_seconds)

    def _read(self, project: str, artifact: str) -> ArtifactState:
        state, snapshot_seq = self._newest_snapshot(project, artifact)
        log_dir = self.artifact_dir(project, artifact, "log")
        after = seq_name(snapshot_seq) if snapshot_seq >= 0 else None
        names = [n for n in self.storage.list_names(log_dir, start_after=after) if _SEQ.match(n)]
        keys = [join_uri(log_dir, n) for n in names]
        seqs = [int(n[:10]) for n in names]
        # The last record is read again every time: one put back in place of a removed last record must
        # read the same to a reader who saw the old one as to a fresh one.
        todo = [k for k in keys if k not in self._records] + ([keys[-1]] if keys and keys[-1] in self._records else [])
        loaded = self._load(todo)
        expected = snapshot_seq + 1
        for key, seq in zip(keys, seqs, strict=True):
            if seq != expected:
                missing = seq_name(expected) if seq == expected + 1 else f"{seq_name(expected)} to {seq_name(seq - 1)}"
                state.note_damage(join_uri(log_dir, missing), "is missing from the log")
            expected = seq + 1
            record = loaded.get(key, self._records.get(key))
            if isinstance(record, str):
                state.note_damage(key, record)
                state.last_seq = seq
                continue
            before = len(state.damaged)
            state.apply(record)
            if len(state.damaged) > before:  # it names a version its log lacks: read it again (doctor may void it)
                self._records.pop(key, None)
        if len(keys) >= SNAPSHOT_EVERY and not state.damaged:
            self.write_snapshot(project, artifact, state)  # a long tail (an old log, a missed snapshot)
        return state

    def _load(self, keys: list[str]) -> dict[str, dict[str, Any] | str]:
        """Each key's checked record (cached), or what is wrong with it (never cached)."""

        def load(key: str) -> tuple[str, dict[str, Any] | str]:
            try:
                data = self.storage.read_bytes(key)
            except NotFoundError:
                return key, "was removed while it was read (read the artifact again)"
            record, problem = parse_record(data, key)
            if record is None:
                return key, problem
            with self._lock:
                self._records[key] = record
            return key, record

        if len(keys) > 4:  # bucket round trips dominate: fetch in parallel
            with ThreadPoolExecutor(16) as pool:
                return dict(pool.map(load, keys))
        return dict(map(load, keys))

    def forget(self) -> None:
        """Drop what this store has read (after a repair replaced records in place)."""
        with self._lock:
            self._records.clear()
            self._snapshots.clear()
            self._fresh.clear()

    def _newest_snapshot(self, project: str, artifact: str) -> tuple[ArtifactState, int]:
        """A fresh copy of the newest readable snapshot's state and its last record number, else an empty
        state and -1."""
        snap_dir = self.artifact_dir(project, artifact, "snapshots")
        for name in sorted((n for n in self.storage.list_names(snap_dir) if _SEQ.match(n)), reverse=True):
            key = join_uri(snap_dir, name)
            if key not in self._snapshots:
                self._snapshots[key] = self._read_snapshot(key)
            held = self._snapshots[key]
            if held is not None:
                return ArtifactState.from_snapshot(held.to_snapshot()), held.last_seq
        return ArtifactState(), -1

    def _read_snapshot(self, key: str) -> ArtifactState | None:
        try:
            state = ArtifactState.from_snapshot(json.loads(self.storage.read_bytes(key)))
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return None  # derived data: an older snapshot or the log itself still holds the state
        return state if state.last_seq == int(key.rsplit("/", 1)[1][:10]) else None

    def write_snapshot(self, project: str, artifact: str, state: ArtifactState) -> bool:
        """Store ``state`` as the snapshot after its last record (create-if-absent: identical for every
        writer); False when it could not be written (a reader without write access)."""
        if self._unwritable:
            return False
        key = self.artifact_dir(project, artifact, "snapshots", seq_name(state.last_seq))
        data = json.dumps(state.to_snapshot(), sort_keys=True).encode()
        try:
            self.storage.create_if_absent(key, data)
        except (ShantyError, OSError):  # denied, read-only store, a blip: the snapshot is only a shortcut
            self._unwritable = True
            return False
        return True

    # --- writing ----------------------------------------------------------------------------
    def append(
        self, project: str, artifact: str, build: Callable[[ArtifactState], dict[str, Any] | None]
    ) -> tuple[ArtifactState, dict[str, Any] | None]:
        """Append the record ``build(state)`` returns, retrying when another writer wins the slot.

        ``build`` sees the current state each attempt and may return None to write nothing. A version
        record is numbered here (one more than any number held before). Returns the state including the
        new record; MalformedError when the log is damaged (nothing is written then).
        """
        log_dir = self.artifact_dir(project, artifact, "log")
        for attempt in range(MAX_APPEND_ATTEMPTS):
            state = self.state(project, artifact, fresh=True)
            state.check_intact(", so nothing can be written to it")
            record = build(state)
            if record is None:
                return state, None
            record.setdefault("time", now_iso())
            if record["op"] == "version":
                record["number"] = state.next_number
            seq = state.last_seq + 1
            key = join_uri(log_dir, seq_name(seq))
            data = json.dumps(record, sort_keys=True).encode()
            if self.storage.create_if_absent(key, data):
                record["_seq"], record["_key"], record["_id"] = seq, key, record_id(data)
                with self._lock:
                    self._records[key] = record
                state.apply(record)
                if (seq + 1) % SNAPSHOT_EVERY == 0:
                    self.write_snapshot(project, artifact, state)
                self._remember((project, artifact), state)
                return state, record
            time.sleep(random.uniform(0, 0.01 * min(attempt + 1, 10)))  # back off a little under contention
        raise ConflictError(f"Could not write to {project}/{artifact}: other writers kept winning; try again.")
