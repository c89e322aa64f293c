"""Poster frames of video files: one frame, about a tenth of the way in, as RGB pixels or a PNG.

:func:`poster_frame` opens the file with PyAV (the ``demo`` extra, imported
only here) through :class:`~shanty.media.ranged_file.RangedFile`, so a
bucket object is read by ranged requests: the container's header, a seek to
10% of the stated duration (the keyframe before it, decoded up to the first
frame at or after that time, at most ``MAX_DECODED`` frames), else the first
frame when the duration is unknown or the seek fails. The frame is scaled
by FFmpeg (swscale, keeping the display aspect ratio) to at most
``max_width`` pixels wide. :func:`poster_png` encodes it without Pillow.
Both return None for anything without a decodable video stream, never raise
for bad bytes; what ``read_at`` raises propagates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .audio_decode import FORMATS
from .png import png_bytes
from .ranged_file import RangedFile

__all__ = ["MAX_WIDTH", "poster_frame", "poster_png"]

ReadAt = Callable[[int, int], bytes]

MAX_WIDTH = 640
AT = 0.1  # where the poster is taken, as a fraction of the duration
MAX_DECODED = 300  # frames decoded after a seek before taking whatever comes (a sparse keyframe interval)
_VIDEO_FORMATS = FORMATS + ",gif,image2pipe,mjpeg,h264,hevc,m4v,ivf,yuv4mpegpipe"


def _scaled(frame: Any, max_width: int) -> np.ndarray:
    width, height = frame.width, frame.height
    aspect = frame.sample_aspect_ratio if getattr(frame, "sample_aspect_ratio", None) else None
    shown = width * float(aspect) if aspect and float(aspect) > 0 else float(width)  # display width
    out_width = max(2, min(max_width, round(shown)))
    out_height = max(2, round(height * out_width / shown))
    return frame.reformat(width=out_width, height=out_height, format="rgb24").to_ndarray()


def _first_at(av: Any, container: Any, stream: Any, start_s: float | None) -> Any | None:
    """The first frame at or after ``start_s`` (after a seek there), else the first frame of the stream."""
    decoded, fallback = 0, None
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                continue
            for frame in frames:
                fallback = fallback or frame
                decoded += 1
                if start_s is None or frame.time is None or frame.time >= start_s or decoded >= MAX_DECODED:
                    return frame
    except (av.FFmpegError, EOFError, ValueError):
        pass
    return fallback


def poster_frame(read_at: ReadAt, size: int, max_width: int = MAX_WIDTH) -> np.ndarray | None:
    """An (height, width, 3) uint8 RGB frame of the video file ``read_at`` reads (see the module
    docstring), or None when it has no video that decodes (or PyAV is not installed)."""
    try:
        import av  # the `demo` extra; the library runs without it
    except ImportError:
        return None
    reader = RangedFile(read_at, size)
    container = None
    try:
        try:
            container = av.open(reader, mode="r", options={"format_whitelist": _VIDEO_FORMATS})
            stream = container.streams.video[0] if container.streams.video else None
        except (av.FFmpegError, EOFError, ValueError, OSError, UnicodeDecodeError, IndexError):
            return None
        if stream is None:
            return None
        stream.thread_type = "NONE"  # one frame: threads would only add start-up cost
        frame = None
        duration = container.duration / 1_000_000 if container.duration else None  # AV_TIME_BASE
        if duration and stream.time_base:
            try:
                container.seek(int(duration * AT / stream.time_base), stream=stream)
                frame = _first_at(av, container, stream, duration * AT)
            except (av.FFmpegError, ValueError, OverflowError):
                frame = None
        if frame is None and duration:
            try:
                container.seek(0, stream=stream)
            except (av.FFmpegError, ValueError):
                return None
        if frame is None:
            frame = _first_at(av, container, stream, None)
        if frame is None:
            return None
        try:
            return _scaled(frame, max_width)
        except (av.FFmpegError, ValueError):
            return None
    finally:
        if container is not None:
            container.close()
        if reader.error is not None:
            raise reader.error


def poster_png(read_at: ReadAt, size: int, max_width: int = MAX_WIDTH) -> bytes | None:
    """:func:`poster_frame` as RGB PNG bytes (zlib alone, no Pillow), or None."""
    pixels = poster_frame(read_at, size, max_width)
    return None if pixels is None else png_bytes(pixels)
