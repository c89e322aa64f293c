"""Where the measuring runs: one loop, a local process pool, or a Ray cluster; the same results from each.

Results are cached by object digest in ``$SHANTY_CACHE/enrich/<measures>/``
(one small JSON file each, written atomically), so a re-run measures only
the objects it has not measured yet: a new or changed file, never the rest.
Every runner calls :func:`shanty.enrichment.measure.measure_object` on the same
plain values, so which one ran never shows in the numbers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..progress import Progress, ProgressSink
from ..settings import settings
from .measure import EmbedFn, embed_key, measure_object
from .work import MediaObject, WorkList, object_from_row

__all__ = ["RUNNERS", "ResultCache", "measure_all"]

RUNNERS = ("serial", "local", "ray")
_CHUNK = 8  # objects per pool task: small enough to balance, big enough to amortise the pickling
_RAY_BLOCK = 128  # objects per Ray Data block (one task each)


class ResultCache:
    """Measured results by (kind, digest), one JSON file each, under a folder named for what measured them."""

    def __init__(self, measures_id: str, root: Path | None = None):
        name = hashlib.sha256(measures_id.encode()).hexdigest()[:16]
        self.folder = (root or settings().cache_dir / "enrich") / name

    def _path(self, obj: MediaObject) -> Path:
        key = hashlib.sha256(f"{obj.kind}\0{obj.digest}".encode()).hexdigest()
        return self.folder / key[:2] / f"{key}.json"

    def get(self, obj: MediaObject) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(obj).read_text())
        except (OSError, ValueError):  # absent, or half-written by a killed run: measured again
            return None

    def put(self, obj: MediaObject, result: dict[str, Any]) -> None:
        if "error" in result:  # a failure is not cached: the next run tries again
            return
        path = self._path(obj)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        with os.fdopen(fd, "w") as handle:
            json.dump(result, handle, separators=(",", ":"))
        os.replace(temp, path)


Measured = list[tuple[MediaObject, dict[str, Any]]]


def _measure_chunk(objects: list[MediaObject], embed: EmbedFn | None) -> Measured:
    return [(obj, measure_object(obj, embed)) for obj in objects]


def _chunks(objects: list[MediaObject], size: int) -> Iterator[list[MediaObject]]:
    for start in range(0, len(objects), size):
        yield objects[start : start + size]


def _run_serial(objects: list[MediaObject], embed: EmbedFn | None) -> Iterable[Measured]:
    for chunk in _chunks(objects, 1):
        yield _measure_chunk(chunk, embed)


def _run_local(objects: list[MediaObject], embed: EmbedFn | None, workers: int | None) -> Iterable[Measured]:
    workers = min(workers or os.cpu_count() or 1, len(objects))
    # A few chunks per worker (balance), at most _CHUNK objects each (amortised pickling)
    chunk = max(1, min(_CHUNK, len(objects) // (4 * max(workers, 1))))
    if workers <= 1:
        yield from _run_serial(objects, embed)
        return
    import multiprocessing

    # spawn, not fork: the parent may hold threads (DuckDB, progress bars) that a fork would copy mid-lock.
    # Each worker gets one BLAS thread (read when numpy loads in it): N processes on N cores, not N x N.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        with _one_thread_each():  # each submit starts a process while the environment says one thread
            for started in [pool.submit(int) for _ in range(workers)]:
                started.result()
        yield from pool.map(partial(_measure_chunk, embed=embed), _chunks(objects, chunk))


_THREAD_LIMITS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _one_thread_each() -> Iterator[None]:
    """The environment worker processes start with: one BLAS / OpenMP thread each (a user's own limit kept)."""
    saved = {name: os.environ.get(name) for name in _THREAD_LIMITS}
    for name in _THREAD_LIMITS:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _ray_batch(batch: Any, embed: EmbedFn | None) -> dict[str, list[str]]:
    rows = batch.to_pylist()
    return {
        "key": [f"{r['kind']}\0{r['digest']}" for r in rows],
        "result": [json.dumps(measure_object(object_from_row(r), embed)) for r in rows],
    }


def _start_ray(ray: Any, address: str) -> None:
    if ray.is_initialized():
        return
    if address != "auto":
        ray.init(address=address, include_dashboard=False)
        return
    try:  # auto: join the cluster this machine knows of, else start one here
        ray.init(address="auto", include_dashboard=False)
    except ConnectionError:
        ray.init(include_dashboard=False)


def _run_ray(objects: list[MediaObject], embed: EmbedFn | None, address: str) -> Iterable[Measured]:
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise InvalidInputError(
            "Running on Ray needs the ray extra; install it with: pip install 'shanty[ray]'."
        ) from exc
    _start_ray(ray, address)
    by_key = {f"{o.kind}\0{o.digest}": o for o in objects}
    work = WorkList(tuple(objects), {}, {}).to_arrow()
    # The blocks travel through Ray's object store (a file on the driver is not on the other nodes); only
    # the objects not in the cache go. Blocks of up to _RAY_BLOCK objects, a few per CPU of the cluster:
    # smaller ones spend their time scheduling (10k files on 2 CPUs: 79 files/s with 16 a block, 121 with 128)
    cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
    size = max(1, min(_RAY_BLOCK, -(-work.num_rows // (4 * cpus))))
    blocks = [work.slice(start, size) for start in range(0, work.num_rows, size)]
    dataset = ray.data.from_arrow(blocks).map_batches(
        partial(_ray_batch, embed=embed), batch_format="pyarrow", batch_size=None
    )
    for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
        yield [
            (by_key[key], json.loads(result))
            for key, result in zip(batch["key"].to_pylist(), batch["result"].to_pylist(), strict=True)
        ]


def measure_all(
    work: WorkList,
    *,
    runner: str = "local",
    workers: int | None = None,
    ray_address: str = "auto",
    embed: EmbedFn | None = None,
    measures_id: str,
    progress: ProgressSink | None = None,
) -> tuple[dict[tuple[str, str], dict[str, Any]], int]:
    """Results for every object of ``work`` by ``(kind, digest)``, and how many were measured now (the rest
    came from the cache). ``runner``: ``serial`` (one loop), ``local`` (a process pool of ``workers``,
    default all cores) or ``ray`` (Ray Data on the cluster at ``ray_address``; ``auto`` joins a running
    one or starts a local one). InvalidInputError names an unknown runner or a missing ray extra."""
    if runner not in RUNNERS:
        raise InvalidInputError(f"Unknown runner {runner!r}; use one of {', '.join(RUNNERS)}.")
    cache = ResultCache(f"{measures_id}|{embed_key(embed)}")
    results: dict[tuple[str, str], dict[str, Any]] = {}
    todo: list[MediaObject] = []
    for obj in work.objects:
        cached = cache.get(obj)
        if cached is None:
            todo.append(obj)
        else:
            results[(obj.kind, obj.digest)] = cached
    run: Callable[[], Iterable[Measured]]
    if runner == "serial":
        run = partial(_run_serial, todo, embed)
    elif runner == "local":
        run = partial(_run_local, todo, embed, workers)
    else:
        run = partial(_run_ray, todo, embed, ray_address)
    with Progress("measuring media", total=len(todo), sink=progress) as bar:
        if todo:
            for chunk in run():
                for obj, result in chunk:
                    results[(obj.kind, obj.digest)] = result
                    cache.put(obj, result)
                bar.advance(len(chunk))
    return results, len(todo)
