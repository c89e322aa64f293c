"""Import what the W&B client writes: a downloaded artifact folder, or an offline run directory.

* :func:`import_wandb_artifact`: a folder as ``artifact.download()`` writes it
  (every entry at its path; a ``wandb_manifest.json`` is optional and, when
  present, keeps references as references), see :mod:`.convert` for how its
  tables, joined and partitioned tables and media objects arrive.
* :func:`import_wandb_run`: ``wandb/offline-run-<date>-<id>/``, see :mod:`.run`
  (needs the W&B client to decode the run file: ``pip install 'shanty[wandb]'``).
* :func:`import_wandb`: either, told apart by the folder's contents.

Nothing is written until the whole input has been read and converted, so bad
input (not a W&B folder, damaged JSON, a table naming a missing file) is one
sentence and leaves the registry as it was.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..api import Run
from ..artifact import ArtifactVersion
from ..errors import InvalidInputError, NotFoundError
from ..names import check_name
from ..progress import ProgressSink
from ..registry import Registry
from .convert import build_artifact
from .run import RunImport, find_run_file, import_wandb_run
from .source import folder_source

__all__ = ["RunImport", "import_wandb", "import_wandb_artifact", "import_wandb_run"]


def import_wandb_artifact(
    folder: str | os.PathLike[str],
    project: str,
    name: str,
    type: str,
    root: str | None = None,
    progress_sink: ProgressSink | None = None,
) -> ArtifactVersion:
    """Log the W&B artifact downloaded to ``folder`` as the next version of ``project/name``.

    Raises NotFoundError (no folder, no files, a file its manifest lists missing) or MalformedError
    (damaged JSON, a table naming a file the folder lacks), one sentence each; nothing is written then.
    """
    check_name(project, "Project")
    source = folder_source(folder)
    draft = build_artifact(
        source,
        name,
        type,
        Registry(root),
        description=f"Imported from W&B ({Path(folder).name}).",
        progress_sink=progress_sink,
    )
    with Run(project=project, job_type="import-wandb", root=root) as run:
        return run.log_artifact(draft)


def import_wandb(
    folder: str | os.PathLike[str],
    project: str,
    name: str | None = None,
    type: str | None = None,
    root: str | None = None,
    progress_sink: ProgressSink | None = None,
) -> RunImport | ArtifactVersion:
    """Import ``folder``: a run directory (it holds ``run-<id>.wandb``) becomes the run
    ``project/<run id>``; anything else is read as an artifact folder, logged as ``project/name``
    (``name`` defaults to the folder's name without ``:vN``; ``type`` is needed). See
    :func:`import_wandb_run` and :func:`import_wandb_artifact` for what each raises."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise NotFoundError(
            f"No folder at {path}; give a folder artifact.download() wrote (with or without wandb_manifest.json) "
            "or a wandb/offline-run-* folder."
        )
    if find_run_file(path) is not None:
        return import_wandb_run(path, project, root, progress_sink)
    runs = sorted(p.parent.name for p in path.glob("*/run-*.wandb") if p.parent.name != "latest-run")
    if runs:  # the wandb/ folder itself: importing it as an artifact would copy every run's files
        raise InvalidInputError(
            f"{path} holds {len(runs)} W&B run folders ({', '.join(runs[:3])}{', ...' if len(runs) > 3 else ''}); "
            "import them one at a time."
        )
    if type is None:
        raise InvalidInputError(
            f"{path} is an artifact folder (it holds no run-<id>.wandb); give its W&B type with --type (e.g. dataset)."
        )
    name = name or re.sub(r":v\d+$", "", path.resolve().name)
    return import_wandb_artifact(path, project, name, type, root, progress_sink)
