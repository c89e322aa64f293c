"""Where a W&B artifact's files are: a downloaded folder, or the manifest of an offline run's artifact.

A :class:`Source` maps each entry path to the local file holding its bytes,
or to the reference entry it is (only a ``wandb_manifest.json`` or a run
record says an entry is a reference: ``artifact.download()`` copies
referenced files into the folder like any other, and writes no manifest).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, MalformedError, NotFoundError
from ..jsonfile import read_json_file
from ..manifest import Manifest, ManifestEntry, check_entry_path

__all__ = ["MANIFEST_NAME", "Source", "SourceFile", "folder_source", "manifest_source"]

MANIFEST_NAME = "wandb_manifest.json"


@dataclass(frozen=True)
class SourceFile:
    """One entry: ``local`` holds its bytes (None for a reference not on this machine); ``reference``
    is the manifest entry of a reference, kept as it is."""

    path: str
    local: Path | None = None
    reference: ManifestEntry | None = None


@dataclass(frozen=True)
class Source:
    """The files of one W&B artifact, in manifest order; ``where`` names it in messages and ``advice``
    says how to get a whole copy."""

    files: Mapping[str, SourceFile]
    where: str
    advice: str = field(default="download the artifact again with artifact.download().")
    inline: Mapping[str, Any] = field(default_factory=dict)  # JSON files made in memory (a run's media tables)

    def local(self, path: str, wanted_by: str) -> Path:
        """The local file of entry ``path``; MalformedError naming ``wanted_by`` if the artifact lacks it."""
        found = self.files.get(path)
        if found is None or found.local is None:
            where = "is not in" if found is None else "is a reference not present in"
            raise MalformedError(f"{wanted_by} names {path!r}, which {where} {self.where}; {self.advice}")
        return found.local

    def read_json(self, path: str, wanted_by: str) -> Any:
        """The JSON value of entry ``path`` (MalformedError if missing or damaged, one sentence)."""
        if path in self.inline:
            return self.inline[path]
        return read_json_file(self.local(path, wanted_by), self.advice)


def _walk(folder: Path) -> Iterable[tuple[str, Path]]:
    for base, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            local = Path(base, name)
            relative = local.relative_to(folder).as_posix()
            if relative != MANIFEST_NAME and local.is_file():
                yield relative, local


def folder_source(folder: str | os.PathLike[str]) -> Source:
    """The artifact in ``folder`` as ``artifact.download()`` writes it: every file an entry at its path
    (by value). With a ``wandb_manifest.json`` the manifest says which entries are references (kept as
    references) and every other entry must be in the folder.

    Raises NotFoundError (no such folder, a listed file missing) or MalformedError (a damaged manifest).
    """
    folder = Path(folder).expanduser()
    advice = "download the artifact again with artifact.download() (a wandb_manifest.json is optional)."
    if not folder.is_dir():
        raise NotFoundError(f"No folder at {folder}; {advice}")
    if not (folder / MANIFEST_NAME).is_file():
        files = {}
        for relative, local in _walk(folder):
            try:
                path = check_entry_path(relative)
            except InvalidInputError as exc:
                raise MalformedError(f"{folder}: {exc}") from None
            files[path] = SourceFile(path, local)
        if not files:
            raise NotFoundError(f"{folder} holds no files, so no W&B artifact; {advice}")
        return Source(files, str(folder), advice)
    manifest = Manifest.from_wandb_json(  # the user's own W&B output: its local files are theirs (and verified)
        read_json_file(folder / MANIFEST_NAME, advice), where=str(folder / MANIFEST_NAME), local_files=True
    )
    files = {}
    for entry in manifest:
        if entry.ref is not None:
            files[entry.path] = SourceFile(entry.path, None, entry)
        elif (folder / entry.path).is_file():
            files[entry.path] = SourceFile(entry.path, folder / entry.path)
        else:
            raise NotFoundError(
                f"{folder / entry.path} is listed in {MANIFEST_NAME} but missing; download the full artifact."
            )
    return Source(files, str(folder), advice)


def manifest_source(
    contents: Iterable[tuple[str, str, int, str | None, str | None, dict[str, Any]]], where: str
) -> Source:
    """An artifact an offline run logged: ``(path, digest, size, ref, local_path, extra)`` per entry, as
    the run's record holds them (files by value wait in W&B's staging folder until synced)."""
    files = {}
    for path, digest, size, ref, local, extra in contents:
        try:
            clean = check_entry_path(path)
        except InvalidInputError as exc:
            raise MalformedError(f"{where}: {exc}") from None
        if ref:
            extra = dict(extra)
            version = extra.pop("versionID", None)
            entry = ManifestEntry(clean, digest, size, ref, None if version is None else str(version), extra)
            files[clean] = SourceFile(clean, None, entry)
        else:
            files[clean] = SourceFile(clean, Path(local) if local and Path(local).is_file() else None)
    advice = "import the run on the machine that ran it, before `wandb sync` empties W&B's staging folder."
    return Source(files, where, advice)
