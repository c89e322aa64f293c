"""Reading an offline W&B run's ``run-<id>.wandb`` file.

The file is W&B's transaction log: a 7-byte header (``:W&B``, magic
``0xBEE1``, version 0), then LevelDB-log blocks of 32 KiB holding
records of ``crc32 | length | type`` (full, first, middle, last) whose
payloads are ``wandb_internal_pb2.Record`` protobuf messages. wandb 0.31
ships no Python reader of the container any more (its Go service reads it),
so the container is read here; the messages are decoded with the client's
own protobuf classes, so reading a run needs the client
(``pip install 'shanty[wandb]'``).
"""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, MalformedError

__all__ = ["LoggedArtifact", "RunExport", "read_run_file", "records"]

_HEADER = struct.Struct("<4sHB")
_RECORD = struct.Struct("<IHB")
_BLOCK = 32768
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


def records(data: bytes, where: str) -> Iterator[bytes]:
    """The payloads of a W&B transaction log; MalformedError (one sentence) for a damaged file.

    A record cut short at the very end (the run was killed while writing) ends the log quietly, as
    W&B's own reader does.
    """
    if len(data) < _HEADER.size or _HEADER.unpack_from(data)[:2] != (b":W&B", 0xBEE1):
        raise MalformedError(f"{where} is not a W&B run file (no ':W&B' header); give the run's folder.")
    pos, pending = _HEADER.size, None
    while pos + _RECORD.size <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _RECORD.size:  # the end of a block too small for a header is padding
            pos += left
            continue
        checksum, length, kind = _RECORD.unpack_from(data, pos)
        if checksum == 0 and length == 0 and kind == 0:
            pos += left
            continue
        start = pos + _RECORD.size
        chunk = data[start : start + length]
        if len(chunk) < length:
            return
        if zlib.crc32(chunk, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF != checksum or kind not in (1, 2, 3, 4):
            raise MalformedError(f"{where} is damaged at byte {pos} (a record fails its checksum).")
        pos = start + length
        if kind == _FULL:
            yield chunk
        elif kind == _FIRST:
            pending = chunk
        elif pending is not None:
            pending += chunk
            if kind == _LAST:
                yield pending
                pending = None


@dataclass(frozen=True)
class LoggedArtifact:
    """An artifact the run logged: its manifest entries ``(path, digest, size, ref, local_path, extra)``."""

    name: str
    type: str
    description: str | None
    metadata: dict[str, Any]
    aliases: tuple[str, ...]
    contents: tuple[tuple[str, str, int, str | None, str | None, dict[str, Any]], ...]


@dataclass(frozen=True)
class RunExport:
    """What an offline run recorded: ``history`` is one dict per step (``_step`` included, nested keys
    as nested dicts), ``artifacts`` what it logged, in order (``run-<id>-<key>`` for each table it logged)."""

    run_id: str
    project: str | None
    job_type: str | None
    name: str | None
    config: dict[str, Any]
    summary: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[LoggedArtifact] = field(default_factory=list)


def _protobuf() -> Any:
    try:
        from wandb.proto import wandb_internal_pb2
    except ImportError:
        raise InvalidInputError(
            "Reading a W&B run folder needs the W&B client; install it with pip install 'shanty[wandb]'."
        ) from None
    return wandb_internal_pb2


def _value(item: Any, where: str) -> Any:
    """An item's value: its ``value_json``, else (newer clients' history items) its typed field."""
    if item.value_json:
        try:
            return json.loads(item.value_json)
        except ValueError:
            raise MalformedError(f"{where} holds a value that is not JSON; the run file is damaged.") from None
    kind = item.WhichOneof("value") if "value" in type(item).DESCRIPTOR.oneofs_by_name else None
    if kind is None or kind == "none":
        return None
    value = getattr(item, kind)
    return json.loads(value) if kind == "json" else value


def _keys(item: Any) -> list[str]:
    return list(item.nested_key) or [item.key]


def _set(target: dict[str, Any], item: Any, value: Any) -> None:
    *parents, last = _keys(item)
    for key in parents:  # a nested key below a plain value replaces the value, as W&B's summary does
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[last] = value


def _remove(target: dict[str, Any], item: Any) -> None:
    *parents, last = _keys(item)
    for key in parents:
        target = target.get(key) if isinstance(target.get(key), dict) else {}
    target.pop(last, None)


def _config(target: dict[str, Any], record: Any, where: str) -> None:
    for item in record.update:
        _set(target, item, _value(item, where))
    for item in record.remove:
        _remove(target, item)


def _manifest_file(path: str, where: str) -> tuple[tuple[str, str, int, str | None, str | None, dict[str, Any]], ...]:
    """The entries of a manifest W&B wrote to a file (over 100 000 entries): gzipped JSON lines."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            items = [json.loads(line) for line in handle if line.strip()]
        return tuple(
            (i["path"], i["digest"], int(i.get("size") or 0), i.get("ref"), i.get("local_path"), i.get("extra") or {})
            for i in items
        )
    except FileNotFoundError:
        raise MalformedError(
            f"{where} keeps an artifact's manifest in {path}, which is gone; import the run before `wandb sync`."
        ) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise MalformedError(f"{path} (an artifact manifest of {where}) is damaged.") from None


def _artifact(record: Any, where: str) -> LoggedArtifact:
    if record.manifest.manifest_file_path:
        contents = _manifest_file(record.manifest.manifest_file_path, where)
    else:
        contents = tuple(
            (
                entry.path,
                entry.digest,
                int(entry.size),
                entry.ref or None,
                entry.local_path or None,
                {extra.key: _value(extra, where) for extra in entry.extra},
            )
            for entry in record.manifest.contents
        )
    try:
        metadata = json.loads(record.metadata) if record.metadata else {}
    except ValueError:
        metadata = {}
    return LoggedArtifact(
        record.name,
        record.type,
        record.description or None,
        metadata if isinstance(metadata, dict) else {},
        tuple(a for a in record.aliases if a != "latest"),
        contents,
    )


def read_run_file(path: Path) -> RunExport:
    """The run recorded in ``run-<id>.wandb`` at ``path``.

    Raises InvalidInputError naming ``pip install 'shanty[wandb]'`` when the W&B client is missing,
    MalformedError for a damaged file or one holding no run.
    """
    pb = _protobuf()
    where = str(path)
    run: Any = None
    config: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    artifacts: list[LoggedArtifact] = []
    for payload in records(path.read_bytes(), where):
        record = pb.Record()
        try:
            record.ParseFromString(payload)
        except Exception:  # protobuf's DecodeError; its module path differs between protobuf versions
            raise MalformedError(f"{where} holds a record W&B cannot read; the run file is damaged.") from None
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            _config(config, run.config, where)
            _config(summary, run.summary, where)
        elif kind == "config":
            _config(config, record.config, where)
        elif kind == "summary":
            _config(summary, record.summary, where)
        elif kind == "history":
            row: dict[str, Any] = {}
            for item in record.history.item:
                _set(row, item, _value(item, where))
            row.setdefault("_step", int(record.history.step.num))
            history.append(row)
        elif kind == "artifact":
            artifacts.append(_artifact(record.artifact, where))
    if run is None:
        raise MalformedError(f"{where} holds no run record; the run file is damaged or empty.")
    return RunExport(
        run.run_id,
        run.project or None,
        run.job_type or None,
        run.display_name or None,
        config,
        summary,
        history,
        artifacts,
    )
