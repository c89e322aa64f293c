"""Referencing a bucket prefix into a draft's manifest: by listing it, or from an inventory report.

Both hand objects on in chunks, so a reference of millions never holds a Python object per entry:
a listing stays entries up to :data:`BULK_REFERENCE_OBJECTS` objects (what W&B's ``add_reference``
returns), beyond it, like every inventory report, it becomes a sorted Parquet file of entries
(:class:`~shanty.manifest.BulkEntries`) written a batch at a time.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import posixpath
import warnings
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from .errors import InvalidInputError
from .manifest import MANIFEST_SCHEMA, BulkEntries, Manifest, ManifestEntry, check_entry_path, write_bulk
from .progress import Progress, ProgressSink
from .storage import storage_for
from .storage.base import ColumnListing, ObjectInfo, object_batches
from .storage.inventory import inventory_batches, open_report
from .storage.location import parse_location

__all__ = ["BULK_REFERENCE_OBJECTS", "LARGE_LISTING", "add_inventory", "add_listing", "join_path"]

LARGE_LISTING = 1_000_000  # objects past which a listing suggests an inventory report
# Past this many objects a listing becomes a Parquet file of entries (BulkEntries), not Python objects.
BULK_REFERENCE_OBJECTS = 65_536
LISTED_BATCH_ROWS = 65_536  # objects turned into one Arrow batch (about 1 KB each while they are objects)


def add_listing(
    manifest: Manifest,
    uri: str,
    name: str | None,
    *,
    checksum: bool,
    max_objects: int | None,
    sink: ProgressSink | None,
) -> list[ManifestEntry] | BulkEntries:
    """Add to ``manifest`` every object a listing of ``uri`` finds (see ``Artifact.add_reference``).

    The listing is handed on in chunks (:func:`~shanty.storage.base.object_batches`): up to
    :data:`BULK_REFERENCE_OBJECTS` objects become entries (returned); past that they are written,
    a batch at a time, to a sorted Parquet file held by ``manifest`` (its :class:`BulkEntries`
    returned), so a listing of millions never exists as Python objects. InvalidInputError past
    ``max_objects`` says how to narrow the listing; NotFoundError when nothing is there.
    """
    storage = storage_for(uri)
    with _ListingProgress(f"listing {uri}", None, sink) as bar:
        try:
            if isinstance(storage, ColumnListing):  # Arrow batches: no Python object per listed object
                columns = storage.list_object_columns(uri, max_objects=max_objects, checksum=checksum, progress=bar)
                return _add_columns(manifest, uri, name, columns)
            chunks = object_batches(storage, uri, max_objects=max_objects, checksum=checksum, progress=bar)
            return _add_listed(manifest, uri, name, chunks)
        except InvalidInputError as exc:
            if max_objects is None or f"max_objects={max_objects}" not in str(exc):
                raise
            raise InvalidInputError(
                f"{uri} holds more than max_objects={max_objects} objects; raise max_objects, reference a "
                "narrower prefix, or pass inventory= the bucket's inventory report (faster past a million objects)."
            ) from None


def plain_key(relpath: str) -> bool:
    """Whether an object's name below the referenced prefix can be an entry path as it is: no empty,
    ``.`` or ``..`` part (``data//x.wav``, ``data/../x``), which a file system would fold into another
    name. Substring tests first: a listing of millions pays a few nanoseconds a key."""
    if "//" in relpath or "/." in relpath or relpath.startswith(("/", ".")):
        return relpath == posixpath.normpath(relpath) and not relpath.startswith(("/", "../")) and relpath != ".."
    return bool(relpath)


def _plain_only(chunks: Iterator[list[ObjectInfo]], skipped: list[str]) -> Iterator[list[ObjectInfo]]:
    """The listing without the objects :func:`plain_key` refuses (their names collected in ``skipped``)."""
    for chunk in chunks:
        kept = [o for o in chunk if plain_key(o.relpath)]
        if len(kept) != len(chunk):
            skipped.extend(o.relpath for o in chunk if not plain_key(o.relpath))
        yield kept


def _warn_skipped(uri: str, skipped: list[str]) -> None:
    if skipped:
        shown = ", ".join(repr(name) for name in skipped[:3]) + (" ..." if len(skipped) > 3 else "")
        warnings.warn(
            f"{len(skipped)} object(s) at {uri} have names with an empty, '.' or '..' part ({shown}), which "
            "no download folder can hold as named; they were left out. Rename them to include them.",
            stacklevel=4,
        )


def _add_listed(
    manifest: Manifest, uri: str, name: str | None, chunks: Iterator[list[ObjectInfo]]
) -> list[ManifestEntry] | BulkEntries:
    """The listed objects as entries (a bulk file past BULK_REFERENCE_OBJECTS); objects whose names
    cannot be entry paths are left out with one warning naming them, the rest of the prefix kept."""
    skipped: list[str] = []
    try:
        return _add_plain(manifest, uri, name, _plain_only(chunks, skipped))
    finally:
        _warn_skipped(uri, skipped)


def _add_plain(
    manifest: Manifest, uri: str, name: str | None, chunks: Iterator[list[ObjectInfo]]
) -> list[ManifestEntry] | BulkEntries:
    held: list[ObjectInfo] = []
    for chunk in chunks:
        held.extend(chunk)
        del chunk  # held has them: a loop variable would keep a chunk alive to the end
        if len(held) > BULK_REFERENCE_OBJECTS:
            folder = manifest.bulk_dir()
            dest = folder / f"listing-{len(list(folder.glob('listing-*')))}.parquet"
            bulk = write_bulk(_listed_batches(held, chunks, name), dest)
            manifest.add_bulk(bulk)
            return bulk
    held.sort(key=lambda info: info.relpath)
    single = len(held) == 1 and _same_object(held[0].uri, uri)
    added = []
    for obj in held:
        path = check_entry_path(name) if single and name else join_path(name, obj.relpath)
        entry = ManifestEntry(path, obj.digest, obj.size, obj.uri, obj.object_version, dict(obj.extra))
        manifest.add(entry)
        added.append(entry)
    return added


def _plain_rows(batches: Iterator[pa.RecordBatch], skipped: list[str]) -> Iterator[pa.RecordBatch]:
    """:func:`_plain_only` for listing batches: only the rows a cheap test flags go through
    :func:`plain_key` in Python."""
    for batch in batches:
        paths = batch.column("relpath")
        flagged = pc.or_(
            pc.or_(pc.match_substring(paths, "//"), pc.match_substring(paths, "/.")),
            pc.or_(pc.or_(pc.starts_with(paths, "/"), pc.starts_with(paths, ".")), pc.equal(paths, "")),
        )
        if pc.any(flagged).as_py():
            odd = [not plain_key(p) for p in paths.to_pylist()]
            skipped.extend(p for p, o in zip(paths.to_pylist(), odd, strict=True) if o)
            batch = batch.filter(pc.invert(pa.array(odd)))
        yield batch


def _add_columns(
    manifest: Manifest, uri: str, name: str | None, batches: Iterator[pa.RecordBatch]
) -> list[ManifestEntry] | BulkEntries:
    """:func:`_add_listed` for a listing in Arrow batches (``LISTING_SCHEMA``): the same entries, the
    same bulk file past BULK_REFERENCE_OBJECTS, the same warning for names that cannot be paths."""
    skipped: list[str] = []
    try:
        plain = _plain_rows(batches, skipped)
        held: list[pa.RecordBatch] = []
        added: list[ManifestEntry] = []
        count = 0
        for batch in plain:
            held.append(batch)
            count += batch.num_rows
            if count > BULK_REFERENCE_OBJECTS:
                folder = manifest.bulk_dir()
                dest = folder / f"listing-{len(list(folder.glob('listing-*')))}.parquet"
                bulk = write_bulk(_column_batches(itertools.chain(held, plain), name), dest)
                manifest.add_bulk(bulk)
                return bulk
            added += _batch_entries(batch, name)  # as the batches come: the listing goes on meanwhile
        if count == 1 and name and _same_object(added[0].ref, uri):  # one object, under the name asked
            added = [dataclasses.replace(added[0], path=check_entry_path(name))]
        added.sort(key=lambda entry: entry.path)
        for entry in added:
            manifest.add(entry)
        return added
    finally:
        _warn_skipped(uri, skipped)


def _batch_entries(batch: pa.RecordBatch, name: str | None) -> list[ManifestEntry]:
    """The entries of one listing batch (its names already plain: see :func:`_plain_rows`)."""
    names = ("relpath", "digest", "size", "uri", "object_version")
    rows = zip(*(batch.column(c).to_pylist() for c in names), strict=True)
    # One decode of all the rows' JSON: a json.loads per row costs more than the rest of the row.
    extras = json.loads("[" + ",".join(pc.fill_null(batch.column("extra"), "null").to_pylist()) + "]")
    paths = batch.column("relpath")
    # A plain name is its own entry path below the (checked) name; only a backslash, a NUL or a trailing
    # '/' needs check_entry_path's normalisation (which costs more than the rest of the row).
    odd = pc.any(pc.or_(pc.match_substring_regex(paths, r"[\\\x00]"), pc.ends_with(paths, "/"))).as_py()
    prefix = f"{check_entry_path(name)}/" if name else ""
    out = []
    for (relpath, digest, size, ref, version), extra in zip(rows, extras, strict=True):
        path = join_path(name, relpath) if odd else prefix + relpath
        out.append(ManifestEntry(path, digest, size, ref, version, extra or {}))
    return out


def _column_batches(batches: Iterator[pa.RecordBatch], name: str | None) -> Iterator[pa.RecordBatch]:
    """Manifest batches (:data:`~shanty.manifest.MANIFEST_SCHEMA` columns) of listing batches, about
    :data:`LISTED_BATCH_ROWS` rows each; paths are checked by :func:`write_bulk`."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in itertools.chain(batches, [None]):
        if batch is not None:
            pending.append(batch)
            rows += batch.num_rows
        if pending and (batch is None or rows >= LISTED_BATCH_ROWS):
            joined = pa.Table.from_batches(pending).combine_chunks()
            pending, rows = [], 0
            paths = joined.column("relpath")
            if name:
                paths = pc.binary_join_element_wise(name.rstrip("/"), paths, "/")
            columns = [paths, *(joined.column(c) for c in ("digest", "size", "uri", "object_version", "extra"))]
            yield from pa.Table.from_arrays(columns, schema=MANIFEST_SCHEMA).to_batches()


def add_inventory(
    manifest: Manifest, uri: str, report_uri: str, name: str | None, max_objects: int | None
) -> BulkEntries:
    """Add to ``manifest`` the objects at ``uri`` an inventory report lists (``Artifact.add_reference``
    with ``inventory``): the report's rows become a sorted Parquet file of entries, batch by batch,
    held by ``manifest``; returns its :class:`BulkEntries`. InvalidInputError past ``max_objects``."""
    report = open_report(report_uri)
    folder = manifest.bulk_dir()
    dest = folder / f"inventory-{len(list(folder.glob('inventory-*')))}.parquet"
    skipped: list[str] = []  # the report lists every key: the odd ones are left out as a listing does
    with inventory_batches(report, uri) as reader:
        bulk = write_bulk(_inventory_entries(_plain_rows(reader, skipped), uri, name), dest)
    _warn_skipped(uri, skipped)
    if max_objects is not None and bulk.count > max_objects:
        raise InvalidInputError(
            f"The inventory report lists {bulk.count} objects at {uri}, more than max_objects={max_objects}; "
            "raise max_objects or reference a narrower prefix."
        )
    manifest.add_bulk(bulk)
    return bulk


def _same_object(listed: str, asked: str) -> bool:
    """Whether a listed object is the one ``asked`` names (not an object below it); pins are ignored."""
    return parse_location(listed).same_object(parse_location(asked))


def join_path(prefix: str | None, relpath: str) -> str:
    """``relpath`` below ``prefix`` (when given) as an entry path; InvalidInputError if it leaves the artifact."""
    return check_entry_path(f"{prefix.rstrip('/')}/{relpath}" if prefix else relpath)


class _ListingProgress(Progress):
    """A listing's progress; past a million objects its label says an inventory report would be faster."""

    def advance(self, n: int = 1) -> None:
        if self.done < LARGE_LISTING <= self.done + n:
            self.label += " (over a million objects: inventory= an inventory report is faster)"
            if self._bar is not None:
                self._bar.set_description(self.label, refresh=False)
        super().advance(n)


def _inventory_entries(reader: pa.RecordBatchReader, uri: str, name: str | None) -> Iterator[pa.RecordBatch]:
    """Manifest batches (:data:`~shanty.manifest.MANIFEST_SCHEMA` columns) from a report's object batches;
    a single object named exactly ``uri`` is named ``name`` (else its base name), as add_reference does."""
    for batch in reader:
        paths = batch.column("relpath")
        if batch.num_rows == 1 and name and _same_object(batch.column("uri")[0].as_py(), uri):
            paths = pa.array([name], pa.string())
        elif name:
            paths = pc.binary_join_element_wise(name.rstrip("/"), paths, "/")
        yield pa.record_batch(
            [
                paths,
                batch.column("digest"),
                batch.column("size"),
                batch.column("uri"),
                batch.column("object_version"),
                batch.column("extra"),
            ],
            names=["path", "digest", "size", "ref", "version", "extra"],
        )


def _listed_batches(
    held: list[ObjectInfo], rest: Iterator[list[ObjectInfo]], name: str | None
) -> Iterator[pa.RecordBatch]:
    """Manifest batches (:data:`~shanty.manifest.MANIFEST_SCHEMA` columns) of the objects ``held`` then
    those of ``rest``, :data:`LISTED_BATCH_ROWS` at a time; ``held`` is emptied as it goes, so only a
    batch of objects is alive at once. Paths are checked by :func:`write_bulk`."""
    prefix = f"{name.rstrip('/')}/" if name else ""
    pending = held
    for chunk in itertools.chain([[]], rest):
        pending.extend(chunk)
        del chunk
        while len(pending) >= LISTED_BATCH_ROWS:
            yield _objects_batch(pending[:LISTED_BATCH_ROWS], prefix)
            del pending[:LISTED_BATCH_ROWS]
    if pending:
        yield _objects_batch(pending, prefix)
        pending.clear()


_QUOTE = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]  # json's own C quoting


def _extra_json(extra: Any) -> str | None:
    """``json.dumps(extra, sort_keys=True)`` (what the small path stores), about five times faster
    for the usual all-text metadata, which is what a listing of millions spends its time on."""
    if not extra:
        return None
    try:
        return "{" + ", ".join([_QUOTE(k) + ": " + _QUOTE(v) for k, v in sorted(extra.items())]) + "}"
    except TypeError:  # a key or value that is not text: json's own rules
        return json.dumps(dict(extra), sort_keys=True)


def _objects_batch(objects: list[ObjectInfo], prefix: str) -> pa.RecordBatch:
    return pa.record_batch(
        [
            pa.array([prefix + o.relpath for o in objects], pa.string()),
            pa.array([o.digest for o in objects], pa.string()),
            pa.array([o.size for o in objects], pa.int64()),
            pa.array([o.uri for o in objects], pa.string()),
            pa.array([o.object_version for o in objects], pa.string()),
            pa.array([_extra_json(o.extra) for o in objects], pa.string()),
        ],
        schema=MANIFEST_SCHEMA,
    )
