"""Import an artifact exported from W&B (a folder with ``wandb_manifest.json``).

Reference entries stay references (same URI, digest and object version);
files stored in W&B are copied into the registry by value; every
``*.table.json`` becomes a shanty table next to it (``*.table.parquet``) whose
media cells point at the artifact's own entries, and ``*.joined-table.json``
is carried over pointing at the converted tables.
"""

from __future__ import annotations

import json
from pathlib import Path

from .api import Run
from .artifact import Artifact, ArtifactVersion
from .errors import MalformedError, NotFoundError
from .jsonfile import read_json_file
from .manifest import Manifest
from .storage.location import to_uri
from .tables.json_codec import table_from_json
from .tables.packing import pack_blob
from .tables.schema import JOINED_SUFFIX, TABLE_SUFFIX

__all__ = ["import_wandb_artifact"]


def _load_json(path: Path) -> object:
    return read_json_file(path, "export the artifact from W&B again, with its wandb_manifest.json.")


def _resolver(folder: Path, manifest: Manifest):
    def resolve(path: str) -> tuple[str, str | None]:
        if "://" in path:
            return path, None
        entry = manifest.entries.get(path)
        if entry is None:
            raise MalformedError(f"A table cell names {path!r}, which is not in wandb_manifest.json.")
        return (entry.ref or to_uri((folder / path).resolve())), path

    return resolve


def import_wandb_artifact(
    folder: str | Path, project: str, name: str, type: str, root: str | None = None
) -> ArtifactVersion:
    """Log the exported W&B artifact in ``folder`` as a version of ``project/name``."""
    folder = Path(folder)
    manifest = Manifest.from_wandb_json(
        _load_json(folder / "wandb_manifest.json"), where=str(folder / "wandb_manifest.json")
    )
    artifact = Artifact(name, type, description=f"Imported from W&B ({folder.name}).")
    for entry in manifest:
        if entry.ref is not None:
            artifact.manifest.add(entry)
        elif (folder / entry.path).is_file():
            artifact.add_file(folder / entry.path, name=entry.path)
        elif not entry.path.endswith((".table.json", JOINED_SUFFIX)):
            raise NotFoundError(
                f"{folder / entry.path} is listed in wandb_manifest.json but missing; download the full artifact."
            )
    resolve = _resolver(folder, manifest)
    for entry in manifest:
        if entry.path.endswith(".table.json") and not entry.path.endswith(JOINED_SUFFIX):
            table = table_from_json(_load_json(folder / entry.path), resolve, where=entry.path)
            artifact.add_packed(
                pack_blob(entry.path.removesuffix(".table.json") + TABLE_SUFFIX, table.to_parquet_bytes())
            )
    for entry in manifest:
        if entry.path.endswith(JOINED_SUFFIX):
            body = _load_json(folder / entry.path)
            if not isinstance(body, dict) or not {"table1", "table2", "join_key"} <= body.keys():
                raise MalformedError(f"{entry.path} is not a W&B joined table.")
            converted = {
                **body,
                "table1": str(body["table1"]).replace(".table.json", TABLE_SUFFIX),
                "table2": str(body["table2"]).replace(".table.json", TABLE_SUFFIX),
            }
            if isinstance(converted["join_key"], str):
                converted["join_key"] = [converted["join_key"]]
            artifact.add_packed(pack_blob(entry.path, json.dumps(converted, sort_keys=True).encode()))
    with Run(project=project, job_type="import-wandb", root=root) as run:
        return run.log_artifact(artifact)
