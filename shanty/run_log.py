"""``run.log`` with W&B's semantics: steps, pending rows, the summary, tables and media as artifacts.

* Each committed row gets ``_step`` (auto-incremented), ``_runtime`` (seconds
  since the run started) and ``_timestamp`` (Unix seconds). ``commit=False``
  merges into the pending row; an explicit ``step`` above the current one
  commits the pending row first (and, as W&B, leaves the new row pending
  unless ``commit=True``); a ``step`` below it is ignored with a warning.
* Numbers, bools, text, lists and nested dicts (kept nested, as W&B keeps
  them) go to the history; numpy and tensor scalars become Python numbers.
  The latest value of each key also goes to ``run.summary``.
* A :class:`~shanty.Table` or :class:`~shanty.JoinedTable` under ``key``
  becomes the next version of the artifact ``run-<run id>-<key>`` (type
  ``run_table``), the table stored as ``key`` inside it (as W&B does); the row
  holds a ``table-file`` reference to that version. Unchanged contents make no
  new version.
* A :class:`~shanty.Histogram` is stored as W&B's ``{"_type": "histogram", "values", "bins"}``;
  ``define_metric`` definitions shape the summary and sync step metrics (:mod:`shanty.run_metrics`).
* Media (:class:`~shanty.Audio` / ``Image`` / ``Video``, or a list of them)
  under ``key`` are gathered into a table ``run-<run id>-<key>`` with columns
  ``step`` and ``key``, committed when the run finishes, so they play in the
  Table view; the row holds a small reference.

Rows are buffered and written as immutable chunks (see :mod:`shanty.run_history`)
every :data:`FLUSH_ROWS` rows or :data:`FLUSH_SECONDS`, and when the run finishes.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import time
import warnings
import zlib
from collections.abc import Callable, Mapping
from typing import Any

from .artifact import Artifact, ArtifactVersion
from .errors import InvalidInputError
from .jsonfile import plain_json_value
from .run_history import RESERVED, HistoryStore, flatten_row
from .run_metrics import MetricSet
from .tables.cells import Media, cell_kind
from .tables.table import JoinedTable, Table
from .wandb_compat import Histogram

__all__ = ["FLUSH_ROWS", "FLUSH_SECONDS", "RunLogger", "run_table_name"]

FLUSH_ROWS = 100  # rows buffered before a chunk is written
FLUSH_SECONDS = 30.0  # ... or this long after the last chunk, so a live run's history shows while it runs
RUN_TABLE_TYPE = "run_table"  # W&B's artifact type for tables logged with run.log
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def run_table_name(run_id: str, key: str) -> str:
    """W&B's artifact name for what ``run.log`` logs under ``key`` (0.31's ``sanitize_artifact_name``):
    ``run-<id>-<key>`` when that is a valid name, else with the characters a name cannot hold removed
    and a 6-character suffix (base64 of the CRC-32 of the original) keeping distinct keys distinct:
    ``"Table Name"`` -> ``run-<id>-TableName-<suffix>``, as W&B names it."""
    name = f"run-{run_id}-{key}"
    sanitized = _UNSAFE.sub("", name)
    if sanitized == name:
        return name
    suffix = base64.urlsafe_b64encode((zlib.crc32(name.encode()) & 0xFFFFFFFF).to_bytes(4, "big"))
    return f"{sanitized}-{suffix.rstrip(b'=').decode('ascii')}"


def _deep_merge(into: dict[str, Any], values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        if isinstance(value, dict) and "_type" not in value and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


def _plain_scalar(value: Any) -> Any:
    """A numpy / torch / jax scalar as its Python value; anything else unchanged."""
    if type(value).__module__.split(".")[0] in ("numpy", "torch", "jax", "jaxlib", "tensorflow"):
        item = getattr(value, "item", None)
        size = getattr(value, "size", None)
        size = size() if callable(size) and type(value).__module__.startswith("torch") else size
        if callable(item) and (getattr(value, "ndim", 0) == 0 or size == 1):
            return item()
        if callable(getattr(value, "tolist", None)):
            return value.tolist()
    return value


class RunLogger:
    """The history side of one run: the current step, the pending row, buffered rows, gathered media.

    ``commit(artifact)`` stores a draft as a version of this run (``Run._commit`` plus lineage);
    ``persist()`` writes the run record (so the summary is stored with each chunk).
    """

    def __init__(
        self,
        store: HistoryStore,
        run_id: str,
        summary: dict[str, Any],
        commit: Callable[[Artifact], ArtifactVersion],
        persist: Callable[[], None],
        metrics: MetricSet | None = None,
    ):
        self.store, self.run_id, self.summary = store, run_id, summary
        self.metrics = metrics if metrics is not None else MetricSet()  # define_metric's definitions
        self._commit, self._persist = commit, persist
        last = store.last_step()
        self.step = 0 if last is None else last + 1  # a resumed run goes on after its last row
        self.pending: dict[str, Any] = {}
        self.buffer: list[dict[str, Any]] = []
        self.media: dict[str, tuple[str, list[tuple[int, Media]]]] = {}  # key -> (kind, [(step, cell)])
        self.started = time.time()
        self.flushed_at = time.monotonic()

    # --- logging -------------------------------------------------------------------------------
    def log(
        self, data: Mapping[str, Any], step: Any = None, commit: bool | None = None, *, stacklevel: int = 3
    ) -> None:
        """W&B's ``run.log`` (see the module docstring). InvalidInputError, one sentence, for data that
        is not a dict of storable values; nothing of that call is kept then. ``stacklevel`` points the
        warning at the caller's line."""
        if not isinstance(data, Mapping):
            raise InvalidInputError(
                f"run.log takes a dict of values, such as {{'loss': 0.1}}, not {type(data).__name__}."
            )
        if step is not None:
            step = _plain_scalar(step)
            if isinstance(step, bool) or not isinstance(step, int) or step < 0:
                raise InvalidInputError(f"step must be a whole number of at least 0, not {step!r}.")
            if step < self.step:
                warnings.warn(
                    f"run.log was given step {step}, lower than the current step {self.step}; steps only go up, "
                    "so this data was ignored (as W&B does).",
                    stacklevel=stacklevel,
                )
                return
        row, media = self._row(data, "")  # checked in full before anything is kept
        if step is not None and step > self.step:
            self._commit_row()
            self.step = step
        for key, (kind, cells) in media.items():
            self.media.setdefault(key, (kind, []))[1].extend((self.step, cell) for cell in cells)
        row = {key: self._log_table(key, value) for key, value in row.items()}
        flat = flatten_row(row)
        for key, value in self.metrics.sync_steps(flat).items():  # define_metric(step_metric=, step_sync=)
            row.setdefault(key, value)
        # Copies: the pending row, the summary and the buffered rows must not share nested dicts.
        _deep_merge(self.pending, copy.deepcopy(row))
        _deep_merge(self.summary, copy.deepcopy(row))
        self.metrics.summarize(self.summary, flat)  # define_metric(summary=...): W&B's aggregates
        if commit if commit is not None else step is None:
            self._commit_row()
        if len(self.buffer) >= FLUSH_ROWS or (self.buffer and time.monotonic() - self.flushed_at > FLUSH_SECONDS):
            self.flush()

    def _row(self, data: Mapping[str, Any], prefix: str) -> tuple[dict[str, Any], dict[str, tuple[str, list[Media]]]]:
        """The storable row of ``data`` and the media cells it holds (by dotted key); tables stay objects
        here and are logged by :meth:`_log_table` once the whole row is known to be good."""
        row: dict[str, Any] = {}
        media: dict[str, tuple[str, list[Media]]] = {}
        for raw_key, value in data.items():
            if not isinstance(raw_key, str) or not raw_key:
                raise InvalidInputError(f"run.log keys must be non-empty strings, not {raw_key!r}.")
            key = prefix + raw_key
            if key in RESERVED:
                raise InvalidInputError(f"{key!r} is set by run.log itself; use another key (or step= for the step).")
            value = _plain_scalar(value)
            cells = (
                value
                if isinstance(value, list | tuple) and value and all(isinstance(v, Media) for v in value)
                else None
            )
            if isinstance(value, Media):
                cells = [value]
            if cells is not None:
                kind = self._media_kind(key, cells, media)
                media[key] = (kind, list(cells))
                wandb_type = cell_kind(kind).wandb_type
                ref = {"_type": wandb_type, "path": cells[0].path, "caption": cells[0].caption}
                if isinstance(value, list | tuple):
                    ref = {"_type": f"{kind}-list", "count": len(cells)}
                row[raw_key] = {**ref, "table": run_table_name(self.run_id, key)}
            elif isinstance(value, Table | JoinedTable):
                row[raw_key] = value
            elif isinstance(value, Histogram):
                row[raw_key] = value.to_json()  # W&B's {"_type": "histogram", "values", "bins"}
            elif isinstance(value, Mapping):
                row[raw_key], inner = self._row(value, key + ".")
                media.update(inner)
            else:
                row[raw_key] = self._plain(key, value)
        return row, media

    def _media_kind(self, key: str, cells: list[Media], media: Mapping[str, tuple[str, list[Media]]]) -> str:
        kinds = {type(c).kind for c in cells}
        known = self.media.get(key, media.get(key, (None,)))[0]
        if len(kinds) > 1 or (known is not None and known not in kinds):
            found = ", ".join(sorted(kinds | ({known} if known else set())))
            raise InvalidInputError(
                f"run.log key {key!r} mixes media kinds ({found}); log each kind under its own key."
            )
        return kinds.pop()

    @staticmethod
    def _plain(key: str, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            return value  # NaN and infinities too: the chunks are read by Python's json, which keeps them
        try:
            return json.loads(json.dumps(value, default=plain_json_value))
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"run.log cannot store {key!r} = {type(value).__name__}; log numbers, text, bools, lists, dicts, "
                "a shanty.Table or Audio / Image / Video values."
            ) from None

    def _log_table(self, key: str, value: Any) -> Any:
        """A Table / JoinedTable as the next version of ``run-<id>-<key>``, replaced by its reference."""
        if isinstance(value, dict) and "_type" not in value:
            return {k: self._log_table(key + "." + k, v) for k, v in value.items()}
        if not isinstance(value, Table | JoinedTable):
            return value
        artifact = Artifact(run_table_name(self.run_id, key), type=RUN_TABLE_TYPE)
        if isinstance(value, JoinedTable):
            for side in (value.table1, value.table2):
                if isinstance(side, Table) and side.logged_as is None:
                    artifact.add(side, f"{key}-{'table1' if side is value.table1 else 'table2'}")
            artifact.add(value, key)
            version = self._commit(artifact)
            return {"_type": "joined-table", "artifact": version.qualified_name, "table": key}
        artifact.add(value, key)
        version = self._commit(artifact)
        return {
            "_type": "table-file",
            "artifact": version.qualified_name,
            "table": key,
            "nrows": len(value),
            "ncols": len(value.columns),
        }

    # --- writing -------------------------------------------------------------------------------
    def _commit_row(self) -> None:
        if not self.pending:
            return
        now = time.time()
        row = {**self.pending, "_step": self.step, "_runtime": round(now - self.started, 3), "_timestamp": now}
        self.buffer.append(row)
        self.pending = {}
        self.step += 1

    def flush(self) -> None:
        """Write the buffered rows as a chunk and the run record (with the summary)."""
        rows, self.buffer = self.buffer, []
        self.store.write(rows)
        self.flushed_at = time.monotonic()
        self._persist()

    def close(self) -> None:
        """Commit the pending row, write what is buffered, and log each media key's table."""
        self._commit_row()
        for key, (_kind, cells) in self.media.items():
            table = Table(columns=["step", key], data=[[step, cell] for step, cell in cells])
            artifact = Artifact(run_table_name(self.run_id, key), type=RUN_TABLE_TYPE)
            artifact.add(table, key)
            version = self._commit(artifact)
            self.summary[key] = {"_type": "table-file", "artifact": version.qualified_name, "table": key}
        self.media = {}
        self.flush()
