"""The panel's runs table, against a real registry, JupyterLab and Chromium: the sort
names of every face, the parameters that differ shown by default (an estimator's folded
under its name, unfolded on request), the column chooser remembered per experiment, and
pipeline step runs grouped under their pipeline run.
"""

from __future__ import annotations

import random
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

SEED = 20261203
N_RUNS = 12
# The constant get_params() of a gradient boosting estimator, as autolog records them.
GBM_CONSTANT = {
    "ccp_alpha": 0.0,
    "criterion": "friedman_mse",
    "init": None,
    "loss": "log_loss",
    "max_features": None,
    "max_leaf_nodes": None,
    "min_impurity_decrease": 0.0,
    "min_samples_leaf": 1,
    "min_samples_split": 2,
    "min_weight_fraction_leaf": 0.0,
    "n_estimators": 100,
    "n_iter_no_change": None,
    "random_state": 0,
    "subsample": 1.0,
    "tol": 0.0001,
    "validation_fraction": 0.1,
    "verbose": 0,
    "warm_start": False,
    "alpha": 0.9,
}
N_GBM = len(GBM_CONSTANT) + 2  # with max_depth and learning_rate, which vary
STEPS = ("prepare", "train", "evaluate")


@pytest.fixture(scope="module")
def aucs() -> dict[str, float]:
    rng = random.Random(SEED)
    return {f"trial-{index:02d}": round(rng.uniform(0.6, 0.95), 4) for index in range(N_RUNS)}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, aucs: dict[str, float]) -> Iterator[LabServer]:
    """JupyterLab over a registry with experiment "churn" (a sweep of 12 runs: 21 gbm.*
    parameters of which two vary, eta0 varying, a constant seed) and experiment "flows"
    (a notebook run, and a pipeline run with three step runs)."""
    root_dir = tmp_path_factory.mktemp("lab") / "project"
    registry = Registry.init(root_dir)
    use_registry(registry)
    rng = random.Random(SEED + 1)
    try:
        for name, auc in aucs.items():
            with mlops.start_run(name, experiment="churn") as run:
                run.log_params(
                    **{f"gbm.{key}": value for key, value in GBM_CONSTANT.items()},
                    **{
                        "gbm.max_depth": rng.choice([2, 3, 5]),
                        "gbm.learning_rate": rng.choice([0.05, 0.1, 0.3]),
                    },
                    eta0=rng.choice([0.001, 0.01, 0.1]),
                    seed=7,
                )
                run.log(auc=auc, accuracy=round(auc - 0.05, 4))
        with mlops.start_run("explore", experiment="flows") as run:
            run.log(auc=0.7)
        with mlops.start_run("churn-pipeline", experiment="flows", kind="pipeline") as pipeline:
            for step in STEPS:
                with mlops.start_run(
                    f"churn-pipeline.{step}",
                    experiment="flows",
                    kind="pipeline-step",
                    parent=pipeline,
                    tags={"pipeline.run_id": pipeline.id},
                ):
                    pass
            pipeline.log(auc=0.8)
    finally:
        SESSION.reset()
        registry.close()
    with running_jupyterlab(
        root_dir, tmp_path_factory.mktemp("lab-state"), env={"MLOPS_REGISTRY": None}
    ) as server:
        yield server


def _headers(panel: Locator, *, visible: bool = False) -> list[str]:
    cells = panel.locator(".jp-mlops-runs-table thead th")
    texts = []
    for index in range(cells.count()):
        cell = cells.nth(index)
        if visible and not cell.is_visible():
            continue
        texts.append(" ".join((cell.text_content() or "").split()))
    return texts


def _fully_shown(panel: Locator, titles: list[str]) -> None:
    """Assert the headers ``titles`` are drawn inside the panel, none cut off or scrolled away."""
    shown = panel.evaluate(
        """node => {
            const edge = node.getBoundingClientRect().right;
            return [...node.querySelectorAll('.jp-mlops-runs-table thead th')]
                .filter(th => th.offsetParent !== null
                    && th.getBoundingClientRect().right <= edge + 1)
                .map(th => th.textContent.split(/\\s+/).join(' ').trim());
        }"""
    )
    assert set(titles) <= set(shown), shown


def _names(panel: Locator) -> list[str]:
    return panel.locator(
        ".jp-mlops-runs-table tbody tr.jp-mlops-run-row .jp-mlops-col-name"
    ).all_inner_texts()


def _choose_experiment(panel: Locator, name: str) -> None:
    panel.locator(".jp-mlops-experiment").select_option(name)


@pytest.fixture
def panel(page: Page, lab: LabServer) -> Locator:
    load_lab(page, lab)
    opened = open_panel(page)
    _choose_experiment(opened, "churn")
    expect(opened.locator(".jp-mlops-runs-table tbody tr.jp-mlops-run-row")).to_have_count(N_RUNS)
    return opened


def _theme(page: Page, name: str) -> None:
    page.evaluate(
        f"window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{name}'}})"
    )
    light = "true" if name.endswith("Light") else "false"
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", light)


