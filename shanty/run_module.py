"""W&B's module-level calls that act on the current run (``wandb.define_metric``, ``wandb.save``,
``wandb.restore``, ``wandb.log_model``, ``use_model``, ``link_model``, ``watch``, ``unwatch``,
``alert``): each is the same call on ``shanty.run``; see :class:`shanty.run_surface.RunSurface`."""

from __future__ import annotations

import os
from typing import IO, Any

from .api import _need_run, current_run
from .artifact import ArtifactVersion
from .errors import InvalidInputError
from .registry import Registry
from .run_files import restore_file
from .run_metrics import Metric

__all__ = [
    "alert",
    "define_metric",
    "link_model",
    "log_model",
    "restore",
    "save",
    "unwatch",
    "use_model",
    "watch",
]


def define_metric(
    name: str,
    step_metric: str | Metric | None = None,
    step_sync: bool | None = None,
    hidden: bool | None = None,
    summary: str | None = None,
    goal: str | None = None,
    overwrite: bool | None = None,
) -> Metric:
    """``wandb.define_metric`` on the current run (InvalidInputError when there is none)."""
    return _need_run().define_metric(name, step_metric, step_sync, hidden, summary, goal, overwrite)


def save(glob_str: Any, base_path: Any = None, policy: str = "live", glob: bool = True) -> list[str]:
    """``wandb.save`` on the current run (see :meth:`shanty.run_files.RunFiles.save`)."""
    return _need_run().save(glob_str, base_path, policy, glob)


def restore(
    name: str,
    run_path: str | None = None,
    replace: bool = False,
    root: str | os.PathLike[str] | None = None,
    *,
    registry_root: str | os.PathLike[str] | None = None,
) -> IO[str] | None:
    """``wandb.restore``: the file ``name`` saved by run ``run_path`` (default: the current run), written
    below ``root`` (default: the current run's ``dir``, else the current folder) and opened for reading;
    None when that run saved no such file. ``registry_root`` picks the registry without a run
    (default as ``Api()``). InvalidInputError without a run and without ``run_path``."""
    run = current_run()
    if run_path is None and run is None:
        raise InvalidInputError("restore needs run_path='project/run_id' when no run is active.")
    if run is not None and registry_root is None:
        return run.restore(name, run_path, replace, os.fspath(root) if root is not None else None)
    return restore_file(Registry(registry_root), name, run_path or run.path, replace, root)  # type: ignore[union-attr]


def log_model(path: Any, name: str | None = None, aliases: list[str] | None = None) -> ArtifactVersion:
    """``wandb.log_model`` on the current run."""
    return _need_run().log_model(path, name, aliases)


def use_model(name: str) -> str:
    """``wandb.use_model`` on the current run: the downloaded model's path."""
    return _need_run().use_model(name)


def link_model(
    path: Any, registered_model_name: str, name: str | None = None, aliases: list[str] | None = None
) -> ArtifactVersion:
    """``wandb.link_model`` on the current run."""
    return _need_run().link_model(path, registered_model_name, name, aliases)


def watch(models: Any = None, criterion: Any = None, log: Any = "gradients", log_freq: int = 1000,
          idx: Any = None, log_graph: bool = False) -> None:  # fmt: skip
    """``wandb.watch``: accepted; gradients, parameters and graphs are not recorded here."""


def unwatch(models: Any = None) -> None:
    """``wandb.unwatch``: accepted; nothing is watched here."""


def alert(title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
    """``wandb.alert`` on the current run: recorded on the run and printed to stderr (no Slack or email)."""
    _need_run().alert(title, text, level, wait_duration)
