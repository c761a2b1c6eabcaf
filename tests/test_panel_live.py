"""The panel against a real registry that fills while it is open.

JupyterLab runs a notebook (through its own UI: open, run all) whose kernel records runs
with the Python API; the panel, open all along, shows them without being reloaded. Then:
sorting by a metric, a run's page with its curve, a model alias, a run named like markup
shown as text with no script run, the filter box's search of the recorded code and notes,
exporting the notebook to a pipeline, and a run's artifacts with their previews.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from jupyter_mlops.registry.connection import Registry

from .browser.lab import LabServer, running_jupyterlab
from .browser.panel import load_lab, open_panel, screenshot

pytest.importorskip("playwright", reason="the browser tests need the playwright package")
from playwright.sync_api import Locator, Page, expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest_plugins = ("tests.browser.fixtures",)

NOTEBOOK = "analysis/train.ipynb"
N_RUNS = 6
STEPS = 12
XSS_NAME = "<img src=x onerror=alert(1)>"
KERNEL_TIMEOUT_MS = 90_000


def run_name(index: int) -> str:
    return XSS_NAME if index == 2 else f"live-{index}"


def accuracy(index: int) -> float:
    """What run ``index`` logs as accuracy (the notebook computes the same)."""
    return round(0.5 + 0.07 * ((index * 5) % N_RUNS), 4)


CELLS = [
    (f"n_runs = {N_RUNS}\nsteps = {STEPS}", ["parameters"]),
    ("%load_ext jupyter_mlops\nimport jupyter_mlops as mlops", ["setup"]),
    (
        "run_ids, accuracies = [], []\n"
        "for i in range(n_runs):\n"
        f"    name = {XSS_NAME!r} if i == 2 else f'live-{{i}}'\n"
        "    with mlops.start_run(name, experiment='live') as run:\n"
        "        run.log_params(lr=0.01 * (i + 1), depth=i + 2)\n"
        "        for step in range(steps):\n"
        "            run.log(loss=1.0 / (step + 1 + i), step=step)\n"
        "        run.log(accuracy=round(0.5 + 0.07 * ((i * 5) % n_runs), 4))\n"
        "        if i == 4:\n"
        "            run.note(f'tried depth {i * 3}')\n"
        "        if i == 0:\n"
        "            import numpy as np\n"
        "            run.log_image(np.full((6, 8, 3), 200, dtype=np.uint8), 'samples/grey')\n"
        "            run.log_text('first <b>line</b>', 'notes.txt')\n"
        "    run_ids.append(run.id)\n"
        "    accuracies.append(round(0.5 + 0.07 * ((i * 5) % n_runs), 4))",
        ["step:train"],
    ),
    (
        "best = max(range(n_runs), key=lambda i: accuracies[i])\n"
        "version = mlops.register_model({'weights': best}, 'live-model', run=run_ids[best],"
        " alias='champion')",
        ["step:register"],
    ),
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab over a project with an empty registry and a notebook that logs runs."""
    root_dir = tmp_path_factory.mktemp("lab") / "project"
    Registry.init(root_dir).close()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    for source, tags in CELLS:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        notebook.cells.append(cell)
    (root_dir / "analysis").mkdir()
    nbformat.write(notebook, root_dir / NOTEBOOK)
    with running_jupyterlab(
        root_dir, tmp_path_factory.mktemp("lab-state"), env={"MLOPS_REGISTRY": None}
    ) as server:
        yield server


def _rows(panel: Locator) -> Locator:
    return panel.locator(".jp-mlops-runs-table tbody tr")


def _run_page(page: Page) -> Locator:
    return page.locator(".jp-mlops-run-view:visible .jp-mlops-run-detail")


@pytest.fixture(scope="module")
def filled(lab: LabServer, browser_context) -> dict[str, object]:
    """Run the notebook once, through JupyterLab, while the panel watches; what was seen."""
    page = browser_context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        load_lab(page, lab)
        panel = open_panel(page)
        expect(panel.locator(".jp-mlops-notice")).to_contain_text("No runs recorded yet")
        page.evaluate("window.__mlopsNotReloaded = true")

        page.evaluate(
            "path => window.jupyterapp.commands.execute('docmanager:open', {path})", NOTEBOOK
        )
        expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(len(CELLS), timeout=30_000)
        page.wait_for_function(
            "() => document.querySelector('.jp-Notebook') &&"
            " window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel",
            timeout=KERNEL_TIMEOUT_MS,
        )
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

        # The runs arrive while the panel is open, with no reload.
        expect(_rows(panel)).to_have_count(N_RUNS, timeout=KERNEL_TIMEOUT_MS)
        expect(page.locator(".jp-Notebook .jp-InputPrompt").last).to_have_text(
            "[4]:", timeout=KERNEL_TIMEOUT_MS
        )
        assert page.evaluate("window.__mlopsNotReloaded") is True
        screenshot(page, "live-runs-arrived")
        return {"dialogs": dialogs}
    finally:
        page.close()


