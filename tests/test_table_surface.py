"""Table calls W&B scripts make: numpy data, log_mode, get_index, add_computed_columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import shanty as wandb
from shanty.errors import InvalidInputError


def test_a_2d_numpy_array_is_rows_and_logs(tmp_path: Path) -> None:
    table = wandb.Table(columns=["x", "y"], data=np.array([[1, 2.5], [3, 4.0]]), log_mode="IMMUTABLE")
    assert table.data == [[1.0, 2.5], [3.0, 4.0]] and table.get_index() == [0, 1]
    with wandb.init(project="p", job_type="eval") as run:
        artifact = wandb.Artifact("scores", type="eval")
        artifact.add(table, "t")
        logged = run.log_artifact(artifact)
    assert logged.get("t").data == [[1.0, 2.5], [3.0, 4.0]]
    assert wandb.Table(data=np.zeros((2, 3))).columns == ["col0", "col1", "col2"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"data": np.zeros(3)}, "2-D numpy array"), ({"data": [[1]], "log_mode": "sometimes"}, "log_mode must be")],
)
def test_bad_table_arguments_are_one_sentence(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        wandb.Table(**kwargs)


def test_computed_columns_are_added_row_by_row() -> None:
    table = wandb.Table(columns=["name", "score"], data=[["a", 0.5], ["b", 0.9]])
    table.add_computed_columns(lambda index, row: {"passed": row["score"] > 0.6, "rank": index + 1})
    assert table.columns == ["name", "score", "passed", "rank"]
    assert table.data == [["a", 0.5, False, 1], ["b", 0.9, True, 2]]
    with pytest.raises(InvalidInputError, match="already exist"):
        table.add_computed_columns(lambda index, row: {"score": 1})
    with pytest.raises(InvalidInputError, match="Row 1 computed"):
        table.add_computed_columns(lambda index, row: {"odd": 1} if index == 0 else {"even": 2})
    assert table.columns == ["name", "score", "passed", "rank"]  # a refused computation adds nothing
