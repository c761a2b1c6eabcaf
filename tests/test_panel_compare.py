"""Comparing runs in the panel, against a real registry, JupyterLab and Chromium.

Runs are selected with the checkbox column of the Runs table (kept across sorts, a box
in the header selects the page); Compare opens a tab with the parameters that differ
side by side (the others on request), each run's metrics and each metric's curves
overlaid, one line per run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.session import SESSION, use_registry

from .browser.lab import LabServer, running_jupyterlab
from .browser.panel import load_lab, open_panel, screenshot, widen_sidebar

pytest.importorskip("playwright", reason="the browser tests need the playwright package")
from playwright.sync_api import Locator, Page, expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest_plugins = ("tests.browser.fixtures",)

EXPERIMENT = "tuning"
# name: (lr, depth, whether it logs a loss curve)
RUNS = {"lr-high": (0.1, 6, True), "lr-low": (0.01, 6, True), "deep": (0.1, 12, False)}
STEPS = 8


def loss(lr: float, step: int) -> float:
    return round(1.0 / (1 + lr * 10 * step), 6)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    root_dir = tmp_path_factory.mktemp("lab") / "project"
    registry = Registry.init(root_dir)
    use_registry(registry)
    try:
        for name, (lr, depth, curve) in RUNS.items():
            with mlops.start_run(name, experiment=EXPERIMENT) as run:
                run.log_params(lr=lr, depth=depth)
                if curve:
                    for step in range(STEPS):
                        run.log(loss=loss(lr, step), step=step)
                run.log(accuracy=round(0.8 + lr + depth / 100, 4))
    finally:
        SESSION.reset()
        registry.close()
    with running_jupyterlab(
        root_dir, tmp_path_factory.mktemp("lab-state"), env={"MLOPS_REGISTRY": None}
    ) as server:
        yield server


@pytest.fixture(scope="module")
def ids(lab: LabServer) -> dict[str, str]:
    listed = lab.get_json("jupyter-mlops/api/runs?page_size=500")
    return {run["name"]: run["id"] for run in listed["runs"]}


@pytest.fixture
def panel(page: Page, lab: LabServer) -> Locator:
    load_lab(page, lab)
    opened = open_panel(page)
    widen_sidebar(page, 700)
    expect(_rows(opened)).to_have_count(len(RUNS))
    return opened


def _rows(panel: Locator) -> Locator:
    return panel.locator(".jp-mlops-runs-table tbody tr.jp-mlops-run-row")


def _box(panel: Locator, name: str) -> Locator:
    return panel.get_by_role("checkbox", name=f"Select {name} to compare")


def _compare_view(page: Page) -> Locator:
    return page.locator(".jp-mlops-compare-view:visible .jp-mlops-compare")


def test_selected_runs_open_side_by_side_with_their_curves_overlaid(
    page: Page, panel: Locator, ids: dict[str, str]
):
    bar = panel.locator(".jp-mlops-selection-bar")
    expect(bar).to_be_hidden()

    _box(panel, "lr-low").check()
    expect(bar).to_contain_text("1 run selected")
    expect(bar.get_by_role("button", name="Compare 1")).to_be_disabled()
    _box(panel, "lr-high").check()
    assert page.locator(".jp-mlops-run-view").count() == 0, "a checkbox opens no run page"
    bar.get_by_role("button", name="Compare 2").click()

    view = _compare_view(page)
    expect(view.locator("h2")).to_have_text("Comparing 2 runs")
    expect(page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")).to_contain_text(
        "Compare 2 runs"
    )
    params = view.locator(".jp-mlops-compare-params")
    # In the order they were picked, only what differs.
    expect(params.locator("thead .jp-mlops-compare-run .jp-mlops-link")).to_have_text(
        ["lr-low", "lr-high"]
    )
    expect(params.locator("tbody tr")).to_have_count(1)
    expect(params.locator('tr[data-param="lr"] td')).to_have_text(["0.01", "0.1"])
    metrics = view.locator(".jp-mlops-compare-metrics")
    # Each run's last value: accuracy, and the loss at the last step.
    expect(metrics.locator("tbody tr")).to_have_text(
        ["accuracy0.870.96", re.compile(r"^loss0\.588\d*0\.125$")]
    )

    chart = view.locator('figure[data-metric="loss"] svg')
    expect(chart.locator(".jp-mlops-chart-series")).to_have_count(2)
    expect(chart.locator(".jp-mlops-chart-series").first.locator("circle")).to_have_count(STEPS)
    expect(chart.locator(".jp-mlops-chart-legend text")).to_have_text(["lr-low", "lr-high"])
    screenshot(page, "panel-compare-two-runs")

    view.get_by_role("checkbox").check()  # the parameters that agree, too

    expect(params.locator("tbody tr")).to_have_count(2)
    expect(params.locator('tr[data-param="depth"] td')).to_have_text(["6", "6"])

    params.get_by_role("button", name="lr-high").click()

    detail = page.locator(".jp-mlops-run-view:visible .jp-mlops-run-detail")
    expect(detail).to_have_attribute("data-run-id", ids["lr-high"])


def test_the_selection_survives_a_sort_and_the_header_box_selects_the_page(
    page: Page, panel: Locator, ids: dict[str, str]
):
    _box(panel, "deep").check()
    panel.locator(".jp-mlops-sort-key").select_option("name")
    expect(_rows(panel).locator(".jp-mlops-col-name")).to_have_text(["lr-low", "lr-high", "deep"])

    expect(_box(panel, "deep")).to_be_checked()
    panel.get_by_role("checkbox", name="Select every run of this page").check()

    bar = panel.locator(".jp-mlops-selection-bar")
    expect(bar).to_contain_text("3 runs selected")
    bar.get_by_role("button", name="Compare 3").click()

    view = _compare_view(page)
    expect(view.locator("h2")).to_have_text("Comparing 3 runs")
    assert view.get_attribute("data-runs") == ",".join([ids["deep"], ids["lr-low"], ids["lr-high"]])
    # deep logged no curve: two lines, and a row per differing parameter.
    expect(view.locator('figure[data-metric="loss"] .jp-mlops-chart-series')).to_have_count(2)
    expect(view.locator(".jp-mlops-compare-params tbody tr")).to_have_count(2)

    bar.get_by_role("button", name="Clear").click()

    expect(bar).to_be_hidden()
    for name in RUNS:
        expect(_box(panel, name)).not_to_be_checked()


def _luminance(css_colour: str) -> float:
    """0 (black) to 1 (white) for an ``rgb(...)``/``rgba(...)`` colour."""
    channels = css_colour[css_colour.index("(") + 1 : css_colour.index(")")].split(",")
    red, green, blue = (float(value) / 255 for value in channels[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_the_compare_view_and_the_selection_read_well_in_the_dark_theme(page: Page, panel: Locator):
    _box(panel, "lr-low").check()
    _box(panel, "deep").check()
    panel.locator(".jp-mlops-selection-bar").get_by_role("button", name="Compare 2").click()
    view = _compare_view(page)
    expect(view.locator(".jp-mlops-compare-params tbody tr")).to_have_count(2)
    # deep logged no loss curve: the one line's chart says whose it is.
    expect(view.locator('figure[data-metric="loss"] .jp-mlops-chart-title')).to_have_text(
        "loss: lr-low only"
    )
    try:
        page.evaluate(
            "window.jupyterapp.commands.execute('apputils:change-theme',"
            " {theme: 'JupyterLab Dark'})"
        )
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
        page.wait_for_selector("#jupyterlab-splash", state="detached")
        page.wait_for_function(
            "() => getComputedStyle(document.querySelector('.jp-mlops-differs')).color"
            " !== 'rgb(0, 0, 0)'"
        )
        differs = view.locator("td.jp-mlops-differs").first.evaluate(
            "cell => getComputedStyle(cell).color"
        )
        background = page.locator(".jp-mlops-compare-view:visible").evaluate(
            "node => getComputedStyle(node).backgroundColor"
        )
        count = panel.locator(".jp-mlops-selection-count").evaluate(
            "node => getComputedStyle(node).color"
        )
        screenshot(page, "panel-compare-dark-theme")
    finally:
        page.evaluate(
            "window.jupyterapp.commands.execute('apputils:change-theme',"
            " {theme: 'JupyterLab Light'})"
        )
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "true")
        panel.locator(".jp-mlops-selection-bar").get_by_role("button", name="Clear").click()

    assert _luminance(background) < 0.3 < _luminance(differs)
    assert _luminance(count) > 0.5
