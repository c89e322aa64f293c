"""Cold start: what ``import shanty`` and ``shanty --help`` cost a fresh interpreter.

    python bench/bench_cold_start.py [--runs 5]

Each run times, one after the other (so a busy moment hits all three alike), a fresh process for:

- the baseline ``python -c pass`` (the interpreter's own start);
- ``python -c "import shanty"``;
- ``shanty --help`` through the console script beside this interpreter (the venv's ``bin/shanty``).

It prints the median [min-max] wall seconds of each, each against the baseline, and each against the
goal of issue 16 item 3: under 0.15 s. Before the lazy package root: 0.51 s / 0.52 s against 0.02 s.

The children run with byte code caching on (PYTHONDONTWRITEBYTECODE dropped; a warm-up run writes the
``.pyc`` files), as an installed package has its byte code compiled at install: with it off, every
start would also time compiling the sources. ``--no-bytecode`` keeps the caller's setting instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import REPO

GOAL_SECONDS = 0.15


def console_script() -> str:
    """The ``shanty`` script installed beside this interpreter (else the one on PATH)."""
    beside = Path(sys.executable).parent / "shanty"
    found = str(beside) if beside.exists() else shutil.which("shanty")
    if found is None:
        sys.exit("No `shanty` console script found; run `pip install -e .` in this environment first.")
    return found


def seconds(command: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one fresh process running ``command`` (it must succeed)."""
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (at least 3)")
    parser.add_argument("--no-bytecode", action="store_true", help="keep PYTHONDONTWRITEBYTECODE if it is set")
    options = parser.parse_args()
    runs = max(3, options.runs)
    env = dict(os.environ)
    if not options.no_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)

    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import shanty": [sys.executable, "-c", "import shanty"],
        "shanty --help": [console_script(), "--help"],
    }
    for command in commands.values():  # warm the OS file cache: the figures are for a warm disk
        seconds(command, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(seconds(command, env))

    baseline = statistics.median(times["python -c pass"])
    cached = "without" if env.get("PYTHONDONTWRITEBYTECODE") else "with"
    print(f"cold start, {runs} runs each, alternating, {cached} cached byte code (median [min-max] wall seconds)")
    for name, values in times.items():
        median = statistics.median(values)
        verdict = "ok" if median < GOAL_SECONDS else "OVER"
        print(
            f"  {name:<16} {median:.3f} s [{min(values):.3f}-{max(values):.3f}]"
            f"  {median / baseline:4.1f}x baseline"
            f"  {median / GOAL_SECONDS:4.2f}x the {GOAL_SECONDS} s goal ({verdict})"
        )


if __name__ == "__main__":
    main()
