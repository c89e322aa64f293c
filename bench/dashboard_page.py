"""What the dashboard benchmark does inside the page: timers armed in JavaScript, read back by Playwright.

Every figure is taken with the page's own clock (``performance.now()``), so
the Python <-> browser round trips are not counted:

* first row: navigation start to the first row visible (as Playwright sees it);
* click -> change: a capture-phase ``click`` listener on ``window`` starts the
  clock (it fires before the element's own handler), a 2 ms poll stops it when
  the page shows what the click asked for;
* click -> sound: as above, stopped when the player's ``currentTime > 0``; a
  native ``<audio controls>`` swallows pointer events, so there the clock
  starts at the ``play`` event instead.

Elements are looked up through open shadow roots too, so a table drawn in a
shadow DOM is found the same way as one in the document.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from playwright.sync_api import Browser, BrowserContext, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

# Installed in every page before its scripts run.
HELPERS = r"""
window.__bench = {
  all(selector) {
    const found = [];
    const walk = (root) => {
      found.push(...root.querySelectorAll(selector));
      for (const node of root.querySelectorAll("*")) if (node.shadowRoot) walk(node.shadowRoot);
    };
    walk(document);
    return found;
  },
  one(selector) { return this.all(selector)[0] || null; },
  // Text of the first row's cell of `column` in the first table matching `table`: the cell marked
  // td[data-column], else the one under the header cell whose data-column (or text) is the column.
  cell(table, column) {
    const t = this.one(table);
    const row = t && t.querySelector("tbody tr");
    if (!row) return null;
    const marked = row.querySelector(`td[data-column="${CSS.escape(column)}"]`);
    if (marked) return marked.textContent.trim();
    const heads = [...t.querySelectorAll("thead tr:last-child th")];
    const i = heads.findIndex((th) => th.dataset.column === column || th.textContent.trim() === column);
    return i >= 0 && row.children[i] ? row.children[i].textContent.trim() : null;
  },
  // What a filter changes: the first row, and the "N rows" count wherever it is shown.
  signature(table) {
    const t = this.one(table);
    const row = t && t.querySelector("tbody tr");
    const texts = [document.body ? document.body.textContent : ""];
    for (const node of this.all("*")) if (node.shadowRoot) texts.push(node.shadowRoot.textContent);
    const counts = texts.join(" ").match(/\d[\d,]*\s+rows\b/g) || [];
    return { row: row ? row.textContent : null, count: counts.join(",") };
  },
  number(text) {
    const cleaned = (text || "").replace(/[\u2212]/g, "-").replace(/[^0-9eE+\-.]/g, "");
    return cleaned ? Number(cleaned) : NaN;
  },
  arm(done) {
    this.clicked = null; this.done = null; this.last = null;
    window.addEventListener("click", () => {
      if (this.clicked !== null) return;
      this.clicked = performance.now();
      const poll = setInterval(() => {
        if (done()) { this.done = performance.now(); clearInterval(poll); }
      }, 2);
    }, { capture: true, once: true });
  },
};
"""

_ARM_SORTED = """([table, column, targets, tolerance]) => {
  const b = window.__bench;
  b.arm(() => {
    b.last = b.cell(table, column);
    const value = b.number(b.last);
    return targets.some((t) => Math.abs(value - t) <= tolerance);
  });
}"""

_ARM_CHANGED = """(table) => {
  const b = window.__bench;
  const before = b.signature(table);
  // Done when the page shows the filtered result: another first row, and another count (when one is shown).
  b.arm(() => {
    const now = b.signature(table);
    b.last = now.row + " | " + now.count;
    return now.row !== null && now.row !== before.row && (!before.count || now.count !== before.count);
  });
}"""


_ARM_PLAYER = """(player) => {
  const b = window.__bench;
  b.arm(() => { const audio = b.one(player); return !!audio && audio.currentTime > 0; });
}"""

# A native player: its controls swallow pointer events, so the clock starts at its "play" event.
_ARM_NATIVE = """audio => {
  const b = window.__bench;
  b.clicked = null; b.done = null;
  audio.addEventListener("play", () => {
    b.clicked = performance.now();
    const poll = setInterval(() => {
      if (audio.currentTime > 0) { b.done = performance.now(); clearInterval(poll); }
    }, 2);
  }, { once: true });
}"""


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and what the page showed."""


