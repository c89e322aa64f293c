"""Benchmark: the dashboard in headless Chromium, on the demo and on a 1,000,000-row table of Audio cells.

Starts ``streamlit run app.py`` exactly as the browser tests do (own process
group, own registry and secret) and measures, in Debian's Chromium:

* first row: navigation start to the first row of the media table visible
  (the page's ``performance.now()`` when Playwright sees the row);
* click to sound: a real click on the first audio player's play button, from
  the ``play`` event it fires to ``currentTime > 0`` (both timed inside the
  page; the few ms of input dispatch before ``play`` are not counted);
* peak memory: VmHWM of the streamlit process and its children after the runs.

Each run is a fresh browser context (a new Streamlit session, an empty HTTP
cache); the first run after a server start is "cold", the median is reported
as "warm" and is what the goals are judged on.

    python bench/bench_dashboard.py [--rows 1000000] [--files 300] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("SHANTY_PROGRESS", "0")

import numpy as np
import pandas as pd
from common import free_port, peak_rss_mb
from playwright.sync_api import Browser, sync_playwright

import shanty
from shanty.demo.build import build_demo
from shanty.demo.media import wav_bytes
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    start_streamlit,
    stop_process_group,
    wait_healthy,
)

ROWS = "[data-testid=media-table] tbody tr"
AUDIO = "[data-testid=media-audio]"
GOAL_FIRST_ROW_S = 2.0
GOAL_CLICK_TO_SOUND_S = 1.0
GOAL_MEMORY_MB = 1024

# Installed before the click. The player's own controls swallow pointer events (none reach the page, not
# even the <audio> element), so the clock starts at the "play" event the click fires, then polls currentTime
# every few ms (timeupdate fires only every ~250 ms, far too coarse for this).
_ARM_CLICK_TIMER = """audio => {
  window.__clicked = null; window.__sounding = null;
  audio.addEventListener("play", () => {
    window.__clicked = performance.now();
    const poll = setInterval(() => {
      if (audio.currentTime > 0) { window.__sounding = performance.now(); clearInterval(poll); }
    }, 2);
  }, { once: true });
}"""


# --- registries ------------------------------------------------------------------------------------


def demo_registry(work: Path) -> tuple[Path, str]:
    root = work / "demo-registry"
    build_demo(root, work / "demo-media")
    return root, "/table?artifact=cshanty/synth_samples"


def big_registry(work: Path, rows: int, files: int) -> tuple[Path, str]:
    """``rows`` rows of Audio cells over ``files`` distinct one-second WAVs, logged as bench/big."""
    media = work / "big-media"
    media.mkdir()
    rng = np.random.default_rng(0)
    t = np.arange(16_000) / 16_000
    for i in range(files):
        tone = 0.3 * np.sin(2 * np.pi * (200 + 5 * i) * t) + 0.01 * rng.standard_normal(t.size)
        (media / f"clip_{i:04d}.wav").write_bytes(wav_bytes(tone))
    ids = np.arange(rows) % files
    cells = [shanty.Audio(str(media / f"clip_{i:04d}.wav"), sample_rate=16_000) for i in range(files)]
    frame = pd.DataFrame(
        {
            "row": np.arange(rows),
            "clip": [f"clip_{i:04d}" for i in ids],
            "instrument": np.array(["flute", "sax", "violin", "organ"])[np.arange(rows) % 4],
            "score": (np.arange(rows) * 7919 % 1000) / 1000,
            "audio": [cells[i] for i in ids],  # shared cells: the table is built from 300 objects, not 1M
        }
    )
    artifact = shanty.Artifact("big", type="dataset")
    artifact.add(shanty.Table(dataframe=frame), "big")
    root = work / "big-registry"
    with shanty.init(project="bench", job_type="bench", root=str(root)) as run:
        run.log_artifact(artifact)
    return root, "/table?artifact=bench/big"


# --- the app ---------------------------------------------------------------------------------------


@contextmanager
def running_app(root: Path, work: Path) -> Iterator[tuple[str, int]]:
    """(base URL, pid) of a dashboard serving ``root``; the process group is killed on exit."""
    port = free_port()
    log = work / f"streamlit-{port}.log"
    process = start_streamlit(root, work / "app-secret", log, port)
    try:
        wait_healthy(process, f"http://127.0.0.1:{port}", log)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        stop_process_group(process)


# --- measuring -------------------------------------------------------------------------------------


def one_visit(browser: Browser, url: str) -> tuple[float, float]:
    """(seconds to the first visible row, seconds from click to sound) in a fresh context."""
    context = browser.new_context()
    context.set_default_timeout(120_000)
    try:
        page = context.new_page()
        page.goto(url, wait_until="commit")
        page.locator(ROWS).first.wait_for(state="visible")
        first_row_ms = page.evaluate("performance.now()")  # milliseconds since navigation start
        audio = page.locator(AUDIO).first
        audio.evaluate(_ARM_CLICK_TIMER)
        audio.click(position={"x": 16, "y": 16})  # the native controls' play button
        page.wait_for_function("window.__sounding !== null", timeout=30_000)
        click_ms = page.evaluate("window.__sounding - window.__clicked")
        return first_row_ms / 1000, click_ms / 1000
    finally:
        context.close()


def measure(browser: Browser, root: Path, path: str, work: Path, runs: int) -> dict[str, float]:
    with running_app(root, work) as (base, pid):
        visits = [one_visit(browser, base + path) for _ in range(runs)]
        memory = peak_rss_mb(pid, tree=True)
    first_rows, clicks = zip(*visits, strict=True)
    return {
        "first_row_cold": first_rows[0],
        "first_row_warm": statistics.median(first_rows[1:] or first_rows),
        "click_cold": clicks[0],
        "click_warm": statistics.median(clicks[1:] or clicks),
        "memory_mb": memory,
    }


def _verdict(value: float, goal: float) -> str:
    return "met" if value < goal else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=300, help="distinct WAV files the rows point at")
    parser.add_argument("--runs", type=int, default=5, help="page visits per app (the first is cold)")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing; install Debian's chromium (apt-get install chromium).")
    work = Path(tempfile.mkdtemp(prefix="shanty-bench-dashboard-"))
    try:
        start = time.perf_counter()
        demo = demo_registry(work)
        demo_s = time.perf_counter() - start
        start = time.perf_counter()
        big = big_registry(work, args.rows, args.files)
        big_s = time.perf_counter() - start
        print(f"built the demo in {demo_s:.1f} s and a {args.rows:,}-row table ({args.files} files) in {big_s:.1f} s")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                results = {
                    "demo (28 rows)": measure(browser, *demo, work, args.runs),
                    f"{args.rows:,} rows": measure(browser, *big, work, args.runs),
                }
            finally:
                browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{args.runs} visits per app, fresh browser context each; warm = median of visits 2..{args.runs}\n")
    header = f"{'':<18}{'first row cold':>16}{'first row warm':>16}{'click cold':>12}{'click warm':>12}{'peak RSS':>11}"
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        print(
            f"{name:<18}{r['first_row_cold']:>14.2f} s{r['first_row_warm']:>14.2f} s"
            f"{r['click_cold']:>10.3f} s{r['click_warm']:>10.3f} s{r['memory_mb']:>7.0f} MiB"
        )
    big_result = results[f"{args.rows:,} rows"]
    print("\ngoal                                   figure (warm, worst app)   verdict")
    worst_row = max(r["first_row_warm"] for r in results.values())
    worst_click = max(r["click_warm"] for r in results.values())
    print(f"{'first row under 2 s':<39}{worst_row:>10.2f} s{'':<14}{_verdict(worst_row, GOAL_FIRST_ROW_S)}")
    print(
        f"{'click to sound under 1 s':<39}{worst_click:>10.3f} s{'':<14}{_verdict(worst_click, GOAL_CLICK_TO_SOUND_S)}"
    )
    print(
        f"{'memory under 1 GB (million-row app)':<39}{big_result['memory_mb']:>8.0f} MiB{'':<14}"
        f"{_verdict(big_result['memory_mb'], GOAL_MEMORY_MB)}"
    )


if __name__ == "__main__":
    main()
