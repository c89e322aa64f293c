"""Media cells by reference (or W&B's in-memory media, encoded), and the registry of cell kinds.

A media cell names a file by URI (``gs://``, ``s3://``, ``file://``,
``http(s)://`` or a local path) and keeps every descriptive field, unlike
W&B, which drops some of them for references. When the table is added to an
artifact, each cell is bound to a manifest entry (``entry``), which pins the
object version and digest: the table always plays the exact bytes logged.

Every cell kind is one subclass of :class:`Media`, registered by declaring it::

    class Audio(Media, kind="audio", wandb_type="audio-file", previews=("waveform", "spectrogram"),
                media_types={".wav": "audio/wav", ...}):
        sample_rate: int | None = cell_field(pa.int64(), int)

``wandb_type`` is W&B's ``_type`` in ``*.table.json``; ``media_types`` maps
file suffixes to the MIME types browsers need (and recognises a bare file as
this kind); ``previews`` names the extra URLs the dashboard signs per cell.
Fields made with :func:`cell_field` are the kind's own: the constructor takes
``(data_or_path, *own fields, caption, entry)`` in declaration order (W&B's
argument order), or the order a ``signature=`` class keyword gives (which may
add constructor-only options, as ``Image``'s ``mode``), and the Parquet struct
is ``uri, entry, caption`` plus the own fields of every registered kind. A
kind that takes W&B's in-memory data (arrays, PIL images, bytes) overrides
``_from_data``; such data is encoded once, content-addressed, and its cell
names it ``encoded://<md5><suffix>`` (see :mod:`shanty.tables.encode`). One struct serves every kind so that joins and
unions of tables line up; the kind of each column is kept in the Parquet
schema metadata (see :mod:`shanty.tables.schema`). The browser side of a kind
is one renderer file in ``dashboard/widgets/media_table/renderers/``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import pyarrow as pa

from ..errors import InvalidInputError
from ..storage.location import to_uri
from . import encode
from .annotations import normalise_boxes, normalise_classes, normalise_masks

__all__ = [
    "COMMON_FIELDS",
    "Audio",
    "CellKind",
    "Image",
    "Media",
    "Video",
    "cell_field",
    "cell_kind",
    "kind_for_media_type",
    "kind_for_path",
    "kind_for_wandb_type",
    "kinds",
    "media_from_cell",
    "media_struct",
    "media_types",
]

# Struct fields every kind has, first in the struct, in this order (the stored file format).
COMMON_FIELDS: tuple[tuple[str, pa.DataType], ...] = (
    ("uri", pa.string()),
    ("entry", pa.string()),
    ("caption", pa.string()),
)
_RESERVED = {"uri", "path", "entry", "caption", "kind", "self"}
_FIELD_KEY = "shanty.cell_field"  # where cell_field() leaves its spec in the dataclass field metadata
_KIND_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # also a JS property name and a JSON key


@dataclass(frozen=True)
class _FieldSpec:
    arrow_type: pa.DataType
    convert: Callable[[Any], Any]


def cell_field(arrow_type: pa.DataType, convert: Callable[[Any], Any]) -> Any:
    """Declare a kind's own field: stored as ``arrow_type`` in the media struct, ``convert`` applied
    to every non-None value given to the constructor (e.g. ``int``). The default is always None:
    a cell may leave any field empty."""
    return field(default=None, metadata={_FIELD_KEY: _FieldSpec(arrow_type, convert)})


def _uri(path: Any, kind: str) -> str:
    if type(path) is str and "://" in path[:12]:  # fast path: tables build millions of cells
        return path
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidInputError(
            f"shanty.{kind} takes a path or URI (gs://, s3://, file://, https:// or a local path), not {type(path).__name__}."
        )
    return to_uri(path)


def _data(cls: type[Media], data: Any, options: dict[str, Any]) -> tuple[Any, Mapping[str, Any]]:
    """``(data, {})`` when ``data`` is a path, else the URI of the file the kind encodes it to and the own
    fields the encoding decided (a video's fps). Only reached for arguments that are not a str, so path
    cells never come here."""
    if isinstance(data, os.PathLike):
        return data, {}
    made = cls._from_data(data, options)
    return made if isinstance(made, tuple) else (made, {})


def _make_init(cls: type, own: Sequence[tuple[str, Callable[[Any], Any]]]) -> Callable[..., None]:
    """The constructor ``(self, data_or_path, *cls._params)`` of a kind (every parameter after the first
    defaults to None).

    Written out per kind and compiled, as dataclasses does: tables build
    millions of cells, and a generic loop over arguments made that 1.7x slower.
    Field names are identifiers (they come from class annotations). A first
    argument that is not a str (a PathLike, an array, bytes...) goes through
    :func:`_data`, off the path of str cells.
    """
    names = [name for name, _ in own]
    options = [n for n in cls._params if n not in ("entry", *names)]  # caption and constructor-only ones
    lines = [f"def __init__(self, data_or_path, {', '.join(f'{n}=None' for n in cls._params)}):"]
    lines += [
        "    if type(data_or_path) is not str:",
        f"        data_or_path, _made = _data(_cls, data_or_path, {{{', '.join(f'{n!r}: {n}' for n in [*names, *options])}}})",
    ]
    lines += [f"        {n} = _made.get({n!r}, {n})" for n in names]
    lines += [f"    _set(self, {n!r}, None if {n} is None else _convert_{n}({n}))" for n in names]
    lines += [
        f"    _set(self, 'path', _uri(data_or_path, {cls.__name__!r}))",
        "    _set(self, 'caption', caption if caption is None or isinstance(caption, str) else str(caption))",
        "    _set(self, 'entry', entry)",
    ]
    if cls.__post_init__ is not Media.__post_init__:  # a call per cell only for kinds that need it
        lines.append("    self.__post_init__()")
    namespace: dict[str, Any] = {"_set": object.__setattr__, "_uri": _uri, "_data": _data, "_cls": cls}
    namespace.update({f"_convert_{n}": convert for n, convert in own})  # frozen: the constructor is the writer
    exec("\n".join(lines), namespace)  # the source above holds only identifiers and repr()s
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


@dataclass(frozen=True)
class CellKind:
    """What shanty knows of one registered cell kind (read-only; made by declaring a Media subclass)."""

    name: str
    media_class: type[Media]
    fields: tuple[tuple[str, pa.DataType], ...]  # the kind's own struct fields, beyond COMMON_FIELDS
    wandb_type: str
    media_types: Mapping[str, str]  # file suffix (".wav") -> MIME type ("audio/wav")
    previews: tuple[str, ...]


_KINDS: dict[str, CellKind] = {}
_STRUCT: list[pa.StructType] = []  # cache of media_struct(), emptied by each registration


@dataclass(frozen=True, init=False)
class Media:
    """Base of the media cell kinds; ``entry`` is set once the table is logged.

    Subclass it with class keywords to register a kind (see the module
    docstring). Do not decorate subclasses with ``@dataclass``: declaring the
    class already makes it a frozen dataclass with shanty's constructor.
    """

    kind: ClassVar[str] = "media"
    _params: ClassVar[tuple[str, ...]] = ("caption", "entry")  # constructor arguments after path, in order
    path: str
    caption: str | None = None
    entry: str | None = field(default=None, compare=False)

    def __init_subclass__(
        cls,
        /,
        kind: str | None = None,
        wandb_type: str | None = None,
        media_types: Mapping[str, str] | None = None,
        previews: tuple[str, ...] = (),
        signature: tuple[str, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        dataclass(frozen=True, init=False)(cls)  # eq/hash/repr over the declared fields, as the base
        own = [f for f in dataclasses.fields(cls) if _FIELD_KEY in f.metadata]
        reserved = next((f.name for f in own if f.name in _RESERVED), None)
        if reserved is not None:
            raise InvalidInputError(f"{cls.__name__} cannot declare the field {reserved!r}: every kind has it.")
        cls._params = (*_signature(cls, [f.name for f in own], signature), "entry")
        cls.__init__ = _make_init(cls, [(f.name, f.metadata[_FIELD_KEY].convert) for f in own])  # type: ignore[method-assign]
        if kind is not None:
            cls.kind = kind
            fields = tuple((f.name, f.metadata[_FIELD_KEY].arrow_type) for f in own)
            _register(CellKind(kind, cls, fields, wandb_type or f"{kind}-file", dict(media_types or {}), previews))

    def __post_init__(self) -> None:
        """Hook for a kind to derive fields once the constructor has set them (see :class:`Video`)."""

    @classmethod
    def _from_data(cls, data: Any, options: Mapping[str, Any]) -> str | tuple[str, Mapping[str, Any]]:
        """The URI of a file holding in-memory ``data`` (an array, bytes...), given the constructor's other
        arguments (optionally with own fields the encoding decided, as ``(uri, {field: value})``); a kind
        that takes such data overrides it. Here: InvalidInputError."""
        raise InvalidInputError(
            f"shanty.{cls.__name__} takes a path or URI (gs://, s3://, file://, https:// or a local path), "
            f"not {type(data).__name__}; write the data to a file first."
        )

    @property
    def uri(self) -> str:
        """The media file's URI (``path`` once normalised)."""
        return self.path

    @classmethod
    def from_cell(cls, cell: Mapping[str, Any]) -> Media:
        """Build a cell of this kind from a struct value or JSON object (``uri`` plus any fields;
        unknown keys are ignored, missing ones are None)."""
        return cls(cell["uri"], *[cell.get(name) for name in cls._params])

    def to_cell(self) -> dict[str, Any]:
        """The Parquet struct value of this cell: every field of :func:`media_struct`, None where
        this kind has no such field."""
        return {name: self.path if name == "uri" else getattr(self, name, None) for name in media_struct().names}


Media.__init__ = _make_init(Media, ())  # type: ignore[method-assign]  # (self, data_or_path, caption=None, entry=None)


def _signature(cls: type, own: list[str], signature: tuple[str, ...] | None) -> tuple[str, ...]:
    """The constructor's parameters after the first, entry aside: ``signature`` when the kind gives one
    (W&B's order; it must hold every own field and caption, and may add constructor-only options), else
    the own fields then caption."""
    if signature is None:
        return (*own, "caption")
    missing = [n for n in (*own, "caption") if n not in signature]
    bad = [n for n in signature if not n.isidentifier() or n in ("entry", "path", "self", "data_or_path")]
    if missing or bad or len(set(signature)) != len(signature):
        raise InvalidInputError(
            f"{cls.__name__}'s signature must list each own field and caption once, and not "
            f"{', '.join(bad) or 'entry or path'} ({', '.join(missing) or 'nothing'} missing)."
        )
    return tuple(signature)


def _register(spec: CellKind) -> None:
    """Add a kind, refusing clashes with the kinds already registered."""
    if not _KIND_NAME.match(spec.name):
        raise InvalidInputError(f"Cell kind name {spec.name!r} must be lowercase letters, digits and _.")
    existing = _KINDS.get(spec.name)
    if existing is not None and not _same_class(existing, spec):
        raise InvalidInputError(
            f"The cell kind {spec.name!r} is already registered by {existing.media_class.__qualname__}."
        )
    others = [k for k in _KINDS.values() if k.name != spec.name]
    for name, arrow_type in spec.fields:
        clash = next((k for k in others for n, t in k.fields if n == name and t != arrow_type), None)
        if clash is not None:
            raise InvalidInputError(
                f"Cell kind {spec.name!r} declares {name!r} with another type than kind {clash.name!r}; "
                "kinds share one struct, so a shared field name needs one type."
            )
    for other in others:
        if other.wandb_type == spec.wandb_type:
            raise InvalidInputError(f"W&B type {spec.wandb_type!r} already belongs to cell kind {other.name!r}.")
        shared = set(other.media_types).intersection(s.lower() for s in spec.media_types)
        if shared:
            raise InvalidInputError(f"Suffix {sorted(shared)[0]!r} already belongs to cell kind {other.name!r}.")
    if any(not s.startswith(".") for s in spec.media_types):
        raise InvalidInputError(f"Cell kind {spec.name!r}: media_types keys are file suffixes such as '.wav'.")
    types = MappingProxyType({s.lower(): t for s, t in spec.media_types.items()})
    _KINDS[spec.name] = dataclasses.replace(spec, media_types=types, previews=tuple(spec.previews))
    _STRUCT.clear()


def _same_class(registered: CellKind, spec: CellKind) -> bool:
    # Re-declaring a kind from the same place (a module reload) replaces it rather than clashing.
    a, b = registered.media_class, spec.media_class
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def kinds() -> tuple[CellKind, ...]:
    """Every registered kind, in registration order (the built-ins first: audio, image, video)."""
    return tuple(_KINDS.values())


def cell_kind(name: str) -> CellKind:
    """The registered kind ``name``; InvalidInputError naming the known kinds when there is none."""
    try:
        return _KINDS[name]
    except (KeyError, TypeError):
        known = ", ".join(_KINDS)
        raise InvalidInputError(f"Unknown media kind {name!r}; expected one of {known}.") from None


def kind_for_wandb_type(wandb_type: Any) -> str | None:
    """The kind whose W&B ``_type`` is ``wandb_type`` (``"audio-file"`` -> ``"audio"``), else None."""
    return next((k.name for k in _KINDS.values() if k.wandb_type == wandb_type), None)


def kind_for_path(path: str | os.PathLike[str]) -> str | None:
    """The kind a file is by its suffix (``x/song.WAV`` -> ``"audio"``), else None.

    Takes a path, entry path or URI without a query string; only the suffix is read.
    """
    suffix = posixpath.splitext(os.fspath(path))[1].lower()
    return next((k.name for k in _KINDS.values() if suffix in k.media_types), None) if suffix else None


def kind_for_media_type(mime: str) -> str | None:
    """The kind a MIME type is: the kind declaring it exactly, else the only kind whose declared types
    share its major type (``audio/x-wav`` -> ``"audio"``); None when no kind (or several) match."""
    mime = mime.split(";", 1)[0].strip().lower()
    exact = next((k.name for k in _KINDS.values() if mime in k.media_types.values()), None)
    if exact is not None or "/" not in mime:
        return exact
    major = mime.split("/", 1)[0] + "/"
    by_major = [k.name for k in _KINDS.values() if any(t.startswith(major) for t in k.media_types.values())]
    return by_major[0] if len(by_major) == 1 else None


def media_types() -> dict[str, str]:
    """File suffix -> MIME type over every registered kind (``".wav": "audio/wav"``...)."""
    return {suffix: mime for k in _KINDS.values() for suffix, mime in k.media_types.items()}


def media_struct() -> pa.StructType:
    """The one Parquet struct of media cells: COMMON_FIELDS, then each kind's own fields in
    registration order (a field shared by several kinds appears once)."""
    if not _STRUCT:
        fields = dict(COMMON_FIELDS)
        for k in _KINDS.values():
            for name, arrow_type in k.fields:
                fields.setdefault(name, arrow_type)
        _STRUCT.append(pa.struct(list(fields.items())))
    return _STRUCT[0]


def media_from_cell(kind: str, cell: Mapping[str, Any] | None) -> Media | None:
    """Rebuild a media object of ``kind`` from its Parquet struct value (None, or no uri, gives None).

    Raises InvalidInputError for an unregistered kind.
    """
    if cell is None or cell.get("uri") is None:
        return None
    return cell_kind(kind).media_class.from_cell(cell)


def __getattr__(name: str) -> Any:
    # MEDIA_STRUCT was a constant; it now follows the registry, so it is computed when asked for.
    if name == "MEDIA_STRUCT":
        return media_struct()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- the built-in kinds (registration order is the struct's field order: keep it) ----------------
_AUDIO_TYPES = {".wav": "audio/wav", ".wave": "audio/wav", ".mp3": "audio/mpeg", ".flac": "audio/flac"}
_AUDIO_TYPES |= {".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg", ".m4a": "audio/mp4"}
_AUDIO_TYPES |= {".aac": "audio/aac"}
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif"}
_IMAGE_TYPES |= {".webp": "image/webp", ".avif": "image/avif", ".svg": "image/svg+xml"}
_VIDEO_TYPES = {".webm": "video/webm", ".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime"}
_VIDEO_TYPES |= {".ogv": "video/ogg"}


class Audio(
    Media, kind="audio", wandb_type="audio-file", media_types=_AUDIO_TYPES, previews=("waveform", "spectrogram")
):
    """An audio file, or W&B's in-memory audio: ``Audio(samples, sample_rate=...)`` with a numpy array
    (float in [-1, 1] or int16; ``(samples,)`` or ``(samples, channels)``) is written as 16-bit WAV, and
    bytes of an audio file are kept as they are (see :mod:`shanty.tables.encode`). ``sample_rate`` (Hz)
    is kept as given (W&B's argument order)."""

    sample_rate: int | None = cell_field(pa.int64(), int)

    @classmethod
    def _from_data(cls, data: Any, options: Mapping[str, Any]) -> str:
        return encode.audio_file(data, options["sample_rate"])


class Image(
    Media,
    kind="image",
    wandb_type="image-file",
    media_types=_IMAGE_TYPES,
    signature=("mode", "caption", "grouping", "classes", "boxes", "masks", "file_type", "normalize"),
):
    """An image file, or W&B's in-memory image (a numpy array, a PIL image or bytes; arrays and PIL images
    become PNG, see :mod:`shanty.tables.encode`), with W&B's annotations.

    The arguments are ``wandb.Image``'s: ``mode`` (the PIL mode for an
    array), ``file_type`` (png, jpg, webp, gif) and ``normalize`` (False: no
    scaling of float pixels) apply to in-memory data only; ``grouping`` is
    accepted and not kept. ``boxes``, ``masks`` and ``classes`` take W&B's
    layouts and a :class:`~shanty.tables.annotations.Classes`; they are kept
    as canonical JSON text (see :mod:`shanty.tables.annotations`) and read
    back parsed with :meth:`annotations`.
    """

    classes: str | None = cell_field(pa.string(), normalise_classes)
    boxes: str | None = cell_field(pa.string(), normalise_boxes)
    masks: str | None = cell_field(pa.string(), normalise_masks)

    @classmethod
    def _from_data(cls, data: Any, options: Mapping[str, Any]) -> str:
        if isinstance(data, Image):  # W&B's Image(other_image): the picture, not its annotations
            return data.path
        return encode.image_file(data, options["mode"], options["normalize"], options["file_type"])

    def annotations(self) -> dict[str, Any]:
        """``{"boxes": ..., "masks": ..., "classes": ...}`` parsed from the cell (None where not given)."""
        texts = {"boxes": self.boxes, "masks": self.masks, "classes": self.classes}
        return {name: None if text is None else json.loads(text) for name, text in texts.items()}


class Video(Media, kind="video", wandb_type="video-file", media_types=_VIDEO_TYPES, previews=("poster",)):
    """A video file, or W&B's in-memory video: ``Video(frames, fps=4, format="webm")`` with a numpy array
    ``(time, channels, height, width)`` encoded as webm (VP8), mp4 (H.264) or gif, or bytes of a video
    file (see :mod:`shanty.tables.encode`). ``format`` is e.g. ``webm`` or ``mp4`` (guessed from the
    name when omitted)."""

    fps: float | None = cell_field(pa.float64(), float)
    format: str | None = cell_field(pa.string(), str)

    @classmethod
    def _from_data(cls, data: Any, options: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
        fps = options["fps"] if options["fps"] is not None else (4 if hasattr(data, "ndim") else None)  # W&B's
        return encode.video_file(data, fps, options["format"]), {"fps": fps}

    def __post_init__(self) -> None:
        if not self.format:
            guessed = os.path.splitext(self.path)[1].lstrip(".").lower() or None
            object.__setattr__(self, "format", guessed)
