"""Tables of media: cell kinds, Table / JoinedTable, codecs, and packing tables into artifacts."""

from .annotations import Classes
from .cells import Audio, Image, Media, Video
from .table import JoinedTable, Table

__all__ = ["Audio", "Classes", "Image", "JoinedTable", "Media", "Table", "Video"]
