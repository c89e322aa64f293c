"""Download a version's files, each at its recorded object version, verified.

Files already present with the right content are skipped; every file lands
through :func:`shanty.storage.cache.fetch_verified` (a temp file, a checksum
check, a rename), so an interrupted download never leaves a truncated file
that looks complete.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .digests import file_matches
from .errors import ChangedObjectError, MalformedError, NotFoundError, StorageError
from .manifest import Manifest, ManifestEntry, check_entry_path
from .progress import Progress, ProgressSink
from .registry import Registry
from .storage.cache import fetch_verified

__all__ = [
    "DOWNLOAD_WORKERS",
    "ArtifactFile",
    "DownloadReport",
    "download_manifest",
    "files_not_in",
    "folder_differences",
]

DOWNLOAD_WORKERS = 8
DOWNLOAD_BATCH = 4096  # entries read from the manifest at a time


@dataclass(frozen=True)
class DownloadReport:
    """What a download did: paths fetched, already present, and skipped as changed."""

    root: Path
    downloaded: tuple[str, ...]
    present: tuple[str, ...]
    changed: tuple[str, ...]


def _target(root: Path, entry: ManifestEntry) -> Path:
    # Manifests may come from elsewhere (W&B imports, a shared bucket):
    # re-check that no entry path can escape the download root.
    try:
        rel = check_entry_path(entry.path)
    except Exception as exc:
        raise MalformedError(
            f"The manifest entry {entry.path!r} would be written outside the download folder; refusing."
        ) from exc
    target = (root / rel).resolve()
    if not target.is_relative_to(root):
        raise MalformedError(
            f"The manifest entry {entry.path!r} would be written outside the download folder; refusing."
        )
    return target


def download_manifest(
    registry: Registry,
    manifest: Manifest,
    root: str | os.PathLike[str],
    *,
    skip_changed: bool = False,
    workers: int = DOWNLOAD_WORKERS,
    progress_sink: ProgressSink | None = None,
) -> DownloadReport:
    """Download every entry of ``manifest`` below ``root``.

    An entry whose source changed since it was logged and has no recorded
    object version to fall back on is *changed*: with ``skip_changed`` it is
    left out and reported, otherwise ChangedObjectError names all of them
    (after the other files were downloaded).
    """
    root_path = Path(root).expanduser().resolve()
    try:
        root_path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"Cannot create the download folder {root_path} ({exc.strerror or exc}); pick a folder you can write to."
        ) from exc

    def one(item: tuple[ManifestEntry, Path]) -> tuple[str, str]:
        entry, target = item
        if target.is_file() and file_matches(target, entry.digest, entry.extra):
            return "present", entry.path
        uri, version = registry.entry_source(entry)
        try:
            fetch_verified(uri, version, entry.digest, entry.extra, target)
        except (NotFoundError, ChangedObjectError):  # deleted, replaced, or its recorded version is gone
            return "changed", entry.path
        return "downloaded", entry.path

    results: dict[str, list[str]] = {"downloaded": [], "present": [], "changed": []}
    with Progress("download", len(manifest), progress_sink) as bar, ThreadPoolExecutor(max(1, workers)) as pool:
        # A batch of entries at a time (a large manifest is read from its file); a batch's targets are
        # checked before any of its files is fetched.
        for batch in manifest.entry_batches(DOWNLOAD_BATCH):
            for outcome, path in pool.map(one, [(e, _target(root_path, e)) for e in batch]):
                results[outcome].append(path)
                bar.advance()
    if results["changed"] and not skip_changed:
        names = ", ".join(results["changed"][:10]) + (" ..." if len(results["changed"]) > 10 else "")
        raise ChangedObjectError(
            f"{len(results['changed'])} referenced file(s) changed since they were logged and no older version can be "
            f"fetched: {names}; log a new version, or pass skip_changed=True (--skip-changed) to download the rest.",
            results["changed"],
        )
    return DownloadReport(root_path, *(tuple(results[k]) for k in ("downloaded", "present", "changed")))


def folder_differences(manifest: Manifest, root: str | os.PathLike[str]) -> tuple[list[str], list[str], list[str]]:
    """``(missing, different, extra)`` entry paths of ``root`` against ``manifest``: files the manifest has
    that the folder lacks, files whose bytes are not the recorded ones, and :func:`files_not_in` it.
    A file whose digest cannot be checked (a multipart ETag) counts as the same."""
    root_path = Path(root).expanduser().resolve()
    missing, different = [], []
    for entry in (e for batch in manifest.entry_batches(DOWNLOAD_BATCH) for e in batch):
        target = _target(root_path, entry)
        if not target.is_file():
            missing.append(entry.path)
        elif file_matches(target, entry.digest, entry.extra) is False:
            different.append(entry.path)
    return missing, different, files_not_in(manifest, root_path)


def files_not_in(manifest: Manifest, root: str | os.PathLike[str]) -> list[str]:
    """Paths (relative, sorted) of the files below ``root`` that ``manifest`` has no entry for; no file
    is read."""
    root_path = Path(root).expanduser().resolve()
    known = {check_entry_path(p) for batch in manifest.arrow_batches() for p in batch.column("path").to_pylist()}
    return sorted(
        p.relative_to(root_path).as_posix()
        for p in (root_path.rglob("*") if root_path.is_dir() else ())
        if p.is_file() and p.relative_to(root_path).as_posix() not in known
    )


@dataclass(frozen=True)
class ArtifactFile:
    """One file of a logged version, as W&B's ``artifact.get_entry(name)`` / ``files()`` give it: the
    entry's facts (``path``, ``digest``, ``size``, ``ref``, ``object_version``) and :meth:`download`."""

    entry: ManifestEntry
    registry: Registry

    path = property(lambda self: self.entry.path)
    name = property(lambda self: self.entry.path)
    digest = property(lambda self: self.entry.digest)
    size = property(lambda self: self.entry.size)
    ref = property(lambda self: self.entry.ref)
    object_version = property(lambda self: self.entry.object_version)

    def download(self, root: str | os.PathLike[str] | None = None) -> str:
        """Fetch this file at its recorded object version (verified) below ``root`` (default: the current
        folder), keeping its path in the artifact; returns the local path. Raises what
        :func:`download_manifest` raises."""
        report = download_manifest(self.registry, Manifest([self.entry]), root if root is not None else ".")
        return str(_target(report.root, self.entry))
