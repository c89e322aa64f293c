"""The songs table many query tests share: its data, its schema, a ``songs`` fixture writing it, ``where``.

A plugin of tests/conftest.py, so the ``songs`` fixture is everywhere; the file is written with
``tests.kits.tables.write_table`` (pyarrow, not the table model: the file format is tested independently).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from shanty.query.spec import Filter, Query, TableSchema
from tests.kits.tables import write_table

SONGS = {
    "id": [1, 2, 3, 4, 5, 6],
    "title": ["Blue Whale", "blue moon", None, "Red Sky", "x'; DROP TABLE t; --", "Whale song"],
    "score": [0.5, 0.9, None, 0.1, 0.7, 0.5],
    "plays": [10, 3, 7, 10, 0, None],
    "live": [True, False, None, True, False, True],
    "day": [dt.date(2024, 1, 1), dt.date(2024, 2, 1), None, dt.date(2023, 12, 31), dt.date(2024, 3, 1), None],
    "tags": [["sea"], [], None, ["sky", "red"], ["sea"], None],
    "audio": ["s3://b/a/1.wav", "s3://b/a/2.wav", None, "gs://c/4.flac", "s3://b/a/5.wav", "s3://b/b/6.wav"],
    'odd "name"': ["q1", "q2", "q3", "q4", "q5", "q6"],
}
SONGS_MEDIA = {"audio": "audio"}
SCHEMA = {
    "songs": TableSchema(
        {
            "id": "BIGINT",
            "title": "VARCHAR",
            "score": "DOUBLE",
            "plays": "BIGINT",
            "live": "BOOLEAN",
            "day": "DATE",
            "tags": "VARCHAR[]",
            "audio": "STRUCT(uri VARCHAR, entry VARCHAR)",
            'odd "name"': "VARCHAR",
        },
        SONGS_MEDIA,
    )
}


@pytest.fixture
def songs(tmp_path: Path) -> dict[str, Path]:
    """``{"songs": path}`` of the SONGS table written for this test."""
    return {"songs": write_table(tmp_path / "songs.parquet", SONGS, SONGS_MEDIA)}


def where(*filters: Filter, match: str = "all", expression: str | None = None) -> Query:
    """A Query of just these filters and expression."""
    return Query(filters=filters, match=match, expression=expression)
