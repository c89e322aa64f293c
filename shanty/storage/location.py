"""Storage locations: a URI parsed once into scheme, bucket, key and pinned object version.

A bare local path is treated as ``file://`` + its absolute form. File URIs are
not percent-decoded: W&B writes them raw (``file:///a dir/x.wav``), and
decoding would corrupt names that contain a literal ``%``.

How a URI names one object version (its *pin*) belongs to the scheme's
backend, which registers a :class:`PinSyntax` with
:func:`shanty.storage.register_scheme`: S3 writes ``?versionId=V`` (as the AWS
CLI and W&B do), GCS ``#<generation>`` (as gsutil does). Schemes without pins
(``file://``, whose names may contain ``?`` and ``#``; web URLs, whose query is
part of the address) never parse one.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote

from ..errors import InvalidInputError

__all__ = [
    "NO_PINS",
    "WEB_URL",
    "FragmentPin",
    "Location",
    "PinSyntax",
    "QueryPin",
    "join_uri",
    "parse_location",
    "register_pins",
    "to_uri",
]

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


class PinSyntax:
    """How one scheme writes an object version into a key. This base writes none: keys are taken whole."""

    def split(self, key: str) -> tuple[str, str | None]:
        """``(key without the pin, pinned version or None)``."""
        return key, None

    def join(self, key: str, version: str, uri: str) -> str:
        """``key`` with ``version`` pinned; InvalidInputError (naming ``uri``) for a scheme without pins."""
        raise InvalidInputError(f"{uri} cannot name an object version: its store keeps none.")

    def path(self, key: str) -> str:
        """The key as a POSIX path, for entry names (the pin is already split off)."""
        return key


class QueryPin(PinSyntax):
    """A version as the last query parameter ``?<name>=<percent-encoded version>`` (S3's ``?versionId=``)."""

    def __init__(self, name: str):
        self.name = name
        self._pattern = re.compile(rf"^(?P<key>.*)\?{re.escape(name)}=(?P<version>[^&#?/]+)$")

    def split(self, key: str) -> tuple[str, str | None]:
        """See :meth:`PinSyntax.split`; the version is percent-decoded."""
        match = self._pattern.match(key)
        return (match["key"], unquote(match["version"])) if match else (key, None)

    def join(self, key: str, version: str, uri: str) -> str:
        """See :meth:`PinSyntax.join`; the version is percent-encoded."""
        return f"{key}?{self.name}={quote(version, safe='')}"


class FragmentPin(PinSyntax):
    """A numeric version after ``#`` (GCS's ``#<generation>``)."""

    _pattern = re.compile(r"^(.*)#(\d+)$")

    def split(self, key: str) -> tuple[str, str | None]:
        """See :meth:`PinSyntax.split`."""
        match = self._pattern.match(key)
        return (match.group(1), match.group(2)) if match else (key, None)

    def join(self, key: str, version: str, uri: str) -> str:
        """See :meth:`PinSyntax.join`; InvalidInputError for a version that is not a number."""
        if not version.isdigit():
            raise InvalidInputError(f"{version!r} is not a generation (a number) for {uri}.")
        return f"{key}#{version}"


class _WebUrl(PinSyntax):
    """Web URLs have no versions; their query and fragment are not part of the file name."""

    def path(self, key: str) -> str:
        return re.split(r"[?#]", key, maxsplit=1)[0]


NO_PINS = PinSyntax()
WEB_URL = _WebUrl()
_PINS: dict[str, PinSyntax] = {}


def register_pins(scheme: str, syntax: PinSyntax) -> None:
    """Use ``syntax`` for the pins of ``scheme`` URIs (called by ``register_scheme``)."""
    _PINS[scheme] = syntax


@dataclass(frozen=True)
class Location:
    """One storage location: ``scheme``, ``bucket`` (empty for ``file``), ``key`` (the absolute path for
    ``file``; may be empty: a whole bucket) and the pinned ``object_version`` (None: the current object)."""

    scheme: str
    bucket: str
    key: str
    object_version: str | None = None

    @property
    def uri(self) -> str:
        """The URI without any pin: the object's name (what listings report as ``ObjectInfo.uri``)."""
        if self.scheme == "file":
            return "file://" + self.key
        return f"{self.scheme}://{self.bucket}/{self.key}" if self.key else f"{self.scheme}://{self.bucket}"

    @property
    def pinned_uri(self) -> str:
        """The URI with ``object_version`` written in the scheme's pin syntax (``uri`` when unpinned).

        Raises InvalidInputError when the scheme cannot pin versions.
        """
        if self.object_version is None:
            return self.uri
        key = _PINS.get(self.scheme, NO_PINS).join(self.key, self.object_version, self.uri)
        return replace(self, key=key, object_version=None).uri

    @property
    def path(self) -> str:
        """The key as a POSIX path (a web URL's query and fragment removed), for naming entries."""
        return _PINS.get(self.scheme, NO_PINS).path(self.key)

    @property
    def name(self) -> str:
        """The last component of :attr:`path` (empty for a bucket or a folder ending in ``/``)."""
        return posixpath.basename(self.path)

    def at(self, object_version: str | None) -> Location:
        """This location at ``object_version``; None keeps the pinned one."""
        return self if object_version is None else replace(self, object_version=object_version)

    def same_object(self, other: Location) -> bool:
        """Whether both name the same object or prefix (pins and a trailing ``/`` ignored)."""
        return (self.scheme, self.bucket, self.key.rstrip("/")) == (other.scheme, other.bucket, other.key.rstrip("/"))


def to_uri(location: str | os.PathLike[str]) -> str:
    """``location`` as a URI: URIs unchanged, local paths as absolute ``file://`` URIs.

    Raises InvalidInputError for an empty location.
    """
    text = os.fspath(location)
    if not text:
        raise InvalidInputError("An empty location was given; pass a path or a URI such as s3://bucket/prefix.")
    if _SCHEME.match(text):
        return text
    return "file://" + os.path.abspath(os.path.expanduser(text))


def parse_location(location: str | os.PathLike[str] | Location) -> Location:
    """Parse a URI or local path; the scheme's pin syntax splits off an object version.

    Raises InvalidInputError for a relative ``file://`` URI or a bucket URI without a bucket.
    """
    if isinstance(location, Location):
        return location
    uri = to_uri(location)
    match = _SCHEME.match(uri)
    assert match is not None  # to_uri guarantees a scheme
    scheme = match.group(1).lower()
    rest = uri[match.end() :]
    if scheme == "file":
        if not rest.startswith("/"):
            raise InvalidInputError(f"File URI {uri!r} is not absolute; write it as file:///absolute/path.")
        return Location("file", "", os.path.normpath(rest) if rest != "/" else "/")
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise InvalidInputError(f"URI {uri!r} names no bucket; write it as {scheme}://bucket/prefix.")
    key, version = _PINS.get(scheme, NO_PINS).split(key)
    return Location(scheme, bucket, key, version)


def join_uri(base: str, *parts: str) -> str:
    """``base`` with key ``parts`` appended, joined by single slashes (empty parts skipped)."""
    out = base.rstrip("/")
    for part in parts:
        part = part.strip("/")
        if part:
            out = f"{out}/{part}"
    return out
