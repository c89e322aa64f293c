"""A run's history (the rows ``run.log`` writes) in the registry, and the run as the Api reads it.

History is stored as numbered, immutable chunks of JSON lines::

    projects/<project>/history/<run id>/<seq:08d>.jsonl

Buckets have no append, so a run buffers rows in memory and writes each chunk
once, with the storage's ``create_if_absent`` (the same primitive the
artifact logs use); a resumed run lists the chunks and goes on after the last
one. Rows are kept as logged (nested dicts stay nested, as in W&B's
``wandb-history.jsonl``); :func:`flatten_row` gives the dotted columns that
charts and :meth:`RunView.history` use (``{"train": {"acc": 1}}`` is
``train.acc``, as W&B's UI names it).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .artifact import ArtifactVersion
from .errors import InvalidInputError, MalformedError, NotFoundError
from .jsonfile import plain_json_value
from .names import parse_artifact_ref
from .records import RunInfo
from .registry import Registry
from .run_files import RunFile, run_files
from .storage.location import join_uri

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["HistoryStore", "RunView", "flatten_row", "run_views", "sample_rows"]

_CHUNK = re.compile(r"^(\d{8})\.jsonl$")
RESERVED = ("_step", "_runtime", "_timestamp")  # written by run.log itself, never by the caller


def _history_dir(registry: Registry, project: str, run_id: str) -> str:
    return registry.uri("projects", project, "history", run_id)


class HistoryStore:
    """The chunks of one run's history: write the next one, read them all (chunks are immutable, so
    each is read once per store)."""

    def __init__(self, registry: Registry, project: str, run_id: str):
        self.registry = registry
        self.folder = _history_dir(registry, project, run_id)
        self._read: dict[str, list[dict[str, Any]]] = {}
        self._next: int | None = None

    def chunk_names(self) -> list[str]:
        """The chunk files, in order (one listing)."""
        return [n for n in self.registry.storage.list_names(self.folder) if _CHUNK.match(n)]

    def write(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Store ``rows`` as the next chunk. A number already taken (another process resumed the same
        run) is skipped, never overwritten."""
        if not rows:
            return
        data = "".join(json.dumps(row, default=plain_json_value) + "\n" for row in rows).encode()
        if self._next is None:
            names = self.chunk_names()
            self._next = int(names[-1][:8]) + 1 if names else 0
        self.registry._ensure_marker()
        while not self.registry.storage.create_if_absent(join_uri(self.folder, f"{self._next:08d}.jsonl"), data):
            self._next += 1
        self._next += 1

    def _chunk(self, name: str) -> list[dict[str, Any]]:
        if name not in self._read:
            key = join_uri(self.folder, name)
            try:
                text = self.registry.storage.read_bytes(key).decode("utf-8")
                self._read[name] = [json.loads(line) for line in text.splitlines() if line.strip()]
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise MalformedError(
                    f"The history chunk {key} is damaged; restore it from a backup or remove it."
                ) from exc
        return self._read[name]

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every row, oldest first."""
        for name in self.chunk_names():
            yield from self._chunk(name)

    def last_step(self) -> int | None:
        """The ``_step`` of the last stored row (None when nothing is stored): where a resumed run goes on."""
        names = self.chunk_names()
        rows = self._chunk(names[-1]) if names else []
        return int(rows[-1]["_step"]) if rows else None


def flatten_row(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``); a media or table reference
    (a dict with ``_type``) is one value, as W&B shows it."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and "_type" not in value:
            flat.update(flatten_row(value, name + "."))
        else:
            flat[name] = value
    return flat


def sample_rows(rows: Sequence[Any], samples: int) -> list[Any]:
    """At most ``samples`` rows, evenly spaced, first and last kept (deterministic, unlike W&B's)."""
    if samples <= 0:
        return []
    if len(rows) <= samples:
        return list(rows)
    if samples == 1:
        return [rows[-1]]
    step = (len(rows) - 1) / (samples - 1)
    return [rows[round(i * step)] for i in range(samples)]


def _has_keys(row: Mapping[str, Any], keys: Sequence[str] | None) -> bool:
    return keys is None or all(row.get(k) is not None for k in keys)


class RunView:
    """A run as the Api reads it (W&B's ``wandb.apis.public.Run``): the record's fields (``id``, ``name``,
    ``project``, ``job_type``, ``state``, ``config``, ``summary``, ``tags``, ``notes``, ``group``,
    ``started_at``, ``finished_at``, ``logged``, ``used``, ``metrics``, ``alerts``) plus its history, files
    and artifacts. ``config``, ``summary``, ``name``, ``tags``, ``notes``, ``group`` and ``job_type`` may be
    edited, then stored with :meth:`update`. ``info`` is the frozen record as last read or written."""

    def __init__(self, registry: Registry, info: RunInfo, has_history: bool | None = None):
        self._registry = registry
        self._store = HistoryStore(registry, info.project, info.id)
        self._has_history = has_history
        self._load(info)

    def _load(self, info: RunInfo) -> None:
        self.info = info
        self.config = dict(info.config)
        self.summary = dict(info.summary)
        self.name, self.notes, self.group, self.job_type = info.name, info.notes, info.group, info.job_type
        self.tags = list(info.tags)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name == "info":
            raise AttributeError(name)
        return getattr(self.info, name)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RunView):
            return self.info == other.info
        return self.info == other if isinstance(other, RunInfo) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # compares by the record, like RunInfo

    def __repr__(self) -> str:
        return f"<Run {self.info.project}/{self.info.id} ({self.info.state})>"

    entity = property(lambda self: "", doc="W&B's entity: there are none here, so ''.")
    path = property(lambda self: ["", self.info.project, self.info.id], doc="W&B's [entity, project, id].")
    url = property(lambda self: None, doc="None: the library knows no dashboard URL (as W&B's offline runs).")
    display_name = property(lambda self: self.name)
    description = property(lambda self: self.notes, doc="W&B's other name for the notes.")

    metadata = property(lambda self: None, doc="None: no wandb-metadata.json (host, GPU...) is recorded here.")
    system_metrics = property(lambda self: {}, doc="{}: system metrics are not recorded here.")
    sweep_name = property(lambda self: None, doc="None: there are no sweeps here.")
    sweep = sweep_name
    rawconfig = property(lambda self: dict(self.info.config), doc="The stored config.")

    @property
    def json_config(self) -> str:
        """The config as W&B's JSON string (``{"key": {"value": ...}}``)."""
        return json.dumps({k: {"value": v} for k, v in self.config.items()}, default=plain_json_value)

    def load(self, force: bool = False) -> RunInfo:
        """Read the record again (edits not stored with :meth:`update` are dropped); returns it."""
        fresh = self._registry.run(self.info.project, self.info.id)
        if fresh is None or fresh.state == "deleted":
            raise NotFoundError(f"The run {self.info.project}/{self.info.id} no longer exists.")
        self._load(fresh)
        return fresh

    @property
    def summary_metrics(self) -> dict[str, Any]:
        """The stored summary (W&B's ``summary_metrics``)."""
        return dict(self.info.summary)

    @property
    def lastHistoryStep(self) -> int:
        """The ``_step`` of the last stored history row; -1 when there is none (as W&B)."""
        last = self._store.last_step()
        return -1 if last is None else last

    def files(
        self, names: Sequence[str] | None = None, pattern: str | None = None, per_page: int = 50
    ) -> list[RunFile]:
        """The files the run saved (``run.save``, ``run.dir``), by name: only ``names`` when given, or those
        matching ``pattern`` (W&B's SQL LIKE: ``%`` any text, ``_`` one character). InvalidInputError for
        both at once."""
        if names and pattern is not None:
            raise InvalidInputError("Pass names or pattern to files(), not both.")
        found = run_files(self._registry, self.info.project, self.info.id)
        if names:
            return [f for f in found if f.name in set(names)]
        if pattern is not None:
            glob = "".join(
                "*" if c == "%" else "?" if c == "_" else fnmatch.escape(c) if c in "*?[" else c for c in pattern
            )
            return [f for f in found if fnmatch.fnmatchcase(f.name, glob)]
        return found

    def file(self, name: str) -> RunFile:
        """The saved file ``name``; NotFoundError when the run saved none by that name."""
        found = self.files([name])
        if not found:
            raise NotFoundError(f"The run {self.info.project}/{self.info.id} saved no file {name!r}.")
        return found[0]

    def update(self) -> None:
        """Store the edits to ``config``, ``summary``, ``name``, ``tags``, ``notes``, ``group`` and ``job_type``
        (W&B's ``run.update()``). The record has one writer: edit a run that is still running from the
        run itself, or its next write replaces these edits."""
        tags = tuple(str(t) for t in ([self.tags] if isinstance(self.tags, str) else self.tags or ()))
        changes = {"config": dict(self.config), "summary": dict(self.summary), "name": self.name}
        info = replace(self.info, tags=tags, notes=self.notes, group=self.group, job_type=self.job_type, **changes)
        self._registry.write_run(info)
        self._load(info)

    save = update

    def delete(self, delete_artifacts: bool = False) -> None:
        """W&B's ``delete``: the run no longer lists or resolves and its id cannot be used again; its
        record stays as a tombstone and its history chunks stay stored, unread (storage here has no
        delete). Artifacts it logged stay, unless ``delete_artifacts`` (then each version it logged is
        deleted, aliases included)."""
        if delete_artifacts:
            for version in self.logged_artifacts():
                version.delete(delete_aliases=True)
        info = self.info
        self._registry.write_run(RunInfo(info.id, info.project, info.job_type, info.name, info.started_at,
                                         finished_at=info.finished_at, state="deleted"))  # fmt: skip

    def use_artifact(self, artifact: ArtifactVersion, use_as: str | None = None) -> ArtifactVersion:
        """W&B's ``use_artifact`` after the fact: record a logged version as used by this run.
        InvalidInputError for a draft (log it first) or anything else."""
        self._check_logged(artifact, "use_artifact")
        self._write_lineage(used=(*self.info.used, artifact.qualified_name))
        return artifact

    def log_artifact(self, artifact: ArtifactVersion, aliases: Any = None, tags: Any = None) -> ArtifactVersion:
        """W&B's ``log_artifact`` after the fact: record a logged version of this run's project as logged by
        this run, adding ``aliases`` and ``tags`` to it. InvalidInputError for a draft or another project."""
        self._check_logged(artifact, "log_artifact")
        if artifact.project != self.info.project:
            raise InvalidInputError(f"A run logs artifacts of its own project {self.info.project!r} only.")
        if aliases or tags:
            artifact.aliases = [*artifact.aliases, *([aliases] if isinstance(aliases, str) else aliases or ())]
            artifact.tags = [*artifact.tags, *([tags] if isinstance(tags, str) else tags or ())]
            artifact.save()
        self._write_lineage(logged=(*self.info.logged, artifact.qualified_name))
        return artifact

    def _check_logged(self, artifact: Any, call: str) -> None:
        if not isinstance(artifact, ArtifactVersion):
            raise InvalidInputError(f"{call} on a run read from the Api takes a logged version (Api().artifact(...)).")

    def _write_lineage(self, **changes: Any) -> None:
        fresh = self._registry.run(self.info.project, self.info.id) or self.info
        if any(name in getattr(fresh, key) for key, names in changes.items() for name in names[-1:]):
            self._load(fresh)
            return
        merged = {key: (*getattr(fresh, key), names[-1]) for key, names in changes.items()}
        self._registry.write_run(replace(fresh, **merged))
        self._load(self._registry.run(self.info.project, self.info.id) or fresh)

    @property
    def created_at(self) -> str:
        """W&B's name for when the run started."""
        return self.info.started_at

    @property
    def has_history(self) -> bool:
        """Whether ``run.log`` stored any row for this run."""
        if self._has_history is None:
            self._has_history = bool(self._store.chunk_names())
        return self._has_history

    def scan_history(
        self,
        keys: Sequence[str] | None = None,
        page_size: int = 1000,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every row, oldest first, as logged (W&B's ``scan_history``): with ``keys``, only the rows
        holding all of them, with just those keys and ``_step``; ``min_step`` <= ``_step`` < ``max_step``.
        ``page_size`` is W&B's and has no effect."""
        for row in self._store.rows():
            step = row.get("_step", 0)
            if (min_step is not None and step < min_step) or (max_step is not None and step >= max_step):
                continue
            if keys is None:
                yield row
                continue
            flat = flatten_row(row)
            if _has_keys(flat, keys):
                yield {"_step": step, **{k: flat[k] for k in keys}}

    def history(
        self,
        samples: int = 500,
        keys: Sequence[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> pd.DataFrame | list[dict[str, Any]]:
        """The history sampled to at most ``samples`` rows (W&B's ``history``), nested keys flattened to
        ``parent.child`` columns: a pandas DataFrame with ``_step`` (a list of dicts with
        ``pandas=False``). With ``keys``, only rows holding all of them, with those columns and
        ``x_axis``. ``stream`` is W&B's and has no effect (there are no system metrics here)."""
        rows = [flatten_row(r) for r in self._store.rows()]
        if keys is not None:
            columns = [x_axis, *[k for k in keys if k != x_axis]]
            rows = [{k: r.get(k) for k in columns} for r in rows if _has_keys(r, keys)]
        rows = sample_rows(rows, samples)
        if not pandas:
            return rows
        import pandas as pd

        return pd.DataFrame(rows, columns=columns) if keys is not None else pd.DataFrame(rows)

    def logged_artifacts(self) -> list[ArtifactVersion]:
        """The versions this run logged, in order (W&B's ``logged_artifacts``)."""
        return self._versions(self.info.logged)

    def used_artifacts(self) -> list[ArtifactVersion]:
        """The versions this run used, in order, each once (W&B's ``used_artifacts``)."""
        return self._versions(self.info.used)

    def _versions(self, names: Sequence[str]) -> list[ArtifactVersion]:
        unique = list(dict.fromkeys(names))
        return [ArtifactVersion(self._registry, self._registry.resolve(parse_artifact_ref(n))) for n in unique]


def run_views(registry: Registry, project: str) -> list[RunView]:
    """Every run of ``project``, oldest first, knowing whether it has history (one listing for all)."""
    with_history = set(registry.storage.list_names(registry.uri("projects", project, "history")))
    return [RunView(registry, info, info.id in with_history) for info in registry.runs(project)]
