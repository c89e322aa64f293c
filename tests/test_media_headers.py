"""The HTTP rules of the media route, as tables: the Content-Type of an entry, and the byte range a
Range header asks for (one range, suffix and open ranges; anything else is ignored, never an error)."""

from __future__ import annotations

import pytest

from shanty.errors import RangeNotSatisfiableError
from shanty.manifest import ManifestEntry
from shanty.media.content_types import content_type_for
from shanty.media.relay import parse_range


@pytest.mark.parametrize(
    ("path", "extra", "expected"),
    [
        ("a.wav", {}, "audio/wav"),
        ("a.WAV", {}, "audio/wav"),
        ("v.webm", {}, "video/webm"),
        ("i.png", {}, "image/png"),
        ("s.mp3", {}, "audio/mpeg"),
        ("s.flac", {}, "audio/flac"),
        ("v.mp4", {}, "video/mp4"),
        ("i.jpg", {}, "image/jpeg"),
        ("noext", {}, "application/octet-stream"),
        ("a.wav", {"content_type": "audio/x-wav"}, "audio/x-wav"),
        ("a.wav", {"content_type": "binary/octet-stream"}, "audio/wav"),  # S3's default says nothing
        ("a.wav", {"content_type": "text/plain"}, "audio/wav"),  # google-cloud-storage's upload default
        ("blob", {"content_type": "audio/ogg; codecs=opus"}, "audio/ogg"),
        ("a.wav", {"content_type": "audio/wav\r\nSet-Cookie: x=1"}, "audio/wav"),
        ("blob", {"content_type": "not a type"}, "application/octet-stream"),
    ],
)
def test_content_type_for(path: str, extra: dict, expected: str) -> None:
    assert content_type_for(ManifestEntry(path, "d", 1, extra=extra)) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("bytes=0-9", (0, 10)),
        ("bytes=0-0", (0, 1)),
        ("bytes=100-", (100, 1000)),
        ("bytes=-500", (500, 1000)),
        ("bytes=-5000", (0, 1000)),
        ("bytes=990-5000", (990, 1000)),
        ("BYTES = 5 - 9", (5, 10)),
        ("bytes=9-5", None),  # invalid: ignored, the whole file is sent
        ("bytes=0-1,5-6", None),  # multi-range: ignored
        ("bytes=-", None),
        ("bytes=a-b", None),
        ("bytes=²-", None),
        ("items=0-9", None),
        ("bytes 0-9", None),
        ("bytes=" + "9" * 5000 + "-", None),  # thousands of digits: malformed, ignored, never an error
        ("bytes=-" + "1" * 4400, None),
        ("bytes=0-" + "9" * 19, (0, 1000)),
    ],
)
def test_parse_range(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [("bytes=1000-", 1000), ("bytes=1000-2000", 1000), ("bytes=-0", 1000), ("bytes=0-", 0), ("bytes=-5", 0)],
)
def test_parse_range_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiableError) as info:
        parse_range(header, size)
    assert info.value.size == size
