"""In-memory media (numpy arrays, PIL images, bytes) encoded to files, content-addressed.

``Audio(samples, sample_rate=...)``, ``Image(pixels)``, ``Video(frames, fps=...)``
and mask arrays are encoded here (WAV with the stdlib, PNG with Pillow,
WebM / MP4 / GIF with PyAV) and written once to
``$SHANTY_CACHE/encoded/<md5[:2]>/<md5><ext>``; the cell names it
``encoded://<md5><ext>`` (nothing of this machine's paths reaches the stored
table). The same pixels give the same bytes, hence the same file and, once the
table is packed, the same by-value entry ``media/<kind>/<md5><ext>``. Encoders run bit-exact so that holds for
video too. Pillow and PyAV are the ``media`` extra; asking for them without it
is one sentence naming the extra. Nothing here runs for cells made from a path.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import wave
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..settings import settings

__all__ = [
    "audio_file",
    "encoded_file",
    "encoded_folder",
    "image_file",
    "is_encoded",
    "mask_file",
    "store_encoded",
    "video_file",
]

# A cell of in-memory media names its bytes ``encoded://<md5 hex><suffix>``, not the cache file's path:
# the stored table (hence the version digest) must not depend on where this machine keeps its cache.
ENCODED_PREFIX = "encoded://"
VIDEO_FORMATS = ("webm", "mp4", "gif")
IMAGE_TYPES = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}
# Leading bytes -> suffix, for bytes given instead of a path (the cell's kind says which table to read).
_AUDIO_MAGIC = ((b"RIFF", ".wav"), (b"fLaC", ".flac"), (b"OggS", ".ogg"), (b"ID3", ".mp3"), (b"\xff\xfb", ".mp3"))
_IMAGE_MAGIC = ((b"\x89PNG", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"GIF8", ".gif"), (b"RIFF", ".webp"))
_VIDEO_MAGIC = ((b"\x1a\x45\xdf\xa3", ".webm"), (b"GIF8", ".gif"), (b"OggS", ".ogv"))


def encoded_folder() -> Path:
    """Where encoded media live: ``$SHANTY_CACHE/encoded``."""
    return settings().cache_dir / "encoded"


def store_encoded(data: bytes, suffix: str) -> str:
    """Write ``data`` once to the content-addressed folder (atomically: a temp file renamed into place)
    and return its URI ``encoded://<md5 hex><suffix>`` (see :func:`encoded_file`)."""
    md5 = hashlib.md5(data).hexdigest()
    target = encoded_folder() / md5[:2] / f"{md5}{suffix}"
    if not (target.is_file() and target.stat().st_size == len(data)):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    return f"{ENCODED_PREFIX}{md5}{suffix}"


def is_encoded(uri: str) -> bool:
    """Whether ``uri`` names in-memory media encoded by :func:`store_encoded`."""
    return uri.startswith(ENCODED_PREFIX)


def encoded_file(uri: str) -> Path | None:
    """The cache file holding encoded media ``uri`` on this machine, None when it is not there (or ``uri``
    names no encoded media)."""
    name = uri[len(ENCODED_PREFIX) :] if is_encoded(uri) else ""
    if not name or "/" in name or name.startswith("."):
        return None
    path = encoded_folder() / name[:2] / name
    return path if path.is_file() else None


def _needs(module: str, what: str) -> Any:
    try:
        if module == "PIL":
            from PIL import Image as PILImage

            return PILImage
        import av

        return av
    except ImportError:
        raise InvalidInputError(
            f"{what} needs the media extra, which is not installed; run pip install 'shanty[media]'."
        ) from None


