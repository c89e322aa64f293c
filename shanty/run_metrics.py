"""W&B's ``define_metric``: per-metric summaries and step metrics for what ``run.log`` writes.

* ``summary="min,max"`` (``min``, ``max``, ``mean``, ``first``, ``last``, ``copy``, ``none``) replaces
  the metric's summary entry (the last value, by default) with W&B's aggregate dict, e.g.
  ``summary["loss"] == {"min": 0.1, "max": 0.9}``; ``"none"`` leaves the metric out of the summary;
  ``"copy"`` is the default (the last value itself). Aggregates read numbers only (bools excluded),
  except ``first`` / ``last``.
* ``step_metric="epoch"`` records the x-axis to chart the metric against; with ``step_sync`` (on by
  default when a step metric is given) a row holding the metric but not its step metric gets the step
  metric's last logged value, as W&B does.
* A name ending in ``*`` (``"train/*"``) defines every metric starting with what comes before it; an
  exact definition wins over a glob.

Definitions are stored on the run record (``RunInfo.metrics``), in W&B's field names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from .errors import InvalidInputError

__all__ = ["SUMMARY_OPS", "Metric", "MetricSet"]

SUMMARY_OPS = ("min", "max", "mean", "first", "last", "copy", "none")
GOALS = ("minimize", "maximize")


@dataclass(frozen=True)
class Metric:
    """One ``define_metric`` definition (W&B's ``wandb_metric.Metric``): what ``define_metric`` returns."""

    name: str
    step_metric: str | None = None
    step_sync: bool | None = None
    hidden: bool | None = None
    summary: tuple[str, ...] | None = None
    goal: str | None = None  # older W&B's "minimize" / "maximize"; kept, not used for the summary

    def as_record(self) -> dict[str, Any]:
        """The stored form (only the fields set)."""
        record = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}
        if self.summary is not None:
            record["summary"] = list(self.summary)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Metric:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in record.items() if k in known}
        if values.get("summary") is not None:
            values["summary"] = tuple(values["summary"])
        return cls(**values)

    @property
    def syncs_step(self) -> bool:
        return self.step_metric is not None and self.step_sync is not False


def _summary_ops(summary: str | None) -> tuple[str, ...] | None:
    if summary is None:
        return None
    if not isinstance(summary, str):
        raise InvalidInputError(f"define_metric's summary is text such as 'min' or 'min,max', not {summary!r}.")
    ops = tuple(s.strip().lower() for s in summary.split(",") if s.strip())
    unknown = [op for op in ops if op not in SUMMARY_OPS]
    if unknown:
        raise InvalidInputError(f"Unknown summary {unknown[0]!r} in define_metric; use {', '.join(SUMMARY_OPS)}.")
    return ops


class MetricSet:
    """The definitions of one run and the running aggregates their summaries need."""

    def __init__(self, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self.defined: dict[str, Metric] = {}
        for record in records:
            metric = Metric.from_record(record)
            self.defined[metric.name] = metric
        self._state: dict[str, dict[str, Any]] = {}  # flattened key -> {"min", "max", "sum", "count", "first"}
        self._last: dict[str, Any] = {}  # last logged value of each step metric

    def define(
        self,
        name: str,
        step_metric: Any = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> Metric:
        """Add or merge a definition (W&B's rules): with ``overwrite`` unset or False, arguments left
        None keep the previous call's values for ``name``. InvalidInputError for an empty name, a ``*``
        anywhere but at the end, an unknown summary or goal."""
        if not isinstance(name, str) or not name:
            raise InvalidInputError("define_metric needs the metric's name, such as 'loss' or 'train/*'.")
        if "*" in name[:-1]:
            raise InvalidInputError(f"define_metric takes '*' only at the end of a name ('train/*'), not {name!r}.")
        if isinstance(step_metric, Metric):
            step_metric = step_metric.name
        if step_metric is not None and not isinstance(step_metric, str):
            raise InvalidInputError(f"step_metric is a metric's name, not {step_metric!r}.")
        if goal is not None and goal not in GOALS:
            raise InvalidInputError(f"goal is 'minimize' or 'maximize', not {goal!r}.")
        asked = Metric(name, step_metric, step_sync, hidden, _summary_ops(summary), goal)
        before = self.defined.get(name)
        if before is not None and not overwrite:
            asked = Metric(**{f.name: getattr(asked, f.name) if getattr(asked, f.name) is not None
                              else getattr(before, f.name) for f in fields(Metric)})  # fmt: skip
        self.defined[name] = asked
        return asked

    def records(self) -> tuple[dict[str, Any], ...]:
        return tuple(m.as_record() for m in self.defined.values())

    def find(self, key: str) -> Metric | None:
        """The definition that applies to the (flattened) key: the exact one, else the longest glob."""
        if key in self.defined:
            return self.defined[key]
        globs = [m for n, m in self.defined.items() if n.endswith("*") and key.startswith(n[:-1])]
        return max(globs, key=lambda m: len(m.name), default=None)

    def sync_steps(self, flat: Mapping[str, Any]) -> dict[str, Any]:
        """Step-metric values to add to a row (flattened keys ``flat``) that logs synced metrics
        without their step metric; remembers the step metrics' latest values."""
        step_names = {m.step_metric for m in self.defined.values() if m.step_metric}
        for key in step_names & flat.keys():
            self._last[key] = flat[key]
        extra: dict[str, Any] = {}
        for key in flat:
            metric = self.find(key)
            step = metric.step_metric if metric is not None and metric.syncs_step else None
            if step is not None and step not in flat and step in self._last:
                extra[step] = self._last[step]
        return extra

    def summarize(self, summary: dict[str, Any], flat: Mapping[str, Any]) -> None:
        """Rewrite the summary entries of the defined metrics among ``flat`` (the row just logged, with
        dotted keys for nested dicts) to their aggregates."""
        for key, value in flat.items():
            metric = self.find(key)
            if metric is None or metric.summary is None or metric.summary == ("copy",):
                continue
            path = key.split(".")
            if "none" in metric.summary:
                _pop_path(summary, path)
                continue
            _set_path(summary, path, self._aggregate(key, value, metric.summary, _get_path(summary, path)))

    def _aggregate(self, key: str, value: Any, ops: tuple[str, ...], before: Any) -> Any:
        state = self._state.get(key)
        if state is None:  # a resumed run goes on from the aggregates it stored
            seed = before if isinstance(before, Mapping) else {}
            state = self._state[key] = {op: seed[op] for op in ("min", "max", "first") if op in seed}
            state.update(sum=0.0, count=0)
        number = isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)
        state.setdefault("first", value)
        if number:
            state["min"] = value if "min" not in state else min(state["min"], value)
            state["max"] = value if "max" not in state else max(state["max"], value)
            state["sum"] += value
            state["count"] += 1
        out: dict[str, Any] = {}
        for op in ops:
            if op == "copy":
                continue
            if op == "last":
                out["last"] = value
            elif op == "first":
                out["first"] = state["first"]
            elif op == "mean" and state["count"]:
                out["mean"] = state["sum"] / state["count"]
            elif op in ("min", "max") and op in state:
                out[op] = state[op]
        return value if ops == ("copy",) else out


def _get_path(tree: Mapping[str, Any], path: list[str]) -> Any:
    for part in path:
        if not isinstance(tree, Mapping) or part not in tree:
            return None
        tree = tree[part]
    return tree


def _set_path(tree: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def _pop_path(tree: dict[str, Any], path: list[str]) -> None:
    for part in path[:-1]:
        tree = tree.get(part, {})
    if isinstance(tree, dict):
        tree.pop(path[-1], None)
