"""The parts of W&B's Api that scripts call to find artifacts, with W&B's arguments and meaning."""

from __future__ import annotations

from pathlib import Path

import pytest

import shanty as wandb
from shanty.errors import InvalidInputError, NotFoundError


@pytest.fixture
def logged(tmp_path: Path) -> None:
    """p/songs (raw_data) in two versions, p/model (model) in one."""
    for i, (name, type_) in enumerate([("songs", "raw_data"), ("songs", "raw_data"), ("model", "model")]):
        (tmp_path / f"{i}.bin").write_bytes(bytes([i]) * 8)
        with wandb.init(project="p", job_type="upload") as run:
            artifact = wandb.Artifact(name, type=type_)
            artifact.add_file(str(tmp_path / f"{i}.bin"))
            run.log_artifact(artifact, aliases=["best"] if i == 0 else None)


def test_artifacts_lists_the_versions_of_one_collection(logged: None) -> None:
    api = wandb.Api()
    assert [v.version for v in api.artifacts("raw_data", "p/songs")] == ["v0", "v1"]
    assert [v.version for v in api.artifacts("raw_data", "my-team/p/songs", per_page=1)] == ["v0", "v1"]
    assert [v.version for v in api.artifact_versions("model", "p/model")] == ["v0"]
    with pytest.raises(InvalidInputError, match="has type 'raw_data', not 'model'"):
        api.artifacts("model", "p/songs")
    with pytest.raises(NotFoundError):
        api.artifacts("raw_data", "p/nothing")


def test_artifact_collections_are_a_projects_artifacts_by_type(logged: None) -> None:
    api = wandb.Api()
    assert sorted(a.name for a in api.artifact_collections("p")) == ["model", "songs"]
    assert [a.name for a in api.artifact_collections("team/p", type_name="model")] == ["model"]
    assert api.artifact_collections("p", type_name="nothing") == []


@pytest.mark.parametrize(
    ("name", "type_", "exists"),
    [
        ("p/songs:v1", None, True),
        ("p/songs:best", "raw_data", True),
        ("p/songs", "model", False),
        ("p/songs:v7", None, False),
        ("p/other", None, False),
        ("q/songs", None, False),
    ],
)
def test_artifact_exists(logged: None, name: str, type_: str | None, exists: bool) -> None:
    assert wandb.Api().artifact_exists(name, type=type_) is exists
