"""Media cell types: ``Audio``, ``Image`` and ``Video`` by reference.

A media cell names a file by URI (``gs://``, ``s3://``, ``file://``,
``http(s)://`` or a local path) and keeps every descriptive field, unlike
W&B, which drops some of them for references. When the table is added to an
artifact, each cell is bound to a manifest entry (``entry``), which pins the
object version and digest: the table always plays the exact bytes logged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from ..errors import InvalidInputError
from ..storage.location import to_uri

__all__ = ["MEDIA_KINDS", "MEDIA_STRUCT", "Audio", "Image", "Media", "Video", "media_from_cell"]

# One struct type for every media kind, so joins and unions of tables line up;
# the kind of each column is kept in the Parquet schema metadata.
MEDIA_STRUCT = pa.struct(
    [
        ("uri", pa.string()),
        ("entry", pa.string()),
        ("caption", pa.string()),
        ("sample_rate", pa.int64()),
        ("fps", pa.float64()),
        ("format", pa.string()),
    ]
)


def _uri(path: Any, kind: str) -> str:
    if type(path) is str and "://" in path[:12]:  # fast path: tables build millions of cells
        return path
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidInputError(
            f"shanty.{kind} takes a path or URI (gs://, s3://, file://, https:// or a local path), not {type(path).__name__}; "
            "write raw arrays to a file first."
        )
    return to_uri(path)


@dataclass(frozen=True)
class Media:
    """Base of the media cell types; ``entry`` is set once the table is logged."""

    kind: ClassVar[str] = "media"
    path: str
    caption: str | None = None
    entry: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", _uri(self.path, type(self).__name__))
        if self.caption is not None and not isinstance(self.caption, str):
            object.__setattr__(self, "caption", str(self.caption))

    @property
    def uri(self) -> str:
        return self.path

    def to_cell(self) -> dict[str, Any]:
        """The Parquet struct value of this cell."""
        return {
            "uri": self.path,
            "entry": self.entry,
            "caption": self.caption,
            "sample_rate": None,
            "fps": None,
            "format": None,
        }


@dataclass(frozen=True)
class Audio(Media):
    """An audio file. ``sample_rate`` (Hz) is kept as given (W&B's argument order)."""

    kind: ClassVar[str] = "audio"
    sample_rate: int | None = None

    def __init__(self, path: Any, sample_rate: int | None = None, caption: str | None = None, entry: str | None = None):
        object.__setattr__(self, "sample_rate", None if sample_rate is None else int(sample_rate))
        super().__init__(path, caption, entry)

    def to_cell(self) -> dict[str, Any]:
        return {**super().to_cell(), "sample_rate": self.sample_rate}


@dataclass(frozen=True)
class Image(Media):
    """An image file."""

    kind: ClassVar[str] = "image"

    def __init__(self, path: Any, caption: str | None = None, entry: str | None = None):
        super().__init__(path, caption, entry)


@dataclass(frozen=True)
class Video(Media):
    """A video file; ``format`` is e.g. ``webm`` or ``mp4`` (guessed from the name when omitted)."""

    kind: ClassVar[str] = "video"
    fps: float | None = None
    format: str | None = None

    def __init__(
        self,
        path: Any,
        fps: float | None = None,
        format: str | None = None,
        caption: str | None = None,
        entry: str | None = None,
    ):
        object.__setattr__(self, "fps", None if fps is None else float(fps))
        super().__init__(path, caption, entry)
        guessed = os.path.splitext(self.path)[1].lstrip(".").lower() or None
        object.__setattr__(self, "format", format or guessed)

    def to_cell(self) -> dict[str, Any]:
        return {**super().to_cell(), "fps": self.fps, "format": self.format}


MEDIA_KINDS: dict[str, type[Media]] = {"audio": Audio, "image": Image, "video": Video}


def media_from_cell(kind: str, cell: dict[str, Any] | None) -> Media | None:
    """Rebuild a media object from its Parquet struct value (None stays None)."""
    if cell is None or cell.get("uri") is None:
        return None
    if kind == "audio":
        return Audio(cell["uri"], cell.get("sample_rate"), cell.get("caption"), cell.get("entry"))
    if kind == "image":
        return Image(cell["uri"], cell.get("caption"), cell.get("entry"))
    if kind == "video":
        return Video(cell["uri"], cell.get("fps"), cell.get("format"), cell.get("caption"), cell.get("entry"))
    raise InvalidInputError(f"Unknown media kind {kind!r}; expected audio, image or video.")
