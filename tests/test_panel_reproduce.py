"""The panel's "Reproduce" on a real run, in a real JupyterLab and Chromium.

A notebook executed in a real kernel records run "measured" after two earlier cells that
read a CSV (its closure). On the run's page the user clicks Reproduce: the button is
disabled while the server runs the run again in a fresh kernel, the progress lines show,
then the parity verdict in its colour, and the run's "Reproduced" field lists it without
a reload.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import nbformat
import pytest

from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.reproduce.execution import execute
from jupyter_mlops.reproduce.reproduction import ENVIRONMENTS

from .browser.lab import LabServer, running_jupyterlab
from .browser.panel import load_lab, open_panel, screenshot

pytest.importorskip("playwright", reason="the browser tests need the playwright package")
from playwright.sync_api import Locator, Page, expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest_plugins = ("tests.browser.fixtures",)

REPRODUCTION_TIMEOUT_MS = 120_000
CELLS = (
    "%load_ext jupyter_mlops",
    "import pandas as pd",
    'raw = pd.read_csv("measures.csv")',
    "%%mlops run measured\nscale = 3\ntotal = float((raw.a * scale).sum())\nmlops.log(total=total)",
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab over a project whose registry holds run "measured", recorded by a
    notebook executed in a real kernel (so with the earlier cells it depended on)."""
    root_dir = tmp_path_factory.mktemp("lab") / "project"
    root_dir.mkdir()
    (root_dir / "measures.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    registry_path = root_dir / ".mlops" / "registry.db"
    Registry.init(root_dir).close()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    recorded = execute(
        notebook, python=sys.executable, registry_path=registry_path, workdir=root_dir
    )
    assert recorded.error is None, recorded.error
    with running_jupyterlab(
        root_dir, tmp_path_factory.mktemp("lab-state"), env={"MLOPS_REGISTRY": None}
    ) as server:
        yield server


def _run_page(page: Page) -> Locator:
    return page.locator(".jp-mlops-run-view:visible .jp-mlops-run-detail")


def test_reproduce_on_a_run_page_shows_progress_then_parity_and_the_new_badge(
    page: Page, lab: LabServer, page_watch
) -> None:
    load_lab(page, lab)
    panel = open_panel(page)
    panel.locator(".jp-mlops-run-row", has_text="measured").click()
    detail = _run_page(page)
    fields = detail.locator(".jp-mlops-fields").first
    expect(fields).to_contain_text("Depended on2 earlier cells, 1 file (measures.csv)")
    expect(fields.locator(".jp-mlops-reproduction")).to_have_count(0)
    environment = detail.locator(".jp-mlops-reproduce-env")
    expect(environment.locator("option")).to_have_text(list(ENVIRONMENTS))  # as the server offers
    trigger = detail.locator("button.jp-mlops-reproduce")
    expect(trigger).to_be_enabled()

    environment.select_option("current")
    trigger.click()

    job = detail.locator(".jp-mlops-reproduce-job")
    expect(trigger).to_be_disabled()
    expect(trigger).to_have_text("Reproducing…")
    expect(environment).to_be_disabled()
    expect(job).to_have_attribute("data-state", "running")
    running_colour = job.evaluate("node => getComputedStyle(node).borderLeftColor")
    lines = job.locator(".jp-mlops-reproduce-lines")
    expect(lines).to_contain_text('reproducing run "measured"')
    screenshot(page, "reproduce-running")

    verdict = detail.locator(".jp-mlops-reproduce-verdict")
    expect(verdict).to_have_attribute("data-status", "parity", timeout=REPRODUCTION_TIMEOUT_MS)
    expect(job).to_have_attribute("data-state", "done")
    # the verdict's colour is the parity colour of the badges, not the running one
    assert job.evaluate("node => getComputedStyle(node).borderLeftColor") != running_colour
    expect(verdict.locator(".jp-mlops-badge")).to_have_text("parity")
    expect(verdict.locator(".jp-mlops-badge")).to_have_attribute("data-state", "parity")
    expect(verdict).to_contain_text("parity ok: 1 metric(s) of run")
    expect(lines).to_contain_text("cell 1/")  # kept under "Progress" once it has ended
    expect(trigger).to_be_enabled()
    expect(trigger).to_have_text("Reproduce")
    # The page redrew from the registry: the reproduction is listed with its verdict.
    reproduction = fields.locator(".jp-mlops-reproduction")
    expect(reproduction).to_have_count(1)
    expect(reproduction.locator(".jp-mlops-badge")).to_have_attribute("data-state", "parity")
    expect(reproduction).to_contain_text("current environment")
    screenshot(page, "reproduce-parity")

    # The run the reproduction recorded opens from the verdict.
    shown = verdict.locator(".jp-mlops-reproduce-run")
    reproduced_as = (shown.get_attribute("title") or "").rsplit(" ", 1)[-1]
    shown.click()
    expect(_run_page(page)).to_have_attribute("data-run-id", reproduced_as)
    assert page_watch.errors == [] and page_watch.dialogs == []
