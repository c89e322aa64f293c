"""W&B's MongoDB-style run filters, as a table of cases (one row per operator and field form)."""

from __future__ import annotations

import pytest

from shanty.errors import InvalidInputError
from shanty.run_filters import OPERATORS, check_filters, matches

RUN = {
    "id": "a1",
    "name": "brisk-wave-3",
    "state": "finished",
    "job_type": "train",
    "created_at": "2026-11-20T10:00:00+00:00",
    "tags": ["baseline", "gpu"],
    "config": {"lr": 0.01, "model": {"depth": 4}, "optimizer": "adam"},
    "summary_metrics": {"acc": 0.93, "loss": 0.2},
}

CASES = [
    ({}, True),
    ({"state": "finished"}, True),
    ({"state": "running"}, False),
    ({"display_name": "brisk-wave-3"}, True),
    ({"config.lr": 0.01}, True),
    ({"config.lr.value": 0.01}, True),  # W&B's spelling of a config value
    ({"config.model.depth": {"$gte": 4}}, True),
    ({"summary_metrics.acc": {"$gt": 0.9}}, True),
    ({"summary.acc": {"$gt": 0.95}}, False),
    ({"summary_metrics.loss": {"$lt": 0.3, "$gte": 0.2}}, True),
    ({"summary_metrics.loss": {"$lte": 0.1}}, False),
    ({"config.optimizer": {"$in": ["sgd", "adam"]}}, True),
    ({"config.optimizer": {"$nin": ["sgd", "adam"]}}, False),
    ({"config.optimizer": {"$ne": "sgd"}}, True),
    ({"config.optimizer": {"$eq": "sgd"}}, False),
    ({"config.missing": {"$exists": False}}, True),
    ({"config.lr": {"$exists": True}}, True),
    ({"name": {"$regex": "^brisk"}}, True),
    ({"name": {"$not": {"$regex": "^brisk"}}}, False),
    ({"tags": "gpu"}, True),
    ({"tags": {"$in": ["cpu", "baseline"]}}, True),
    ({"created_at": {"$gt": "2026-11-01"}}, True),
    ({"config.lr": {"$gt": "text"}}, False),  # a number against text: no match, no crash
    ({"config.missing": {"$lt": 1}}, False),
    ({"$or": [{"state": "crashed"}, {"config.lr": 0.01}]}, True),
    ({"$and": [{"state": "finished"}, {"job_type": "eval"}]}, False),
    ({"$nor": [{"state": "crashed"}, {"job_type": "eval"}]}, True),
    ({"$not": {"state": "finished"}}, False),
]


@pytest.mark.parametrize(("filters", "expected"), CASES)
def test_filter_cases(filters: dict, expected: bool) -> None:
    check_filters(filters)
    assert matches(RUN, filters) is expected


def test_every_operator_has_a_case() -> None:
    used = {op for filters, _ in CASES for op in _operators(filters)}
    assert set(OPERATORS) <= used


def _operators(value: object) -> set[str]:
    if isinstance(value, dict):
        return {k for k in value if k.startswith("$")} | {o for v in value.values() for o in _operators(v)}
    if isinstance(value, list):
        return {o for v in value for o in _operators(v)}
    return set()


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ("state=finished", "Run filters are a dict"),
        ({"$xor": []}, "Unknown run filter '$xor'"),
        ({"$or": []}, "$or takes a non-empty list"),
        ({"config.lr": {"$like": 1}}, "Unknown operator '$like' on 'config.lr'"),
        ({"config.lr": {"$in": 1}}, "$in on 'config.lr' takes a list"),
        ({"name": {"$regex": "("}}, "takes a regular expression"),
        ({"config.lr": {"$exists": "yes"}}, "takes true or false"),
    ],
)
def test_bad_filters_are_one_sentence(filters: object, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_filters(filters)
    assert message in str(caught.value)


def test_api_runs_filters_and_orders_runs_of_a_registry() -> None:
    import shanty as wandb

    for index, (lr, acc) in enumerate([(0.1, 0.7), (0.01, 0.93), (0.001, 0.88)]):
        with wandb.init(project="p", job_type="train" if index else "sweep", config={"lr": lr}) as run:
            run.log({"acc": acc})
    api = wandb.Api()
    chosen = api.runs("my-entity/p", filters={"config.lr": {"$lt": 0.05}, "summary_metrics.acc": {"$gt": 0.9}})
    assert [r.config["lr"] for r in chosen] == [0.01]
    ranked = api.runs("p", order="-summary_metrics.acc")
    assert [r.summary["acc"] for r in ranked] == [0.93, 0.88, 0.7]
    assert [r.config["lr"] for r in api.runs("p", filters={"job_type": "train"}, order="+config.lr")] == [0.001, 0.01]
    with pytest.raises(InvalidInputError, match="Unknown operator"):
        api.runs("p", filters={"state": {"$like": "fin"}})
