"""A W&B artifact's files as a shanty draft :class:`~shanty.Artifact`, nothing written yet.

* Plain files (media included) are added by value (``add_file``: copied into
  the registry when logged, so they play after the export is deleted);
  references stay references.
* ``<name>.table.json`` becomes ``<name>.table.parquet``: media cells name
  their entries (their URI is the registry's copy, or the reference), image
  annotations are rebuilt (see :mod:`shanty.tables.json_codec`).
* ``<name>.joined-table.json`` is rewritten to name the converted tables (the
  W&B original is not kept: the converted one takes its path).
* ``<name>.partitioned-table.json`` (W&B's PartitionedTable, parts are tables
  under ``parts_path``) becomes ONE table ``<name>.table.parquet``, its parts'
  rows in W&B's order: W&B reads it as one table (``iterrows`` runs over every
  part, its UI shows one table), and shanty's Query and Table view work on one
  table; keeping the parts too would store every row twice.
* ``<name>.<kind>-file.json`` (a media object added with
  ``artifact.add(wandb.Image(...), name)``) is kept at its path in shanty's
  media JSON (``path`` the URI, ``entry`` the entry), so ``get(name)`` returns it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..artifact import Artifact
from ..digests import b64_to_hex
from ..errors import MalformedError
from ..progress import Progress, ProgressSink
from ..registry import Registry
from ..tables.cells import cell_kind, kinds
from ..tables.json_codec import table_from_json
from ..tables.packing import pack_blob
from ..tables.schema import JOINED_SUFFIX, TABLE_SUFFIX
from ..tables.table import Table
from .source import Source

__all__ = ["PARTITIONED_SUFFIX", "WANDB_TABLE_SUFFIX", "build_artifact", "media_suffixes"]

WANDB_TABLE_SUFFIX = ".table.json"
PARTITIONED_SUFFIX = ".partitioned-table.json"


def media_suffixes() -> dict[str, str]:
    """``.image-file.json`` -> ``image``...: W&B's file of one media object added to an artifact."""
    return {f".{k.wandb_type}.json": k.name for k in kinds()}


