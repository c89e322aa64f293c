"""The Content-Type a browser gets for an entry: the one table of MIME types by file suffix.

Media suffixes come from the cell kinds (:func:`shanty.tables.cells.media_types`,
so a registered kind brings its types); the documents an artifact commonly
holds are added here. Browsers need these exact types, and ``mimetypes``
differs between platforms (``audio/x-wav``, no ``webm``...), so it is only
the last resort.
"""

from __future__ import annotations

import mimetypes
import posixpath
import re

from ..manifest import ManifestEntry
from ..tables.cells import kind_for_media_type, media_types

__all__ = ["cell_kind_of", "content_type_for", "type_for_suffix"]

_DOCUMENT_TYPES = {
    ".json": "application/json",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".parquet": "application/vnd.apache.parquet",
}
# Stores' defaults that say nothing about the content (S3, google-cloud-storage uploads, unknown).
_GENERIC_TYPES = {"application/octet-stream", "binary/octet-stream", "text/plain", ""}
_MIME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")


def type_for_suffix(suffix: str) -> str | None:
    """The MIME type of files ending in ``suffix`` (``".WAV"`` -> ``"audio/wav"``), None if unknown."""
    suffix = suffix.lower()
    return media_types().get(suffix) or _DOCUMENT_TYPES.get(suffix) or mimetypes.guess_type(f"x{suffix}")[0]


def content_type_for(entry: ManifestEntry) -> str:
    """The entry's stored content type (parameters dropped), unless it is generic or malformed and the
    file suffix says more; ``application/octet-stream`` when nothing is known. Never contains header syntax."""
    stored = str(entry.extra.get("content_type") or "").split(";", 1)[0].strip().lower()
    stored = stored if _MIME.match(stored) else ""  # never let a stored value inject header syntax
    guessed = type_for_suffix(posixpath.splitext(entry.path)[1])
    if stored and (stored not in _GENERIC_TYPES or not guessed):
        return stored
    return guessed or "application/octet-stream"


def cell_kind_of(entry: ManifestEntry) -> str | None:
    """The cell kind (``"audio"``, ``"image"``...) a browser would play this entry as, by its content
    type; None for files no registered kind shows (documents, tables)."""
    return kind_for_media_type(content_type_for(entry))
