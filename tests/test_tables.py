"""Tables of media cells: building, logging (media become references), reading back, JSON, W&B import."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import shanty
from shanty.errors import InvalidInputError, MalformedError, NotFoundError
from shanty.tables.cells import (
    Media,
    cell_field,
    cell_kind,
    kind_for_media_type,
    kind_for_path,
    kind_for_wandb_type,
    kinds,
    media_struct,
    media_types,
)
from shanty.tables.json_codec import table_from_json


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    folder = tmp_path / "bucket" / "synth"
    folder.mkdir(parents=True)
    for song in ("s1", "s2"):
        for instrument in ("flute", "sax", "violin"):
            (folder / f"{song}_{instrument}.wav").write_bytes(f"{song} on {instrument}".encode() * 10)
    (folder / "cover.png").write_bytes(b"\x89PNG fake")
    (folder / "clip.webm").write_bytes(b"webm fake")
    return folder


def media_table(folder: Path) -> shanty.Table:
    table = shanty.Table(columns=["song_id", "audio", "instrument", "score"])
    for path in sorted(folder.glob("*.wav")):
        song, instrument = path.stem.split("_")
        table.add_data(
            song,
            shanty.Audio(str(path), sample_rate=16000, caption=f"{song} / {instrument}"),
            instrument,
            len(instrument) / 10,
        )
    return table


def test_media_cells_keep_every_field(tmp_path: Path) -> None:
    audio = shanty.Audio("gs://b/a.wav", sample_rate=32, caption="whale")
    video = shanty.Video("s3://b/v.webm", fps=24, caption="clip")
    image = shanty.Image(tmp_path / "x.png", caption="spectrogram")
    assert (audio.path, audio.sample_rate, audio.caption) == ("gs://b/a.wav", 32, "whale")
    assert (video.fps, video.format) == (24.0, "webm")
    assert image.path == f"file://{tmp_path}/x.png"
    with pytest.raises(InvalidInputError, match="path or URI"):
        shanty.Audio([0.1, 0.2], sample_rate=8000)


def test_cell_kinds_are_one_registry() -> None:
    assert media_struct().names == [  # the file format
        *("uri", "entry", "caption", "sample_rate", "classes", "boxes", "masks", "fps", "format")
    ]
    assert (kind_for_path("x/a.WAV"), kind_for_path("b.webm"), kind_for_path("notes.txt")) == ("audio", "video", None)
    assert (kind_for_wandb_type("image-file"), kind_for_wandb_type("histogram")) == ("image", None)
    assert media_types()[".png"] == "image/png" and cell_kind("audio").previews == ("waveform", "spectrogram")
    assert (kind_for_media_type("audio/x-wav"), kind_for_media_type("text/csv")) == ("audio", None)
    assert cell_kind("video").media_class is shanty.Video
    with pytest.raises(InvalidInputError, match="Unknown media kind 'smell'"):
        cell_kind("smell")
    # Clashing declarations are refused and leave the registry as it was.
    with pytest.raises(InvalidInputError, match="already registered"):

        class OtherAudio(Media, kind="audio"):
            pass

    with pytest.raises(InvalidInputError, match="another type"):

        class Timed(Media, kind="timed"):
            fps: int | None = cell_field(pa.int64(), int)

    with pytest.raises(InvalidInputError, match=r"'\.wav' already belongs"):

        class Sound(Media, kind="sound", media_types={".WAV": "audio/x-wav"}):
            pass

    assert [k.name for k in kinds()] == ["audio", "image", "video"]


def test_building_a_table() -> None:
    table = shanty.Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]])
    table.add_data(3, "z")
    table.add_column("c", [True, False, None])
    assert table.get_column("a") == [1, 2, 3] and table.columns == ["a", "b", "c"] and len(table) == 3
    assert table.get_dataframe()["c"].tolist() == [True, False, None]
    assert list(table.get_column("a", convert_to="numpy")) == [1, 2, 3]
    with pytest.raises(InvalidInputError, match="2 values"):
        table.add_data(1, 2)
    with pytest.raises(InvalidInputError, match="already has a column"):
        table.add_column("a", [1, 2, 3])
    with pytest.raises(InvalidInputError, match="3 rows"):
        table.add_column("d", [1])
    with pytest.raises(InvalidInputError, match="no column"):
        table.get_column("nope")


def test_bad_columns_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="mixes media kinds"):
        shanty.Table(columns=["m"], data=[[shanty.Audio("gs://b/a.wav")], [shanty.Image("gs://b/a.png")]]).to_arrow()
    with pytest.raises(InvalidInputError, match="mixes audio cells with str"):
        shanty.Table(columns=["m"], data=[[shanty.Audio("gs://b/a.wav")], ["text"]]).to_arrow()
    with pytest.raises(InvalidInputError, match="unique"):
        shanty.Table(columns=["a", "a"])


def test_table_from_dataframe_round_trips_through_parquet() -> None:
    frame = pd.DataFrame(
        {"id": [1, 2], "img": [shanty.Image("s3://b/1.png", caption="one"), None], "label": ["cat", None]}
    )
    table = shanty.Table(dataframe=frame)
    back = shanty.Table.from_parquet_bytes(table.to_parquet_bytes())
    assert back.media_columns == {"img": "image"}
    assert (
        back.get_column("img")[0] == shanty.Image("s3://b/1.png", caption="one") and back.get_column("img")[1] is None
    )
    assert back.get_column("label") == ["cat", None]


def test_logged_table_pins_media_and_reads_back(bucket: Path) -> None:
    with shanty.init(project="songs", job_type="log_synth") as run:
        artifact = shanty.Artifact("synth_samples", type="synth_ddsp")
        artifact.add(media_table(bucket), "synth_song_samples")
        version = run.log_artifact(artifact)
    media_entries = [e for e in version.manifest if e.path.startswith("media/")]
    assert len(media_entries) == 6 and all(e.ref.startswith("file://") and e.digest for e in media_entries)
    assert "synth_song_samples.table.parquet" in version.manifest.entries

    table = shanty.Api().artifact("songs/synth_samples:latest").get("synth_song_samples")
    first = table.data[0]
    assert first[0] == "s1" and first[2] == "flute" and first[3] == pytest.approx(0.5)
    audio = first[1]
    assert (audio.sample_rate, audio.caption) == (16000, "s1 / flute")
    assert audio.entry in version.manifest.entries and version.manifest.entries[audio.entry].ref == audio.uri
    assert table.source[1] == "synth_song_samples.table.parquet"
    assert table.logged_as[1] == "synth_song_samples" and table.logged_as[0].qualified_name == "songs/synth_samples:v0"
    assert version.tables() == ["synth_song_samples"] and version.joined_tables() == []
    # A local media file is named by its folder, never by the machine path it lies at.
    for entry in media_entries:
        assert str(bucket) not in entry.path and entry.path.startswith(f"media/local/{bucket.name}-")


def test_media_already_referenced_are_reused(bucket: Path) -> None:
    artifact = shanty.Artifact("synth_songs", type="generated_data")
    artifact.add_reference(str(bucket))
    before = len(artifact.manifest)
    artifact.add(media_table(bucket), "samples")
    assert len(artifact.manifest) == before + 1  # only the table itself


def test_missing_media_is_a_clear_error_and_nothing_is_logged(bucket: Path) -> None:
    table = media_table(bucket)
    table.add_data("s9", shanty.Audio(str(bucket / "absent.wav")), "tuba", 0.4)
    artifact = shanty.Artifact("synth_samples", type="synth_ddsp")
    with pytest.raises(NotFoundError, match=r"absent\.wav"):
        artifact.add(table, "t")
    assert shanty.Api().projects() == []


def test_joined_table_is_stored_and_reopened(bucket: Path) -> None:
    originals = shanty.Table(columns=["song_id", "audio"], data=[["s1", shanty.Audio(str(bucket / "s1_flute.wav"))]])
    synth = media_table(bucket)
    with shanty.init(project="songs") as run:
        artifact = shanty.Artifact("synth_summary", type="analysis")
        artifact.add(originals, "originals")
        artifact.add(synth, "synth")
        artifact.add(shanty.JoinedTable(originals, synth, "song_id"), "synth_explore")
        run.log_artifact(artifact)
    joined = shanty.Api().artifact("songs/synth_summary:v0").get("synth_explore")
    assert isinstance(joined, shanty.JoinedTable) and joined.left_keys == joined.right_keys == ("song_id",)
    assert len(joined.table1) == 1 and len(joined.table2) == 6
    version = shanty.Api().artifact("songs/synth_summary:v0")
    assert (version.tables(), version.joined_tables()) == (["originals", "synth"], ["synth_explore"])


def test_joined_table_with_wandb_key_pair_opens_and_joins(bucket: Path) -> None:
    # W&B's JoinedTable(t1, t2, ["left_k", "right_k"]): a pair of differently named keys, not a composite key.
    originals = shanty.Table(columns=["song_id", "genre"], data=[["s1", "folk"], ["s2", "jazz"]])
    synth = shanty.Table(columns=["source_song", "instrument"], data=[["s1", "flute"], ["s1", "harp"], ["s3", "oud"]])
    with shanty.init(project="songs") as run:
        artifact = shanty.Artifact("pairs", type="analysis")
        artifact.add(originals, "originals")
        artifact.add(synth, "synth")
        artifact.add(shanty.JoinedTable(originals, synth, ["song_id", "source_song"]), "explore")
        run.log_artifact(artifact)
    version = shanty.Api().artifact("songs/pairs:v0")
    joined = version.get("explore")
    assert joined.join_key == ["song_id", "source_song"]  # stored as W&B stores it
    assert (joined.left_keys, joined.right_keys) == (("song_id",), ("source_song",))
    spec = shanty.Query(
        join=shanty.Join("synth", joined.left_keys, "left", right_on=joined.right_keys), sort=(shanty.Sort("song_id"),)
    )
    result = shanty.run_query(
        spec, {"originals": version.table_file("originals"), "synth": version.table_file("synth")}
    )
    assert [(r["song_id"], r["synth.instrument"]) for r in result.rows] == [
        ("s1", "flute"),
        ("s1", "harp"),
        ("s2", None),
    ]
    assert "synth.source_song" not in result.columns  # the right key is the key column, not repeated


@pytest.mark.parametrize("bad", [[], [1, 2], [["a"]], ["a", ""], [["a", "b"], "c"]])
def test_joined_table_refuses_keys_it_cannot_read(bad: object) -> None:
    with pytest.raises(InvalidInputError, match=r"join_key is a column name, a pair|cannot be empty"):
        shanty.JoinedTable("a", "b", bad)


def test_json_round_trip_and_malformed_json() -> None:
    text = """{
        "_type": "table",
        "columns": ["song_id", "audio", "cover", "clip", "score"],
        "data": [
            ["s1",
             {"_type": "audio-file", "path": "gs://b/s1.wav", "sample_rate": 16000, "caption": "s1 / flute"},
             {"_type": "image-file", "path": "s3://b/s1.png", "caption": "cover"},
             {"_type": "video-file", "path": "s3://b/s1.webm", "fps": 24, "format": "webm", "entry": "media/s1.webm"},
             0.5],
            ["s2", null, null, {"_type": "video-file", "path": "s3://b/s2.mp4"}, null]
        ]
    }"""
    back = table_from_json(json.loads(text))
    audio, image, video, _ = back.data[0][1:]
    assert (audio.uri, audio.sample_rate, audio.caption) == ("gs://b/s1.wav", 16000, "s1 / flute")
    assert (image.uri, image.caption) == ("s3://b/s1.png", "cover")
    assert (video.fps, video.format, video.entry) == (24.0, "webm", "media/s1.webm")
    assert back.data[1] == ["s2", None, None, shanty.Video("s3://b/s2.mp4", format="mp4"), None]
    assert back.media_columns == {"audio": "audio", "cover": "image", "clip": "video"}
    again = shanty.Table.from_parquet_bytes(back.to_parquet_bytes())  # the fields survive Parquet too
    assert again.data == back.data and again.get_column("audio")[0].sample_rate == 16000
    for bad, message in [
        ([], "not a table"),
        ({"columns": ["a"], "data": [[1, 2]]}, "row 0 has 2 values"),
        ({"columns": ["a"], "data": [[{"_type": "audio-file"}]]}, "no path"),
    ]:
        with pytest.raises(MalformedError, match=message):
            table_from_json(bad)


def write_wandb_export(folder: Path, bucket: Path) -> None:
    """An artifact folder as W&B exports it: a manifest, a table.json, media by value and by reference."""
    (folder / "media" / "audio").mkdir(parents=True)
    (folder / "media" / "audio" / "local.wav").write_bytes(b"stored in wandb")
    table = {
        "_type": "table",
        "columns": ["song_id", "audio", "instrument"],
        "data": [
            [
                "s1",
                {"_type": "audio-file", "path": "media/audio/local.wav", "sha256": "x", "size": 15, "caption": "kept"},
                "flute",
            ],
            ["s2", {"_type": "audio-file", "path": "synth/s2_sax.wav", "size": 10}, "sax"],
        ],
        "ncols": 3,
        "nrows": 2,
    }
    (folder / "synth_song_samples.table.json").write_text(json.dumps(table))
    ref = f"file://{bucket}/s2_sax.wav"
    contents = {
        "media/audio/local.wav": {"digest": "bG9jYWw=", "size": 15},
        "synth/s2_sax.wav": {
            "digest": "cmVm",
            "size": (bucket / "s2_sax.wav").stat().st_size,
            "ref": ref,
            "extra": {"versionID": "7"},
        },
        "synth_song_samples.table.json": {"digest": "dGFibGU=", "size": 10},
    }
    (folder / "wandb_manifest.json").write_text(
        json.dumps({"version": 1, "storagePolicy": "wandb-storage-policy-v1", "contents": contents})
    )


def test_wandb_export_imports_with_tables(bucket: Path, tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    write_wandb_export(export, bucket)
    version = shanty.import_wandb_artifact(export, project="imported", name="synth_samples", type="synth_ddsp")
    assert version.manifest.entries["synth/s2_sax.wav"].object_version == "7"
    table = version.get("synth_song_samples")
    local, remote = table.get_column("audio")
    assert (local.entry, local.caption) == ("media/audio/local.wav", "kept")
    assert (remote.uri, remote.entry) == (f"file://{bucket}/s2_sax.wav", "synth/s2_sax.wav")


def test_damaged_wandb_export_is_refused(tmp_path: Path) -> None:
    (tmp_path / "wandb_manifest.json").write_text(
        '{"version": 1, "contents": {"t.table.json": {"digest": "x", "size": 1}}}'
    )
    (tmp_path / "t.table.json").write_text("{broken")
    with pytest.raises(MalformedError, match="not valid JSON"):
        shanty.import_wandb_artifact(tmp_path, project="p", name="n", type="t")
    with pytest.raises(NotFoundError, match=r"wandb_manifest\.json"):
        shanty.import_wandb_artifact(tmp_path / "nowhere", project="p", name="n", type="t")
    assert shanty.Api().projects() == []


def test_joined_table_from_logged_versions_carries_its_media(bucket: Path) -> None:
    with shanty.init(project="songs") as run:
        artifact = shanty.Artifact("synth_samples", type="synth_ddsp")
        artifact.add(media_table(bucket), "synth")
        run.log_artifact(artifact)
    synth = shanty.Api().artifact("songs/synth_samples:latest").get("synth")
    with shanty.init(project="songs") as run:
        summary = shanty.Artifact("summary", type="analysis")
        summary.add(shanty.JoinedTable(synth, synth, "song_id"), "self_join")
        logged = run.log_artifact(summary)
    entries = logged.manifest.entries
    assert "synth.table.parquet" in entries
    assert all(cell.entry in entries for cell in synth.get_column("audio"))  # every cell stays playable
