"""What every benchmark needs: the repo on sys.path, a free port, timing, peak memory.

Benchmarks are run by hand (``python bench/bench_<name>.py``), each printing
its figures as ratios against a baseline measured in the same run.
"""

from __future__ import annotations

import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make `shanty` and `tests` importable from the checkout
    sys.path.insert(0, str(REPO))

T = TypeVar("T")

__all__ = ["REPO", "free_port", "median_seconds", "peak_rss_mb", "timed"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(function: Callable[..., T], *args: object) -> tuple[float, T]:
    """(wall seconds, result) of one call ``function(*args)``."""
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def median_seconds(function: Callable[[], T], repeat: int) -> tuple[float, list[T]]:
    """Median wall seconds over ``repeat`` calls, and every call's result (for checking them)."""
    runs = [timed(function) for _ in range(repeat)]
    return statistics.median(seconds for seconds, _ in runs), [result for _, result in runs]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def peak_rss_mb(pid: int | str = "self", *, tree: bool = False) -> float:
    """Peak resident set (VmHWM) of ``pid`` in MiB; with ``tree``, summed over its descendants too.

    VmHWM, not ``ru_maxrss``: getrusage keeps the high-water mark across exec, so a
    child process would report its parent's peak when that was higher.
    """
    total_kb, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        total_kb += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
        if tree and current != "self":
            stack += _children(int(current))
    return total_kb / 1024
