"""W&B's "Artifacts by Reference" guide: reference a bucket, a playable table of its songs, a joined table,
and the download."""

import sys

import shanty as wandb

bucket = sys.argv[1]

run = wandb.init(project="songs", job_type="upload")
dataset_at = wandb.Artifact("sample_songs", type="raw_data")
# creates a checksum for each file and adds a reference to the bucket instead of uploading all of the contents
dataset_at.add_reference(f"{bucket}/whalesong")
run.log_artifact(dataset_at)
run.finish()

run = wandb.init(project="songs", job_type="log_synth")
synth_songs_bucket = f"{bucket}/whalesong/synth"
dataset_at = wandb.Artifact("synth_songs", type="generated_data")
dataset_at.add_reference(synth_songs_bucket)
song_data = []
for entry in sorted(dataset_at.manifest.entries):  # the seed lists the bucket with its cloud client
    if not entry.endswith(".wav"):
        continue
    song_name = entry.split("/")[-1]
    audio = wandb.Audio(f"{synth_songs_bucket}/{song_name}", sample_rate=32)
    orig_song_id, instrument = song_name.split("_")
    song_data.append([orig_song_id, song_name, audio, instrument.split(".")[0]])
table = wandb.Table(data=song_data, columns=["song_id", "song_name", "audio", "instrument"])
songs_at = wandb.Artifact("synth_samples", type="synth_ddsp")
songs_at.add(table, "synth_song_samples")
run.log_artifact(songs_at)
run.finish()

run = wandb.init(project="songs", job_type="analysis")
originals = wandb.Table(
    columns=["song_id", "audio"],
    data=[[s, wandb.Audio(f"{bucket}/whalesong/{s}.wav")] for s in ("humpback", "orca")],
)
synth = run.use_artifact("synth_samples:latest").get("synth_song_samples")
summary = wandb.Artifact("synth_summary", type="analysis")
summary.add(originals, "originals")
summary.add(wandb.JoinedTable(originals, synth, "song_id"), "synth_explore")
run.log_artifact(summary)
run.finish()

run = wandb.init(project="songs", job_type="show_samples")
dataset_at = run.use_artifact("sample_songs:latest")
songs_dir = dataset_at.download()
run.finish()
print(songs_dir)
