"""The panel's Monitoring view of a served model, in a real JupyterLab and Chromium, over a
real registry whose prediction log holds four hours of traffic (tests/served_traffic.py):
the windows the monitor stored, drawn over time; a window's drift report opened from its
row; and the monitor run from the view's button, which stores windows of a new length."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.serving.monitoring import monitor_model

from .browser.lab import LabServer, running_jupyterlab
from .browser.panel import load_lab, open_panel, screenshot, widen_sidebar
from .served_traffic import log_served_traffic

pytest.importorskip("playwright", reason="the browser tests need the playwright package")
from playwright.sync_api import Locator, Page, expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest_plugins = ("tests.browser.fixtures",)

# the monitor judges 16 windows of 15 minutes on a loaded machine: seconds, not minutes
MONITOR_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab over a project whose churn model answered four hours of requests and
    whose windows of one hour were judged and stored (the last two decide retrain)."""
    root_dir = tmp_path_factory.mktemp("lab") / "project"
    registry = Registry.init(root_dir)
    try:
        log_served_traffic(registry)
        monitor_model(registry, "churn", window="1h")
    finally:
        registry.close()
    with running_jupyterlab(
        root_dir, tmp_path_factory.mktemp("lab-state"), env={"MLOPS_REGISTRY": None}
    ) as server:
        yield server


def open_monitoring(page: Page, lab: LabServer) -> Locator:
    load_lab(page, lab)
    panel = open_panel(page)
    widen_sidebar(page, 900)
    panel.get_by_role("tab", name="Models").click()
    card = panel.locator('.jp-mlops-model[data-model="churn"]')
    card.locator(".jp-mlops-monitoring-section > summary").click()
    return card.locator(".jp-mlops-monitoring")


def test_the_view_draws_the_stored_windows_over_time(page: Page, lab: LabServer, page_watch):
    view = open_monitoring(page, lab)

    cells = view.locator(".jp-mlops-monitor-window")
    expect(cells).to_have_count(4)
    expect(view.locator('.jp-mlops-monitor-window[data-decision="retrain"]')).to_have_count(2)
    assert [c.get_attribute("data-decision") for c in cells.all()] == [
        "monitor", "monitor", "retrain", "retrain",
    ]  # fmt: skip
    expect(cells.nth(3)).to_have_attribute("title", re.compile(r"retrain for income, tenure"))
    expect(view.locator(".jp-mlops-monitor-decision .jp-mlops-badge")).to_have_text("retrain")
    table = view.locator(".jp-mlops-monitor-windows")
    headers = table.locator("th").all_text_contents()
    assert {"Retrain for", "Review", "Challenger", "Drift reports"} <= set(headers)
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(4)
    retrain_for = headers.index("Retrain for")
    expect(rows.nth(0).locator("td").nth(retrain_for)).to_have_text("income, tenure")
    expect(rows.nth(3).locator("td").nth(retrain_for)).to_have_text("—")
    expect(rows.nth(0).locator(".jp-mlops-badge")).to_have_text("retrain")
    # latency p50/p99 and the live accuracy of version 1, one point per window
    latency = view.locator(".jp-mlops-monitor-latency svg")
    expect(latency.locator(".jp-mlops-chart-series")).to_have_count(2)
    expect(latency.locator(".jp-mlops-chart-dot")).to_have_count(8)
    metrics = view.locator(".jp-mlops-monitor-metrics svg")
    expect(metrics).to_have_attribute("aria-label", re.compile(r"v1 accuracy: 4 points"))
    screenshot(page, "panel-monitoring")
    assert page_watch.errors == []


def test_a_windows_drift_report_opens_in_the_drift_section(page: Page, lab: LabServer):
    view = open_monitoring(page, lab)
    link = view.locator(".jp-mlops-monitor-windows tbody tr").first.get_by_role(
        "button", name="inputs"
    )
    report_id = link.get_attribute("data-report-id")

    link.click()

    panel = page.locator("#jupyter-mlops-panel")
    expect(panel.get_by_role("tab", name="Drift")).to_have_attribute("aria-selected", "true")
    report = panel.locator(f'.jp-mlops-drift-report[data-report-id="{report_id}"]')
    expect(report).to_have_attribute("open", "")
    expect(report.locator("summary .jp-mlops-badge")).to_have_text("retrain")
    expect(report).to_be_in_viewport()


def test_run_monitor_now_stores_windows_of_the_chosen_length(
    page: Page, lab: LabServer, page_watch
):
    view = open_monitoring(page, lab)
    expect(view.locator(".jp-mlops-monitor-window")).to_have_count(4)

    view.locator(".jp-mlops-monitor-run-length").select_option("15m")
    view.get_by_role("button", name="Run monitor now").click()

    expect(view.locator(".jp-mlops-monitor-run-message")).to_contain_text(
        "16 window(s) of 15m, 16 computed now", timeout=MONITOR_TIMEOUT_MS
    )
    expect(view.locator(".jp-mlops-monitor-window")).to_have_count(16)
    lengths = view.locator(".jp-mlops-monitor-length")
    expect(lengths).to_have_text(["15m (16)", "1h (4)"])
    expect(lengths.first).to_have_attribute("aria-pressed", "true")
    lengths.nth(1).click()
    expect(view.locator(".jp-mlops-monitor-window")).to_have_count(4)
    # run again: the stored windows had ended and nothing new came, so nothing is computed
    view.locator(".jp-mlops-monitor-run-length").select_option("1h")
    view.get_by_role("button", name="Run monitor now").click()
    expect(view.locator(".jp-mlops-monitor-run-message")).to_contain_text(
        "4 window(s) of 1h, 0 computed now", timeout=MONITOR_TIMEOUT_MS
    )
    assert page_watch.errors == []
