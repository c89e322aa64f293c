"""Benchmark: the dashboard in headless Chromium on a 1,000,000-row table of Audio cells (issue 11's goals).

Three apps are started, one after another, each in its own process group,
timed from just before its process starts, and visited in Debian's Chromium:

* a bare Streamlit page (the baseline, generated into the temp dir): one row
  of the same Parquet file (DuckDB, LIMIT 1) in ``st.table``, a "Sort" and a
  "Filter" button that rerun it sorted / filtered, and an ``st.audio``;
* shanty (``streamlit run app.py``, as the browser tests start it);
* with ``--spotlight-python`` (or ``$SPOTLIGHT_PYTHON``): Renumics Spotlight,
  from its own venv, on the same rows (audio column = the WAVs' paths).

Per visit (a fresh browser context: a new session, an empty HTTP cache):
first row (navigation start -> first row visible), click -> sound, header
sort -> the sorted value in the first row, and, after reopening the page,
histogram bar -> the rows / the "N rows" count change. The first visit is
"cold", the median of the others "warm" (judged). Memory is the peak
(VmHWM) of each app's process tree, in MB (10^6 bytes). Page-side timing:
see ``dashboard_page.py``.

    python bench/bench_dashboard.py [--rows 1000000] [--runs 3] [--spotlight-python PATH]
    python bench/bench_dashboard.py --rows 1000 --runs 2          # quick, while developing
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("SHANTY_PROGRESS", "0")

import common  # noqa: F401  (puts the checkout on sys.path)
import numpy as np
import pandas as pd
from dashboard_apps import App, bare_app, shanty_app, spotlight_app, spotlight_version
from dashboard_page import (
    BenchError,
    Targets,
    click_to_changed,
    click_to_sorted,
    click_to_sound,
    first_control,
    first_row,
    new_page,
    settle,
)
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

import shanty
from shanty.demo.media import wav_bytes
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

COLUMN = "loudness"  # the numeric column sorted and filtered; its first row is mid-range, so both change it
SHANTY = Targets(
    table="[data-testid=media-table]",
    rows="[data-testid=media-table] tbody tr",
    audio="[data-testid=media-audio]",
    play="[data-testid=media-play]",
    player="audio[data-testid=player-a]",
)
BARE = Targets(table="[data-testid=stTable] table", rows="[data-testid=stTable] tbody tr", audio="audio")
SPOTLIGHT_ROW = "[data-rowindex='0']:has-text('clip_')"  # a cell of its virtual grid's first row, with data
SORT_CONTROLS = (f'th[data-column="{COLUMN}"] [data-testid=header-sort]', f'th[data-column="{COLUMN}"]')
HISTOGRAM_BAR = f'th[data-column="{COLUMN}"] [data-testid=header-bar]'
GOAL_RATIO, GOAL_SORT_S, GOAL_FILTER_S, GOAL_SOUND_S, GOAL_MEMORY_MB = 1.1, 0.5, 0.5, 0.3, 500


@dataclass
class BigTable:
    root: Path  # the registry
    path: str  # the dashboard's URL path of the table
    parquet: Path  # the table's Parquet file (what the baseline and Spotlight read)
    wav: Path  # the first row's audio
    low: float  # min and max of COLUMN
    high: float


def big_registry(work: Path, rows: int, files: int) -> BigTable:
    """``rows`` rows of Audio cells over ``files`` distinct one-second WAVs, logged as bench/big."""
    media = work / "big-media"
    media.mkdir()
    rng = np.random.default_rng(0)
    t = np.arange(16_000) / 16_000
    for i in range(files):
        tone = 0.3 * np.sin(2 * np.pi * (200 + 5 * i) * t) + 0.01 * rng.standard_normal(t.size)
        (media / f"clip_{i:04d}.wav").write_bytes(wav_bytes(tone))
    index = np.arange(rows)
    ids = index % files
    cells = [shanty.Audio(str(media / f"clip_{i:04d}.wav"), sample_rate=16_000) for i in range(files)]
    frame = pd.DataFrame(
        {
            "row": index,
            "clip": [f"clip_{i:04d}" for i in ids],
            "instrument": np.array(["flute", "sax", "violin", "organ"])[index % 4],
            "score": (index * 7919 % 1000) / 1000,
            # A permutation-like spread over [-60, 0) dB; row 0 is at -30, far from both ends.
            COLUMN: np.round(-60 + 60 * ((index * 7907 + 50_021) % 100_003) / 100_003, 2),
            "audio": [cells[i] for i in ids],  # shared cells: the table is built from `files` objects, not 1M
        }
    )
    artifact = shanty.Artifact("big", type="dataset")
    artifact.add(shanty.Table(dataframe=frame), "big")
    root = work / "big-registry"
    with shanty.init(project="bench", job_type="bench", root=str(root)) as run:
        run.log_artifact(artifact)
    parquet = shanty.Api(root=str(root)).artifact("bench/big:latest").table_file("big")
    low, high = float(frame[COLUMN].min()), float(frame[COLUMN].max())
    return BigTable(root, "/table?artifact=bench/big", Path(parquet), media / "clip_0000.wav", low, high)


# --- visiting an app -------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one app showed: seconds per visit (the first is cold), peak MB, process start -> first row."""

    name: str
    shots: Path | None = None  # where the cold visit's screenshots go (--screenshots)
    first_row: list[float] = field(default_factory=list)
    sound: list[float] = field(default_factory=list)
    sort: list[float] = field(default_factory=list)
    filter: list[float] = field(default_factory=list)
    memory_mb: float = float("nan")
    start_to_row: float = float("nan")
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def shot(self, page: Page, step: str) -> None:
        """A screenshot of the cold visit's ``step`` (to check what was timed), with --screenshots."""
        if self.shots is not None and len(self.first_row) == 1:
            page.screenshot(path=str(self.shots / f"{self.name.split()[0].lower()}-{step}.png"))


