"""Turn the media URIs of a table into manifest entries, cheaply.

A table can name thousands of media files. Files that share a folder are
resolved with one listing of that folder (a listing carries every object's
checksum and version) instead of one request per file; the rest are looked
up one by one, in parallel. Only stores whose listings read metadata alone
(buckets) are listed; local files are always looked up one by one, since
listing a folder would hash files the table does not use.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

from ..errors import NotFoundError
from ..manifest import ManifestEntry, check_entry_path
from ..progress import Progress, ProgressSink
from ..storage import ObjectInfo, lists_metadata_only, local_path, parse_location, storage_for

__all__ = ["media_entry_path", "resolve_media"]

LIST_THRESHOLD = 8  # files in one folder from which one listing beats single lookups


def media_entry_path(uri: str) -> str:
    """Where a table's media file appears in the artifact: ``media/<scheme>/<bucket>/<key>`` (a pinned
    version and a web URL's query left out); a local file is ``media/local/<folder>-<hash>/<name>``,
    named by its folder and an 8-digit hash of the folder's path (unique, and no machine path shown
    to whoever reads the artifact). InvalidInputError for a URI no entry path can name."""
    location = parse_location(uri)
    local = local_path(location.uri)
    if local is not None:
        folder = local.parent
        tag = hashlib.sha256(str(folder).encode()).hexdigest()[:8]
        return check_entry_path(f"media/local/{folder.name or 'root'}-{tag}/{local.name}")
    parts = ["media", location.scheme, location.bucket, location.path.lstrip("/")]
    return check_entry_path("/".join(p for p in parts if p))


def _listable(uri: str) -> bool:
    """Whether ``uri`` may be found through a listing of its folder: not pinned, and listed by metadata."""
    return parse_location(uri).object_version is None and lists_metadata_only(uri)


def _parent(uri: str) -> str:
    return uri.rsplit("/", 1)[0]


def _lookup_one(uri: str) -> ObjectInfo | None:
    return storage_for(uri).stat(uri)  # honours ?versionId= / #generation pins


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
        if _listable(uri):
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
            media_entry_path(uri), info.digest, info.size, info.uri, info.object_version, dict(info.extra)
        )
    return {u: out[u] for u in dict.fromkeys(uris)}
