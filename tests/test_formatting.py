"""Values formatted for people: one table of cases per rule."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from shanty import EMPTY, format_number, format_time, format_uri, format_value, human_size


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (96044, "96,044"),
        (96044.0, "96,044"),
        (-1234567, "-1,234,567"),
        (2.4285714285714284, "2.429"),
        (0.30000000000000004, "0.3"),
        (0.000123456, "0.0001235"),
        (1234567.891, "1,234,568"),
        (-0.5, "-0.5"),
        (1e20, "1.000e+20"),
        (3e-9, "3.000e-09"),
        (float("nan"), "NaN"),
        (float("inf"), "∞"),
        (True, "true"),
    ],
)
def test_format_number(value: float, expected: str) -> None:
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, EMPTY),
        (float("nan"), EMPTY),
        ("flute", "flute"),
        (7, "7"),
        (dt.date(2024, 5, 1), "2024-05-01"),
        (dt.time(12, 30, 5, 123), "12:30:05"),
        ({"uri": "s3://b/k.wav", "entry": "media/s3/b/k.wav"}, "media/s3/b/k.wav"),
        ({"uri": "s3://b/k.wav", "entry": None}, "s3://b/k.wav"),
        ([1, 2.5, None], f"1, 2.5, {EMPTY}"),
    ],
)
def test_format_value(value: object, expected: str) -> None:
    assert format_value(value) == expected


def test_format_time_uses_the_readers_zone() -> None:
    moment = "2026-11-27T18:06:23.123+00:00"
    assert format_time(moment, "Europe/Berlin") == "2026-11-27 19:06"
    assert format_time(moment, "America/New_York") == "2026-11-27 13:06"
    assert format_time(moment) == format_time(moment, "Nowhere/Unknown") == "2026-11-27 18:06 UTC"
    assert format_time("2026-11-27T18:06:23") == "2026-11-27 18:06 UTC"  # naive text is UTC
    assert format_time("not a time") == "not a time"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/a/b.wav", "s3://bucket/a/b.wav"),
        ("gs://bucket/a.wav", "gs://bucket/a.wav"),
        ("file:///work/main/data/media/bucket/whalesong/a.wav", "…/bucket/whalesong/a.wav"),
        ("file:///a/b.wav", "/a/b.wav"),
        (None, EMPTY),
    ],
)
def test_format_uri_never_shows_a_whole_machine_path(uri: str | None, expected: str) -> None:
    assert format_uri(uri) == expected


def test_format_uri_shortens_the_home_folder() -> None:
    home = os.path.expanduser("~")
    assert format_uri(f"file://{home}/songs/a.wav") == "~/songs/a.wav"


@pytest.mark.parametrize(
    ("size", "signed", "expected"),
    [
        (0, False, "0 B"),
        (1536, False, "1.5 KiB"),
        (5 * 2**20, False, "5.0 MiB"),
        (-2048, True, "-2.0 KiB"),
        (10, True, "+10 B"),
    ],
)
def test_human_size(size: int, signed: bool, expected: str) -> None:
    assert human_size(size, signed) == expected