def warm(values: list[float]) -> float:
    return statistics.median(values[1:] or values) if values else float("nan")


def wait_idle(page: Page, timeout_ms: int) -> None:
    """Until Streamlit's "Running..." icon is gone (the script run behind the first row is over), then a beat;
    fails with the error an app shows."""
    page.wait_for_function(
        "!document.querySelector('[data-testid=stStatusWidgetRunningIcon]')", timeout=timeout_ms, polling=50
    )
    settle(0.3)
    error = page.locator("[data-testid=stException]")
    if error.count():
        raise BenchError(f"the app shows an error: {error.first.inner_text()[:2000]}")


def visit_streamlit(
    browser: Browser,
    app: App,
    url: str,
    targets: Targets,
    controls: dict[str, str | tuple[str, ...]],
    table: BigTable,
    figures: Figures,
    timeout_ms: int,
) -> None:
    """One visit of a Streamlit app (shanty or the baseline): first row, sound, sort; reopened: filter."""
    cold = not figures.first_row
    context, page = new_page(browser, timeout_ms)
    try:
        figures.first_row.append(first_row(page, url, targets.rows, timeout_ms))
        if cold:
            figures.start_to_row = time.perf_counter() - app.started
        wait_idle(page, timeout_ms)
        figures.shot(page, "1-first-row")
        seconds, how = click_to_sound(page, targets, timeout_ms)
        figures.sound.append(seconds)
        figures.note(f"sound: {how}")
        wait_idle(page, timeout_ms)
        has_filter = first_control(page, (controls["filter"],)) is not None
        sort = first_control(page, controls["sort"])
        if sort is None:
            raise BenchError(f"no sort control ({' or '.join(controls['sort'])}) in the page")
        figures.note(f"sort: click {sort}")
        tolerance = (table.high - table.low) / 200  # what 4 significant digits can round away, and then some
        figures.sort.append(
            click_to_sorted(page, targets, sort, COLUMN, (table.low, table.high), tolerance, timeout_ms)
        )
        figures.shot(page, "2-sorted")
        if not has_filter:
            figures.note("filter: not measured: no header histogram")
            return
        first_row(page, url, targets.rows, timeout_ms)  # a new session: unsorted, unfiltered
        wait_idle(page, timeout_ms)
        figures.note(f"filter: click {controls['filter']}")
        figures.filter.append(click_to_changed(page, targets, controls["filter"], timeout_ms))
        figures.shot(page, "3-filtered")
    finally:
        context.close()


