"""``shanty doctor``: check a registry and repair what can be repaired without losing a version.

What it checks, per artifact: every log record (readable JSON of a known shape, naming versions its log
holds), the sequence (no record missing), the snapshots (each equal to a replay of the records before
it), a snapshot after a long run of records, and that every version's manifest is stored; per project,
every run record.

What ``repair`` does: a damaged record's bytes are copied aside to ``damaged/<seq>.json`` beside the
log and the record is replaced by a ``void`` record saying why (a voided version keeps its number: no
later version is renumbered); a missing record is filled with a ``void`` record; a wrong or unreadable
snapshot is rewritten from the replay; a long tail gets its snapshot. A missing manifest or a damaged
run record cannot be rebuilt from what the registry holds: the finding says to restore it from a backup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .artifact_log import ArtifactState
from .errors import ShantyError
from .log_store import SNAPSHOT_EVERY, now_iso, parse_record, seq_name
from .progress import Progress
from .registry import Registry
from .storage.location import join_uri

__all__ = ["Finding", "check_registry"]

_SEQ = re.compile(r"^(\d{10})\.json$")


@dataclass(frozen=True)
class Finding:
    """One problem: where it is (a key below the registry), what is wrong, what repairs it, and whether
    this run repaired it."""

    where: str
    problem: str
    remedy: str
    repaired: bool = False

    def sentence(self) -> str:
        """The finding as one line for people."""
        return f"{self.where}: {self.problem}; {'repaired: ' if self.repaired else ''}{self.remedy}."


def check_registry(registry: Registry, *, repair: bool = False) -> list[Finding]:
    """Every problem found in ``registry`` (empty: healthy); with ``repair``, the ones that can be repaired
    without losing a version are repaired first (their findings say ``repaired``)."""
    findings: list[Finding] = []
    artifacts = [(p, a) for p in registry.projects() for a in registry.artifact_names(p)]
    progress = Progress("Checking the registry", total=len(artifacts), unit="artifact")
    try:
        for project in registry.projects():
            findings += _check_runs(registry, project)
        for project, artifact in artifacts:
            findings += _check_artifact(registry, project, artifact, repair)
            progress.advance()
    finally:
        progress.close()
    registry.logs.forget()  # records were replaced in place
    return findings


def _short(registry: Registry, key: str) -> str:
    return key[len(registry.root) + 1 :] if key.startswith(registry.root + "/") else key


def _check_artifact(registry: Registry, project: str, artifact: str, repair: bool) -> list[Finding]:
    logs = registry.logs
    log_dir = logs.artifact_dir(project, artifact, "log")
    names = [n for n in registry.storage.list_names(log_dir) if _SEQ.match(n)]
    if not names:
        return []
    findings: list[Finding] = []
    snapshots = _snapshots(registry, project, artifact)
    state = ArtifactState()
    by_seq = {int(n[:10]): n for n in names}
    with ThreadPoolExecutor(16) as pool:  # bucket round trips dominate: read the records in parallel
        read = pool.map(lambda n: registry.storage.read_bytes(join_uri(log_dir, n)), by_seq.values())
        stored = dict(zip(by_seq, read, strict=True))
    for seq in range(max(by_seq) + 1):
        key = join_uri(log_dir, seq_name(seq))
        if seq not in by_seq:
            void = {"op": "void", "was": "other", "reason": "the record was missing from the log"}
            findings.append(_void(registry, key, None, void, "is missing from the log", repair, create=True))
            state.last_seq = seq
        else:
            data = stored[seq]
            record, why = parse_record(data, key)
            if record is not None:
                before = len(state.damaged)
                state.apply(record)
                why = state.damaged[before][1] if len(state.damaged) > before else ""
                del state.damaged[before:]
            if why:
                was, number = _was(data, record)
                void = {"op": "void", "was": was, "reason": why} | ({"number": number} if number is not None else {})
                findings.append(_void(registry, key, data, void, why, repair))
                state.apply({**void, "_seq": seq, "_key": key})
        if seq in snapshots:
            findings += _check_snapshot(registry, project, artifact, seq, snapshots[seq], state, repair)
    tail = state.last_seq - max((s for s in snapshots if s <= state.last_seq), default=-1)
    if tail >= SNAPSHOT_EVERY and not findings:
        where = join_uri(logs.artifact_dir(project, artifact, "snapshots"), seq_name(state.last_seq))
        done = repair and logs.write_snapshot(project, artifact, state)
        findings.append(
            Finding(
                _short(registry, where),
                f"{tail} records follow the last snapshot (slow to read)",
                "write a snapshot of them",
                done,
            )
        )
    for number in state.live():
        manifest = registry.uri(state.versions[number]["manifest"])
        if not registry.storage.exists(manifest):
            findings.append(
                Finding(
                    _short(registry, manifest),
                    f"the manifest of {project}/{artifact}:v{number} is missing",
                    "restore it from a backup of the registry (it cannot be rebuilt from the log)",
                )
            )
    return findings


def _was(data: bytes, record: dict[str, Any] | None) -> tuple[str, int | None]:
    """Whether an unusable record held a version (then its number, when it says), so the void keeps it."""
    try:
        body = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        number = body.get("number")
        held = body.get("op") == "version"
        return ("version" if held else "other"), (number if held and type(number) is int and number >= 0 else None)
    return ("version" if b'"op": "version"' in data else "other"), None


def _void(
    registry: Registry, key: str, data: bytes | None, void: dict[str, Any], why: str, repair: bool, create: bool = False
) -> Finding:
    where = _short(registry, key)
    if data is not None:
        aside = key.replace("/log/", "/damaged/", 1)
        void["damaged_copy"] = _short(registry, aside)
        remedy = f"its bytes are kept at {_short(registry, aside)} and it is replaced by a void record"
    else:
        remedy = "a void record fills its place"
    if repair:
        void["time"] = now_iso()
        if data is not None:
            registry.storage.write_bytes(aside, data)  # first: the bytes are never lost
            registry.storage.write_bytes(key, json.dumps(void, sort_keys=True).encode())
        else:
            registry.storage.create_if_absent(key, json.dumps(void, sort_keys=True).encode())
    return Finding(where, f"the record {why}", remedy if repair else f"`shanty doctor --repair`: {remedy}", repair)


def _snapshots(registry: Registry, project: str, artifact: str) -> dict[int, str]:
    snap_dir = registry.logs.artifact_dir(project, artifact, "snapshots")
    return {int(n[:10]): join_uri(snap_dir, n) for n in registry.storage.list_names(snap_dir) if _SEQ.match(n)}


def _check_snapshot(
    registry: Registry, project: str, artifact: str, seq: int, key: str, state: ArtifactState, repair: bool
) -> list[Finding]:
    try:
        held = json.loads(registry.storage.read_bytes(key))
    except (json.JSONDecodeError, UnicodeDecodeError):
        held = None
    if state.damaged:
        return []
    wanted = json.loads(json.dumps(state.to_snapshot(), sort_keys=True))
    if held == wanted:
        return []
    # The old snapshot may hold what a record damaged since held: it is put aside, never lost.
    aside = key.replace("/snapshots/", "/damaged/snapshots-", 1)
    if repair:
        registry.storage.write_bytes(aside, registry.storage.read_bytes(key))
        registry.storage.write_bytes(key, json.dumps(wanted, sort_keys=True).encode())
    remedy = f"it is rewritten from them (the old one kept at {_short(registry, aside)})"
    return [
        Finding(
            _short(registry, key),
            "the snapshot does not match the records before it",
            remedy if repair else f"`shanty doctor --repair`: {remedy}",
            repair,
        )
    ]


def _check_runs(registry: Registry, project: str) -> Iterator[Finding]:
    runs_dir = registry.uri("projects", project, "runs")
    for name in registry.storage.list_names(runs_dir):
        if not name.endswith(".json"):
            continue
        key = join_uri(runs_dir, name)
        try:
            registry._read_run(key)
        except ShantyError as exc:
            yield Finding(
                _short(registry, key), f"the run record is damaged ({exc})", "restore it from a backup or remove it"
            )
