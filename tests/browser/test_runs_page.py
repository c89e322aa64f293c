"""The Runs page in a real browser: it opens on the demo's training run with its charts drawn."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

CHART = "[data-testid=stVegaLiteChart]"


def test_runs_opens_with_no_parameters_on_charts_and_formatted_summary(page: Page) -> None:
    page.goto("/runs")
    expect(page.get_by_text("Metrics · 60 step(s)")).to_be_visible()
    charts = page.locator(CHART)
    expect(charts).to_have_count(6)
    # Vega draws each chart into a canvas (or an svg) once its data is in: the charts are drawn, not empty.
    expect(charts.first.locator("canvas, svg").first).to_be_visible()
    page.wait_for_function(
        """sel => [...document.querySelectorAll(sel + ' canvas')].every(c => c.width > 100 && c.height > 100)""",
        arg=CHART,
    )
    summary = page.locator("[data-testid=stDataFrame]").first
    expect(summary).to_be_visible()
    # Glide draws the grid on a canvas; its accessible table mirror holds the formatted values.
    cells = summary.locator("td[role=gridcell]")
    expect(cells.filter(has_text="best_val_accuracy")).to_have_count(1)
    texts = [t.strip() for t in cells.evaluate_all("cs => cs.map(c => c.textContent)")]
    assert "0.8965" in texts and "0.000002" in texts and "table cshanty/run-whalenet-1-predictions:v0" in texts
    assert "run=whalenet-1" in page.url


def test_a_logged_table_link_opens_the_table_view(page: Page) -> None:
    page.goto("/runs?project=cshanty&run=whalenet-1")
    page.get_by_role("link", name="Open predictions of cshanty/run-whalenet-1-predictions:v0 in the Table view").click()
    expect(page.locator("[data-testid=media-table] tbody tr")).to_have_count(5)
    assert "/table" in page.url