def _read(data: Any) -> bytes | None:
    """Bytes from bytes-like or file-like ``data``, else None."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if hasattr(data, "read"):
        body = data.read()
        return body if isinstance(body, bytes) else None
    return None


def _suffix(body: bytes, magic: tuple[tuple[bytes, str], ...], kind: str, fallback: str | None) -> str:
    found = next((suffix for head, suffix in magic if body.startswith(head)), None)
    if found is None and body[4:8] == b"ftyp":
        found = ".m4a" if kind == "Audio" else ".mp4"
    if found is None and fallback and re.fullmatch(r"\.?[A-Za-z0-9]{1,8}", fallback):
        found = "." + fallback.lower().lstrip(".")
    if found is None:
        raise InvalidInputError(
            f"shanty.{kind} cannot tell the format of these bytes; pass format= or write them to a file first."
        )
    return found


def _unsupported(kind: str, data: Any) -> InvalidInputError:
    return InvalidInputError(
        f"shanty.{kind} takes a path or URI (gs://, s3://, file://, https:// or a local path), a numpy array "
        f"or bytes, not {type(data).__name__}."
    )


# --- audio ------------------------------------------------------------------------------------
def audio_file(data: Any, sample_rate: Any) -> str:
    """The URI of ``data`` as a file: a numpy array of samples becomes 16-bit PCM WAV (float in [-1, 1]
    or int16; mono 1-D or ``(samples, channels)``), bytes of an audio file are kept as they are."""
    body = _read(data)
    if body is not None:
        return store_encoded(body, _suffix(body, _AUDIO_MAGIC, "Audio", None))
    if not isinstance(data, np.ndarray):
        raise _unsupported("Audio", data)
    if sample_rate is None:
        raise InvalidInputError("shanty.Audio needs sample_rate= (in Hz) for an array of samples.")
    if data.ndim not in (1, 2) or data.size == 0:
        raise InvalidInputError(
            f"shanty.Audio takes samples shaped (samples,) or (samples, channels), not {data.shape}."
        )
    if np.issubdtype(data.dtype, np.floating):
        pcm = np.round(np.clip(np.nan_to_num(data), -1.0, 1.0) * 32767).astype("<i2")
    elif data.dtype == np.int16:
        pcm = data.astype("<i2")
    else:
        raise InvalidInputError(
            f"shanty.Audio takes float samples in [-1, 1] or int16 samples, not {data.dtype}; convert them first."
        )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1 if pcm.ndim == 1 else pcm.shape[1])
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes(np.ascontiguousarray(pcm).tobytes())
    return store_encoded(buffer.getvalue(), ".wav")


# --- images -----------------------------------------------------------------------------------
def _to_uint8(pixels: np.ndarray, normalize: bool) -> np.ndarray:
    # W&B's Image.to_uint8: a range reaching below 0 is stretched to 0..1, a range within 0..1 is scaled by 255.
    pixels = np.nan_to_num(pixels.astype(np.float64) if pixels.dtype == bool else pixels)
    if normalize and pixels.size:
        if pixels.min() < 0:
            span = np.ptp(pixels)
            pixels = (pixels - pixels.min()) / (span if span else 1)
        if pixels.max() <= 1.0:
            pixels = pixels * 255
    return np.clip(pixels, 0, 255).astype(np.uint8)


def image_file(data: Any, mode: str | None, normalize: Any, file_type: str | None) -> str:
    """The URI of an image given as a numpy array (HxW, HxWx3, HxWx4; floats in [0, 1] scaled by 255
    unless ``normalize=False``), a PIL image or bytes of an image file; arrays and PIL images become PNG
    (or ``file_type``: jpg, webp, gif)."""
    body = _read(data)
    if body is not None:
        return store_encoded(body, _suffix(body, _IMAGE_MAGIC, "Image", file_type))
    fmt = IMAGE_TYPES.get((file_type or "png").lower().lstrip("."))
    if fmt is None:
        raise InvalidInputError(f"shanty.Image encodes png, jpg, webp or gif, not file_type={file_type!r}.")
    pil = _needs("PIL", "shanty.Image of an in-memory image")
    if isinstance(data, pil.Image):
        picture = data
    elif isinstance(data, np.ndarray) or hasattr(data, "__array__"):
        pixels = np.asarray(data)
        if pixels.ndim > 2:
            pixels = pixels.squeeze()  # W&B drops trivial dimensions as a convenience
        if pixels.ndim != 2 and not (pixels.ndim == 3 and pixels.shape[-1] in (3, 4)):
            raise InvalidInputError(
                f"shanty.Image takes pixels shaped (height, width), (height, width, 3) or (height, width, 4), "
                f"not {tuple(np.asarray(data).shape)}."
            )
        guessed = "L" if pixels.ndim == 2 else ("RGB" if pixels.shape[-1] == 3 else "RGBA")
        picture = pil.fromarray(_to_uint8(pixels, normalize is not False), mode=guessed)
        if mode and mode != guessed:
            picture = picture.convert(mode)
    else:
        raise _unsupported("Image", data)
    if fmt == "JPEG" and picture.mode not in ("L", "RGB"):
        picture = picture.convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt)
    return store_encoded(buffer.getvalue(), "." + ("jpg" if fmt == "JPEG" else fmt.lower()))


def mask_file(mask_data: Any, group: str) -> tuple[str, list[int]]:
    """A segmentation mask (2-D array of class ids, whole numbers 0..255) as a single-channel PNG:
    ``(its URI, the class ids it holds)``."""
    data = np.asarray(mask_data)
    if data.ndim != 2:
        raise InvalidInputError(f"The mask {group!r}: mask_data must be a 2-D array of class ids, not {data.shape}.")
    numeric = data.dtype == bool or np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)
    if not numeric or (data.size and (np.any(data < 0) or np.any(data > 255) or np.any(data != np.round(data)))):
        raise InvalidInputError(
            f"The mask {group!r}: mask_data values must be whole numbers from 0 to 255 (class ids)."
        )
    pil = _needs("PIL", "shanty.Image with mask_data")
    pixels = data.astype(np.uint8)
    buffer = io.BytesIO()
    pil.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return store_encoded(buffer.getvalue(), ".png"), sorted(int(v) for v in np.unique(pixels))


# --- video ------------------------------------------------------------------------------------
_VIDEO_CODECS = {  # format -> (container, encoder, pixel format, encoder options)
    "webm": (
        "webm",
        "libvpx",
        "yuv420p",
        {"deadline": "good", "cpu-used": "4", "threads": "1", "crf": "10", "b": "2M"},
    ),
    "mp4": ("mp4", "libx264", "yuv420p", {"threads": "1", "crf": "18"}),
    "gif": ("gif", "gif", "rgb8", {}),
}


def video_file(data: Any, fps: Any, format: str | None) -> str:
    """The URI of a video given as a numpy array ``(time, channels, height, width)`` (W&B's layout; uint8,
    1 or 3 channels, a 4th is dropped) encoded as ``format`` (webm: VP8, mp4: H.264, gif) at ``fps``
    (default 4, as W&B), or bytes of a video file."""
    body = _read(data)
    if body is not None:
        return store_encoded(body, _suffix(body, _VIDEO_MAGIC, "Video", format))
    if not isinstance(data, np.ndarray):
        raise _unsupported("Video", data)
    name = (format or "webm").lower()
    if name not in _VIDEO_CODECS:
        raise InvalidInputError(f"shanty.Video encodes arrays as {', '.join(VIDEO_FORMATS)}, not format={format!r}.")
    if data.ndim != 4 or data.shape[1] not in (1, 3, 4) or 0 in data.shape:
        raise InvalidInputError(
            f"shanty.Video takes frames shaped (time, channels, height, width) with 1 or 3 channels, not {data.shape}."
        )
    av = _needs("av", "shanty.Video of an array")
    frames = np.transpose(data[:, :3], (0, 2, 3, 1))
    if frames.dtype != np.uint8:
        scale = 255 if np.issubdtype(frames.dtype, np.floating) and frames.max() <= 1.0 else 1
        frames = np.clip(np.nan_to_num(frames) * scale, 0, 255).astype(np.uint8)
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    # yuv420p needs even sides: repeat the last row / column rather than crop a pixel away.
    frames = np.pad(frames, ((0, 0), (0, frames.shape[1] % 2), (0, frames.shape[2] % 2), (0, 0)), mode="edge")
    container_format, codec, pix_fmt, options = _VIDEO_CODECS[name]
    rate = float(fps) if fps else 4.0
    buffer = io.BytesIO()
    # Bit-exact, single-threaded encoders: the same frames give the same bytes, so the file dedupes.
    with av.open(buffer, "w", format=container_format, options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream(codec, rate=Fraction(rate).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        stream.options = dict(options)
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        for index, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return store_encoded(buffer.getvalue(), "." + name)
