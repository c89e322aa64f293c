"""Measure one media object where it lies: the function every runner (loop, process pool, Ray) calls.

It is a plain top-level function of plain values, so it pickles to worker
processes and Ray tasks unchanged, and it returns JSON-ready values (PNG
bytes as base64), so every runner hands back the very same result. Remote
objects are read by ranged requests at their recorded object version;
a local file is first checked against its recorded digest, since a file
changed after logging must not be measured (and cached) under the old one.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from ..digests import file_matches
from ..media.ranged_file import ReadAt, file_reader, range_reader
from ..storage import local_path, open_range
from .work import MediaObject

__all__ = ["EmbedFn", "embed_key", "measure_object"]

EmbedFn = Callable[[str, bytes], Any]  # (kind, the object's bytes) -> a vector, or None to skip
BYTES_FIELDS = ("spectrogram_png", "poster_png")


def _read_at(obj: MediaObject) -> ReadAt:
    path = local_path(obj.uri)
    if path is not None:
        return file_reader(path, obj.size)
    return range_reader(lambda start, end: open_range(obj.uri, obj.version, start, end, etag=obj.etag), obj.size)


def _unchanged(obj: MediaObject) -> bool:
    """False when a local file no longer holds the bytes its entry recorded (remote reads are pinned)."""
    path = local_path(obj.uri)
    if path is None:
        return True
    try:
        if path.stat().st_size != obj.size:
            return False
        return file_matches(path, obj.digest, {"etag": obj.etag} if obj.etag else None) is not False
    except OSError:
        return False


def _measures(obj: MediaObject, read_at: ReadAt) -> Any:
    if obj.kind == "audio":
        from .audio import measure_audio

        return measure_audio(read_at, obj.size)
    if obj.kind == "image":
        from .image import measure_image

        return measure_image(read_at, obj.size)
    from .video import measure_video

    return measure_video(read_at, obj.size)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"png": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple | list | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def embed_key(embed: EmbedFn | None) -> str:
    """What names a user embedding function in the cache: its qualified name and a hash of its source
    (edit the function and its results are computed afresh)."""
    if embed is None:
        return ""
    name = f"{getattr(embed, '__module__', '')}.{getattr(embed, '__qualname__', type(embed).__name__)}"
    try:
        source = inspect.getsource(embed)
    except (OSError, TypeError):
        source = ""
    return f"{name}:{hashlib.sha256(source.encode()).hexdigest()[:12]}"


def measure_object(obj: MediaObject, embed: EmbedFn | None = None) -> dict[str, Any]:
    """The measured columns of ``obj`` as JSON-ready values (``{"png": base64}`` for images made), or
    ``{"error": sentence}`` when it cannot be read or decoded; never raises for one bad file."""
    try:
        if not _unchanged(obj):
            return {"error": "the file changed after it was logged"}
        read_at = _read_at(obj)
        measures = _measures(obj, read_at)
        if measures is None:
            return {"error": f"not a readable {obj.kind} file"}
        values = {name: _plain(value) for name, value in measures.columns().items()}
        if embed is not None:
            vector = embed(obj.kind, read_at(0, obj.size))
            if vector is not None:
                values["embedding"] = [float(x) for x in np.asarray(vector, dtype=np.float32).ravel()]
        return values
    except Exception as exc:  # one bad object never stops a run of thousands; its row says why
        return {"error": f"{type(exc).__name__}: {exc}"[:300]}
