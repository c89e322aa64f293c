"""Measured columns of one video file: duration, frame rate, size and a poster frame.

:func:`measure_video` reads the container's header with PyAV (the ``media``
extra, imported only here) through
:class:`~shanty.media.ranged_file.RangedFile` (ranged requests, never the
whole object), and takes the poster with
:func:`shanty.media.poster.poster_png` (a frame a tenth of the way in).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ..errors import InvalidInputError
from ..media.audio_decode import FORMATS
from ..media.poster import poster_png
from ..media.ranged_file import RangedFile, ReadAt

__all__ = ["VIDEO_MEASURES", "VideoMeasures", "measure_video"]

# Demuxers PyAV may pick for user bytes (as shanty.media.poster allows): containers, never playlists.
VIDEO_FORMATS = FORMATS + ",gif,image2pipe,mjpeg,h264,hevc,m4v,ivf,yuv4mpegpipe"


@dataclass(frozen=True)
class VideoMeasures:
    """What :func:`measure_video` measures of one video file: the first video stream's duration (s),
    average frame rate, coded width and height, and a poster frame as PNG."""

    duration_s: float
    fps: float
    width: int
    height: int
    poster_png: bytes

    def columns(self) -> dict[str, object]:
        """The plain column values by name, in field order (the poster as bytes)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


VIDEO_MEASURES: tuple[str, ...] = ("duration_s", "fps", "width", "height")  # the scalars; the poster apart


def _av() -> Any:
    try:
        import av
    except ImportError:
        raise InvalidInputError(
            "Measuring videos needs the media extra, which is not installed; run pip install 'shanty[media]'."
        ) from None
    return av


def _header(av: Any, read_at: ReadAt, size: int) -> tuple[float, float, int, int] | None:
    """(duration, fps, width, height) from the container's header, or None without a video stream."""
    reader = RangedFile(read_at, size)
    container = None
    try:
        try:
            container = av.open(reader, mode="r", options={"format_whitelist": VIDEO_FORMATS})
        except (av.FFmpegError, EOFError, ValueError, OSError, UnicodeDecodeError, IndexError):
            return None
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1_000_000  # AV_TIME_BASE
        elif stream.frames and fps:
            duration = stream.frames / fps
        else:
            duration = 0.0
        width, height = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
    finally:
        if container is not None:
            container.close()
        if reader.error is not None:
            raise reader.error
    if width < 1 or height < 1:
        return None
    return round(duration, 6), round(fps, 6), width, height


def measure_video(read_at: ReadAt, size: int) -> VideoMeasures | None:
    """The measures of the video file of ``size`` bytes that ``read_at(offset, length)`` reads, or None
    when it has no video stream that decodes. Raises InvalidInputError when PyAV (the ``media`` extra) is
    not installed; what ``read_at`` raises propagates."""
    av = _av()
    if size <= 0:
        return None
    header = _header(av, read_at, size)
    if header is None:
        return None
    poster = poster_png(read_at, size)
    if poster is None:
        return None
    duration, fps, width, height = header
    return VideoMeasures(duration_s=duration, fps=fps, width=width, height=height, poster_png=poster)
