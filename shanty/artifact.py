"""Artifacts: the draft you fill (:class:`Artifact`) and a logged version (:class:`ArtifactVersion`)."""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from .artifact_reference import add_inventory, add_listing, join_path
from .artifact_surface import DraftSurface, VersionSurface
from .digests import b64_to_hex, md5_b64_file
from .download import ArtifactFile, DownloadReport, download_manifest, files_not_in, folder_differences
from .errors import ChangedObjectError, InvalidInputError, NotFoundError
from .manifest import BulkEntries, Manifest, ManifestEntry, check_entry_path
from .names import alias_list, check_alias, check_name, check_tag
from .progress import ProgressSink
from .records import RunInfo, VersionInfo
from .registry import Registry
from .storage import local_path as local_path_of
from .storage import storage_for
from .storage.in_place import RemoteFile
from .storage.location import to_uri
from .tables.json_codec import media_from_json, media_json_kind
from .tables.packing import (
    JOINED_SUFFIX,
    TABLE_SUFFIX,
    Packed,
    find_table_entry,
    pack_joined,
    pack_table,
    parse_joined,
)
from .tables.table import JoinedTable, Table
from .wandb_compat import ArtifactTTL

__all__ = ["Artifact", "ArtifactVersion"]


def _ttl_seconds(ttl: Any) -> int | None:
    """Whole seconds of a W&B ``ttl`` (a timedelta; None or W&B's ``"inherit"``: never expires);
    InvalidInputError for anything else."""
    if ttl is None or ttl is ArtifactTTL.INHERIT or (isinstance(ttl, str) and ttl.lower() == "inherit"):
        return None
    if not isinstance(ttl, timedelta) or ttl.total_seconds() <= 0:
        raise InvalidInputError(f"An artifact's ttl is a positive datetime.timedelta or None, not {ttl!r}.")
    return max(1, round(ttl.total_seconds()))