def measure_streamlit(
    figures: Figures,
    browser: Browser,
    starter: Callable[[], object],
    path: str,
    targets: Targets,
    controls,
    table,
    runs,
    timeout_ms,
) -> Figures:
    with starter() as app:
        try:
            for _ in range(runs):
                visit_streamlit(browser, app, app.url + path, targets, controls, table, figures, timeout_ms)
        except (BenchError, PlaywrightTimeout) as exc:
            raise BenchError(f"{exc}\n--- the app's log ---\n{app.log_tail()}") from None
        figures.memory_mb = app.peak_mb()
    return figures


def measure_spotlight(
    figures: Figures, browser: Browser, python: str, table: BigTable, work: Path, runs: int, timeout_s: float
) -> Figures:
    with spotlight_app(python, table.parquet, work, timeout_s) as app:
        for run in range(runs):
            context, page = new_page(browser, int(timeout_s * 1000))
            try:
                figures.first_row.append(first_row(page, app.url + "/", SPOTLIGHT_ROW, int(timeout_s * 1000)))
                if run == 0:
                    figures.start_to_row = time.perf_counter() - app.started
                figures.shot(page, "1-first-row")
            except (BenchError, PlaywrightTimeout) as exc:
                raise BenchError(f"{exc}\n--- spotlight's log ---\n{app.log_tail()}") from None
            finally:
                context.close()
        figures.memory_mb = app.peak_mb()
    return figures


# --- the report ------------------------------------------------------------------------------------


def _s(value: float) -> str:
    return "-" if value != value else f"{value:.3f} s"


def _ratio(mine: float, theirs: float) -> str:
    return "-" if mine != mine or theirs != theirs or theirs <= 0 else f"{mine / theirs:.2f}x"


def _met(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "NO")