def _natural(path: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", path)]


class _Converter:
    def __init__(self, source: Source, artifact: Artifact, registry: Registry):
        self.source, self.artifact, self.registry = source, artifact, registry
        self.uri_of: dict[str, str] = {}  # entry path -> media URI (the registry's copy, or the reference)

    def resolve(self, path: str, wanted_by: str) -> tuple[str, str]:
        uri = self.uri_of.get(path)
        if uri is None:
            self.source.local(path, wanted_by)  # raises the sentence naming what is missing
            raise MalformedError(f"{wanted_by} names {path!r}, which is not a media file of {self.source.where}.")
        return uri, path

    def table(self, data: Any, where: str) -> Table:
        table = table_from_json(
            data,
            lambda p: self.resolve(p, where),
            where=f"{self.source.where}/{where}",
            read_json=lambda p: self.source.read_json(p, where),
        )
        # Every media URI (masks included) names its entry; a URI two entries share (same bytes) names one.
        entry_of: dict[str, str] = {}
        for path, uri in self.uri_of.items():
            entry_of.setdefault(uri, path)
        return table.with_entries(entry_of)

    def add_table(self, table: Table, path: str) -> None:
        self.artifact.add_packed(pack_blob(path, table.to_parquet_bytes()))


def build_artifact(
    source: Source,
    name: str,
    type: str,
    registry: Registry,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    progress_sink: ProgressSink | None = None,
) -> Artifact:
    """The draft holding ``source`` converted (see the module docstring), ready for ``log_artifact``.

    ``registry`` is where it will be logged (by-value media cells name its copies). Nothing is
    written. Raises MalformedError (damaged JSON, a table naming a file the artifact lacks, parts with
    different columns) or NotFoundError, each one sentence.
    """
    artifact = Artifact(name, type, description=description, metadata=metadata)
    converter = _Converter(source, artifact, registry)
    media_json = media_suffixes()
    paths = [*source.files, *(p for p in source.inline if p not in source.files)]
    partitioned = [p for p in paths if p.endswith(PARTITIONED_SUFFIX)]
    parts: dict[str, list[str]] = {}
    for path in partitioned:
        body = source.read_json(path, path)
        if not isinstance(body, dict) or not isinstance(body.get("parts_path"), str):
            raise MalformedError(f"{source.where}/{path} is not a W&B partitioned table (it needs 'parts_path').")
        prefix = body["parts_path"].strip("/") + "/"
        parts[path] = sorted(
            (p for p in paths if p.startswith(prefix) and p.endswith(WANDB_TABLE_SUFFIX)), key=_natural
        )
    in_parts = {p for found in parts.values() for p in found}

    def special(path: str) -> bool:
        return path.endswith((WANDB_TABLE_SUFFIX, JOINED_SUFFIX, PARTITIONED_SUFFIX, *media_json))

    plain = [p for p in source.files if not special(p)]
    tables = [p for p in paths if p.endswith(WANDB_TABLE_SUFFIX) and p not in in_parts]
    with Progress(f"importing {source.where}", len(plain) + len(tables) + len(parts), progress_sink) as bar:
        for path in plain:
            found = source.files[path]
            if found.reference is not None:
                artifact.manifest.add(found.reference)
                converter.uri_of[path] = found.reference.ref  # type: ignore[assignment]
            else:
                entry = artifact.add_file(source.local(path, "the artifact's manifest"), name=path)
                converter.uri_of[path] = registry.uri(registry.object_key(b64_to_hex(entry.digest)))
            bar.advance()
        for path in tables:
            table = converter.table(source.read_json(path, path), path)
            converter.add_table(table, path.removesuffix(WANDB_TABLE_SUFFIX) + TABLE_SUFFIX)
            bar.advance()
        for path, found in parts.items():
            converter.add_table(
                _concatenated(converter, found, path), path.removesuffix(PARTITIONED_SUFFIX) + TABLE_SUFFIX
            )
            bar.advance()
    for path in paths:
        if path.endswith(JOINED_SUFFIX):
            artifact.add_packed(pack_blob(path, _joined(source, path, artifact)))
        elif path.endswith(tuple(media_json)):
            kind = next(media_json[s] for s in media_json if path.endswith(s))
            artifact.add_packed(pack_blob(path, _media_object(converter, path, kind)))
    return artifact


def _concatenated(converter: _Converter, parts: list[str], path: str) -> Table:
    """The parts of a partitioned table as one table (W&B's order: its ``iterrows``)."""
    columns: list[Any] | None = None
    rows: list[Any] = []
    body: dict[str, Any] = {}
    for part in parts:
        data = converter.source.read_json(part, path)
        if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
            raise MalformedError(f"{converter.source.where}/{part} is not a table (it needs 'columns' and 'data').")
        if columns is not None and data["columns"] != columns:
            raise MalformedError(
                f"The parts of {path} have different columns ({columns} and {data['columns']}); export them again."
            )
        columns = data["columns"]
        rows.extend(data.get("data") or [])
        body = body or data  # the column types (box and mask labels) of the first part
    return converter.table({**body, "columns": columns or [], "data": rows}, path)


def _table_path(name: Any, artifact: Artifact, joined: str) -> str:
    text = str(name)
    for suffix in (WANDB_TABLE_SUFFIX, PARTITIONED_SUFFIX):
        if text.endswith(suffix):
            converted = text.removesuffix(suffix) + TABLE_SUFFIX
            if converted in artifact.manifest.entries:
                return converted
    raise MalformedError(f"{joined} joins {text!r}, which is not a table of the artifact; export it again.")


def _joined(source: Source, path: str, artifact: Artifact) -> bytes:
    body = source.read_json(path, path)
    if not isinstance(body, dict) or not {"table1", "table2", "join_key"} <= body.keys():
        raise MalformedError(f"{path} is not a W&B joined table (it needs table1, table2 and join_key).")
    converted = {
        "_type": "joined-table",
        "table1": _table_path(body["table1"], artifact, path),
        "table2": _table_path(body["table2"], artifact, path),
        "join_key": body["join_key"],  # as W&B wrote it: a name, or [key in table1, key in table2]
    }
    return json.dumps(converted, sort_keys=True).encode()


def _media_object(converter: _Converter, path: str, kind: str) -> bytes:
    """A standalone media object in shanty's media JSON: the W&B fields, ``path`` the URI, ``entry``."""
    body = converter.source.read_json(path, path)
    if not isinstance(body, dict):
        raise MalformedError(f"{converter.source.where}/{path} is not a W&B {kind} object.")
    table = converter.table({"columns": ["media"], "data": [[body]]}, path)
    cell = table.get_column("media")[0]
    if cell is None:
        raise MalformedError(f"{converter.source.where}/{path} is not a W&B {kind} object.")
    value = {k: v for k, v in cell.to_cell().items() if v is not None and k != "uri"}
    value.update({"_type": cell_kind(kind).wandb_type, "path": cell.uri})
    return json.dumps(value, sort_keys=True).encode()
