"""A run's files (W&B's ``run.save`` / ``wandb.restore`` / ``Api().run(path).files()``).

W&B uploads the files a run saves, and everything written into ``run.dir``, to
its server. Here they are stored by value in the registry as the artifact
``run-<run id>-files`` (type ``run_files``), whose newest version holds every
file the run saved, at the path W&B gives it (relative to ``base_path``).
``save`` copies the matched files into ``run.dir`` and stores a version at
once (``policy="end"``: when the run finishes); when the run finishes, files
saved with ``"live"`` or ``"end"`` are copied again (so their final contents
are kept) and ``run.dir`` is stored once more. Unchanged contents make no new
version.
"""

from __future__ import annotations

import glob as globlib
import mimetypes
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import IO, Any

from .artifact import Artifact, ArtifactVersion
from .download import ArtifactFile
from .errors import InvalidInputError, NotFoundError
from .manifest import ManifestEntry
from .names import parse_artifact_ref
from .registry import Registry

__all__ = ["RUN_FILES_TYPE", "RunFile", "RunFiles", "restore_file", "run_files", "run_files_name"]

RUN_FILES_TYPE = "run_files"
POLICIES = ("live", "now", "end")


def run_files_name(run_id: str) -> str:
    """The artifact holding the files of run ``run_id``."""
    return f"run-{run_id}-files"


class RunFiles:
    """The saving side: ``folder()`` is ``run.dir`` (made on first use), ``commit(draft)`` stores a draft
    as a version logged by the run."""

    def __init__(self, run_id: str, folder: Callable[[], Path], commit: Callable[[Artifact], ArtifactVersion]):
        self.run_id, self._folder, self._commit = run_id, folder, commit
        self.live: dict[Path, Path] = {}  # copy in run.dir -> its source, copied again at finish

    def save(
        self, glob_str: str | os.PathLike[str], base_path: str | os.PathLike[str] | None = None, policy: str = "live",
        glob: bool = True,
    ) -> list[str]:  # fmt: skip
        """W&B's ``run.save``: copy the files matching ``glob_str`` into ``run.dir`` under their path below
        ``base_path`` (default: the current folder for a relative pattern, the folder above the pattern's
        folder for an absolute one, as W&B) and store them; returns the copies' paths. A bucket URI
        saves nothing (as W&B); InvalidInputError for an unknown policy or a base_path that is not a
        prefix of the pattern."""
        text = os.fsdecode(glob_str)
        if text.startswith(("gs://", "s3://")):
            return []  # W&B: "is a cloud storage url, can't save file to W&B"
        if policy not in POLICIES:
            raise InvalidInputError(f"policy is one of {', '.join(POLICIES)}, not {policy!r}.")
        pattern = PurePath(os.path.abspath(text))
        if base_path is not None:
            base = PurePath(os.path.abspath(base_path))
        elif not PurePath(text).is_absolute():
            base = PurePath(os.path.abspath("."))
        else:
            base = pattern.parent.parent
        if not pattern.is_relative_to(base):
            raise InvalidInputError(f"base_path {os.fspath(base)!r} is not a folder above {text!r}; pass one that is.")
        sources = sorted(globlib.glob(str(pattern))) if glob else [str(pattern)]
        copies = []
        for source in (Path(s) for s in sources if os.path.isfile(s)):
            target = self._folder() / source.relative_to(base)
            if not (target.exists() and target.samefile(source)):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            if policy != "now":
                self.live[target] = source
            copies.append(str(target))
        if copies and policy != "end":
            self.commit()
        return copies

    def commit(self) -> ArtifactVersion | None:
        """Store every file in ``run.dir`` as the next version of ``run-<id>-files`` (None when empty)."""
        folder = self._folder()
        if not any(p.is_file() for p in folder.rglob("*")):
            return None
        artifact = Artifact(run_files_name(self.run_id), RUN_FILES_TYPE)
        artifact.add_dir(folder)
        return self._commit(artifact)

    def close(self, made: bool) -> None:
        """At finish: copy the live and end files again, then store ``run.dir`` if it was ever made."""
        for target, source in self.live.items():
            if source.is_file() and not (target.exists() and target.samefile(source)):
                shutil.copyfile(source, target)
        if made or self.live:
            self.commit()


@dataclass(frozen=True)
class RunFile:
    """One saved file, as W&B's public ``File``: ``name``, ``size``, ``md5`` (base64, as W&B), ``mimetype``,
    ``updated_at``, ``url`` (None: there is no server to serve it) and :meth:`download`."""

    entry: ManifestEntry
    registry: Registry
    updated_at: str

    name = property(lambda self: self.entry.path)
    size = property(lambda self: self.entry.size)
    md5 = property(lambda self: self.entry.digest)
    url = property(lambda self: None)
    direct_url = property(lambda self: None)

    @property
    def mimetype(self) -> str:
        return mimetypes.guess_type(self.entry.path)[0] or "application/octet-stream"

    def __repr__(self) -> str:
        return f"<File {self.name} ({self.mimetype}) {self.size} B>"

    def download(
        self, root: str | os.PathLike[str] = ".", replace: bool = False, exist_ok: bool = False, api: Any = None
    ) -> IO[str]:
        """W&B's ``File.download``: write the file at ``root/name`` (verified) and return it open for
        reading. An existing file is kept and opened with ``exist_ok``, replaced with ``replace``, else
        InvalidInputError. ``api`` is W&B's and has no effect."""
        path = Path(root) / self.entry.path
        if path.exists() and not replace:
            if exist_ok:
                return open(path)
            raise InvalidInputError(f"{path} exists; pass replace=True to overwrite it or exist_ok=True to keep it.")
        if path.exists():
            path.unlink()
        ArtifactFile(self.entry, self.registry).download(root)
        return open(path)


def run_files(registry: Registry, project: str, run_id: str) -> list[RunFile]:
    """The files run ``run_id`` saved (newest version of its files artifact), by name; [] when none."""
    try:
        version = registry.resolve(parse_artifact_ref(f"{project}/{run_files_name(run_id)}:latest"))
    except NotFoundError:
        return []
    manifest = registry.manifest(version)
    return [RunFile(manifest.entries[p], registry, version.created_at) for p in sorted(manifest.entries)]


def restore_file(
    registry: Registry, name: str, run_path: str, replace: bool = False, root: str | os.PathLike[str] | None = None
) -> IO[str] | None:
    """W&B's ``restore``: the file ``name`` that run ``run_path`` (``project/id``, ``entity/`` in front
    ignored) saved, written below ``root`` (default: the current folder) and returned open for reading;
    a file already there is opened as it is unless ``replace``. None when the run saved no such file;
    NotFoundError when there is no such run."""
    parts = [p for p in run_path.split("/") if p]
    if len(parts) < 2:
        raise InvalidInputError(f"Write the run as 'project/run_id', not {run_path!r}.")
    project, run_id = parts[-2], parts[-1]
    info = registry.run(project, run_id)
    if info is None or info.state == "deleted":
        raise NotFoundError(f"There is no run {project}/{run_id} in {registry.root}.")
    path = Path(root if root is not None else ".") / name
    if path.exists() and not replace:
        return open(path)
    found = [f for f in run_files(registry, project, run_id) if f.name == name]
    return found[0].download(root if root is not None else ".", replace=True) if found else None