@pytest.fixture
def panel(page: Page, lab: LabServer, filled: dict[str, object]) -> Locator:
    load_lab(page, lab)
    opened = open_panel(page)
    expect(_rows(opened)).to_have_count(N_RUNS)
    return opened


def test_runs_logged_by_a_notebook_appear_without_reloading(
    panel: Locator, filled: dict[str, object]
):
    names = panel.locator(".jp-mlops-runs-table tbody .jp-mlops-col-name").all_inner_texts()

    assert names == [run_name(i) for i in reversed(range(N_RUNS))]  # newest first
    assert filled["dialogs"] == []
    expect(panel.locator(".jp-mlops-pager-range")).to_have_text(
        f"1–{N_RUNS} of {N_RUNS} runs · page 1 of 1"
    )


def test_filter_box_searches_the_code_and_notes_the_kernel_recorded(page: Page, panel: Locator):
    where = panel.locator(".jp-mlops-where")

    where.fill('code: "depth 12"')  # run 4's note; the code says depth {i * 3}
    where.press("Enter")

    expect(_rows(panel)).to_have_count(1)
    expect(panel.locator(".jp-mlops-runs-table tbody .jp-mlops-col-name")).to_have_text("live-4")

    where.fill("code: run.log_params(lr=")  # the loop's code, recorded with every run
    where.press("Enter")

    expect(_rows(panel)).to_have_count(N_RUNS)

    where.fill("code: RandomForestClassifier")
    where.press("Enter")

    expect(panel.locator(".jp-mlops-notice-empty")).to_contain_text(
        "No run of live has code or a note containing: RandomForestClassifier"
    )
    where.fill("")
    expect(_rows(panel)).to_have_count(N_RUNS)


def test_sorting_by_a_metric_orders_the_runs_by_it(page: Page, panel: Locator):
    header = panel.locator('.jp-mlops-runs-table th[data-sort-key="metrics.accuracy"]')

    header.locator("button").click()

    expect(header).to_have_attribute("aria-sort", "ascending")
    ascending = sorted(range(N_RUNS), key=accuracy)
    expect(panel.locator(".jp-mlops-runs-table tbody .jp-mlops-col-name")).to_have_text(
        [run_name(i) for i in ascending]
    )
    header.locator("button").click()
    expect(panel.locator(".jp-mlops-runs-table tbody .jp-mlops-col-name").first).to_have_text(
        run_name(max(range(N_RUNS), key=accuracy))
    )
    screenshot(page, "live-sorted-by-accuracy")


def test_a_runs_page_shows_its_curve(page: Page, panel: Locator):
    panel.locator(".jp-mlops-run-row", has_text="live-3").click()

    detail = _run_page(page)
    expect(detail.locator(".jp-mlops-run-name")).to_have_text("live-3")
    line = detail.locator('figure[data-metric="loss"] path.jp-mlops-chart-line')
    expect(line).to_have_count(1)
    path = line.get_attribute("d") or ""
    assert path.count("M") == 1 and path.count("L") == STEPS - 1
    expect(detail.locator('figure[data-metric="loss"] svg')).to_have_attribute(
        "aria-label", re.compile(f"loss: {STEPS} points")
    )
    expect(detail.locator(".jp-mlops-params-table")).to_contain_text("depth5int")
    expect(detail.locator(".jp-mlops-fields").first).to_contain_text(NOTEBOOK)
    screenshot(page, "live-run-page")


def test_the_model_alias_is_shown(page: Page, panel: Locator):
    panel.get_by_role("tab", name="Models", exact=True).click()

    model = panel.locator('.jp-mlops-model[data-model="live-model"]')
    expect(model.locator(".jp-mlops-alias")).to_have_text(["champion → v1"])
    screenshot(page, "live-models")
    model.locator(".jp-mlops-version-link").click()  # the version opens the run that trained it

    best = max(range(N_RUNS), key=accuracy)
    expect(_run_page(page).locator(".jp-mlops-run-name")).to_have_text(run_name(best))
    expect(_run_page(page).locator(".jp-mlops-fields").first).to_contain_text(
        "live-model@1 (champion)"
    )


