"""Tables built column by column (Table.from_pandas / from_arrow with media=): the same stored table as the
per-cell path, no Python object per row, plain errors."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import shanty
from shanty.errors import InvalidInputError, NotFoundError
from shanty.tables.packing import pack_table


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    media = tmp_path / "bucket" / "songs"
    media.mkdir(parents=True)
    for i in range(5):
        (media / f"song_{i}.wav").write_bytes(b"RIFF" + bytes([i]) * 64)
    (media / "clip.webm").write_bytes(b"webm fake")
    return media


def rows(folder: Path) -> list[list[object]]:
    # Repeated files, an empty cell, a plain local path (normalised to file://) and a file:// URI.
    out = []
    for i in range(40):
        path = None if i == 7 else (str(folder / f"song_{i % 5}.wav") if i % 2 else f"file://{folder}/song_{i % 5}.wav")
        out.append([i, f"song_{i % 5}", ("flute", "sax", None)[i % 3], i / 8, path])
    return out


def per_cell(folder: Path, **fields: object) -> shanty.Table:
    data = [[*r[:4], None if r[4] is None else shanty.Audio(r[4], **fields)] for r in rows(folder)]
    return shanty.Table(columns=["row", "song_id", "instrument", "score", "audio"], data=data)


def frame(folder: Path) -> pd.DataFrame:
    return pd.DataFrame(rows(folder), columns=["row", "song_id", "instrument", "score", "audio"])


def log(table: shanty.Table, project: str) -> shanty.ArtifactVersion:
    with shanty.init(project=project) as run:
        artifact = shanty.Artifact("songs", type="dataset")
        artifact.add(table, "songs")
        return run.log_artifact(artifact)


@pytest.mark.parametrize(
    "spec", [{"kind": "audio", "sample_rate": 16000, "caption": "a take"}, "audio", shanty.Audio], ids=str
)
def test_a_columnar_table_is_stored_as_the_per_cell_one(folder: Path, spec: object) -> None:
    fields = {k: v for k, v in spec.items() if k != "kind"} if isinstance(spec, dict) else {}
    cells, columnar = per_cell(folder, **fields), shanty.Table.from_pandas(frame(folder), media={"audio": spec})
    assert columnar.media_columns == {"audio": "audio"} and len(columnar) == 40
    packed_cells = pack_table(cells, "songs", {})
    packed_columns = pack_table(columnar, "songs", {})
    assert packed_columns.blob == packed_cells.blob  # the same Parquet bytes, row for row
    assert packed_columns.entries == packed_cells.entries  # one entry per distinct file, then the table
    assert len(packed_columns.media) == 5
    one, other = log(cells, "cells"), log(columnar, "columns")
    assert one.digest == other.digest
    assert [(e.path, e.digest, e.ref) for e in one.manifest] == [(e.path, e.digest, e.ref) for e in other.manifest]
    read = other.get("songs")
    assert read.get_column("audio")[7] is None
    first = read.get_column("audio")[1]
    assert first.uri == f"file://{folder}/song_1.wav" and first.entry in other.manifest.entries
    assert first.sample_rate == fields.get("sample_rate") and first.caption == fields.get("caption")
    assert read.get_column("instrument")[:3] == ["flute", "sax", None]


def test_from_arrow_takes_any_text_column(folder: Path) -> None:
    names = ["row", "song_id", "instrument", "score", "audio"]
    arrow = pa.table([pa.array([r[i] for r in rows(folder)]) for i in range(5)], names=names)
    as_dictionary = arrow.set_column(4, "audio", arrow.column("audio").dictionary_encode())
    as_large = arrow.set_column(4, "audio", arrow.column("audio").cast(pa.large_string()))
    expected = pack_table(per_cell(folder), "songs", {}).blob
    for table in (as_dictionary, as_large):
        built = shanty.Table.from_arrow(table, media={"audio": "audio"})
        assert pack_table(built, "songs", {}).blob == expected


def test_video_fields_derived_from_the_path_match_the_per_cell_ones(folder: Path) -> None:
    path = str(folder / "clip.webm")
    cells = shanty.Table(columns=["clip"], data=[[shanty.Video(path)], [None], [shanty.Video(path)]])
    columnar = shanty.Table.from_pandas(pd.DataFrame({"clip": [path, None, path]}), media={"clip": shanty.Video})
    assert columnar.get_column("clip")[0].format == "webm"
    assert pack_table(columnar, "t", {}).blob == pack_table(cells, "t", {}).blob


def test_a_column_of_media_objects_is_read_cell_by_cell(folder: Path) -> None:
    df = frame(folder).assign(audio=per_cell(folder).get_column("audio"))
    expected = pack_table(per_cell(folder), "t", {}).blob  # Table(dataframe=df) keeps pandas' large_string
    assert pack_table(shanty.Table.from_pandas(df), "t", {}).blob == expected
    assert pack_table(shanty.Table.from_pandas(df, media={"audio": "audio"}), "t", {}).blob == expected
    with pytest.raises(InvalidInputError, match="holds audio cells but media= declares another kind"):
        shanty.Table.from_pandas(df, media={"audio": "image"})


def test_no_python_object_per_row(folder: Path) -> None:
    # 100k rows naming 5 files: Python allocations stay far below one small object per row (~56 bytes
    # each would be 5.6 MB); Arrow's buffers are not Python allocations and are not counted.
    n = 100_000
    paths = [str(folder / f"song_{i % 5}.wav") for i in range(n)]
    df = pd.DataFrame({"row": range(n), "audio": paths, "tag": [("a", "b")[i % 2] for i in range(n)]})
    tracemalloc.start()
    try:
        table = shanty.Table.from_pandas(df, media={"audio": {"kind": "audio", "sample_rate": 8000}})
        packed = pack_table(table, "big", {})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(packed.media) == 5 and len(table) == n
    assert peak < 3_000_000, peak


def test_bad_media_declarations_are_plain_errors(folder: Path) -> None:
    df = frame(folder)
    cases = [
        ({"sound": "audio"}, "not a column of the table"),
        ({"score": "audio"}, "holds double values; give its paths or URIs as text"),
        ({"audio": "sound"}, "Unknown media kind 'sound'"),
        ({"audio": {"kind": "audio", "rate": 3}}, "an argument it does not take"),
        ({"audio": 3}, "takes a kind name"),
    ]
    for media, message in cases:
        with pytest.raises(InvalidInputError, match=message):
            shanty.Table.from_pandas(df, media=media)
    with pytest.raises(InvalidInputError, match="empty location"):
        shanty.Table.from_pandas(pd.DataFrame({"audio": ["", "x.wav"]}), media={"audio": "audio"})
    missing = shanty.Table.from_pandas(
        pd.DataFrame({"audio": [str(folder / "absent.wav")] * 3}), media={"audio": "audio"}
    )
    with pytest.raises(NotFoundError, match=r"1 media file\(s\).*absent\.wav"):
        pack_table(missing, "t", {})
