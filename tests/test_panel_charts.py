"""Charts a person can read in the panel, against a real registry, JupyterLab and Chromium,
in the light and the dark theme.

A run's curves have distinct tick labels at the theme's font size, even when the values
differ in the fifth digit or span decades (a log axis); the drift tab draws each open
report's effects against its threshold and one chart per column; the step graph fits the
sidebar at its default width and at 700 px; a "review" badge is the same amber in the
panel and in the notebook's drift view, and no badge puts light text on a light colour.
"""

from __future__ import annotations

import colorsys
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.session import SESSION, use_registry
from jupyter_mlops.widgets.drift import DRIFT_STYLE, decision_badge
from jupyter_mlops.widgets.styles import TABLE_STYLE

from .browser.lab import LabServer, running_jupyterlab
from .browser.panel import load_lab, open_panel, screenshot, visible_box, widen_sidebar
from .pipelines import code, export_cells, run

pytest.importorskip("playwright", reason="the browser tests need the playwright package")
from playwright.sync_api import Locator, Page, expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest_plugins = ("tests.browser.fixtures",)

THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
CLOSE = [0.89861, 0.89863, 0.89862, 0.89865, 0.89864, 0.89867, 0.89866]  # the fifth digit
LOSS = [10.0 * 0.5**step for step in range(18)]  # 10 down to 7.6e-5
STEPS = [
    "load_customer_records",
    "clean_and_join_tables",
    "engineer_the_features",
    "train_gradient_boosting",
    "evaluate_on_holdout",
]
SWEEP_C = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]  # five decades: a log axis
DRIFT_COLUMNS = {"amount": "review", "tenure": "retrain", "plan": "monitor"}


def _drift_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference and a current frame whose columns get a review, a retrain and a monitor
    decision (seeds chosen for it; the test checks they still do)."""
    n = 400
    rng = np.random.default_rng(5)
    plans = ["basic", "plus", "pro"]
    reference = pd.DataFrame(
        {
            "amount": rng.normal(100, 10, n),
            "tenure": rng.normal(24, 6, n),
            "plan": rng.choice(plans, n, p=[0.5, 0.3, 0.2]),
        }
    )
    rng = np.random.default_rng(101)
    current = pd.DataFrame(
        {
            "amount": rng.normal(101.2, 10, n),
            "tenure": rng.normal(30, 6, n),
            "plan": rng.choice(plans, n, p=[0.5, 0.3, 0.2]),
        }
    )
    return reference, current


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab over a registry with a run whose curves are hard to label, a drift report
    and a pipeline run of five steps with long names, all recorded for real."""
    root_dir = tmp_path_factory.mktemp("lab") / "project"
    registry = Registry.init(root_dir)
    use_registry(registry)
    try:
        with mlops.start_run("close-values", experiment="charts") as close:
            for step, (accuracy, loss) in enumerate(zip(CLOSE * 3, LOSS)):
                close.log(accuracy=accuracy, loss=loss, step=step)
        with mlops.start_run("grid", experiment="charts"):
            for index, c in enumerate(SWEEP_C):
                with mlops.start_run(f"trial-{index}", experiment="charts") as trial:
                    trial.log_params(C=c)
                    trial.log(score=CLOSE[index])
        reference, current = _drift_frames()
        mlops.snapshot(reference, name="train")
        mlops.check_drift("train", current, name="march")
    finally:
        SESSION.reset()
        registry.close()
    cells = [code("import time", "setup"), code("value = 1", f"step:{STEPS[0]}")]
    cells += [code(f"value = value + {i}", f"step:{name}") for i, name in enumerate(STEPS[1:])]
    result = run(export_cells(root_dir, "chain", cells), root_dir)
    assert result.status == "ok", result
    with running_jupyterlab(
        root_dir, tmp_path_factory.mktemp("lab-state"), env={"MLOPS_REGISTRY": None}
    ) as server:
        yield server


