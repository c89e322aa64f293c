"""Parsing and joining of storage URIs (``file://``, ``s3://``, ``gs://``...).

A bare local path is treated as ``file://`` + its absolute form. File URIs are
not percent-decoded: W&B writes them raw (``file:///a dir/x.wav``), and
decoding would corrupt names that contain a literal ``%``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..errors import InvalidInputError

__all__ = ["ParsedUri", "join_uri", "parse_uri", "to_uri"]

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


@dataclass(frozen=True)
class ParsedUri:
    """A URI split into scheme, bucket (empty for ``file``) and key/path."""

    scheme: str
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        if self.scheme == "file":
            return "file://" + self.key
        return f"{self.scheme}://{self.bucket}/{self.key}" if self.key else f"{self.scheme}://{self.bucket}"


def to_uri(location: str | os.PathLike[str]) -> str:
    """Return ``location`` as a URI; local paths become absolute ``file://`` URIs."""
    text = os.fspath(location)
    if not text:
        raise InvalidInputError("An empty location was given; pass a path or a URI such as s3://bucket/prefix.")
    if _SCHEME.match(text):
        return text
    return "file://" + os.path.abspath(os.path.expanduser(text))


def parse_uri(location: str | os.PathLike[str]) -> ParsedUri:
    """Split a URI or local path. Raises InvalidInputError for malformed ones."""
    uri = to_uri(location)
    match = _SCHEME.match(uri)
    assert match is not None  # to_uri guarantees a scheme
    scheme = match.group(1).lower()
    rest = uri[match.end() :]
    if scheme == "file":
        if not rest.startswith("/"):
            raise InvalidInputError(f"File URI {uri!r} is not absolute; write it as file:///absolute/path.")
        return ParsedUri("file", "", os.path.normpath(rest) if rest != "/" else "/")
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise InvalidInputError(f"URI {uri!r} names no bucket; write it as {scheme}://bucket/prefix.")
    return ParsedUri(scheme, bucket, key)


def join_uri(base: str, *parts: str) -> str:
    """Join key parts onto a URI with single slashes."""
    out = base.rstrip("/")
    for part in parts:
        part = part.strip("/")
        if part:
            out = f"{out}/{part}"
    return out