def test_the_swept_params_show_by_default_at_every_width_and_theme(page: Page, panel: Locator):
    headers = _headers(panel)
    group = f"▸ gbm ({N_GBM})learning_ratemax_depth"  # the swept ones, under gbm
    assert "eta0" in headers and group in headers, repr(headers)
    assert "seed" not in headers and not any(h.startswith("gbm.") for h in headers)
    assert {"auc", "accuracy"} <= set(headers)
    _fully_shown(panel, ["accuracy", "eta0"])  # at the sidebar's default width
    screenshot(page, "panel-table-default-started")
    panel.locator(".jp-mlops-sort-key").select_option("metrics.auc")
    sorted_by = panel.locator('th[data-sort-key="metrics.auc"]')
    expect(sorted_by).to_have_attribute("aria-sort", "descending")
    _fully_shown(panel, ["auc ▼", "eta0"])  # the sort's metric joins them
    newest = panel.locator("tbody tr").first.locator(".jp-mlops-col-group span")
    assert re.fullmatch(r"0\.\d+ · \d", newest.inner_text())
    assert re.fullmatch(r"learning_rate=0\.\d+, max_depth=\d", newest.get_attribute("title") or "")
    try:
        for width, themes in ((None, ("Light", "Dark")), (700, ("Dark", "Light"))):
            if width is not None:
                widen_sidebar(page, width)
                _fully_shown(panel, ["auc ▼", "accuracy", "eta0", group])
            for theme in themes:
                _theme(page, f"JupyterLab {theme}")
                page.wait_for_selector("#jupyterlab-splash", state="detached")
                screenshot(page, f"panel-table-{width or 'default'}-{theme.lower()}")
    finally:
        _theme(page, "JupyterLab Light")


def test_the_sort_picker_names_sorts_as_every_face(panel: Locator, aucs: dict[str, float]):
    picker = panel.locator(".jp-mlops-sort-key")
    labels = picker.locator("option").all_inner_texts()
    assert "metrics.auc" in labels and "params.eta0" in labels and "started_at" in labels
    assert not any(label.startswith(("metric ", "param ")) for label in labels)

    picker.select_option("metrics.auc")  # the direction stays: high first

    by_auc = sorted(aucs, key=lambda name: -aucs[name])
    expect(panel.locator("tbody .jp-mlops-col-name")).to_have_text(by_auc)
    expect(panel.locator('th[data-sort-key="metrics.auc"]')).to_have_attribute(
        "aria-sort", "descending"
    )


def test_an_estimators_params_unfold_and_fold_again(page: Page, panel: Locator):
    widen_sidebar(page, 700)
    panel.locator(".jp-mlops-fold", has_text="gbm").click()

    expect(panel.locator('th[data-sort-key^="params.gbm."]')).to_have_count(N_GBM)
    assert not any(h.startswith(f"▸ gbm ({N_GBM})") for h in _headers(panel))
    expect(panel.locator('th[data-sort-key="params.gbm.alpha"]')).to_contain_text("▾ gbm")

    panel.locator(".jp-mlops-fold", has_text="gbm").click()

    expect(panel.locator('th[data-sort-key^="params.gbm."]')).to_have_count(0)
    assert any(h.startswith(f"▸ gbm ({N_GBM})") for h in _headers(panel))


def test_the_column_chooser_is_remembered_for_the_experiment(
    page: Page, panel: Locator, lab: LabServer
):
    widen_sidebar(page, 700)
    panel.locator(".jp-mlops-columns-button").click()
    choices = panel.locator(".jp-mlops-column-choice")
    expect(choices.filter(has_text="params.seed")).to_have_count(1)
    for name in ("params.eta0", "params.gbm.learning_rate", "params.gbm.max_depth"):
        choices.filter(has_text=name).locator("input").uncheck()
        expect(panel.locator(".jp-mlops-column-status")).to_have_text("chosen for this experiment")
    choices.filter(has_text="params.seed").locator("input").check()

    expect(panel.locator('th[data-sort-key="params.seed"]')).to_have_count(1)
    assert "eta0" not in _headers(panel)
    saved = lab.get_json("jupyter-mlops/api/experiments/churn/columns")
    assert saved["columns"] == ["metrics.accuracy", "metrics.auc", "params.seed"]
    screenshot(page, "panel-table-columns-chosen")

    load_lab(page, lab)  # a new page: the columns come from the registry
    reopened = open_panel(page)
    _choose_experiment(reopened, "churn")
    expect(reopened.locator('th[data-sort-key="params.seed"]')).to_have_count(1)

    reopened.locator(".jp-mlops-columns-button").click()
    reopened.locator(".jp-mlops-columns-default").click()

    expect(reopened.locator('th[data-sort-key="params.eta0"]')).to_have_count(1)
    expect(reopened.locator('th[data-sort-key="params.seed"]')).to_have_count(0)
    assert lab.get_json("jupyter-mlops/api/experiments/churn/columns")["columns"] is None


def test_pipeline_step_runs_group_under_their_pipeline_run(page: Page, panel: Locator):
    _choose_experiment(panel, "flows")

    rows = panel.locator(".jp-mlops-runs-table tbody tr.jp-mlops-run-row")
    expect(rows).to_have_count(2)
    pipeline = rows.filter(has_text="churn-pipeline")
    expect(pipeline.locator(".jp-mlops-children-badge")).to_have_text("3 children")

    pipeline.locator(".jp-mlops-expand").click()

    steps = panel.locator("tr.jp-mlops-child-row .jp-mlops-col-name")
    expect(steps).to_have_count(len(STEPS))
    assert sorted(steps.all_inner_texts()) == sorted(f"churn-pipeline.{s}" for s in STEPS)
    screenshot(page, "panel-table-pipeline-steps")
