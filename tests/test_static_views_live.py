"""In JupyterLab with the kernel running, a view shows once: the live widget, with its
static twin (saved in the notebook for readers without a kernel) hidden while the widget
is drawn. Run through JupyterLab's own UI in a real browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from jupyter_mlops.registry.connection import Registry

from .browser.lab import LabServer, running_jupyterlab
from .browser.panel import load_lab

pytest.importorskip("playwright", reason="the browser tests need the playwright package")
from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest_plugins = ("tests.browser.fixtures",)

NOTEBOOK = "views.ipynb"
KERNEL_TIMEOUT_MS = 90_000
CELLS = [
    "%load_ext jupyter_mlops",
    "%%mlops run lab-run\nlr = 0.1\nfor i in range(5): mlops.log(loss=1 / (i + 1))",
    "%mlops runs",
    "%mlops show lab-run",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    root_dir = tmp_path_factory.mktemp("views") / "project"
    Registry.init(root_dir).close()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(notebook, root_dir / NOTEBOOK)
    with running_jupyterlab(
        root_dir, tmp_path_factory.mktemp("views-state"), env={"MLOPS_REGISTRY": None}
    ) as server:
        yield server


def test_jupyterlab_shows_the_live_widget_once_and_saves_the_static_form(
    page: Page, lab: LabServer
) -> None:
    load_lab(page, lab)
    page.evaluate("path => window.jupyterapp.commands.execute('docmanager:open', {path})", NOTEBOOK)
    expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(len(CELLS), timeout=30_000)
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel",
        timeout=KERNEL_TIMEOUT_MS,
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    expect(page.locator(".jp-Notebook .jp-InputPrompt").last).to_have_text(
        "[4]:", timeout=KERNEL_TIMEOUT_MS
    )
    cells = page.locator(".jp-Notebook .jp-Cell")
    runs, show = cells.nth(2), cells.nth(3)

    # the live widgets: the sort picker, the run's tabs
    expect(runs.locator(".widget-dropdown select")).to_be_visible(timeout=KERNEL_TIMEOUT_MS)
    expect(runs.locator(".widget-html table.mlops-table")).to_contain_text("lab-run")
    expect(show.locator(".lm-TabBar-tab").first).to_have_text("Overview")
    # their static twins are in the page, hidden while the widgets are drawn
    for cell in (runs, show):
        static = cell.locator(".mlops-static")
        expect(static).to_have_count(1)
        expect(static).to_be_hidden()
    expect(runs.locator(".jp-OutputArea-child:visible")).to_have_count(1)

    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    expect(page.locator(".jp-Notebook .jp-Cell").first).to_be_visible()
    page.wait_for_timeout(1_000)
    saved = json.loads(Path(lab.root_dir, NOTEBOOK).read_text())
    outputs = saved["cells"][2]["outputs"]
    html = "".join("".join(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert 'class="mlops-static' in html and "lab-run" in html  # kept for readers later
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)

    # reopened in a new kernel, which knows none of those widgets: the static form shows
    page.evaluate("() => { window.jupyterapp.commands.execute('kernelmenu:restart'); }")
    page.locator(".jp-Dialog .jp-mod-accept").click(timeout=30_000)
    expect(page.locator(".jp-Dialog")).to_have_count(0, timeout=30_000)
    load_lab(page, lab)
    page.evaluate("path => window.jupyterapp.commands.execute('docmanager:open', {path})", NOTEBOOK)
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(len(CELLS), timeout=30_000)
    expect(cells.nth(2).locator(".mlops-static table.mlops-table")).to_contain_text("lab-run")
    expect(cells.nth(3).locator(".mlops-static svg polyline")).to_have_count(1)
    expect(cells.nth(3).locator(".mlops-static")).to_contain_text("Environment")