def test_a_run_named_like_markup_is_shown_as_text(page: Page, panel: Locator, page_watch):
    row = panel.locator(".jp-mlops-run-row", has_text=XSS_NAME)
    expect(row.locator(".jp-mlops-col-name")).to_have_text(XSS_NAME)

    row.click()

    expect(_run_page(page).locator(".jp-mlops-run-name")).to_have_text(XSS_NAME)
    expect(page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")).to_contain_text(
        XSS_NAME
    )
    assert page.locator("#jupyter-mlops-panel img, .jp-mlops-run-view img").count() == 0
    page.wait_for_timeout(500)
    assert page_watch.dialogs == []
    assert page_watch.errors == []


def test_exporting_the_runs_notebook_writes_the_pipeline_beside_it(
    page: Page, panel: Locator, lab: LabServer
):
    panel.locator(".jp-mlops-run-row", has_text="live-1").click()
    detail = _run_page(page)

    detail.get_by_role("button", name="Export to pipeline").click()

    result = detail.locator(".jp-mlops-export-result")
    expect(result).to_contain_text(
        f"Exported {NOTEBOOK} to analysis/train-pipeline/ with 2 steps: train, register",
        timeout=30_000,
    )
    expect(result).to_contain_text("jupyter mlops pipeline run analysis/train-pipeline")
    spec = lab.root_dir / "analysis" / "train-pipeline" / "pipeline.json"
    assert spec.is_file()
    screenshot(page, "live-exported")

    result.get_by_role("button", name="Open its README").click()
    expect(page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")).to_contain_text(
        "README.md", timeout=20_000
    )


def test_the_registry_file_is_where_the_kernel_wrote(lab: LabServer, filled: dict[str, object]):
    registry = Registry.open(lab.root_dir / ".mlops" / "registry.db")
    try:
        count = registry.query_one("SELECT COUNT(*) FROM runs")
    finally:
        registry.close()
    assert count is not None and count[0] == N_RUNS
    assert Path(lab.root_dir / NOTEBOOK).is_file()


def test_a_runs_page_lists_its_artifacts_with_the_image_shown(page: Page, panel: Locator):
    panel.locator(".jp-mlops-run-row", has_text="live-0").click()

    detail = _run_page(page)
    expect(detail.locator(".jp-mlops-run-name")).to_have_text("live-0")
    listing = detail.locator(".jp-mlops-artifacts-table tbody tr")
    expect(listing).to_have_count(2)
    expect(listing.first).to_contain_text("notes.txt")
    image = detail.locator('figure[data-artifact="samples/grey.png"] img')
    expect(image).to_have_count(1)
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 8 && img.naturalHeight === 6",
        arg=image.element_handle(),
        timeout=15_000,
    )
    expect(detail.locator('figure[data-artifact="notes.txt"] pre')).to_have_text(
        "first <b>line</b>"
    )
    screenshot(page, "live-run-artifacts")


def test_a_pipeline_run_of_the_notebook_is_drawn_in_the_pipelines_tab(
    page: Page, lab: LabServer, filled: dict[str, object], tmp_path: Path
):
    """Last in this module: the pipeline's runs join the registry the tests above count."""
    from jupyter_mlops.export import export_notebook
    from jupyter_mlops.runner.pipeline import run_pipeline

    pipeline = export_notebook(lab.root_dir / NOTEBOOK, tmp_path / "pipeline", run_id=None)
    result = run_pipeline(
        pipeline.output_dir, workdir=tmp_path, registry=lab.root_dir / ".mlops", check=False
    )
    assert result.status == "ok", result
    load_lab(page, lab)
    panel = open_panel(page)

    panel.get_by_role("tab", name="Pipelines").click()

    boxes = panel.locator(".jp-mlops-step-graph .jp-mlops-step-box")
    expect(boxes).to_have_count(2, timeout=20_000)
    assert [boxes.nth(i).get_attribute("data-step") for i in range(2)] == ["train", "register"]
    assert [boxes.nth(i).get_attribute("data-state") for i in range(2)] == ["ok", "ok"]
    expect(panel.locator(".jp-mlops-step-edge")).to_have_count(1)  # register reads run_ids
    expect(panel.locator(".jp-mlops-pipelines tbody tr")).to_have_count(1)
    expect(panel.locator("figcaption")).to_contain_text(f"run {result.run_id[:8]}")
    screenshot(page, "live-pipeline-drawn")
