"""The registry: projects, artifacts, versions, aliases, notes and runs, as files.

Layout under the root URI (see docs/architecture.md):

    shanty.json                                   format marker
    manifests/<sha256>.parquet                    manifests, content-addressed
    objects/md5/<hh>/<hex>                        files added by value
    projects/<p>/artifacts/<a>/log/<seq>.json     the artifact's append-only log
    projects/<p>/runs/<run_id>.json               run records (lineage)

Everything about an artifact is an append-only log of immutable records
(``version``, ``alias``, ``unalias``, ``note``, ``metadata``; their shapes and
replay are :mod:`shanty.artifact_log`'s). A record is appended by a
create-if-absent write of the next sequence number, the one primitive every
backend offers atomically; losers of a race re-read and retry. So concurrent
writers never collide, a record is visible only when complete, version numbers
are dense and stable (the n-th ``version`` record is ``vn``), and ``latest``
is derived, never stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .artifact_log import ArtifactState, check_metadata
from .digests import b64_to_hex
from .errors import InvalidInputError, MalformedError, NotFoundError
from .jsonfile import plain_json_value
from .log_store import LogStore, now_iso
from .manifest import Manifest, ManifestEntry
from .names import VERSION_ALIAS, ArtifactRef, check_alias, check_name, check_tag
from .records import ArtifactInfo, RunInfo, VersionInfo
from .settings import settings
from .storage import Storage, local_path, storage_for
from .storage.cache import cached_file
from .storage.in_place import RemoteFile, scan_source
from .storage.location import join_uri, to_uri

__all__ = ["LAZY_MANIFEST_ENTRIES", "Registry", "default_root", "now_iso"]

LAZY_MANIFEST_ENTRIES = 100_000  # a stored manifest larger than this is read from its file on demand


def default_root() -> str:
    """``$SHANTY_ROOT`` if set, else ``~/.shanty`` (a local folder)."""
    return settings().default_root


class Registry:
    """Read and write a registry rooted at ``root`` (a local path or URI)."""

    def __init__(
        self, root: str | os.PathLike[str] | None = None, storage: Storage | None = None, fresh_seconds: float = 0.0
    ):
        """``fresh_seconds`` > 0: reads may answer from an artifact's state read (or written) by this
        object less than that long ago, without a request (a dashboard's reruns); 0: every read asks."""
        self.root = to_uri(root if root is not None else default_root()).rstrip("/")
        self.storage = storage or storage_for(self.root)
        self.logs = LogStore(self.storage, self.root, fresh_seconds)
        self._manifests: dict[str, Manifest] = {}

    def __repr__(self) -> str:
        return f"Registry({self.root!r})"

    def uri(self, *parts: str) -> str:
        return join_uri(self.root, *parts)

    # --- reading -------------------------------------------------------------
    def projects(self) -> list[str]:
        """Names of the projects that hold artifacts or runs."""
        return self.storage.list_names(self.uri("projects"))

    def artifact_names(self, project: str) -> list[str]:
        check_name(project, "Project")
        return self.storage.list_names(self.uri("projects", project, "artifacts"))

    def artifacts(self, project: str) -> list[ArtifactInfo]:
        """Every artifact of ``project`` with its type, version count and latest version. A damaged one
        is listed with its intact versions (one damaged log never hides the others): see
        :meth:`damaged_artifacts`."""
        out = []
        for name in self.artifact_names(project):
            state = self._state(project, name)
            live = state.live()
            if live:
                latest = state.info(project, name, live[-1])
                out.append(ArtifactInfo(project, name, latest.type, len(live), latest))
        return out

    def damaged_artifacts(self, project: str) -> dict[str, str]:
        """The artifacts of ``project`` whose log is damaged (read-only), each with the sentence naming
        the record and how to repair it."""
        states = {name: self._state(project, name) for name in self.artifact_names(project)}
        return {name: s.damage_sentence() for name, s in states.items() if s.damaged}  # type: ignore[misc]

    def _state(self, project: str, artifact: str) -> ArtifactState:
        return self.logs.state(project, artifact)

    def versions(self, project: str, artifact: str) -> list[VersionInfo]:
        """Every readable version, oldest first (deleted and expired ones left out: see :meth:`version`).
        Raises NotFoundError if the artifact has none."""
        state = self._state(project, artifact)
        state.check_intact()
        live = state.live()
        if not live:
            raise NotFoundError(
                f"No artifact {project}/{artifact} exists in {self.root}; check the name or log it first."
            )
        return [state.info(project, artifact, i) for i in live]

    def version(self, project: str, artifact: str, index: int) -> VersionInfo:
        """Version ``v<index>``; NotFoundError if there is none or it was deleted or has expired."""
        state = self._state(project, artifact)
        gone = state.gone(index)
        if gone == "missing":
            state.check_intact()  # a damaged record may be the one that held it
            raise NotFoundError(f"{project}/{artifact} has no version v{index}.")
        if gone is not None:
            raise NotFoundError(
                f"{project}/{artifact}:v{index} {'was deleted' if gone == 'deleted' else 'has expired (its ttl)'}; "
                "use another version."
            )
        return state.info(project, artifact, index)

    def resolve(self, ref: ArtifactRef) -> VersionInfo:
        """The version a reference points to (``latest``, ``vN`` or an alias)."""
        if ref.project is None:
            raise InvalidInputError(
                f"The reference {ref} names no project; write it as 'project/{ref.name}:{ref.selector}'."
            )
        state = self._state(ref.project, ref.name)
        if not VERSION_ALIAS.match(ref.selector):  # a damaged record may have moved the alias or held a newer version
            state.check_intact()
        live = state.live()
        if not live:
            raise NotFoundError(
                f"No artifact {ref.project}/{ref.name} exists in {self.root}; check the name or log it first."
            )
        if ref.selector == "latest":
            index = live[-1]
        elif match := VERSION_ALIAS.match(ref.selector):
            index = int(match.group(1))
            if ref.selector != f"v{index}":  # one spelling per version: v01 is no name of v1
                raise NotFoundError(f"{ref.selector!r} is not a version name; versions are written v0, v1, v2...")
            if index >= state.next_number:
                raise NotFoundError(
                    f"{ref.project}/{ref.name} has no version {ref.selector}; the newest is v{state.next_number - 1}."
                )
        elif ref.selector in state.alias_of:
            index = state.alias_of[ref.selector]
        else:
            known = ", ".join(sorted(a for a, i in state.alias_of.items() if state.gone(i) is None)) or "none"
            raise NotFoundError(f"{ref.project}/{ref.name} has no alias {ref.selector!r} (aliases: {known}).")
        return self.version(ref.project, ref.name, index)

    def manifest(self, version: VersionInfo) -> Manifest:
        """The manifest of a version (cached: manifests are immutable). Past :data:`LAZY_MANIFEST_ENTRIES`
        entries it is :meth:`Manifest.stored`: backed by the Parquet file (a local registry's own, else a
        cached copy), with no Python object per entry until one is asked for."""
        key = self.uri(version.manifest_key)
        if key not in self._manifests:
            if version.file_count > LAZY_MANIFEST_ENTRIES:
                file = self.manifest_file(version)
                self._manifests[key] = Manifest.stored(file, version.file_count, version.total_size, version.digest)
            else:
                self._manifests[key] = Manifest.from_parquet_bytes(self.storage.read_bytes(key), where=key)
        return self._manifests[key]

    def manifest_file(self, version: VersionInfo) -> Path:
        """A local Parquet file of the version's manifest (for querying it with the engine).

        A local registry's own file is returned as is; a bucket registry's is
        copied once into the cache (manifests are immutable and content-addressed).
        """
        uri = self.uri(version.manifest_key)
        return local_path(uri) or cached_file(uri)

    def manifest_source(self, version: VersionInfo) -> Path | RemoteFile:
        """The version's manifest for the query engine: a local registry's own file, a cached copy, else the
        object read in place (see :func:`shanty.storage.in_place.scan_source`)."""
        uri = self.uri(version.manifest_key)
        return local_path(uri) or scan_source(uri, None)

    # --- writing -------------------------------------------------------------
    def _append(
        self, project: str, artifact: str, build: Callable[[ArtifactState], dict[str, Any] | None]
    ) -> tuple[ArtifactState, dict[str, Any] | None]:
        """Append the record ``build(state)`` returns (see :meth:`shanty.log_store.LogStore.append`)."""
        self._ensure_marker()
        return self.logs.append(project, artifact, build)

    def _ensure_marker(self) -> None:
        marker = self.uri("shanty.json")
        if not self.storage.exists(marker):
            self.storage.create_if_absent(marker, json.dumps({"format": 1, "created": now_iso()}).encode())

    def put_manifest(self, manifest: Manifest) -> str:
        """Store a manifest (content-addressed, so idempotent); returns its key."""
        bulk = manifest.bulk_file()  # a large manifest (inventory entries) is a Parquet file already
        if bulk is not None:
            return self._put_manifest_file(bulk)
        data = manifest.to_parquet_bytes()
        key = f"manifests/{hashlib.sha256(data).hexdigest()}.parquet"
        if not self.storage.exists(self.uri(key)):
            self.storage.write_bytes(self.uri(key), data)
        return key

    def _put_manifest_file(self, path: Path) -> str:
        """:meth:`put_manifest` for a manifest written as a Parquet file: hashed as it is read, never
        turned into entries (its bytes are read once for the upload)."""
        sha = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                sha.update(chunk)
        key = f"manifests/{sha.hexdigest()}.parquet"
        if self.storage.exists(self.uri(key)):
            return key
        target = local_path(self.uri(key))
        if target is None:
            self.storage.write_bytes(self.uri(key), path.read_bytes())
        else:  # a local registry: copied, so a file of millions of entries is never held in memory
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            shutil.copyfile(path, temp)
            os.replace(temp, target)  # atomic: readers see no file or the whole one
        return key

    def commit_version(
        self,
        project: str,
        artifact: str,
        *,
        type: str,
        manifest: Manifest,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        aliases: Iterable[str] = (),
        run: dict[str, Any] | None = None,
    ) -> tuple[VersionInfo, bool]:
        """Commit ``manifest`` as the next version, unless identical content exists.

        Returns ``(version, created)``. When a version with the same digest
        exists, no version is written: that version is returned (``created``
        False) and ``aliases`` are applied to it.
        """
        check_name(type, "Artifact type")
        aliases = sorted({check_alias(a) for a in aliases})
        if not len(manifest):
            raise InvalidInputError(
                f"The artifact {artifact} has no files; add a reference or a file before logging it."
            )
        digest = manifest.digest
        check_metadata(metadata or {}, artifact)

        stored: list[str] = []  # the manifest's key once stored (by the first attempt that needs it)

        def build(state: ArtifactState) -> dict[str, Any] | None:
            # What can be refused is refused before the manifest is stored: a refused commit leaves no orphan
            first = next(iter(state.versions.values()), None)
            if first is not None and first["type"] != type:
                raise InvalidInputError(
                    f"{project}/{artifact} has type {first['type']!r}, not {type!r}; use another name or the same type."
                )
            for index, record in state.versions.items():
                if record["digest"] == digest and state.gone(index) is None:
                    todo = [a for a in aliases if state.alias_of.get(a) != index]
                    return {"op": "alias", **state.about(index), "aliases": todo} if todo else None
            if not stored:
                stored.append(self.put_manifest(manifest))  # before the claim: a visible version is complete
            return {
                "op": "version",
                "type": type,
                "digest": digest,
                "manifest": stored[0],
                "file_count": len(manifest),
                "total_size": manifest.total_size,
                "description": description,
                "metadata": metadata or {},
                "aliases": aliases,
                "run": run,
            }

        state, record = self._append(project, artifact, build)
        created = record is not None and record["op"] == "version"
        index = (
            record["number"]
            if created
            else next(i for i, r in state.versions.items() if r["digest"] == digest and state.gone(i) is None)
        )
        return state.info(project, artifact, index), created

    def set_aliases(self, version: VersionInfo, aliases: Iterable[str]) -> VersionInfo:
        """Point ``aliases`` at ``version`` (moving them off any other version)."""
        wanted = sorted({check_alias(a) for a in aliases})

        def build(state: ArtifactState) -> dict[str, Any] | None:
            todo = [a for a in wanted if state.alias_of.get(a) != version.index]
            return {"op": "alias", **state.held(version), "aliases": todo} if todo else None

        state, _ = self._append(version.project, version.artifact, build)
        return state.info(version.project, version.artifact, version.index)

    def remove_aliases(self, project: str, artifact: str, aliases: Iterable[str]) -> None:
        """Remove aliases from whichever version holds them; unknown aliases are an error."""
        wanted = sorted(set(aliases))

        def build(state: ArtifactState) -> dict[str, Any] | None:
            unknown = [a for a in wanted if a not in state.alias_of]
            if unknown:
                raise NotFoundError(f"{project}/{artifact} has no alias {', '.join(unknown)}.")
            return {"op": "unalias", "aliases": wanted}

        self._append(project, artifact, build)

    def set_note(self, version: VersionInfo, text: str | None) -> VersionInfo:
        """Replace the note (description) of a version."""

        def build(state: ArtifactState) -> dict[str, Any] | None:
            if state.notes.get(version.index) == text:
                return None
            return {"op": "note", **state.held(version), "text": text}

        state, _ = self._append(version.project, version.artifact, build)
        return state.info(version.project, version.artifact, version.index)

    def set_metadata(self, version: VersionInfo, metadata: dict[str, Any]) -> VersionInfo:
        """Replace the metadata of a version (W&B's ``artifact.metadata[...] = ...; artifact.save()``).

        Raises InvalidInputError for metadata that is not JSON-serialisable; nothing is written then.
        """
        check_metadata(metadata, version.artifact)

        def build(state: ArtifactState) -> dict[str, Any] | None:
            about = state.held(version)
            old = state.metadata.get(version.index, state.versions[version.index].get("metadata") or {})
            return None if old == metadata else {"op": "metadata", **about, "metadata": metadata}

        state, _ = self._append(version.project, version.artifact, build)
        return state.info(version.project, version.artifact, version.index)

    def set_tags(self, version: VersionInfo, tags: Iterable[str]) -> VersionInfo:
        """Replace the tags of a version (W&B's ``artifact.tags = [...]; artifact.save()``)."""
        wanted = sorted({check_tag(t) for t in tags})

        def build(state: ArtifactState) -> dict[str, Any] | None:
            about = state.held(version)
            old = state.tags.get(version.index, state.versions[version.index].get("tags") or [])
            return None if old == wanted else {"op": "tags", **about, "tags": wanted}

        state, _ = self._append(version.project, version.artifact, build)
        return state.info(version.project, version.artifact, version.index)

    def set_ttl(self, version: VersionInfo, ttl_seconds: int | None) -> VersionInfo:
        """Set how long after its creation a version expires (None: never); an expired version reads as
        deleted."""

        def build(state: ArtifactState) -> dict[str, Any] | None:
            about = state.held(version)
            if state.ttl_of(version.index) == ttl_seconds:
                return None
            return {"op": "ttl", **about, "ttl_seconds": ttl_seconds}

        state, _ = self._append(version.project, version.artifact, build)
        return state.info(version.project, version.artifact, version.index)

    def delete_version(self, version: VersionInfo, delete_aliases: bool = False) -> None:
        """Delete a version (W&B's ``artifact.delete``): it no longer resolves, lists or serves media;
        its number is never reused. A version holding aliases is refused unless ``delete_aliases``.
        Files stored by value stay in the content-addressed store (other versions may share them)."""

        def build(state: ArtifactState) -> dict[str, Any] | None:
            if version.index in state.deleted:
                return None
            held = sorted(a for a, i in state.alias_of.items() if i == version.index)
            if held and not delete_aliases:
                raise InvalidInputError(
                    f"{version.qualified_name} has the aliases {', '.join(held)}; call delete(delete_aliases=True) "
                    "to delete it with them."
                )
            return {"op": "delete", **state.held(version)}

        self._append(version.project, version.artifact, build)

    # --- files stored by value ---------------------------------------------------
    def object_key(self, md5_hex: str) -> str:
        """The key of a by-value file in the content-addressed object store."""
        return f"objects/md5/{md5_hex[:2]}/{md5_hex}"

    def entry_source(self, entry: ManifestEntry) -> tuple[str, str | None]:
        """``(uri, object version)`` holding an entry's bytes: its reference, or this registry's copy of a
        file stored by value. MalformedError when a by-value entry's digest is not an MD5."""
        if entry.ref is not None:
            return entry.ref, entry.object_version
        try:
            return self.uri(self.object_key(b64_to_hex(entry.digest))), None
        except ValueError as exc:
            raise MalformedError(f"The manifest digest of {entry.path!r} is not an MD5; it is damaged.") from exc

    def entry_file(self, entry: ManifestEntry) -> Path:
        """A local file holding the entry's bytes: a local registry's own copy of a by-value file, else a
        verified cache copy (see :func:`shanty.storage.cache.cached_file` for what it raises)."""
        uri, version = self.entry_source(entry)
        path = local_path(uri) if entry.ref is None else None  # references may change: copy and verify them
        if path is None:
            return cached_file(uri, version, entry.digest, entry.extra)
        if not path.is_file():
            raise NotFoundError(
                f"The stored copy of {entry.path} is missing from the registry ({path}); the registry is damaged."
            )
        return path

    def entry_query_source(self, entry: ManifestEntry) -> Path | RemoteFile:
        """What the query engine reads for a table entry: a local registry's own copy, a cached copy, else
        the object read in place at its recorded version, without downloading it (see
        :func:`shanty.storage.in_place.scan_source`, which falls back to :meth:`entry_file`'s copy)."""
        uri, version = self.entry_source(entry)
        if entry.ref is None and local_path(uri) is not None:
            return self.entry_file(entry)
        return scan_source(uri, version, size=entry.size, digest=entry.digest, extra=entry.extra)

    def put_object(self, path: Path | bytes, md5_hex: str) -> None:
        """Copy a local file (or bytes) into the content-addressed object store (once)."""
        uri = self.uri(self.object_key(md5_hex))
        if not self.storage.exists(uri):
            self.storage.write_bytes(uri, path if isinstance(path, bytes) else Path(path).read_bytes())

    # --- runs ----------------------------------------------------------------------
    def write_run(self, run: RunInfo) -> None:
        """Write a run record (one writer per run id, so overwriting is safe)."""
        record = {
            "id": run.id,
            "project": run.project,
            "job_type": run.job_type,
            "name": run.name,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "state": run.state,
            "config": dict(run.config),
            "summary": dict(run.summary),
            "logged": list(run.logged),
            "used": list(run.used),
            "tags": list(run.tags),
            "notes": run.notes,
            "group": run.group,
            "metrics": [dict(m) for m in run.metrics],
            "alerts": [dict(a) for a in run.alerts],
        }
        try:
            body = json.dumps(record, sort_keys=True, default=plain_json_value).encode()
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"The config or summary of run {run.id} holds a value JSON cannot store ({exc}); use plain values."
            ) from exc
        self._ensure_marker()
        self.storage.write_bytes(self.uri("projects", run.project, "runs", f"{run.id}.json"), body)

    def runs(self, project: str) -> list[RunInfo]:
        """All runs of a project, oldest first."""
        check_name(project, "Project")
        runs_dir = self.uri("projects", project, "runs")
        names = [n for n in self.storage.list_names(runs_dir) if n.endswith(".json")]
        found = (self._read_run(join_uri(runs_dir, n)) for n in names)
        # A deleted run keeps its record as a tombstone (its id is not reused, as in W&B), listed nowhere.
        return sorted((r for r in found if r.state != "deleted"), key=lambda r: r.started_at)

    def run(self, project: str, run_id: str) -> RunInfo | None:
        """The run ``run_id`` of ``project``, or None when there is none (a deleted run's record has
        state ``"deleted"``)."""
        check_name(project, "Project")
        check_name(run_id, "Run id")
        key = self.uri("projects", project, "runs", f"{run_id}.json")
        return self._read_run(key) if self.storage.exists(key) else None

    def _read_run(self, key: str) -> RunInfo:
        try:
            data = json.loads(self.storage.read_bytes(key))
            data["logged"] = tuple(data.get("logged", ()))
            data["used"] = tuple(data.get("used", ()))
            for key in ("tags", "metrics", "alerts"):
                data[key] = tuple(data.get(key, ()))
            return RunInfo(**data)
        except (json.JSONDecodeError, TypeError) as exc:
            raise MalformedError(f"The run record {key} is damaged; restore it from a backup or remove it.") from exc

    def used_by(self, version: VersionInfo) -> list[RunInfo]:
        """Runs that used ``version`` (lineage, consumer side)."""
        return [r for r in self.runs(version.project) if version.qualified_name in r.used]
