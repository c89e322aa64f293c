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


def test_cast_converts_values_and_media_paths(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    table = wandb.Table(columns=["n", "ok", "audio", "label"], data=[["1", "true", str(tmp_path / "a.wav"), 2.0]])
    table.cast("n", int)
    table.cast("ok", "boolean")
    table.cast("audio", wandb.Audio)
    table.cast("label", str)
    row = table.data[0]
    assert row[0] == 1 and row[1] is True and row[3] == "2.0"
    assert isinstance(row[2], wandb.Audio) and row[2].uri.endswith("/a.wav")
    assert table.media_columns == {"audio": "audio"}


@pytest.mark.parametrize(
    ("values", "dtype", "optional", "message"),
    [
        (["1", "x"], int, False, "Row 1 of 'c' holds 'x', which is not a whole number"),
        ([1.5], int, False, "which is not a whole number"),
        ([None], float, False, "Row 0 of 'c' is empty; cast with optional=True"),
        (["maybe"], bool, True, "not true or false"),
        ([1], dict, False, "Table.cast takes int, float, str, bool"),
    ],
)
def test_cast_refuses_what_does_not_fit_and_leaves_the_table(values, dtype, optional, message) -> None:
    table = wandb.Table(columns=["c"], data=[[v] for v in values])
    with pytest.raises(InvalidInputError) as caught:
        table.cast("c", dtype, optional=optional)
    assert message in str(caught.value)
    assert table.get_column("c") == values


def test_cast_optional_keeps_empty_cells() -> None:
    table = wandb.Table(columns=["c"], data=[["2"], [None]])
    table.cast("c", float, optional=True)
    assert table.get_column("c") == [2.0, None]


def test_cast_to_classes_checks_class_ids() -> None:
    classes = wandb.Classes([{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}])
    table = wandb.Table(columns=["label"], data=[[1], ["2"]])
    table.cast("label", classes)
    assert table.get_column("label") == [1, 2]
    table.add_data(7)
    with pytest.raises(
        InvalidInputError, match=r"Row 2 of 'label' holds 7, which is not one of the class ids \[1, 2\]"
    ):
        table.cast("label", classes)
