"""W&B's "Log tables" and "Export table data" guides: run.log a Table (a run-<id>-<key> artifact),
a Table in an artifact, INCREMENTAL logging, then read it back as a DataFrame and extend it."""

import sys

import shanty as wandb

bucket = sys.argv[1]

run = wandb.init(project="table-test")
my_table = wandb.Table(columns=["a", "b"], data=[["a1", "b1"], ["a2", "b2"]])
run.log({"table_key": my_table, "Table Name": my_table})

songs = wandb.Table(columns=["id", "clip", "score"], log_mode="INCREMENTAL")
for step, name in enumerate(("humpback", "orca")):
    songs.add_data(name, wandb.Audio(f"{bucket}/whalesong/{name}.wav"), 0.5 + step / 4)
    run.log({"songs": songs, "loss": 1.0 / (step + 1)})

artifact = wandb.Artifact("my_dataset", type="dataset")
artifact.add(my_table, "my_table")
run.log_artifact(artifact)
run_id = run.id
run.finish()

api = wandb.Api()
artifact = api.artifact(f"table-test/run-{run_id}-table_key:v0")
table = artifact.get("table_key")
df = table.get_dataframe()
assert list(df["a"]) == ["a1", "a2"]

run = wandb.init(project="table-test", job_type="export")
logged = run.use_artifact("my_dataset:latest").get("my_table")
logged.add_column("c", ["c1", "c2"])
logged.add_computed_columns(lambda index, row: {"ab": row["a"] + row["b"]})
new_table = wandb.Table(dataframe=logged.get_dataframe())
run.log({"extended": new_table})
run.finish()
songs_versions = api.artifact_versions("run_table", f"table-test/run-{run_id}-songs")
print(
    len(songs_versions),
    list(new_table.get_dataframe().columns),
    api.run(f"table-test/{run_id}").history()["loss"].dropna().tolist(),
)
