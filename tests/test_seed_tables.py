"""The seed's synthetic-songs block, as W&B users wrote it, with ``import shanty as wandb``.

Against the GCS emulator it runs verbatim (google.cloud.storage listing and
all); for the other backends only the listing call is swapped. Then the
logged table reads back with every field, and a join of the originals with
the synthesized table gives one row per (song, instrument) with both audio cells.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import shanty

SEED_BLOCK = textwrap.dedent(
    """
    import os, sys
    import shanty as wandb
    from google.cloud import storage

    run = wandb.init(project="songs", job_type="log_synth")
    # full path to the specific folder of synthetic songs
    synth_songs_bucket = sys.argv[1] + "/whalesong/synth"
    # root of the remote bucket (note, no "gs://" prefix)
    bucket_root = sys.argv[1].split("://")[1]
    dataset_at = wandb.Artifact('synth_songs',type="generated_data")

    # track all the files in the specific folder of synthetic songs
    dataset_at.add_reference(synth_songs_bucket)

    # iterate over locations in GCP from the root of the bucket
    bucket_iter = storage.Client().get_bucket(bucket_root)
    song_data = []
    # focus on the synth songs folder
    for synth_song in bucket_iter.list_blobs(prefix="whalesong/synth"):
      # filter out any non-audio files
      if not synth_song.name.endswith(".wav"):
        continue
      # add a reference path for each song
      # song filenames have the form [string id]_[instrument].wav
      song_name = synth_song.name.split("/")[-1]
      song_path = os.path.join(synth_songs_bucket, song_name)
      # create a wandb.Audio object to show the audio file
      audio = wandb.Audio(song_path, sample_rate=32)
      # extract instrument from the filename
      orig_song_id, instrument = song_name.split("_")
      song_data.append([orig_song_id, song_name, audio, instrument.split(".")[0]])

    # create a table to hold audio samples and metadata in columns
    table = wandb.Table(data=song_data,
                        columns=["song_id", "song_name", "audio", "instrument"])
    # log the table via a new artifact
    songs_at = wandb.Artifact("synth_samples", type="synth_ddsp")
    songs_at.add(table, "synth_song_samples")
    run.log_artifact(songs_at)
    run.finish()
    """
)

SONGS = ("humpback", "orca", "minke")
INSTRUMENTS = ("flute", "sax", "violin")


def listing_swapped(kit_name: str) -> str:
    """The seed block with its google.cloud.storage listing replaced for non-GCS backends."""
    if kit_name == "gcs":
        return SEED_BLOCK
    replacement = {
        "file": "bucket_iter = None\nclass B:\n  def __init__(self, name): self.name = name\nlisted = [B('whalesong/synth/' + n) for n in sorted(os.listdir(synth_songs_bucket[len('file://'):]))]",
        "s3": "import boto3\nbucket_iter = None\nclass B:\n  def __init__(self, name): self.name = name\nlisted = [B(o['Key']) for o in boto3.client('s3').list_objects_v2(Bucket=bucket_root, Prefix='whalesong/synth')['Contents']]",
    }[kit_name]
    block = SEED_BLOCK.replace("from google.cloud import storage\n", "")
    block = block.replace("bucket_iter = storage.Client().get_bucket(bucket_root)", replacement)
    return block.replace(
        'for synth_song in bucket_iter.list_blobs(prefix="whalesong/synth"):', "for synth_song in listed:"
    )


def test_seed_synth_block_logs_a_playable_table(kit, registry_root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHANTY_ROOT", registry_root)
    bucket = kit.new_bucket()
    for song in SONGS:
        kit.put(f"{bucket}/whalesong/{song}.wav", f"original {song}".encode() * 20)
        for instrument in INSTRUMENTS:
            kit.put(f"{bucket}/whalesong/synth/{song}_{instrument}.wav", f"{song} on {instrument}".encode() * 20)
    kit.put(f"{bucket}/whalesong/synth/notes.txt", b"not audio")

    done = subprocess.run(
        [sys.executable, "-c", listing_swapped(kit.name), bucket],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr[-3000:]

    api = shanty.Api(registry_root)
    version = api.artifact("songs/synth_samples:latest")
    table = version.get("synth_song_samples")
    assert len(table) == 9 and table.media_columns == {"audio": "audio"}
    row = table.get_dataframe().sort_values("song_name").iloc[0]
    assert (row["song_id"], row["song_name"], row["instrument"]) == ("humpback", "humpback_flute.wav", "flute")
    audio = row["audio"]
    assert audio.uri == f"{bucket}/whalesong/synth/humpback_flute.wav" and audio.sample_rate == 32
    entry = version.manifest.entries[audio.entry]
    assert entry.ref == audio.uri and entry.size == len(b"humpback on flute" * 20)

    originals = shanty.Table(
        columns=["song_id", "audio"], data=[[s, shanty.Audio(f"{bucket}/whalesong/{s}.wav")] for s in SONGS]
    )
    with shanty.init(project="songs", job_type="log_originals", root=registry_root) as run:
        artifact = shanty.Artifact("original_songs", type="raw_data")
        artifact.add(originals, "original_song_samples")
        run.log_artifact(artifact)
    from shanty.query.run import run_query
    from shanty.query.spec import Join, Query

    left = api.artifact("songs/original_songs:latest").table_file("original_song_samples")
    right = version.table_file("synth_song_samples")
    spec = Query(join=Join(source="synth", on=("song_id",), how="inner"), page_size=100)
    result = run_query(spec, {"original": left, "synth": right})
    assert result.total_rows == 9
    pairs = {(r["song_id"], r["synth.instrument"]) for r in result.rows}
    assert pairs == {(s, i) for s in SONGS for i in INSTRUMENTS}
    for r in result.rows:
        assert r["original.audio"]["uri"].endswith(f"whalesong/{r['song_id']}.wav")
        assert r["synth.audio"]["uri"].endswith(f"{r['song_id']}_{r['synth.instrument']}.wav")
    json.dumps(result.rows)  # rows are plain data, ready for the UI
