"""``enrich``: measure a table's media and log the table, with the measured columns, as a new version.

The new version is the old one's files plus the enriched table in place of
the old (its media cells still bound to the same entries), logged by a run
of job type ``enrich`` that used the old version: the lineage says which
version and which job made the columns, and the version's metadata says
what was measured, how and where.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import pyarrow as pa

from ..api import Run
from ..artifact import ArtifactVersion
from ..errors import InvalidInputError
from ..progress import ProgressSink
from ..tables.cells import Image
from ..tables.schema import table_metadata
from ..tables.table import Table
from .audio import AudioMeasures
from .image import ImageMeasures
from .measure import EmbedFn, embed_key
from .runners import measure_all
from .video import VideoMeasures
from .work import WorkList, media_work

__all__ = ["EnrichResult", "enrich", "enriched_columns", "enriched_from", "measures_id"]

# Each kind's measured values, in column order, are its measures class's fields (one owner: a new measure
# is a new field); a field's annotation says its column type, and "<name>_png" bytes become image cells.
_MEASURES = {"audio": AudioMeasures, "image": ImageMeasures, "video": VideoMeasures}
_TYPES = {
    "int": pa.int64(),
    "float": pa.float64(),
    "str": pa.string(),
    "tuple[float, ...]": pa.list_(pa.float32()),
}
_MEASURED = {kind: tuple(f.name for f in fields(cls)) for kind, cls in _MEASURES.items()}
_TYPE_OF = {(kind, f.name): _TYPES.get(str(f.type)) for kind, cls in _MEASURES.items() for f in fields(cls)}


def measures_id() -> str:
    """What names this library's measurements in the result cache (changes when the measures change)."""
    from .embedding import EMBEDDING_VERSION

    return f"shanty-measures-{EMBEDDING_VERSION}"


def enriched_columns(column: str, kind: str) -> list[str]:
    """The names of the columns enriching media column ``column`` of ``kind`` adds (``audio_rms_dbfs``...)."""
    return [f"{column}_{m.removesuffix('_png')}" for m in _MEASURED[kind]]


def enriched_from(version: ArtifactVersion) -> str | None:
    """``project/name:vN`` of the version ``version`` was enriched from (the same rows, measured columns
    added), or None when an enrichment did not make it."""
    found = (version.metadata or {}).get("enrichment")
    return found.get("from") if isinstance(found, dict) and isinstance(found.get("from"), str) else None


@dataclass(frozen=True)
class EnrichResult:
    """What an enrichment did: the version it logged, how many objects it measured now and took from
    the cache, the objects it could not measure (``{uri: why}``) and the columns it added."""

    version: ArtifactVersion
    measured: int
    cached: int
    failed: dict[str, str] = field(default_factory=dict)
    columns: tuple[str, ...] = ()


def _cell(measure: str, value: Any) -> Any:
    if value is None:
        return None
    if measure.endswith("_png"):
        return Image(base64.b64decode(value["png"]))
    return value


def _with_columns(table: Table, work: WorkList, results: dict[tuple[str, str], dict[str, Any]]) -> Table:
    arrow = table.to_arrow()
    media = dict(table.media_columns)
    for column, kind in work.kinds.items():
        for measure, name in zip(_MEASURED[kind], enriched_columns(column, kind), strict=True):
            if name in arrow.column_names:  # enriched before: the new values replace the old
                arrow = arrow.drop_columns([name])
                media.pop(name, None)
            values = [
                None if digest is None else results.get((kind, digest), {}).get(measure)
                for digest in work.row_digests[column]
            ]
            if measure.endswith("_png"):
                cells = Table(columns=["x"], data=[[_cell(measure, v)] for v in values])
                arrow = arrow.append_column(name, cells.to_arrow().column("x"))
                media[name] = "image"
            else:
                arrow = arrow.append_column(name, pa.array(values, _TYPE_OF[(kind, measure)]))
    # The media map lives in the schema metadata: the images made join the columns read as media
    return Table.from_arrow(arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **table_metadata(media)}))


def _table_name(version: ArtifactVersion, table: str | None) -> str:
    names = version.tables()
    if table is None:
        if len(names) != 1:
            raise InvalidInputError(
                f"{version.qualified_name} holds {len(names)} tables ({', '.join(names) or 'none'}); "
                "name the one to enrich."
            )
        return names[0]
    if table not in names:
        raise InvalidInputError(
            f"{version.qualified_name} has no table {table!r}; it holds {', '.join(names) or 'none'}."
        )
    return table


def enrich(
    version: ArtifactVersion,
    table: str | None = None,
    *,
    columns: Sequence[str] | None = None,
    runner: str = "local",
    workers: int | None = None,
    ray_address: str = "auto",
    embed: EmbedFn | None = None,
    progress: ProgressSink | None = None,
) -> EnrichResult:
    """Measure every audio, image and video cell of ``table`` in ``version`` (or only ``columns``) and log
    the table with the measured columns as the next version of the same artifact.

    Audio gains duration, sample rate, channels, RMS and peak dBFS, silence ratio, waveform peaks, a
    spectrogram image, an embedding (timbre and tune: instruments cluster) and a melody vector (the
    tune alone, octave-free: a song and its renderings are neighbours); images width, height, mean
    colour, perceptual hash and an embedding; video duration, fps, size and a poster frame. Images an
    earlier enrichment made (spectrograms, posters) are not measured again. ``embed(kind, bytes) -> vector`` replaces
    the built-in embeddings. ``runner`` is ``local`` (a process pool of ``workers``, default all cores),
    ``serial`` or ``ray`` (at ``ray_address``); every runner gives the same values. Results are cached
    by object digest: a re-run measures only new or changed files. Raises InvalidInputError for an
    unknown table, column or runner; an object that cannot be read leaves its row's cells empty and is
    listed in ``failed``.
    """
    name = _table_name(version, table)
    source = version.get(name)
    assert isinstance(source, Table)
    made = (version.metadata or {}).get("enrichment", {}).get("columns", [])
    work = media_work(version, source, columns, skip=set(made) if columns is None else set())
    results, measured = measure_all(
        work,
        runner=runner,
        workers=workers,
        ray_address=ray_address,
        embed=embed,
        measures_id=measures_id(),
        progress=progress,
    )
    failed = {
        o.uri: results[(o.kind, o.digest)]["error"] for o in work.objects if "error" in results[(o.kind, o.digest)]
    }
    enriched = _with_columns(source, work, results)
    added = tuple(c for col, kind in work.kinds.items() for c in enriched_columns(col, kind))
    draft = version.new_draft()
    draft.remove(name)
    draft.metadata["enrichment"] = {
        "from": version.qualified_name,
        "table": name,
        "columns": list(added),
        "measures": measures_id(),
        "embedding": embed_key(embed) or "built-in",
        "runner": runner,
    }
    with Run(project=version.project, job_type="enrich", root=version._registry.root) as run:
        run.use_artifact(version)
        draft.metadata["enrichment"]["job"] = run.id
        draft.add(enriched, name)
        logged = run.log_artifact(draft)
    return EnrichResult(logged, measured, len(work.objects) - measured, failed, added)