class Artifact(DraftSurface):
    """A draft artifact: add references and files, then ``run.log_artifact`` it.

    Mirrors ``wandb.Artifact``. Once logged, version attributes (``version``,
    ``aliases``, ``digest``...) are available on it too. W&B's ``incremental``,
    ``use_as`` and ``storage_region`` are accepted and kept; they change nothing here.
    """

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        incremental: bool = False,
        use_as: str | None = None,
        storage_region: str | None = None,
    ):
        self.incremental, self.use_as = incremental, use_as
        self.name = check_name(name, "Artifact")
        self.type = check_name(type, "Artifact type")
        self.description = description
        self.metadata = dict(metadata or {})
        self.tags: list[str] = []  # W&B's; stored on the version when logged
        self.ttl: timedelta | None = None  # W&B's time-to-live, counted from the version's creation
        self.manifest = Manifest()
        self._local_files: dict[str, Path] = {}
        self._table_media: set[str] = set()  # entries of local files that tables play (see _upload_local_files)
        self._blobs: dict[str, bytes] = {}  # tables serialised by add(), stored on log
        # Table -> its entry path, for JoinedTables naming it. Weak, and by identity: an id() could be
        # reused by another Table once this one is gone.
        self._added_tables: weakref.WeakKeyDictionary[Table, str] = weakref.WeakKeyDictionary()
        self.logged: ArtifactVersion | None = None

    def __repr__(self) -> str:
        state = self.logged.qualified_name if self.logged else "draft"
        return f"<Artifact {self.name} ({self.type}) {state}, {len(self.manifest)} files>"

    # --- filling ---------------------------------------------------------------
    def add_reference(
        self,
        uri: str,
        name: str | None = None,
        checksum: bool = True,
        max_objects: int | None = None,
        progress_sink: ProgressSink | None = None,
        inventory: str | None = None,
    ) -> list[ManifestEntry] | BulkEntries:
        """Track the object or every object under the prefix ``uri`` by reference.

        Nothing is copied. For a prefix, entries are named by their path below
        it (under ``name/`` when given); a single object is named ``name`` or
        its base name. Raises NotFoundError for an empty or missing location
        and InvalidInputError past ``max_objects`` (never a silent cut).
        Returns the entries added; past 65,536 objects
        (:data:`~shanty.artifact_reference.BULK_REFERENCE_OBJECTS`) the listing
        is held as a sorted Parquet file instead, and its :class:`BulkEntries`
        (count, total size, digest) is returned.

        ``inventory`` is the URI of an S3 Inventory report (its ``manifest.json``)
        or a GCS Storage Insights report (its ``*_manifest.json``), or the folder
        holding it: the objects are then read from the report, not listed, and
        held as Arrow / Parquet (no Python object per entry); the same entries a
        listing makes, as of the report's date. Then a :class:`BulkEntries`
        (count, total size, digest) is returned instead of the list.
        """
        self._check_draft()
        if max_objects is not None and max_objects < 1:
            raise InvalidInputError(f"max_objects must be at least 1, not {max_objects}.")
        uri = to_uri(uri)
        if inventory is not None:
            return add_inventory(self.manifest, uri, to_uri(inventory), name, max_objects)
        return add_listing(self.manifest, uri, name, checksum=checksum, max_objects=max_objects, sink=progress_sink)

    def add_file(self, local_path: str | os.PathLike[str], name: str | None = None) -> ManifestEntry:
        """Add a local file by value: its bytes are copied into the registry when logged."""
        self._check_draft()
        path = Path(local_path).expanduser()
        if not path.is_file():
            raise NotFoundError(f"No file at {path}; check the path (use add_dir for folders).")
        entry = ManifestEntry(check_entry_path(name or path.name), md5_b64_file(path), path.stat().st_size)
        self.manifest.add(entry)
        self._local_files[entry.path] = path.resolve()
        return entry

    def add_dir(self, local_path: str | os.PathLike[str], name: str | None = None) -> list[ManifestEntry]:
        """Add every file under a local folder by value (under ``name/`` when given).

        The folder is walked as a referenced one is (see :mod:`shanty.storage.file`): a symbolic link to a
        file outside it is refused with InvalidInputError, never copied into the registry.
        """
        self._check_draft()
        root = Path(local_path).expanduser()
        if not root.is_dir():
            raise NotFoundError(f"No folder at {root}; check the path (use add_file for single files).")
        uri = to_uri(root)
        found = storage_for(uri).list_objects(uri, checksum=False)  # add_file hashes each file once
        return [self.add_file(local_path_of(info.uri), join_path(name, info.relpath)) for info in found]

    def get_entry(self, name: str) -> ManifestEntry:
        """The entry at path ``name``."""
        found = self.manifest.get(name)
        if found is None:
            raise NotFoundError(f"The artifact {self.name} has no entry {name!r}.")
        return found

    @contextmanager
    def new_file(self, name: str, mode: str = "x", encoding: str | None = None) -> Iterator[IO[Any]]:
        """W&B's ``new_file``: ``with artifact.new_file("notes.txt") as f: f.write(...)`` adds a file by
        value under ``name`` when the block ends (nothing is added if it raises). ``mode`` is ``"x"``,
        ``"w"`` (text) or ``"xb"``/``"wb"`` (bytes)."""
        self._check_draft()
        path = check_entry_path(name)
        if mode not in ("x", "w", "xb", "wb"):
            raise InvalidInputError(f"new_file opens files to write: mode 'w' or 'wb', not {mode!r}.")
        if self.manifest.get(path) is not None:
            raise InvalidInputError(f"The artifact {self.name} already has a file {path!r}; remove it first.")
        folder = Path(tempfile.mkdtemp(prefix="shanty-new-file-"))
        local = folder / Path(path).name
        with open(local, mode.replace("x", "w"), encoding=encoding if "b" not in mode else None) as handle:
            yield handle
        self.add_file(local, name=path)

    def remove(self, item: str | ManifestEntry) -> None:
        """W&B's ``remove``: drop the file (or table, by its name) at ``item`` from this draft."""
        self._check_draft()
        path = item.path if isinstance(item, ManifestEntry) else str(item)
        candidates = [path, f"{path}{TABLE_SUFFIX}", f"{path}{JOINED_SUFFIX}"]
        found = next((p for p in candidates if self.manifest.get(p) is not None), None)
        if found is None:
            raise NotFoundError(f"The artifact {self.name} has no file {path!r} to remove.")
        self.manifest.remove(found)
        self._local_files.pop(found, None)
        self._blobs.pop(found, None)
        self._table_media.discard(found)

    @property
    def digest(self) -> str:
        return self.logged.digest if self.logged else self.manifest.digest

    def _check_draft(self) -> None:
        if self.logged is not None:
            raise InvalidInputError(
                f"{self.logged.qualified_name} is already logged; create a new Artifact to log changes."
            )

    def add(self, obj: Table | JoinedTable, name: str, progress_sink: ProgressSink | None = None) -> ManifestEntry:
        """Add a Table (stored as ``name.table.parquet``; its media become reference
        entries pinned to their object versions, in-memory media by-value entries
        ``media/<kind>/<md5><suffix>``, and local files are copied in when the registry is a bucket's)
        or a JoinedTable."""
        self._check_draft()
        if isinstance(obj, Table):
            known = {e.ref: e for e in self.manifest if e.ref is not None}
            return self.add_packed(pack_table(obj, name, known, progress_sink))
        if isinstance(obj, JoinedTable):
            return self.add_packed(pack_joined(obj, name, self.manifest.entries, self._added_tables, self.name))
        raise InvalidInputError(f"artifact.add takes a shanty.Table or shanty.JoinedTable, not {type(obj).__name__}.")

    def add_packed(self, packed: Packed) -> ManifestEntry:
        """Add what :func:`~shanty.tables.packing.pack_table` or ``pack_joined`` made: its entries
        go into the manifest, its blob is stored by value when the artifact is logged. Returns the
        entry of the table file. Raises InvalidInputError if the artifact is logged or an entry
        clashes with a different file at the same path."""
        self._check_draft()
        for entry in packed.entries:
            self.manifest.add(entry)
        self._blobs[packed.blob_path] = packed.blob
        self._local_files.update(packed.files)  # in-memory media, encoded: stored by value like add_file
        # Local files the table plays stay references in a local registry; see _upload_local_files.
        self._table_media.update(e.path for e in packed.media if e.ref is not None and local_path_of(e.ref))
        if packed.table is not None:
            self._added_tables[packed.table] = packed.blob_path
        return packed.entry

    def _upload_local_files(self, registry: Registry) -> None:
        """Store the by-value files in ``registry``'s object store.

        A table's local-file media are references in a local registry (whoever
        reads it reads the same disk), but a registry in a bucket is read from
        other machines: there each such entry becomes a by-value entry with the
        same path and digest and its file is copied in, as W&B copies them.
        Raises ChangedObjectError when such a file changed since the table was added.
        """
        if local_path_of(registry.uri()) is None:
            self._copy_table_media()
        for path, local in self._local_files.items():
            registry.put_object(local, b64_to_hex(self._entry(path).digest))
        for path, data in self._blobs.items():
            registry.put_object(data, b64_to_hex(self._entry(path).digest))

    def _entry(self, path: str) -> ManifestEntry:
        """The entry this draft added at ``path`` (looked up, so bulk entries stay in their files)."""
        entry = self.manifest.get(path)
        assert entry is not None, path  # local files and blobs are entries by construction
        return entry

    def _copy_table_media(self) -> None:
        for path in sorted(self._table_media):
            entry = self.manifest.get(path)
            if entry is None or entry.ref is None:
                continue
            local = local_path_of(entry.ref)
            if local is None or not local.is_file() or md5_b64_file(local) != entry.digest:
                raise ChangedObjectError(
                    f"{entry.ref} changed or vanished since its table was added to {self.name}; add the table again.",
                    [path],
                )
            self.manifest.add(ManifestEntry(path, entry.digest, entry.size), replace=True)
            self._local_files[path] = local

    # --- after logging: behave like the logged version ---------------------------
    def __getattr__(self, attr: str) -> Any:
        logged = self.__dict__.get("logged")
        if logged is not None and not attr.startswith("_"):
            return getattr(logged, attr)
        if attr in {"version", "aliases", "download", "qualified_name"}:
            raise InvalidInputError(
                f"The artifact {self.__dict__.get('name')} is not logged yet; call run.log_artifact first."
            )
        raise AttributeError(attr)

    def wait(self) -> Artifact:
        """W&B compatibility: logging is synchronous here, so this returns at once."""
        return self