@pytest.fixture(params=list(THEMES))
def theme(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def panel(page: Page, lab: LabServer, theme: str) -> Locator:
    load_lab(page, lab)
    page.evaluate(
        "theme => window.jupyterapp.commands.execute('apputils:change-theme', {theme})",
        THEMES[theme],
    )
    expect(page.locator("body")).to_have_attribute(
        "data-jp-theme-light", "true" if theme == "light" else "false"
    )
    page.wait_for_selector("#jupyterlab-splash", state="detached")
    return open_panel(page)


def _run_id(lab: LabServer, name: str) -> str:
    runs = lab.get_json("jupyter-mlops/api/runs?page_size=50")["runs"]
    return str(next(run["id"] for run in runs if run["name"] == name))


def _open_run(page: Page, run_id: str) -> None:
    """Open a run's page as the panel does (its command), whatever the runs table shows."""
    page.evaluate(
        "id => { window.jupyterapp.commands.execute('jupyter-mlops:open-run', {runId: id}); }",
        run_id,
    )


def _tick_labels(chart: Locator) -> dict[str, list[str]]:
    """The y and x tick labels of one chart, as drawn."""
    return chart.evaluate(
        """svg => ({
            y: [...svg.querySelectorAll('.jp-mlops-chart-ytick')].map(t => t.textContent),
            x: [...svg.querySelectorAll('.jp-mlops-chart-xtick')].map(t => t.textContent)
        })"""
    )


def _assert_ticks_never_repeat(charts: Locator) -> None:
    assert charts.count() > 0
    for index in range(charts.count()):
        for axis, labels in _tick_labels(charts.nth(index)).items():
            shown = [label for label in labels if label]
            assert len(shown) == len(set(shown)), f"chart {index}, {axis} axis: {labels}"


def test_run_curves_have_distinct_ticks_at_the_themes_font_size(
    page: Page, panel: Locator, lab: LabServer, theme: str
):
    run_id = _run_id(lab, "close-values")
    _open_run(page, run_id)
    detail = page.locator(".jp-mlops-run-view:visible .jp-mlops-run-detail")
    accuracy = detail.locator('figure[data-metric="accuracy"] svg.jp-mlops-chart')
    loss = detail.locator('figure[data-metric="loss"] svg.jp-mlops-chart')
    expect(accuracy.locator(".jp-mlops-chart-ytick").first).to_be_visible()

    _assert_ticks_never_repeat(detail.locator("svg.jp-mlops-chart"))
    labels = _tick_labels(accuracy)["y"]
    assert "0.89862" in labels and "0.89866" in labels, labels
    assert _tick_labels(loss)["y"] == ["1e-5", "1e-4", "0.001", "0.01", "0.1", "1", "10"]
    assert loss.locator(".jp-mlops-chart-scale").evaluate("t => t.firstChild.textContent") == "log"
    assert accuracy.locator(".jp-mlops-chart-scale").count() == 0
    # Text is drawn at the size the theme gives it, not scaled with the drawing.
    sizes = accuracy.evaluate(
        """svg => [...svg.querySelectorAll('text')].map(
            t => parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a)"""
    )
    theme_size = page.evaluate(
        "parseFloat(getComputedStyle(document.body).getPropertyValue('--jp-ui-font-size1'))"
    )
    assert sizes and max(sizes) <= theme_size + 0.5 and min(sizes) >= 9, sizes
    screenshot(page, f"charts-run-curves-{theme}")


def test_a_sweeps_axes_have_round_distinct_ticks(
    page: Page, panel: Locator, lab: LabServer, theme: str
):
    _open_run(page, _run_id(lab, "grid"))
    sweep = page.locator(".jp-mlops-run-view:visible .jp-mlops-sweep")
    parallel = sweep.locator("svg.jp-mlops-sweep-parallel")
    expect(parallel.locator("polyline.jp-mlops-sweep-line")).to_have_count(len(SWEEP_C))

    ticks = parallel.locator(".jp-mlops-sweep-tick").evaluate_all(
        "ts => ts.map(t => [t.dataset.axis, t.textContent])"
    )
    by_axis: dict[str, list[str]] = {}
    for axis, label in ticks:
        by_axis.setdefault(axis, []).append(label)

    assert by_axis["0"] == ["0.001", "0.01", "0.1", "1", "10", "100"]  # C, on its log axis
    scores = by_axis["1"]  # the metric, apart in the fifth digit
    assert len(scores) >= 3 and len(set(scores)) == len(scores), scores
    assert all(0.89861 <= float(label) <= 0.89867 for label in scores), scores
    scatter = sweep.locator("svg.jp-mlops-sweep-scatter .jp-mlops-sweep-tick")
    for axis in ("x", "y"):
        labels = [t for a, t in scatter.evaluate_all(
            "ts => ts.map(t => [t.dataset.axis, t.textContent])") if a == axis]  # fmt: skip
        assert labels and len(set(labels)) == len(labels), (axis, labels)
    screenshot(page, f"charts-sweep-{theme}")


def _open_drift(panel: Locator) -> Locator:
    panel.get_by_role("tab", name="Drift").click()
    report = panel.locator(".jp-mlops-drift-report").first
    expect(report).to_have_attribute("open", "")
    return report


def test_the_drift_tab_draws_one_chart_per_column_and_the_effects(
    page: Page, panel: Locator, theme: str
):
    widen_sidebar(page, 700)
    report = _open_drift(panel)

    decisions = report.locator("tbody .jp-mlops-badge").all_text_contents()
    assert dict(zip(report.locator("tbody tr td:first-child").all_text_contents(), decisions)) == (
        DRIFT_COLUMNS
    )
    figures = report.locator(".jp-mlops-drift-column-chart")
    expect(figures).to_have_count(len(DRIFT_COLUMNS))
    drawn = figures.evaluate_all("fs => fs.map(f => f.dataset.column)")
    assert sorted(drawn) == sorted(DRIFT_COLUMNS)
    for column in DRIFT_COLUMNS:
        chart = report.locator(f'.jp-mlops-drift-column-chart[data-column="{column}"] svg')
        expect(chart).to_have_count(1)
        # Both sides drawn: bars of the reference and of the current data.
        expect(chart.locator("rect.jp-mlops-drift-reference").first).to_be_attached()
        expect(chart.locator("rect.jp-mlops-drift-current").first).to_be_attached()
    plan = report.locator('.jp-mlops-drift-column-chart[data-column="plan"] svg')
    assert plan.locator(".jp-mlops-chart-xtick").all_text_contents() == ["basic", "plus", "pro"]
    effects = report.locator("svg.jp-mlops-drift-effects")
    bars = effects.locator("rect.jp-mlops-effect-bar")
    expect(bars).to_have_count(len(DRIFT_COLUMNS))
    states = bars.evaluate_all("bs => bs.map(b => [b.dataset.column, b.dataset.state])")
    assert dict(states) == DRIFT_COLUMNS
    expect(effects.locator(".jp-mlops-effect-threshold")).to_have_count(1)
    expect(effects).to_contain_text("threshold 0.1")
    _assert_ticks_never_repeat(report.locator("svg.jp-mlops-chart"))
    screenshot(page, f"charts-drift-{theme}")


@pytest.mark.parametrize("width", [None, 700, 1100], ids=["default-width", "700px", "1100px"])
def test_the_step_graph_fits_the_sidebar_at_its_own_size(
    page: Page, panel: Locator, theme: str, width: int | None
):
    if width:
        widen_sidebar(page, width)
    panel.get_by_role("tab", name="Pipelines").click()

    graph = panel.locator("svg.jp-mlops-step-graph")
    boxes = graph.locator(".jp-mlops-step-box")
    expect(boxes).to_have_count(len(STEPS))
    box = visible_box(graph)
    body = visible_box(panel.locator(".jp-mlops-body"))
    inside = body["x"] + body["width"] + 0.5
    assert body["x"] <= box["x"] and box["x"] + box["width"] <= inside
    for index in range(len(STEPS)):  # every box shown whole
        step = visible_box(boxes.nth(index))
        assert step["x"] + step["width"] <= inside
    # Drawn at its own size (text at 11px, not shrunk): across when that fits, else down.
    assert box["width"] == pytest.approx(float(graph.get_attribute("width") or 0), abs=1)
    layout = graph.get_attribute("data-layout")
    assert layout == ("across" if width == 1100 else "down")
    xs = [boxes.nth(i).locator("rect").get_attribute("x") for i in range(len(STEPS))]
    ys = [boxes.nth(i).locator("rect").get_attribute("y") for i in range(len(STEPS))]
    moving = ys if layout == "down" else xs
    assert len(set(moving)) == len(STEPS), "a chain: one row (or column) per step"
    screenshot(page, f"charts-step-graph-{theme}-{width or 'default'}")


def _rgb(colour: str) -> tuple[float, float, float, float]:
    """Red, green, blue (0 to 1) and alpha of a computed CSS colour."""
    numbers = [float(n) for n in re.findall(r"[\d.]+(?:e-?\d+)?", colour)]
    if colour.startswith("color(srgb"):
        red, green, blue = numbers[:3]
        return red, green, blue, numbers[3] if len(numbers) > 3 else 1.0
    red, green, blue = (n / 255 for n in numbers[:3])
    return red, green, blue, numbers[3] if len(numbers) > 3 else 1.0


def _hue(colour: str) -> float:
    red, green, blue, _ = _rgb(colour)
    return colorsys.rgb_to_hsv(red, green, blue)[0] * 360


def _luminance(red: float, green: float, blue: float) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def _contrast(text: str, background: str) -> float:
    """WCAG contrast of ``text`` (its alpha blended over ``background``) on ``background``."""
    tr, tg, tb, alpha = _rgb(text)
    br, bg, bb, _ = _rgb(background)
    blended = [alpha * t + (1 - alpha) * b for t, b in ((tr, br), (tg, bg), (tb, bb))]
    lighter, darker = sorted((_luminance(*blended), _luminance(br, bg, bb)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


_BADGE_STYLE = """b => {
    const style = getComputedStyle(b);
    return [style.backgroundColor, style.borderTopColor, style.color];
}"""


def test_review_badges_are_amber_alike_in_the_panel_and_the_notebook(
    page: Page, panel: Locator, theme: str
):
    report = _open_drift(panel)
    in_panel = report.locator('tbody .jp-mlops-badge[data-state="review"]')
    expect(in_panel).to_have_count(1)
    # The notebook's drift view, as its output carries it, in the same page and theme.
    page.evaluate(
        """html => {
            const output = document.createElement('div');
            output.className = 'jp-OutputArea-output jp-RenderedHTMLCommon mlops-probe';
            output.innerHTML = html;
            document.querySelector('#jp-main-dock-panel').appendChild(output);
        }""",
        TABLE_STYLE + DRIFT_STYLE + decision_badge("review"),
    )
    in_notebook = page.locator(".mlops-probe .mlops-badge")

    panel_colours = in_panel.evaluate(_BADGE_STYLE)
    notebook_colours = in_notebook.evaluate(_BADGE_STYLE)

    for background, border, text in (panel_colours, notebook_colours):
        assert 20 <= _hue(border) <= 50, f"{border} is not amber"
        assert 20 <= _hue(background) <= 50, f"{background} is not an amber tint"
        assert _contrast(text, background) >= 4.5, (text, background)
    assert panel_colours[:2] == notebook_colours[:2]


def test_no_badge_puts_text_on_a_background_of_its_lightness(
    page: Page, panel: Locator, theme: str
):
    _open_drift(panel)
    panel.get_by_role("tab", name="Pipelines").click()
    expect(panel.locator(".jp-mlops-step-graph")).to_be_visible()
    panel.get_by_role("tab", name="Drift").click()
    expect(panel.locator(".jp-mlops-drift-report").first).to_be_visible()

    badges = page.locator(".jp-mlops-badge:not(.jp-mlops-dot):visible")
    found = badges.evaluate_all(f"bs => bs.map({_BADGE_STYLE})")

    assert len(found) >= 4
    poor = [(text, bg) for bg, _, text in found if _contrast(text, bg) < 4.5]
    assert poor == []


def test_the_notebook_highlight_of_a_changed_value_is_readable(
    page: Page, panel: Locator, theme: str
):
    page.evaluate(
        """html => {
            const output = document.createElement('div');
            output.className = 'jp-OutputArea-output mlops-probe';
            output.innerHTML = html;
            document.querySelector('#jp-main-dock-panel').appendChild(output);
        }""",
        TABLE_STYLE
        + '<table class="mlops-table"><tr><td class="mlops-diff">0.91</td></tr></table>',
    )
    cell = page.locator(".mlops-probe td.mlops-diff")

    background, _, text = cell.evaluate(_BADGE_STYLE)

    assert 20 <= _hue(background) <= 50
    assert _contrast(text, background) >= 4.5, (text, background)
