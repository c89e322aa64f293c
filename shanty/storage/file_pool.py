"""Hashing local files on every core: worker processes fed batches of paths through pipes.

Small files cost more in per-file work (a few system calls, the MD5 of 4 KiB) than in bytes, and
CPython runs that work one thread at a time, so threads do not help; processes do. Each worker is
:mod:`shanty.storage.file_hashing` run as a script: about 10 ms to start, no shanty import, no fork
of a process that holds threads. A batch goes down a pipe as one frame of names, its answer comes
back as a few strings, so the pipes carry bytes, not a pickled object per file.

Each worker has a few batches in flight, so it never waits for the caller; answers are handed on in
the order the batches were made, and the batches are made (on a thread of their own) only a few
ahead of the caller, so memory holds a few batches, never the listing. Workers that answered
every batch stay idle for the next listing (starting one costs as much as hashing a thousand
small files); they end with the interpreter, or when their stdin closes with it.
"""

from __future__ import annotations

import atexit
import contextlib
import marshal
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

from ..errors import StorageError
from . import file_hashing
from .file_hashing import _HEADER, HashedBatch

__all__ = ["HashWorkers", "can_start_workers", "cores"]

_IN_FLIGHT = 3  # batches per worker: one being hashed, two waiting (slack while the caller holds the GIL)
_POLL = 0.05  # seconds between a blocked writer's looks at whether the listing is closing
_AHEAD = 4  # batches per worker made but not yet handed to the caller
MAX_IDLE = 8  # worker processes kept between listings, at most (and no more than the cores)

B = TypeVar("B")


def can_start_workers() -> bool:
    """Whether ``sys.executable`` is a Python that can run a worker (not so in a program that embeds
    Python: uWSGI, a frozen application); else files are hashed in this process."""
    name = os.path.basename(sys.executable or "").lower()
    return name.startswith(("python", "pypy")) and os.path.isfile(file_hashing.__file__)


def cores() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class _Process:
    """A hashing worker process, kept between listings (see :func:`_acquire`)."""

    def __init__(self) -> None:
        # -I -S: no site-packages, no user paths, no PYTHON* variables: the standard library alone.
        self.popen = subprocess.Popen(
            [sys.executable, "-I", "-S", file_hashing.__file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
        )
        self.owner = os.getpid()

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            if self.popen.poll() is None:
                self.popen.kill()

    def end(self) -> None:
        """Kill the process and close our ends of its pipes (no thread may be using them)."""
        self.kill()
        self.popen.wait()
        for pipe in (self.popen.stdin, self.popen.stdout):
            with contextlib.suppress(OSError):
                pipe.close()  # type: ignore[union-attr]


# Workers between listings: starting one costs about 15 ms of CPU, as much as hashing a thousand files.
_idle: list[_Process] = []
_idle_lock = threading.Lock()


def _acquire(count: int) -> list[_Process]:
    """``count`` worker processes: idle ones first, new ones for the rest."""
    with _idle_lock:
        alive = [p for p in _idle if p.owner == os.getpid() and p.popen.poll() is None]
        taken, _idle[:] = alive[:count], alive[count:]
    try:
        while len(taken) < count:
            taken.append(_Process())
    except BaseException:
        for process in taken:
            process.end()
        raise
    return taken


def _release(processes: list[_Process]) -> None:
    """Keep ``processes`` (idle, answered every batch they were sent) for the next listing."""
    with _idle_lock:
        keep = max(0, min(cores(), MAX_IDLE) - len(_idle))
        _idle.extend(processes[:keep])
    for process in processes[keep:]:
        process.end()


@atexit.register
def _end_idle() -> None:
    with _idle_lock:
        ending, _idle[:] = list(_idle), []
    for process in ending:
        if process.owner == os.getpid():
            process.end()


def _forget_in_child() -> None:
    """A forked child must not share its parent's workers: it drops its copies of their pipes."""
    for process in _idle:
        for pipe in (process.popen.stdin, process.popen.stdout):
            with contextlib.suppress(OSError):
                pipe.close()  # type: ignore[union-attr]
    _idle.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)

_END = -1  # told to a reader: no more answers to read for this listing


class _Worker:
    """A worker process serving one listing through two threads: ``writer`` sends the batches it takes
    from the shared queue (at most :data:`_IN_FLIGHT` unanswered), ``reader`` reads one answer per
    batch sent and hands it on; both end when the listing does, leaving the process idle."""

    def __init__(self, pool: HashWorkers, process: _Process):
        self.pool, self.process = pool, process
        self.sent: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.room = threading.Semaphore(_IN_FLIGHT)
        self.broken = False
        self.threads = [
            threading.Thread(target=self._write, daemon=True, name="shanty-hash-send"),
            threading.Thread(target=self._read, daemon=True, name="shanty-hash-receive"),
        ]
        for thread in self.threads:
            thread.start()

    def _write(self) -> None:
        pipe = self.process.popen.stdin
        assert pipe is not None
        try:
            while True:
                while not self.room.acquire(timeout=_POLL):  # a killed worker may never answer
                    if self.pool.closing.is_set():
                        return
                job = self.pool.take()
                if job is None or self.pool.closing.is_set():
                    break
                number, payload = job
                self.sent.put(number)
                pipe.write(_HEADER.pack(len(payload)) + payload)
        except OSError:
            self.broken = True  # the process ended: the reader says so
        finally:
            self.sent.put(_END)

    def _read(self) -> None:
        pipe = self.process.popen.stdout
        assert pipe is not None
        try:
            while (number := self.sent.get()) != _END:
                head = _read_exactly(pipe, _HEADER.size)
                answer = None if head is None else _read_exactly(pipe, _HEADER.unpack(head)[0])
                if answer is None:
                    raise EOFError
                self.pool.finished(number, marshal.loads(answer))
                self.room.release()
        except Exception:  # the process ended, or answered what no worker writes: the listing fails
            self.broken = True
            self.pool.failed(self.process.popen)