class ArtifactVersion(VersionSurface):
    """A logged version, as returned by ``use_artifact`` / ``log_artifact`` / ``Api.artifact``.

    Attribute names follow W&B: ``version`` ("v3"), ``aliases`` (incl. ``latest``),
    ``digest``, ``description``, ``metadata``, ``manifest.entries``. Change
    ``description``, ``aliases`` or ``metadata`` and call :meth:`save` to store the edit.
    """

    def __init__(self, registry: Registry, info: VersionInfo):
        self._registry = registry
        self._set(info)

    def _set(self, info: VersionInfo) -> None:
        self.info = info
        self.description = info.description
        self.aliases = list(info.aliases)
        # A copy to edit: ``metadata[...] = ...`` then :meth:`save` stores it (W&B's way).
        self.metadata = copy.deepcopy(dict(info.metadata))
        self.tags = list(info.tags)
        self.ttl = None if info.ttl_seconds is None else timedelta(seconds=info.ttl_seconds)

    def __repr__(self) -> str:
        return f"<ArtifactVersion {self.qualified_name} ({self.type}) aliases={self.aliases}>"

    project = property(lambda self: self.info.project)
    type = property(lambda self: self.info.type)
    version = property(lambda self: self.info.version)
    digest = property(lambda self: self.info.digest)
    created_at = property(lambda self: self.info.created_at)
    file_count = property(lambda self: self.info.file_count)
    size = property(lambda self: self.info.total_size)
    qualified_name = property(lambda self: self.info.qualified_name)
    source_name = property(lambda self: self.info.artifact)

    @property
    def name(self) -> str:
        """``name:vN`` as W&B spells a logged artifact's name."""
        return f"{self.info.artifact}:{self.info.version}"

    @property
    def manifest(self) -> Manifest:
        return self._registry.manifest(self.info)

    def manifest_file(self) -> Path:
        """A local Parquet file of this version's manifest (columns path, digest, size, ref, version, extra)."""
        return self._registry.manifest_file(self.info)

    def manifest_source(self) -> Path | RemoteFile:
        """This version's manifest for ``run_query``: a local file, or the object in a bucket read in place."""
        return self._registry.manifest_source(self.info)

    def new_draft(self) -> Artifact:
        """W&B's ``new_draft``: a draft of the same name, type, description, metadata and files, to change
        (``add_file``, ``remove``...) and log as a new version."""
        draft = Artifact(self.info.artifact, self.type, self.description, copy.deepcopy(self.metadata))
        manifest = self.manifest
        held = manifest.bulk_file()  # a large version's manifest file: copied, not read into entries
        if held is None:
            for entry in manifest:
                draft.manifest.add(entry)
        else:
            mine = draft.manifest.bulk_dir() / "from-version.parquet"
            shutil.copyfile(held, mine)
            draft.manifest.add_bulk(BulkEntries(mine, len(manifest), manifest.total_size, manifest.digest))
        return draft

    def get_entry(self, name: str) -> ArtifactFile:
        """The file at path ``name`` (W&B's ``get_entry``/``get_path``): its facts and ``download()``."""
        try:
            return ArtifactFile(self.manifest.entries[name], self._registry)
        except KeyError:
            raise NotFoundError(f"{self.qualified_name} has no entry {name!r}.") from None

    get_path = get_entry

    def files(self, names: list[str] | None = None, per_page: int = 50) -> list[ArtifactFile]:
        """Its files, by path (only ``names`` when given; ``per_page`` is W&B's and has no effect)."""
        if names is None:  # read in path order a batch at a time, not looked up one by one
            return [ArtifactFile(e, self._registry) for batch in self.manifest.entry_batches() for e in batch]
        return [self.get_entry(name) for name in names]

    def verify(self, root: str | os.PathLike[str] | None = None) -> None:
        """W&B's ``verify``: the download folder (default as :meth:`download`) holds exactly this version's
        files with their recorded bytes; ChangedObjectError names what is missing, different or extra."""
        folder = root if root is not None else os.path.join("artifacts", self.name)
        missing, different, extra = folder_differences(self.manifest, folder)
        problems = [
            f"{label}: {', '.join(paths[:5])}{' ...' if len(paths) > 5 else ''}"
            for label, paths in (("missing", missing), ("different", different), ("not in it", extra))
            if paths
        ]
        if problems:
            raise ChangedObjectError(
                f"{folder} does not hold {self.qualified_name} ({'; '.join(problems)}); "
                "download it again (checkout() also removes files that are not in it).",
                missing + different + extra,
            )

    def checkout(self, root: str | os.PathLike[str] | None = None) -> str:
        """W&B's ``checkout``: download this version and remove every file of the folder it does not hold;
        returns the folder."""
        folder = self.download(root)  # verified as it downloads: only the files it does not hold remain
        for path in files_not_in(self.manifest, folder):
            os.remove(os.path.join(folder, path))
        return folder

    def get(self, name: str) -> Table | JoinedTable:
        """The table (or joined table) logged under ``name``, media cells bound to this version."""
        entry = find_table_entry(self.manifest, name, self.qualified_name)
        data = self._registry.entry_file(entry).read_bytes()
        if media_json_kind(entry.path) is not None:  # a media object (W&B: artifact.add(wandb.Image(...), name))
            return media_from_json(data, f"{self.qualified_name}/{entry.path}")
        if entry.path.endswith(JOINED_SUFFIX):
            body = parse_joined(data, entry.path)
            return JoinedTable(self.get(body["table1"]), self.get(body["table2"]), body["join_key"])
        table = Table.from_parquet_bytes(data, where=f"{self.qualified_name}/{entry.path}")
        table.source = (self, entry.path)
        return table

    def tables(self) -> list[str]:
        """Names of the tables logged in this version (``name`` as given to ``artifact.add``), sorted."""
        return sorted(p.removesuffix(TABLE_SUFFIX) for p in self.manifest.entries if p.endswith(TABLE_SUFFIX))

    def joined_tables(self) -> list[str]:
        """Names of the joined tables logged in this version, sorted."""
        return sorted(p.removesuffix(JOINED_SUFFIX) for p in self.manifest.entries if p.endswith(JOINED_SUFFIX))

    def table_file(self, name: str) -> Path:
        """A local Parquet file of table ``name`` (a bucket registry's is downloaded into the cache first)."""
        return self._registry.entry_file(find_table_entry(self.manifest, name, self.qualified_name))

    def table_source(self, name: str) -> Path | RemoteFile:
        """Table ``name`` for the query engine (``run_query``, ``read_schema``...): a local file, or the
        object in a bucket registry read in place (only the footer and the row groups a query needs)."""
        return self._registry.entry_query_source(find_table_entry(self.manifest, name, self.qualified_name))

    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        skip_changed: bool = False,
        progress_sink: ProgressSink | None = None,
    ) -> str:
        """Download every file at its recorded object version; returns the folder.

        Default folder: ``./artifacts/<name>:<version>`` (as W&B). See
        :func:`shanty.download.download_manifest` for the checks made.
        """
        report = self.download_report(root, skip_changed=skip_changed, progress_sink=progress_sink)
        return str(report.root)

    def download_report(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        skip_changed: bool = False,
        progress_sink: ProgressSink | None = None,
    ) -> DownloadReport:
        """Like :meth:`download`, returning what was fetched, present and skipped."""
        target = root if root is not None else os.path.join("artifacts", self.name)
        return download_manifest(
            self._registry, self.manifest, target, skip_changed=skip_changed, progress_sink=progress_sink
        )

    def save(self) -> ArtifactVersion:
        """Store edits to ``description``, ``aliases``, ``metadata``, ``tags`` and ``ttl``.

        ``latest`` is derived: keeping it on the newest version is a no-op, adding
        it to another version is an InvalidInputError (as is any invalid alias or
        tag, a ttl that is not a timedelta, or metadata that is not JSON); nothing
        is written then. ``ttl`` counts from the version's creation, as in W&B; an
        expired version reads as deleted.
        """
        registry, info = self._registry, self.info
        wanted = set(alias_list(self.aliases)) - ({"latest"} if "latest" in info.aliases else set())
        for alias in wanted:
            check_alias(alias)
        tags = sorted({check_tag(t) for t in alias_list(self.tags)})
        ttl_seconds = _ttl_seconds(self.ttl)
        if self.metadata != dict(info.metadata):
            registry.set_metadata(info, self.metadata)
        current = {a for a in info.aliases if a != "latest"}
        if wanted - current:
            registry.set_aliases(info, wanted - current)
        if current - wanted:
            registry.remove_aliases(info.project, info.artifact, current - wanted)
        if self.description != info.description:
            registry.set_note(info, self.description)
        if tags != sorted(info.tags):
            registry.set_tags(info, tags)
        if ttl_seconds != info.ttl_seconds:
            registry.set_ttl(info, ttl_seconds)
        self._set(registry.version(info.project, info.artifact, info.index))
        return self

    def link(self, target_path: str, aliases: list[str] | None = None) -> ArtifactVersion:
        """W&B's ``link``: put this version into the collection ``target_path`` (``project/name``, W&B's
        ``entity/project/name`` and ``wandb-registry-<kind>/name`` accepted, the entity ignored). There
        is no hosted registry here: the collection is an artifact of that project whose version holds
        this version's manifest, so it resolves, lists and plays like any other; ``aliases`` go on it."""
        parts = [p for p in str(target_path).split("/") if p]
        if len(parts) not in (2, 3):
            raise InvalidInputError(f"Link to 'project/collection', not {target_path!r}.")
        project, name = parts[-2], parts[-1]
        info, _ = self._registry.commit_version(
            project,
            name,
            type=self.type,
            manifest=self.manifest,
            description=self.description,
            metadata={**self.metadata, "linked_from": self.qualified_name},
            aliases=alias_list(aliases),
            run={"id": self.info.run_id, "job_type": self.info.job_type},
        )
        return ArtifactVersion(self._registry, info)

    def delete(self, delete_aliases: bool = False) -> None:
        """W&B's ``delete``: this version no longer resolves, lists or plays; its number is not reused.
        InvalidInputError if it holds aliases, unless ``delete_aliases``. Bytes stored by value stay in the
        registry's content-addressed store (other versions may share them); referenced objects are never
        touched."""
        self._registry.delete_version(self.info, delete_aliases=delete_aliases)

    def wait(self) -> ArtifactVersion:
        """W&B compatibility (``run.log_artifact(a).wait()``): logging is synchronous here, so the version
        is complete when returned; this returns it."""
        return self

    def logged_by(self) -> RunInfo | None:
        """The run that logged this version, if it was logged by a run."""
        return next((r for r in self._registry.runs(self.project) if r.id == self.info.run_id), None)

    def used_by(self) -> list[RunInfo]:
        """Runs that used this version."""
        return self._registry.used_by(self.info)
