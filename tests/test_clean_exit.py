"""Scripts that read manifests and tables exit cleanly.

pyarrow 26's threaded Parquet reader can leave a pool thread that aborts the
interpreter at exit (exit code 134, "terminate called without an active
exception"), seen in more than half of such runs before the fix; a user's
script must never die like that after its work is done.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import sys
    import shanty
    api = shanty.Api(sys.argv[1])
    version = api.artifact(sys.argv[2])
    print(len(version.manifest.entries) if sys.argv[3] == "manifest" else len(version.get("t")))
    """
)


def test_reading_manifests_and_tables_exits_cleanly(tmp_path: Path) -> None:
    import shanty

    (tmp_path / "b").mkdir()
    for i in range(5):
        (tmp_path / "b" / f"{i}.wav").write_bytes(bytes([i]) * 100)
    with shanty.init(project="p", root=str(tmp_path / "reg")) as run:
        artifact = shanty.Artifact("data", type="dataset")
        artifact.add_reference(str(tmp_path / "b"))
        run.log_artifact(artifact)
        artifact = shanty.Artifact("table", type="dataset")
        artifact.add(
            shanty.Table(
                columns=["a", "audio"], data=[[i, shanty.Audio(str(tmp_path / "b" / f"{i}.wav"))] for i in range(5)]
            ),
            "t",
        )
        run.log_artifact(artifact)
    runs = [("p/data:latest", "manifest")] * 8 + [("p/table:latest", "table")] * 4
    codes = [
        subprocess.run(
            [sys.executable, "-c", SCRIPT, str(tmp_path / "reg"), *run], capture_output=True, timeout=60
        ).returncode
        for run in runs
    ]
    assert codes == [0] * len(runs)
