"""Values formatted for people: one rule for every view, the CLI and the reports.

Numbers keep a few significant digits and thousands separators, sizes are
binary units, times are shown in the reader's time zone, an empty value is an
em dash, and a local file's URI never shows the whole machine path. The
functions return text only; the data they format stays as it is.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["EMPTY", "format_number", "format_time", "format_uri", "format_value", "human_size"]

EMPTY = "—"  # an em dash: clearly "no value", never mistaken for 0 or an empty string
SIGNIFICANT = 4


def human_size(size: int, signed: bool = False) -> str:
    """``1536`` -> ``1.5 KiB``; with ``signed``, a leading + or -."""
    sign = ("+" if size >= 0 else "-") if signed else ("-" if size < 0 else "")
    value = float(abs(size))
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{sign}{int(value)} {unit}" if unit == "B" else f"{sign}{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_number(value: float | int, significant: int = SIGNIFICANT) -> str:
    """Integers with separators (``96044`` -> ``96,044``); other numbers to ``significant`` digits
    (``2.4285714`` -> ``2.429``, ``0.000123456`` -> ``0.0001235``), separators in large ones,
    scientific notation only past 10^15 or below 10^-6. NaN and infinities are spelled out."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 1e15 or magnitude < 1e-6:
        return f"{value:.{significant - 1}e}"
    decimals = max(0, significant - 1 - math.floor(math.log10(magnitude)))
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _zone(name: str | None) -> dt.tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def format_time(value: str | dt.datetime | dt.date, timezone: str | None = None) -> str:
    """A moment as ``2026-11-27 18:06`` in ``timezone`` (an IANA name, e.g. the browser's), else in UTC
    with the zone named. Dates stay dates; text that is not ISO 8601 is returned as given."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, dt.datetime):
        return value.isoformat()
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    zone = _zone(timezone)
    if zone is None:
        return aware.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return aware.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def format_uri(uri: str | None) -> str:
    """A URI as a person wants to read it: bucket URIs as they are; a local file as ``…/<folder>/<name>``
    (the last three parts of its path) instead of the whole machine path; None as an em dash."""
    if not uri:
        return EMPTY
    if not uri.startswith("file://"):
        return uri
    parts = [p for p in uri[len("file://") :].split("/") if p]
    home = [p for p in os.path.expanduser("~").split("/") if p]
    if parts[: len(home)] == home and len(parts) - len(home) <= 3:
        return "~/" + "/".join(parts[len(home) :])
    return ("…/" if len(parts) > 3 else "/") + "/".join(parts[-3:])


def format_value(value: Any, timezone: str | None = None) -> str:
    """Any cell value as text: numbers by :func:`format_number`, moments by :func:`format_time`,
    None (and NaN) as an em dash, media cells by their entry path (else URI), lists joined by commas."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return EMPTY
    if isinstance(value, bool | int | float):
        return format_number(value)
    if isinstance(value, dt.datetime | dt.date):
        return format_time(value, timezone)
    if isinstance(value, dt.time):
        return value.isoformat(timespec="seconds")
    if isinstance(value, Mapping) and "uri" in value:
        return str(value.get("entry") or format_uri(value.get("uri")))
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v, timezone) for v in value)
    if isinstance(value, bytes):
        return human_size(len(value)) + " of bytes"
    return str(value)