@dataclass(frozen=True)
class Targets:
    """Selectors of one app's page (shanty's media table, or the bare baseline page)."""

    table: str
    rows: str
    audio: str  # a native <audio controls> (the baseline, and shanty's table before compact cells)
    play: str | None = None  # a compact cell's play button ...
    player: str | None = None  # ... and the shared player it drives


def new_page(browser: Browser, timeout_ms: int) -> tuple[BrowserContext, Page]:
    """A fresh context (a new app session, an empty HTTP cache) and its page, with the helpers installed."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(timeout_ms)
    context.add_init_script(HELPERS)
    return context, context.new_page()


def first_row(page: Page, url: str, rows: str, timeout_ms: int) -> float:
    """Seconds from navigation start to the first row matching ``rows`` visible."""
    page.goto(url, wait_until="commit", timeout=timeout_ms)
    try:
        page.locator(rows).first.wait_for(state="visible", timeout=timeout_ms)
    except PlaywrightTimeout:
        raise BenchError(f"no row ({rows}) visible {timeout_ms / 1000:.0f} s after opening {url}") from None
    return page.evaluate("performance.now()") / 1000


def _elapsed(page: Page, what: str, timeout_ms: int) -> float:
    try:
        page.wait_for_function("window.__bench.done !== null", timeout=timeout_ms, polling=10)
    except PlaywrightTimeout:
        clicked, last = page.evaluate("[window.__bench.clicked, window.__bench.last]")
        started = "the click was seen" if clicked is not None else "no click reached the page"
        raise BenchError(
            f"{what}: nothing changed in {timeout_ms / 1000:.0f} s ({started}; last seen: {last!r})"
        ) from None
    return page.evaluate("(window.__bench.done - window.__bench.clicked) / 1000")


def click_to_sound(page: Page, targets: Targets, timeout_ms: int) -> tuple[float, str]:
    """(seconds from the click to the player's currentTime > 0, how it was timed)."""
    if targets.play and page.locator(targets.play).count():
        page.evaluate(_ARM_PLAYER, targets.player)
        page.locator(targets.play).first.click()
        return _elapsed(page, "click to sound", timeout_ms), "click on media-play -> player-a playing"
    audio = page.locator(targets.audio).first
    audio.wait_for(state="visible", timeout=timeout_ms)
    audio.evaluate(_ARM_NATIVE)
    audio.click(position={"x": 16, "y": 16})  # the native controls' play button
    return _elapsed(page, "click to sound", timeout_ms), "native <audio> play event -> playing"


def click_to_sorted(
    page: Page,
    targets: Targets,
    control: str,
    column: str,
    expected: tuple[float, ...],
    tolerance: float,
    timeout_ms: int,
) -> float:
    """Seconds from a click on ``control`` to the first row's ``column`` showing one of ``expected``."""
    before = page.evaluate("([t, c]) => window.__bench.cell(t, c)", [targets.table, column])
    if before is None:
        raise BenchError(f"no cell of column {column!r} in the first row of {targets.table}")
    page.evaluate(_ARM_SORTED, [targets.table, column, list(expected), tolerance])
    page.locator(control).first.click()
    return _elapsed(page, f"sort by {column}", timeout_ms)


def click_to_changed(page: Page, targets: Targets, control: str, timeout_ms: int) -> float:
    """Seconds from a click on ``control`` to another first row and another "N rows" count (when shown)."""
    page.evaluate(_ARM_CHANGED, targets.table)
    page.locator(control).first.click()
    return _elapsed(page, f"filter ({control})", timeout_ms)


def first_control(page: Page, selectors: tuple[str, ...]) -> str | None:
    """The first of ``selectors`` present in the page (None when none is)."""
    return next((s for s in selectors if page.locator(s).count()), None)


def settle(seconds: float = 0.3) -> None:
    """A short pause between interactions, so one app rerun does not overlap the next click."""
    time.sleep(seconds)