def report(shanty_f: Figures, bare: Figures, spot: Figures | None, spot_why: str) -> None:
    spot_name = spot.name if spot else "Spotlight"
    first_ratio = warm(shanty_f.first_row) / warm(bare.first_row)
    rows = [
        ("first row, warm (nav -> row)", _s(warm(shanty_f.first_row)), _s(warm(bare.first_row)),
         _ratio(warm(shanty_f.first_row), warm(bare.first_row)), f"<= {GOAL_RATIO}x bare", _met(first_ratio <= GOAL_RATIO)),
        ("first row, cold", _s(shanty_f.first_row[0]), _s(bare.first_row[0]),
         _ratio(shanty_f.first_row[0], bare.first_row[0]), "-", "-"),
    ]  # fmt: skip
    for name, mine, theirs, goal in (
        ("header sort -> sorted row, warm", shanty_f.sort, bare.sort, GOAL_SORT_S),
        ("histogram bar -> filtered, warm", shanty_f.filter, bare.filter, GOAL_FILTER_S),
        ("click -> sound, warm", shanty_f.sound, bare.sound, GOAL_SOUND_S),
    ):
        if not mine:
            rows.append((name, "not measured: no header histogram", _s(warm(theirs)), "-", f"< {goal} s", "-"))
            continue
        value = warm(mine)
        rows.append((name, _s(value), _s(warm(theirs)), _ratio(value, warm(theirs)), f"< {goal} s", _met(value < goal)))
    rows.append(
        ("app memory (VmHWM, tree)", f"{shanty_f.memory_mb:.0f} MB", f"{bare.memory_mb:.0f} MB",
         _ratio(shanty_f.memory_mb, bare.memory_mb), f"< {GOAL_MEMORY_MB} MB", _met(shanty_f.memory_mb < GOAL_MEMORY_MB))
    )  # fmt: skip
    if spot is not None:
        rows += [
            (f"process start -> first row (vs {spot_name})", _s(shanty_f.start_to_row), _s(spot.start_to_row),
             _ratio(shanty_f.start_to_row, spot.start_to_row), "-", "-"),
            (f"first row, warm (vs {spot_name})", _s(warm(shanty_f.first_row)), _s(warm(spot.first_row)),
             _ratio(warm(shanty_f.first_row), warm(spot.first_row)), "-", "-"),
            (f"peak memory (vs {spot_name})", f"{shanty_f.memory_mb:.0f} MB", f"{spot.memory_mb:.0f} MB",
             _ratio(shanty_f.memory_mb, spot.memory_mb), "-", "-"),
        ]  # fmt: skip
    header = ("metric", "shanty", "baseline", "ratio", "goal", "met?")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = " | ".join(f"{{:<{w}}}" for w in widths)
    print("\nbaseline: the bare Streamlit page" + (f"; rows marked (vs {spot_name}): {spot_name}" if spot else ""))
    print(line.format(*header))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))
    if spot is None:
        print(f"\nSpotlight: not measured: {spot_why}")
    for f in (shanty_f, bare, spot):
        if f is not None:
            name = f.name
            raw = ", ".join(
                f"{k} [{' '.join(f'{v:.3f}' for v in getattr(f, k))}]" for k in ("first_row", "sort", "filter", "sound")
            )
            print(f"{name}: process start -> first row {f.start_to_row:.2f} s; per visit (s): {raw}")
            for text in f.notes:
                print(f"  {name} {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the table (1000: a quick run)")
    parser.add_argument("--files", type=int, default=300, help="distinct WAV files the rows point at")
    parser.add_argument("--runs", type=int, default=5, help="visits per app (the first is cold)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds any one step may take")
    parser.add_argument("--screenshots", metavar="DIR", help="save screenshots of each app's cold visit here")
    parser.add_argument(
        "--spotlight-python",
        default=os.environ.get("SPOTLIGHT_PYTHON"),
        help="python of a venv with renumics-spotlight (default $SPOTLIGHT_PYTHON; none: Spotlight is skipped)",
    )
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing; install Debian's chromium (apt-get install chromium).")
    timeout_ms = int(args.timeout * 1000)
    spot_name, spot_why = "Spotlight", "no --spotlight-python (or $SPOTLIGHT_PYTHON) given"
    if args.spotlight_python:
        try:
            spot_name = f"Spotlight {spotlight_version(args.spotlight_python)}"
            spot_why = ""
        except (RuntimeError, OSError) as exc:
            spot_why = f"cannot run {args.spotlight_python}: {exc}"
            print(f"Spotlight: not measured: {spot_why}")
    shots = Path(args.screenshots).resolve() if args.screenshots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="shanty-bench-dashboard-"))
    bare, mine = Figures("bare Streamlit", shots), Figures("shanty", shots)
    spot = Figures(spot_name, shots) if not spot_why else None
    try:
        started = time.perf_counter()
        table = big_registry(work, args.rows, args.files)
        print(f"built a {args.rows:,}-row table ({args.files} files) in {time.perf_counter() - started:.1f} s")
        below = table.low + (table.high - table.low) / 10  # the baseline's filter: the lowest tenth
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                measure_streamlit(
                    bare,
                    browser,
                    lambda: bare_app(table.parquet, COLUMN, below, table.wav, work, args.timeout),
                    "/",
                    BARE,
                    {"sort": ("button:has-text('Sort')",), "filter": "button:has-text('Filter')"},
                    table,
                    args.runs,
                    timeout_ms,
                )
                print(f"bare Streamlit page: first row warm {warm(bare.first_row):.3f} s")
                measure_streamlit(
                    mine,
                    browser,
                    lambda: shanty_app(table.root, work, args.timeout),
                    table.path,
                    SHANTY,
                    {"sort": SORT_CONTROLS, "filter": HISTOGRAM_BAR},
                    table,
                    args.runs,
                    timeout_ms,
                )
                print(f"shanty: first row warm {warm(mine.first_row):.3f} s")
                if spot is not None:
                    try:
                        timeout = max(args.timeout, 900)  # a million rows into pandas, then into Spotlight
                        measure_spotlight(spot, browser, args.spotlight_python, table, work, args.runs, timeout)
                    except (BenchError, RuntimeError) as exc:
                        spot, spot_why = None, f"{spot_name} did not show the table: {exc}"
            finally:
                browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.rows:,} rows; {args.runs} visits per app, a fresh browser context each; warm = median of 2..")
    report(mine, bare, spot, spot_why)
    if shots:
        print(f"screenshots of the cold visits: {shots}")


if __name__ == "__main__":
    try:
        main()
    except BenchError as exc:
        sys.exit(f"bench_dashboard: {exc}")