def _read_exactly(pipe, size: int) -> bytes | None:
    """``size`` bytes from the pipe; None when it ends first."""
    parts, left = [], size
    while left:
        part = pipe.read(left)
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


class HashWorkers(Generic[B]):
    """``workers`` hashing processes for one listing; a context manager (they are kept idle after it).

    :meth:`run` takes (batch, payload) pairs, a payload being a :func:`~.file_hashing.batch_paths`
    frame, and yields (batch, hashed) in the same order. :attr:`bytes_per_file` is the mean size of
    the files hashed so far (None before the first answer), for the caller to size its batches.
    """

    def __init__(self, workers: int):
        self.stop = threading.Event()  # the listing failed or was abandoned
        self.closing = threading.Event()  # no more batches will be sent
        self._jobs: queue.Queue[tuple[int, bytes] | None] = queue.Queue()
        self._done: dict[int, HashedBatch] = {}
        self._changed = threading.Condition()
        self._error: BaseException | None = None
        self._made: int | None = None  # batches made, once the listing is over
        self._handed = 0  # batches handed to the caller
        self._ahead = _AHEAD * workers
        self._bytes = self._files = 0
        self._complete = False  # every batch answered and handed on: the workers can be kept
        self._workers = [_Worker(self, process) for process in _acquire(workers)]

    @property
    def bytes_per_file(self) -> float | None:
        with self._changed:
            return self._bytes / self._files if self._files else None

    # --- called by the worker threads -------------------------------------------------
    def take(self) -> tuple[int, bytes] | None:
        """The next batch to send, or None when there are no more (the listing ended or was abandoned)."""
        job = self._jobs.get()
        if job is None:
            self._jobs.put(None)  # for the other writers
        return job

    def finished(self, number: int, hashed: HashedBatch) -> None:
        """A worker's answer for batch ``number``."""
        sizes = memoryview(hashed[0]).cast("q")
        with self._changed:
            self._done[number] = hashed
            self._bytes += sum(sizes)
            self._files += len(sizes)
            self._changed.notify_all()

    def failed(self, process: subprocess.Popen) -> None:
        """A worker ended with batches unanswered: unless the listing was abandoned, it fails."""
        try:  # its pipe closed as it died: its exit status follows within moments
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # alive but silent (a closed pipe): say so rather than wait on
            code = None
        with self._changed:
            if not self.stop.is_set():
                self._error = self._error or StorageError(
                    f"A file hashing process failed (exit code {code}); retry the listing, and report it if it "
                    "fails again."
                )
                self.stop.set()
            self._changed.notify_all()

    # --- the listing thread -------------------------------------------------------------
    def _feed(self, jobs: Iterator[tuple[B, bytes]], batches: list[B | None]) -> None:
        """Queue the batches ``jobs`` makes, a few ahead of the caller; what it raises is kept for the caller."""
        try:
            for batch, payload in jobs:
                with self._changed:
                    while len(batches) - self._handed >= self._ahead and not self.stop.is_set():
                        self._changed.wait()
                    if self.stop.is_set():
                        break
                    self._jobs.put((len(batches), payload))
                    batches.append(batch)
        except BaseException as exc:  # raised to the caller after the batches made before it
            with self._changed:
                self._error = exc
        with self._changed:
            self._made = len(batches)
            self._changed.notify_all()
        self._jobs.put(None)

    # --- the caller ---------------------------------------------------------------------
    def run(self, jobs: Iterator[tuple[B, bytes]]) -> Iterator[tuple[B, HashedBatch]]:
        """Yield (batch, hashed) for each of ``jobs``, in order; what ``jobs`` raises (or a worker's
        end) is raised after the batches made before it. ``jobs`` is iterated on a thread of its own."""
        batches: list[B | None] = []
        feeder = threading.Thread(target=self._feed, args=(jobs, batches), daemon=True, name="shanty-listing")
        feeder.start()
        try:
            number = 0
            while True:
                with self._changed:
                    while number not in self._done:
                        over = self._made is not None and number >= self._made
                        if over or (self.stop.is_set() and self._error is not None):
                            if self._error is not None:
                                raise self._error
                            self._complete = True
                            return
                        self._changed.wait()
                    hashed = self._done.pop(number)
                    batch, batches[number] = batches[number], None  # handed on: not held here any longer
                    self._handed = number = number + 1
                    self._changed.notify_all()
                yield batch, hashed  # type: ignore[misc]
        finally:
            if not self._complete:
                with self._changed:
                    self.stop.set()
                    self._changed.notify_all()
            feeder.join()

    def close(self) -> None:
        """Give the workers back for the next listing when every batch was answered; else end them at
        once (whatever they were doing is no longer wanted, and their pipes may hold half a frame)."""
        self.closing.set()
        if not self._complete:
            with self._changed:
                self.stop.set()
                self._changed.notify_all()
            for worker in self._workers:
                worker.process.kill()  # its reader sees the pipe end
        self._jobs.put(None)  # a writer waiting for a batch wakes and ends
        for worker in self._workers:
            for thread in worker.threads:
                thread.join()
        kept = [w.process for w in self._workers if self._complete and not w.broken]
        for worker in self._workers:
            if worker.process not in kept:
                worker.process.end()
        _release(kept)

    def __enter__(self) -> HashWorkers[B]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
