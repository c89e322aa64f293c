"""W&B's "Track external files" guide: references to a bucket prefix and to single objects, checksum=False,
max_objects, downloading, get_entry / get_path, verify, and the Api."""

import os
import sys

import shanty as wandb

bucket = sys.argv[1]

run = wandb.init(project="external", job_type="dataset")
artifact = wandb.Artifact("mnist", type="dataset")
artifact.add_reference(f"{bucket}/datasets/mnist")
run.log_artifact(artifact)

checkpoint = wandb.Artifact("checkpoint", type="model", metadata={"framework": "none"})
checkpoint.add_reference(f"{bucket}/models/cnn/my_model.h5", name="model.h5")
checkpoint.add_reference(f"{bucket}/datasets/mnist", name="data", checksum=False, max_objects=10)
run.log_artifact(checkpoint, aliases=["best"])
run.finish()

with wandb.init(project="external", job_type="train") as run:
    artifact = run.use_artifact("mnist:latest", type="dataset")
    artifact_dir = artifact.download()
    artifact.verify(artifact_dir)
    model = run.use_artifact("checkpoint:best")
    entry = model.get_entry("model.h5")
    local = entry.download(os.path.join(artifact_dir, "..", "model"))
    model.metadata["evaluated"] = True
    model.save()
    with open(local, "rb") as handle:
        print(sorted(os.listdir(artifact_dir)), entry.size, handle.read().decode())

api = wandb.Api()
assert api.artifact_exists("external/mnist:v0")
assert [v.version for v in api.artifact_versions("dataset", "external/mnist")] == ["v0"]
assert api.artifact("external/checkpoint:best").metadata["evaluated"] is True
