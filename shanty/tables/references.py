"""Turn the media URIs of a table into manifest entries, cheaply.

A table can name thousands of media files. Files that share a folder are
resolved with one listing of that folder (a listing carries every object's
checksum and version) instead of one request per file; the rest are looked
up one by one, in parallel. Local files are always looked up one by one:
listing a folder would hash files the table does not use.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from ..errors import NotFoundError
from ..manifest import ManifestEntry, check_entry_path
from ..progress import Progress, ProgressSink
from ..storage import ObjectInfo, storage_for
from ..storage.location import parse_uri

__all__ = ["media_entry_path", "resolve_media"]

LIST_THRESHOLD = 8  # files in one folder from which one listing beats single lookups
_PINNED = re.compile(r"[?#]")


def media_entry_path(uri: str) -> str:
    """Where a table's media file appears in the artifact: ``media/<scheme>/<bucket>/<key>``."""
    parsed = parse_uri(uri if uri.startswith("file://") else _PINNED.split(uri, maxsplit=1)[0])
    parts = ["media", parsed.scheme, parsed.bucket, parsed.key.lstrip("/")]
    return check_entry_path("/".join(p for p in parts if p))


def _pinned(uri: str) -> bool:
    return not uri.startswith("file://") and bool(_PINNED.search(uri))


def _parent(uri: str) -> str:
    return uri.rsplit("/", 1)[0]


def _lookup_one(uri: str) -> ObjectInfo | None:
    storage = storage_for(uri)
    if _pinned(uri):  # list_objects honours ?versionId= / #generation pins
        try:
            return storage.list_objects(uri)[0]
        except NotFoundError:
            return None
    return storage.stat(uri)


def _list_folder(folder: str) -> dict[str, ObjectInfo]:
    try:
        return {info.uri: info for info in storage_for(folder).list_objects(folder)}
    except NotFoundError:
        return {}


def resolve_media(
    uris: Iterable[str], known: Mapping[str, ManifestEntry] | None = None, progress_sink: ProgressSink | None = None
) -> dict[str, ManifestEntry]:
    """Map each media URI to a manifest entry (reusing ``known`` entries keyed by ref).

    Raises NotFoundError naming the first missing files when any URI points
    at nothing.
    """
    known = known or {}
    todo = [u for u in dict.fromkeys(uris) if u not in known]
    found: dict[str, ObjectInfo] = {}
    by_folder: dict[str, list[str]] = defaultdict(list)
    for uri in todo:
        if not _pinned(uri) and not uri.startswith("file://"):
            by_folder[_parent(uri)].append(uri)
    with Progress("resolving media", len(todo), progress_sink) as bar, ThreadPoolExecutor(16) as pool:
        big = [folder for folder, members in by_folder.items() if len(members) >= LIST_THRESHOLD]
        for folder, listing in zip(big, pool.map(_list_folder, big), strict=True):
            for uri in by_folder[folder]:
                if uri in listing:
                    found[uri] = listing[uri]
            bar.advance(len(by_folder[folder]))
        grouped = {u for folder in big for u in by_folder[folder]}
        singles = [u for u in todo if u not in grouped]
        leftovers = [u for u in grouped if u not in found]  # listed folder lacked them: look up to be sure
        for uri, info in zip(singles + leftovers, pool.map(_lookup_one, singles + leftovers), strict=True):
            if info is not None:
                found[uri] = info
            if uri in singles:
                bar.advance()
    missing = [u for u in todo if u not in found]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise NotFoundError(
            f"{len(missing)} media file(s) named in the table do not exist: {shown}; fix the paths or upload the files."
        )
    out = dict(known)
    for uri, info in found.items():
        out[uri] = ManifestEntry(
            media_entry_path(uri), info.digest, info.size, info.uri, info.version, dict(info.extra)
        )
    return {u: out[u] for u in dict.fromkeys(uris)}
