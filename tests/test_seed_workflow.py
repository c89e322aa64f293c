"""The seed's workflow, written as W&B users write it, with ``import shanty as wandb``.

Runs as separate scripts (as users would), against every backend: create an
artifact by reference (v0, 5 songs), add two songs and log again (v1, 7),
log again unchanged (no v2), diff, and download.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

CREATE = textwrap.dedent(
    """
    import sys
    import shanty as wandb
    run = wandb.init(project="songs", job_type="upload")
    # path to my remote data directory
    bucket = sys.argv[1]
    # create a regular artifact
    dataset_at = wandb.Artifact('sample_songs', type="raw_data")
    # creates a checksum for each file and adds a reference to the bucket
    # instead of uploading all of the contents
    dataset_at.add_reference(bucket)
    run.log_artifact(dataset_at)
    run.finish()
    print(dataset_at.version, len(dataset_at.manifest.entries))
    """
)

DOWNLOAD = textwrap.dedent(
    """
    import json, os
    import shanty as wandb
    run = wandb.init(project="songs", job_type="show_samples")
    dataset_at = run.use_artifact("sample_songs:latest")
    songs_dir = dataset_at.download()
    # all files available locally in songs_dir
    print(json.dumps({"dir": songs_dir, "files": sorted(os.listdir(songs_dir)), "version": dataset_at.version}))
    """
)


def run_script(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_seed_workflow_with_import_shanty_as_wandb(kit, registry_root: str, monkeypatch) -> None:
    monkeypatch.setenv("SHANTY_ROOT", registry_root)
    bucket = kit.new_bucket()
    songs = {
        f"whalesong/{name}.wav": f"{name} song".encode() * 40 for name in ("humpback", "orca", "minke", "beluga", "fin")
    }
    for key, data in songs.items():
        kit.put(f"{bucket}/{key}", data)

    assert run_script(CREATE, f"{bucket}/whalesong") == "v0 5"
    for name in ("blue", "bowhead"):
        kit.put(f"{bucket}/whalesong/{name}.wav", f"{name} new song".encode())
    assert run_script(CREATE, f"{bucket}/whalesong") == "v1 7"
    assert run_script(CREATE, f"{bucket}/whalesong") == "v1 7"  # nothing changed: no v2

    result = json.loads(run_script(DOWNLOAD))
    assert result["version"] == "v1"
    assert result["files"] == sorted([Path(k).name for k in songs] + ["blue.wav", "bowhead.wav"])
    assert Path(result["dir"]).name == "sample_songs:v1"
    assert (Path(result["dir"]) / "orca.wav").read_bytes() == songs["whalesong/orca.wav"]

    diff = json.loads(
        run_script(
            "import sys; from shanty.cli import main; sys.exit(main(sys.argv[1:]))",
            "diff",
            "songs/sample_songs:v0",
            "songs/sample_songs:v1",
            "--json",
        )
    )
    assert [(c["kind"], c["path"]) for c in diff["changes"]] == [("added", "blue.wav"), ("added", "bowhead.wav")]
    assert diff["summary"]["unchanged"]["count"] == 5
