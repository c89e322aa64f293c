"""The apps the dashboard benchmark visits: shanty, a bare Streamlit page (the baseline), Renumics Spotlight.

Each runs in its own process group (as the browser tests start shanty), is
timed from just before its process starts, and is killed with its group on exit.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from common import REPO, free_port, peak_rss_mb

from tests.browser.conftest import start_in_own_group, start_streamlit, stop_process_group

# The baseline: what plain Streamlit does for each goal, on the same Parquet file, with DuckDB as shanty
# uses it. The row is drawn first (st.table, one row), so "first row" times the same thing as shanty's.
BARE_APP = '''"""Bare Streamlit baseline for bench_dashboard.py: one row of the same table."""
import os

import duckdb
import streamlit as st

TABLE, COLUMN, BELOW, WAV = (os.environ[k] for k in ("BARE_TABLE", "BARE_COLUMN", "BARE_BELOW", "BARE_WAV"))
state = st.session_state
state.setdefault("order", "")
state.setdefault("where", "")
db = duckdb.connect()
source = f"read_parquet('{TABLE}')"
row = db.sql(
    f"SELECT * EXCLUDE (audio), audio.uri AS audio FROM {source} {state.where} {state.order} LIMIT 1"
).df()
st.table(row, hide_index=True)
count = db.sql(f"SELECT count(*) FROM {source} {state.where}").fetchall()[0][0]
st.markdown(f"**{count:,} rows**")


def _sort():
    state.order = f'ORDER BY "{COLUMN}"'


def _filter():
    state.where = f'WHERE "{COLUMN}" < {BELOW}'


st.button("Sort", on_click=_sort)
st.button("Filter", on_click=_filter)
st.audio(WAV)
'''

# Spotlight on the same table: a DataFrame of its rows, the audio column as local paths of the WAVs.
SPOTLIGHT_APP = '''"""Renumics Spotlight on the table bench_dashboard.py measures shanty on."""
import os
import sys

import pyarrow.compute as pc
import pyarrow.parquet as pq
from renumics import spotlight

table = pq.read_table(sys.argv[1])
uris = pc.struct_field(table.column("audio"), "uri")
paths = pc.utf8_replace_slice(uris, 0, len("file://"), "")
table = table.set_column(table.schema.get_field_index("audio"), "audio", paths)
frame = table.to_pandas()
print(f"spotlight {spotlight.__version__}: {len(frame):,} rows loaded", flush=True)
spotlight.show(frame, dtype={"audio": spotlight.Audio}, host="127.0.0.1", port=int(sys.argv[2]),
               no_browser=True, wait="forever", analyze=False, embed=False, allow_filebrowsing=False)
'''


@dataclass
class App:
    """A running app: its URL, its process, and when (``time.perf_counter``) it was started / answered."""

    url: str
    process: subprocess.Popen
    log: Path
    started: float
    answered: float

    def peak_mb(self) -> float:
        """Peak resident memory (VmHWM) of the process and its descendants, in MB (10^6 bytes)."""
        return peak_rss_mb(self.process.pid, tree=True) * 1.048576

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def wait_answering(process: subprocess.Popen, url: str, log: Path, timeout: float, what: str) -> float:
    """``time.perf_counter()`` when ``url`` first answers 200 (polled every 50 ms); fails with the log if the
    process exits or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{what} exited with code {process.returncode} before answering {url}:\n{tail}")
        with contextlib.suppress(OSError, urllib.error.URLError), urllib.request.urlopen(url, timeout=2) as answer:
            if answer.status == 200:
                return time.perf_counter()
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer {url} in {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


@contextmanager
def _running(process: subprocess.Popen, started: float, url: str, health: str, log: Path, timeout: float, what: str):
    try:
        answered = wait_answering(process, health, log, timeout, what)
        yield App(url=url, process=process, log=log, started=started, answered=answered)
    finally:
        stop_process_group(process)


def shanty_app(root: Path, work: Path, timeout: float) -> contextlib.AbstractContextManager[App]:
    """``streamlit run app.py`` on registry ``root``, started as the browser tests start it."""
    port = free_port()
    log = work / f"shanty-{port}.log"
    started = time.perf_counter()
    process = start_streamlit(root, work / "app-secret", log, port)
    url = f"http://127.0.0.1:{port}"
    return _running(process, started, url, f"{url}/_stcore/health", log, timeout, "shanty's streamlit")


def bare_app(table: Path, column: str, below: float, wav: Path, work: Path, timeout: float):
    """The bare Streamlit baseline page on Parquet file ``table``, with the same server flags as shanty's."""
    script = work / "bare_app.py"
    script.write_text(BARE_APP)
    port = free_port()
    log = work / f"bare-{port}.log"
    env = {
        **os.environ,
        "BARE_TABLE": str(table),
        "BARE_COLUMN": column,
        "BARE_BELOW": repr(below),
        "BARE_WAV": str(wav),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        *(sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port)),
        *("--server.headless", "true", "--server.address", "127.0.0.1"),
        *("--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"),
    ]
    started = time.perf_counter()
    process = start_in_own_group(command, env, log, REPO)
    url = f"http://127.0.0.1:{port}"
    return _running(process, started, url, f"{url}/_stcore/health", log, timeout, "the bare streamlit page")


def spotlight_version(python: str) -> str:
    """The installed renumics-spotlight version of interpreter ``python``; raises with why it cannot run."""
    if not Path(python).exists():
        raise RuntimeError(f"{python} does not exist")
    done = subprocess.run(
        [python, "-c", "from renumics import spotlight; print(spotlight.__version__)"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{python} cannot import renumics.spotlight:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def spotlight_app(python: str, table: Path, work: Path, timeout: float):
    """Spotlight serving the rows of Parquet file ``table`` (launched by ``python``, a separate venv)."""
    script = work / "spotlight_app.py"
    script.write_text(SPOTLIGHT_APP)
    port = free_port()
    log = work / f"spotlight-{port}.log"
    # No analytics, no model hub: this machine reaches no such host, and the bench must not try.
    env = {**os.environ, "SPOTLIGHT_OPT_OUT": "true", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("VIRTUAL_ENV", None)
    started = time.perf_counter()
    process = start_in_own_group([python, str(script), str(table), str(port)], env, log, work)
    url = f"http://127.0.0.1:{port}"
    return _running(process, started, url, f"{url}/", log, timeout, "spotlight")
