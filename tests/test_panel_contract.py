"""The panel against the data routes' JSON, in a real JupyterLab and Chromium.

The data routes are answered in the browser from seeded data (tests/browser/contract.py,
whose answers have the server's keys: tests/test_server_routes.py checks it), to stage
what a real registry makes hard: 123 runs with every kind of value, failing routes, drift
reports, a server that stops answering. The status route, the server and the browser are
real; tests/test_panel_live.py runs the panel against a real registry.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import nbformat
import pytest

from .browser.contract import ENVIRONMENTS, XSS_CODE, XSS_NAME, ContractStandIn
from .browser.lab import LabServer, running_jupyterlab
from .browser.panel import load_lab, open_panel, screenshot, widen_sidebar

pytest.importorskip("playwright", reason="the browser tests need the playwright package")
from playwright.sync_api import Locator, Page, expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest_plugins = ("tests.browser.fixtures",)

NOTEBOOK_PATH = "analysis/train.ipynb"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab over a folder with a registry file and the notebook the runs came from."""
    root_dir = tmp_path_factory.mktemp("lab") / "project"
    (root_dir / ".mlops").mkdir(parents=True)
    sqlite3.connect(root_dir / ".mlops" / "registry.db").close()
    (root_dir / "analysis").mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("lr = 0.1"))
    nbformat.write(notebook, root_dir / NOTEBOOK_PATH)
    with running_jupyterlab(
        root_dir, tmp_path_factory.mktemp("lab-state"), env={"MLOPS_REGISTRY": None}
    ) as server:
        yield server


@pytest.fixture
def data() -> ContractStandIn:
    return ContractStandIn()


SIDEBAR_WIDTH = 760


@pytest.fixture
def panel(page: Page, lab: LabServer, data: ContractStandIn) -> Locator:
    data.install(page)
    load_lab(page, lab)
    opened = open_panel(page)
    widen_sidebar(page, SIDEBAR_WIDTH)
    return opened


def _rows(panel: Locator) -> Locator:
    return panel.locator(".jp-mlops-runs-table tbody tr")


def _run_page(page: Page) -> Locator:
    """The run page in the main area's current tab."""
    return page.locator(".jp-mlops-run-view:visible .jp-mlops-run-detail")


def _header(panel: Locator, sort_key: str) -> Locator:
    return panel.locator(f'.jp-mlops-runs-table th[data-sort-key="{sort_key}"]')


def _cell(panel: Locator, row: int, sort_key: str) -> Locator:
    """The cell of a run's row under the column that sorts by ``sort_key``."""
    keys = panel.locator(".jp-mlops-runs-table th").evaluate_all(
        "cells => cells.map(cell => cell.dataset.sortKey)"
    )
    return _rows(panel).nth(row).locator("td").nth(keys.index(sort_key))


def test_runs_table_shows_the_most_recent_experiment_first_page(
    page: Page, panel: Locator, data: ContractStandIn
):
    expect(_rows(panel)).to_have_count(50)

    assert data.last("runs").query == {
        "experiment": "churn",
        "sort": "-started_at",
        "page": "1",
        "page_size": "50",
        "top_level": "true",  # children are listed under their parent
    }
    expect(panel.locator(".jp-mlops-experiment")).to_have_value("churn")
    keys = panel.locator(".jp-mlops-runs-table th:visible").evaluate_all(
        "cells => cells.map(cell => cell.dataset.sortKey)"
    )
    # At 760 px every column the server says to show has room.
    assert keys == [
        "status", "name", "metrics.accuracy", "metrics.f1", "metrics.loss", "metrics.auc",
        "params.lr", "params.depth", "params.model", "params.seed", "started_at", "duration",
    ]  # fmt: skip
    expect(panel.locator(".jp-mlops-pager-range")).to_have_text("1–50 of 120 runs · page 1 of 3")
    newest = data.runs[118]  # index 119 is the markup-named run, first row
    second_row = _rows(panel).nth(1)
    expect(second_row.locator(".jp-mlops-col-name")).to_have_text(newest["name"])
    expect(second_row.locator(".jp-mlops-badge")).to_have_text(newest["status"])
    screenshot(page, "panel-runs")


def test_runs_table_fits_the_default_sidebar_width(
    page: Page, lab: LabServer, data: ContractStandIn
):
    data.install(page)
    load_lab(page, lab)
    panel = open_panel(page)  # not widened: JupyterLab's own sidebar width
    expect(_rows(panel)).to_have_count(50)

    visible = panel.locator(".jp-mlops-runs-table th:visible").evaluate_all(
        "cells => cells.map(cell => cell.dataset.sortKey)"
    )
    # The first metric and the parameter that tells the runs apart first.
    assert visible == ["status", "name", "metrics.accuracy", "params.lr"]
    table = panel.locator(".jp-mlops-runs-table").bounding_box()
    body = panel.locator(".jp-mlops-body").bounding_box()
    assert table is not None and body is not None
    assert table["width"] <= body["width"], "no sideways scrolling at the default width"
    screenshot(page, "panel-runs-default-width")

    # Every parameter and metric stays reachable: sorting by one shows its column.
    panel.locator(".jp-mlops-sort-key").select_option("params.seed")
    expect(panel.locator(".jp-mlops-runs-table th:visible")).to_have_count(4)  # seed for lr
    expect(panel.locator(".jp-mlops-runs-table th:visible").nth(2)).to_have_attribute(
        "data-sort-key", "params.seed"
    )
    assert data.last("runs").query["sort"] == "-params.seed"  # keeps "high first"
    panel.locator(".jp-mlops-sort-direction").click()
    expect(_cell(panel, 0, "params.seed")).to_have_text("0")
    assert data.last("runs").query["sort"] == "params.seed"


def test_markup_in_names_and_code_is_shown_as_text(
    page: Page, panel: Locator, data: ContractStandIn, page_watch
):
    first_row = _rows(panel).first
    expect(first_row.locator(".jp-mlops-col-name")).to_have_text(XSS_NAME)
    assert panel.locator("img").count() == 0

    first_row.focus()
    page.keyboard.press("Enter")  # rows open from the keyboard too
    detail = _run_page(page)
    expect(detail.locator(".jp-mlops-run-name")).to_have_text(XSS_NAME)
    expect(page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")).to_contain_text(
        f"Run {XSS_NAME}"
    )
    detail.get_by_text("Code (2 cells)").click()
    expect(detail.locator(".jp-mlops-code-source").nth(1)).to_have_text(XSS_CODE)

    assert panel.locator("img, script").count() == 0
    assert detail.locator("img, script").count() == 0
    assert page.evaluate("window.__mlops_xss") is None
    assert page_watch.dialogs == []


@pytest.mark.parametrize(
    ("sort_key", "first_value"),
    [
        ("metrics.accuracy", lambda runs: min(r["metrics"]["accuracy"] for r in runs)),
        ("params.depth", lambda runs: min(r["params"]["depth"] for r in runs)),
    ],
)
def test_clicking_a_header_sorts_through_the_server(
    panel: Locator, data: ContractStandIn, sort_key: str, first_value
):
    churn = [r for r in data.runs if r["experiment"] == "churn"]
    expect(_rows(panel)).to_have_count(50)

    _header(panel, sort_key).locator("button").click()

    expect(_header(panel, sort_key)).to_have_attribute("aria-sort", "ascending")
    assert data.last("runs").query["sort"] == sort_key
    assert data.last("runs").query["page"] == "1"
    expect(_cell(panel, 0, sort_key)).to_have_text(str(first_value(churn)))

    _header(panel, sort_key).locator("button").click()

    expect(_header(panel, sort_key)).to_have_attribute("aria-sort", "descending")
    assert data.last("runs").query["sort"] == f"-{sort_key}"
    expect(_header(panel, "started_at")).to_have_attribute("aria-sort", "none")


def test_where_filter_goes_to_the_server_and_its_errors_are_shown(
    page: Page, panel: Locator, data: ContractStandIn
):
    where = panel.locator(".jp-mlops-where")
    expect(_rows(panel)).to_have_count(50)

    where.fill("metrics.accuracy >")
    where.press("Enter")

    error = panel.locator(".jp-mlops-notice-error")
    expect(error).to_contain_text("Cannot parse the filter 'metrics.accuracy >'")
    expect(error).to_contain_text("Write a comparison such as metrics.accuracy > 0.9")
    expect(where).to_have_value("metrics.accuracy >")  # what the user typed stays
    screenshot(page, "panel-where-error")

    where.fill("metrics.accuracy > 2")
    panel.get_by_role("button", name="Filter").click()

    expect(panel.locator(".jp-mlops-notice-empty")).to_contain_text(
        "No runs of churn match: metrics.accuracy > 2"
    )
    assert data.last("runs").query["where"] == "metrics.accuracy > 2"

    where.fill("")

    expect(_rows(panel)).to_have_count(50)
    assert "where" not in data.last("runs").query


def test_code_prefix_in_the_filter_box_searches_code_and_notes(
    page: Page, panel: Locator, data: ContractStandIn
):
    where = panel.locator(".jp-mlops-where")
    expect(_rows(panel)).to_have_count(50)

    where.fill("code: RandomForest")
    where.press("Enter")

    found = [r for r in data.runs if r["experiment"] == "churn" and r["params"]["seed"] % 7 == 0]
    expect(_rows(panel)).to_have_count(min(50, len(found)))
    asked = data.last("runs").query
    assert asked["code"] == "RandomForest" and "where" not in asked
    expect(where).to_have_value("code: RandomForest")
    screenshot(page, "panel-code-search")
    _rows(panel).first.click()
    expect(_run_page(page).locator(".jp-mlops-run-note")).to_have_text("tried a deeper forest")

    where.fill("CODE:  XGBClassifier ")
    panel.get_by_role("button", name="Filter").click()

    empty = panel.locator(".jp-mlops-notice-empty")
    expect(empty).to_contain_text("No run of churn has code or a note containing: XGBClassifier")
    expect(empty).to_contain_text("try a shorter piece")
    assert data.last("runs").query["code"] == "XGBClassifier"

    where.fill("")

    expect(_rows(panel)).to_have_count(50)
    assert "code" not in data.last("runs").query


def test_pages_move_through_the_server(panel: Locator, data: ContractStandIn):
    pager = panel.locator(".jp-mlops-pager")
    expect(pager.locator(".jp-mlops-page-previous")).to_be_disabled()

    pager.get_by_role("button", name="Next ›").click()
    expect(pager.locator(".jp-mlops-pager-range")).to_have_text("51–100 of 120 runs · page 2 of 3")
    pager.get_by_role("button", name="Next ›").click()
    expect(pager.locator(".jp-mlops-pager-range")).to_have_text("101–120 of 120 runs · page 3 of 3")

    expect(_rows(panel)).to_have_count(20)
    expect(panel.locator(".jp-mlops-page-next")).to_be_disabled()
    assert [r.query["page"] for r in data.requests_to("runs")][-3:] == ["1", "2", "3"]
    # Next reads from the cursor of the page on screen, as fast however deep.
    assert [r.query.get("after") for r in data.requests_to("runs")][-3:] == [
        None, "page-2", "page-3",
    ]  # fmt: skip

    panel.locator(".jp-mlops-page-size").select_option("25")

    expect(_rows(panel)).to_have_count(25)
    assert data.last("runs").query["page_size"] == "25"
    assert data.last("runs").query["page"] == "1"
    assert "after" not in data.last("runs").query  # a new size starts from the top


def test_experiment_picker_switches_the_table(panel: Locator, data: ContractStandIn):
    expect(panel.locator(".jp-mlops-experiment option")).to_have_text(["fraud (3)", "churn (120)"])

    panel.locator(".jp-mlops-experiment").select_option("fraud")

    expect(_rows(panel)).to_have_count(3)
    assert data.last("runs").query["experiment"] == "fraud"


def test_run_details_show_curves_params_code_environment_and_snapshots(
    page: Page, panel: Locator, data: ContractStandIn
):
    run = data.runs[118]
    _rows(panel).nth(1).click()

    detail = _run_page(page)
    expect(detail.locator(".jp-mlops-run-id")).to_have_text(run["id"])
    assert data.last("runs").item == run["id"]

    accuracy_line = detail.locator('figure[data-metric="accuracy"] path.jp-mlops-chart-line')
    path = accuracy_line.get_attribute("d")
    assert path is not None
    assert path.count("M") == 2, "the missing point at step 7 breaks the curve in two"
    assert path.count("M") + path.count("L") == 19
    loss = detail.locator('figure[data-metric="loss"]')
    assert loss.locator("path.jp-mlops-chart-line").get_attribute("d").count("L") == 29
    expect(detail.locator('figure[data-metric="f1"]')).to_have_count(0)  # one point: no curve
    expect(loss.locator("svg")).to_have_attribute("aria-label", re.compile(r"loss: 30 points"))
    expect(loss.locator(".jp-mlops-chart-note")).to_have_count(0)  # every point: no note
    grad_norm = detail.locator('figure[data-metric="grad_norm"]')
    expect(grad_norm.locator(".jp-mlops-chart-note")).to_have_text(
        re.compile(r"^downsampled: 81 of 1,000,000 points")
    )
    expect(grad_norm.locator("svg")).to_have_attribute(
        "aria-label", re.compile(r"grad_norm: 1,000,000 points, downsampled to 81")
    )

    params = detail.locator(".jp-mlops-params-table tbody tr")
    expect(params).to_have_count(len(run["params"]))
    expect(params.first).to_contain_text(f"lr{run['params']['lr']}floatliteral")
    expect(detail.locator(".jp-mlops-fields").first).to_contain_text(
        "9f2c1e7d3b on main (uncommitted changes)"
    )
    expect(detail.locator(".jp-mlops-snapshots-table")).to_contain_text("8,000 × 21")
    fields = detail.locator(".jp-mlops-fields").first
    expect(fields).to_contain_text("Depended on2 earlier cells, 1 file (data/churn.csv)")
    reproduction = fields.locator(".jp-mlops-reproduction")
    expect(reproduction.locator(".jp-mlops-badge")).to_have_text("parity")
    expect(reproduction.locator(".jp-mlops-badge")).to_have_attribute("data-state", "parity")
    expect(reproduction).to_contain_text("venv environment")
    expect(reproduction).to_contain_text("parity ok: 2 metric(s) came back")

    detail.get_by_text("Environment", exact=True).click()
    expect(detail.locator(".jp-mlops-packages-table")).to_contain_text("scikit-learn1.5.0")
    screenshot(page, "panel-run-detail")

    detail.locator(".jp-mlops-previous-run").click()  # opens in a tab of its own
    expect(_run_page(page).locator(".jp-mlops-run-id")).to_have_text(data.runs[117]["id"])
    tabs = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Run rf-")
    expect(tabs).to_have_count(2)

    _rows(panel).nth(1).click()  # an open run is brought to the front, not opened twice
    expect(_run_page(page).locator(".jp-mlops-run-id")).to_have_text(run["id"])
    expect(tabs).to_have_count(2)


def test_unknown_run_shows_the_servers_message_in_its_tab(
    page: Page, panel: Locator, data: ContractStandIn
):
    expect(_rows(panel)).to_have_count(50)
    data.runs[118]["id"] = "gone"  # the list still names it, the detail route says 404
    panel.get_by_role("button", name="Reload").click()
    expect(_rows(panel).nth(1)).to_have_attribute("data-run-id", "gone")
    data.runs[118]["id"] = "renamed"

    _rows(panel).nth(1).click()

    error = page.locator(".jp-mlops-run-view:visible .jp-mlops-notice-error")
    expect(error).to_contain_text('Could not load run gone: Run "gone" does not exist.')
    expect(error).to_contain_text("List runs with %mlops runs.")
    expect(_rows(panel)).to_have_count(50)  # the sidebar keeps its list


def test_copy_id_puts_the_run_id_on_the_clipboard(
    page: Page, panel: Locator, data: ContractStandIn
):
    _rows(panel).nth(2).click()
    copy = _run_page(page).locator(".jp-mlops-copy")

    copy.click()

    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == data.runs[117]["id"]
    expect(copy).to_have_text("Copy id", timeout=3_000)


def test_open_notebook_opens_the_runs_notebook_in_jupyterlab(page: Page, panel: Locator):
    _rows(panel).first.click()

    _run_page(page).get_by_role("button", name="Open notebook").click()

    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="train.ipynb")
    expect(tab).to_be_visible(timeout=20_000)
    expect(page.locator(".jp-Notebook .jp-Cell").first).to_contain_text("lr = 0.1")


def test_models_show_versions_aliases_and_gate_verdicts(
    page: Page, panel: Locator, data: ContractStandIn
):
    panel.get_by_role("tab", name="Models").click()

    model = panel.locator('.jp-mlops-model[data-model="churn"]')
    expect(model.locator(".jp-mlops-alias")).to_have_text(["challenger → v1", "champion → v2"])
    rows = model.locator(".jp-mlops-versions-table tbody tr")
    expect(rows.nth(0)).to_contain_text("v2champion")
    expect(rows.nth(1)).to_contain_text("v1challenger")
    # the verdict is the one the server sends with each version
    expect(rows.nth(0).locator(".jp-mlops-badge")).to_have_text("passed")
    expect(rows.nth(1).locator(".jp-mlops-badge")).to_have_text("failed")
    expect(rows.nth(1).locator(".jp-mlops-badge")).to_have_attribute(
        "title", re.compile(r"✗ accuracy >= 0.85 \(actual 0.84, expected >= 0.85\)")
    )
    screenshot(page, "panel-models")

    # a fairness rule's verdict comes with the rows and rate of each group
    panel.locator("summary", has_text="Gate evaluations (3)").click()
    groups = panel.locator('[data-evaluation-id="g2"] .jp-mlops-group-table')
    expect(groups).to_contain_text("demographic_parity_difference(sex) by sex")
    expect(groups.locator("th")).to_have_text(["sex", "rows", "selection_rate"])
    expect(groups.locator("tbody tr")).to_have_text(
        ["F1,4800.402", "M1,5020.433", "(missing)18n/a"]
    )

    rows.nth(0).get_by_role("button", name="rf-005").click()  # the run that made version 2

    expect(_run_page(page).locator(".jp-mlops-run-id")).to_have_text(data.runs[5]["id"])
    expect(_run_page(page).locator(".jp-mlops-fields").first).to_contain_text("churn@2 (champion)")


def test_drift_shows_each_reports_decision_and_column_verdicts(page: Page, panel: Locator):
    panel.get_by_role("tab", name="Drift").click()

    reports = panel.locator(".jp-mlops-drift-report")
    expect(reports).to_have_count(2)
    newest = reports.first
    expect(newest.locator("summary .jp-mlops-badge")).to_have_text("retrain")
    expect(newest).to_have_attribute("open", "")
    expect(newest.locator("tbody .jp-mlops-badge")).to_have_text(["retrain", "review", "monitor"])
    expect(newest.locator("tbody tr").first).to_contain_text("tenureretrainks0.411e-90.52")
    expect(reports.nth(1)).not_to_have_attribute("open", "")
    screenshot(page, "panel-drift")


def test_pipelines_show_each_steps_status_and_draw_the_steps(page: Page, panel: Locator):
    panel.get_by_role("tab", name="Pipelines").click()

    rows = panel.locator(".jp-mlops-pipelines tbody tr")
    steps = rows.first.locator(".jp-mlops-step")
    expect(steps).to_have_count(4)
    expect(steps.locator(".jp-mlops-badge")).to_have_text(["load", "train", "gate", "register"])
    expect(steps.nth(0)).to_contain_text("cached")
    expect(steps.nth(2)).to_have_attribute("data-state", "gate-failed")
    expect(rows.first).to_contain_text("1 min 35 s")
    boxes = panel.locator(".jp-mlops-step-graph .jp-mlops-step-box")  # the newest run, drawn
    expect(boxes).to_have_count(4)
    states = [boxes.nth(i).get_attribute("data-state") for i in range(4)]
    assert states == ["cached", "ok", "gate-failed", "not-run"]
    xs = [float(boxes.nth(i).locator("rect").get_attribute("x")) for i in range(4)]
    assert xs == sorted(xs) and len(set(xs)) == 4  # a chain: one column per step
    expect(panel.locator(".jp-mlops-step-edge")).to_have_count(3)
    screenshot(page, "panel-pipelines")

    rows.nth(1).click()  # another run: its own steps, names as text

    expect(boxes).to_have_count(2)
    expect(boxes.nth(1).locator(".jp-mlops-step-name")).to_have_text(XSS_NAME[:19] + "…")
    expect(panel.locator("figcaption")).to_contain_text("run pppppppp")
    expect(panel.locator("img")).to_have_count(0)


def test_snapshots_list_their_fingerprints_and_shapes(panel: Locator):
    panel.get_by_role("tab", name="Snapshots").click()

    rows = panel.locator(".jp-mlops-snapshots tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("march12,345210cdcdcdcdcdcd")
    expect(rows.nth(1)).to_contain_text("train8,000213abababababab")
    expect(rows.nth(0).locator("code")).to_have_attribute("title", "cd" * 32)


@pytest.mark.parametrize(
    ("tab", "route", "status", "body", "expected"),
    [
        (
            "Snapshots",
            "snapshots",
            500,
            {"message": "Internal error in jupyter-mlops (OperationalError)"},
            ["Could not load snapshots: Internal error in jupyter-mlops (OperationalError)"],
        ),
        (
            "Models",
            "models",
            409,
            {
                "message": "registry.db is from a newer jupyter-mlops",
                "hint": "Upgrade jupyter-mlops.",
            },
            [
                "Could not load models: registry.db is from a newer jupyter-mlops",
                "Upgrade jupyter-mlops.",
            ],
        ),
    ],
)
def test_section_errors_are_shown_in_words(
    page: Page, lab: LabServer, data: ContractStandIn, tab, route, status, body, expected
):
    data.failures[route] = (status, body)
    data.install(page)
    load_lab(page, lab)
    panel = open_panel(page)

    panel.get_by_role("tab", name=tab).click()

    error = panel.get_by_role("tabpanel", name=tab).locator(".jp-mlops-notice-error")
    for text in expected:
        expect(error).to_contain_text(text)


def test_models_without_gates_still_show_versions(
    page: Page, lab: LabServer, data: ContractStandIn
):
    data.missing.add("gates")
    data.install(page)
    load_lab(page, lab)
    panel = open_panel(page)

    panel.get_by_role("tab", name="Models").click()

    rows = panel.locator(".jp-mlops-versions-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.locator(".jp-mlops-badge")).to_have_count(2)  # verdicts come with versions
    expect(panel.get_by_text("Gate evaluations")).to_have_count(0)


def test_panel_reloads_when_the_change_marker_moves_and_only_then(
    page: Page, panel: Locator, data: ContractStandIn
):
    expect(_rows(panel)).to_have_count(50)
    page.wait_for_timeout(5_000)  # two or three polls with an unchanged marker
    assert len(data.requests_to("changes")) >= 2
    assert len(data.requests_to("runs")) == 1

    newest = dict(data.runs[118], id="f" * 32, name="fresh-run", started_at=1_800_000_000)
    data.runs.append(newest)
    data.marker = "marker-2"

    expect(_rows(panel).first.locator(".jp-mlops-col-name")).to_have_text(
        "fresh-run", timeout=7_000
    )
    expect(panel.locator(".jp-mlops-pager-range")).to_contain_text("of 121 runs")
    assert len(data.requests_to("runs")) == 2


def test_panel_says_when_the_server_stops_answering_and_recovers(
    page: Page, panel: Locator, data: ContractStandIn
):
    expect(_rows(panel)).to_have_count(50)
    every_route = re.compile(r".*/jupyter-mlops/api/.*")
    refuse = lambda route: route.abort("connectionrefused")  # noqa: E731
    warning = panel.locator(".jp-mlops-connection-lost")
    expect(warning).to_be_hidden()

    page.route(every_route, refuse)
    expect(warning).to_be_visible(timeout=7_000)
    expect(warning).to_have_text("The Jupyter server does not answer; retrying.")
    expect(_rows(panel)).to_have_count(50)  # what was shown stays

    page.unroute(every_route, refuse)
    expect(warning).to_be_hidden(timeout=30_000)  # the retries back off up to 30 s


def test_reproduce_shows_its_progress_then_the_mismatch_with_its_likely_causes(
    page: Page, panel: Locator, data: ContractStandIn
):
    _rows(panel).nth(1).click()
    detail = _run_page(page)
    environment = detail.locator(".jp-mlops-reproduce-env")
    expect(environment.locator("option")).to_have_text([e["name"] for e in ENVIRONMENTS])
    trigger = detail.locator("button.jp-mlops-reproduce")

    environment.select_option("venv")
    trigger.click()

    job = detail.locator(".jp-mlops-reproduce-job")
    expect(trigger).to_be_disabled()
    expect(job).to_have_attribute("data-state", "running")
    expect(job.locator(".jp-mlops-badge").first).to_have_text("running")
    lines = job.locator(".jp-mlops-reproduce-lines")
    expect(lines).to_contain_text(f"cell 2/3 ran (1.0 s): {XSS_NAME}")  # a later poll's line
    expect(lines.locator("img")).to_have_count(0)
    assert data.reproduce_bodies == [{"env": "venv"}]

    verdict = detail.locator(".jp-mlops-reproduce-verdict")
    expect(verdict).to_have_attribute("data-status", "mismatch")
    expect(verdict.locator(".jp-mlops-badge")).to_have_text("mismatch")
    expect(verdict.locator(".jp-mlops-badge")).to_have_attribute("data-state", "mismatch")
    expect(verdict).to_contain_text("1 of 2 metric(s) differ: accuracy: 0.91 then, 0.87 now")
    expect(verdict.locator(".jp-mlops-reproduce-causes li")).to_have_text(
        [
            f"likely cause: RandomForestClassifier(n_estimators=3) draws at random with no seed: {XSS_NAME}"
        ]
    )
    expect(verdict).to_contain_text("Versions that differ from this environment: scikit-learn")
    expect(verdict.locator(".jp-mlops-reproduce-notebook")).to_have_text(
        "Open the executed notebook"
    )
    expect(job.locator(".jp-mlops-badge").first).to_have_text("done")
    expect(lines).to_contain_text("cell 3/3 ran")
    expect(trigger).to_be_enabled()
    assert page.evaluate("window.__mlops_xss") is None
    screenshot(page, "contract-reproduce-mismatch")


def test_a_refused_reproduction_shows_the_servers_message_and_hint(
    page: Page, panel: Locator, data: ContractStandIn
):
    data.reproduce_refusal = (
        409,
        {
            "message": 'Run "rf" (0000007600c0) is being reproduced already, by job 3f2a9c1b7e40',
            "hint": "Follow it at reproductions/jobs/3f2a9c1b7e40, or start again once it has ended.",
        },
    )
    _rows(panel).nth(1).click()
    detail = _run_page(page)
    trigger = detail.locator("button.jp-mlops-reproduce")

    trigger.click()

    alert = detail.locator(".jp-mlops-reproduce-output [role=alert]")
    expect(alert).to_contain_text('Could not reproduce this run: Run "rf"')
    expect(alert).to_contain_text("by job 3f2a9c1b7e40")
    expect(alert.locator(".jp-mlops-notice-hint")).to_contain_text("Follow it at")
    expect(trigger).to_be_enabled()


def test_a_run_page_opened_while_its_reproduction_runs_follows_it(
    page: Page, panel: Locator, data: ContractStandIn
):
    run = data.runs[118]
    data.start_reproduction(run["id"], "venv")  # started from another page

    _rows(panel).nth(1).click()

    detail = _run_page(page)
    trigger = detail.locator("button.jp-mlops-reproduce")
    expect(detail.locator(".jp-mlops-reproduce-job")).to_have_attribute("data-state", "running")
    expect(trigger).to_be_disabled()
    expect(detail.locator(".jp-mlops-reproduce-verdict")).to_have_attribute(
        "data-status", "mismatch"
    )
    expect(trigger).to_be_enabled()


def _monitoring(panel: Locator) -> Locator:
    """churn's Monitoring view, opened in its card of the Models section."""
    panel.get_by_role("tab", name="Models").click()
    card = panel.locator('.jp-mlops-model[data-model="churn"]')
    card.locator(".jp-mlops-monitoring-section > summary").click()
    return card.locator(".jp-mlops-monitoring")


def test_monitoring_draws_each_window_as_sent_and_names_as_text(
    page: Page, panel: Locator, data: ContractStandIn, page_watch
):
    view = _monitoring(panel)

    cells = view.locator(".jp-mlops-monitor-window")
    expect(cells).to_have_count(30)
    decisions = [cell.get_attribute("data-decision") for cell in cells.all()]
    assert decisions == ["monitor"] * 20 + ["review"] * 5 + ["untested"] + ["retrain"] * 4
    expect(cells.nth(25)).to_have_attribute("title", re.compile("too few rows to test"))
    expect(cells.last).to_have_attribute("title", re.compile(re.escape(f"tenure, {XSS_NAME}")))
    rows = view.locator(".jp-mlops-monitor-windows tbody tr")
    expect(rows).to_have_count(30)
    expect(rows.first).to_contain_text(f"tenure, {XSS_NAME}")  # the name as its characters
    expect(rows.first).to_contain_text("challenger better")
    expect(rows.nth(4)).to_contain_text("not tested")
    expect(rows.nth(5)).to_contain_text("plan")
    expect(rows.nth(5)).to_contain_text("demographic_parity_difference(sex) <= 0.1")
    expect(rows.first).not_to_contain_text("demographic_parity_difference")
    expect(view.locator("img")).to_have_count(0)
    # both versions' live accuracy, each only where the version answered
    metrics = view.locator(".jp-mlops-monitor-metrics svg")
    expect(metrics).to_have_attribute("aria-label", re.compile(r"v1 accuracy: 15 points"))
    expect(metrics).to_have_attribute("aria-label", re.compile(r"v2 accuracy: 14 points"))
    assert page_watch.errors == [] and page_watch.dialogs == []


def test_a_refused_monitor_run_shows_the_servers_message_and_hint(
    panel: Locator, data: ContractStandIn
):
    data.monitor_refusal = (
        400,
        {"message": '"soon" is not a window length', "hint": 'Write "30m", "1h", "1d".'},
    )
    view = _monitoring(panel)
    expect(view.locator(".jp-mlops-monitor-window")).to_have_count(30)

    view.locator(".jp-mlops-monitor-run-length").select_option("6h")
    view.get_by_role("button", name="Run monitor now").click()

    error = view.locator(".jp-mlops-monitor-run-status .jp-mlops-notice-error")
    expect(error).to_contain_text('The monitor did not run: "soon" is not a window length')
    expect(error).to_contain_text('Write "30m", "1h", "1d".')
    assert data.monitor_bodies == [{"window": "6h"}]
    expect(view.locator(".jp-mlops-monitor-window")).to_have_count(30)  # the windows stay
    expect(view.get_by_role("button", name="Run monitor now")).to_be_enabled()


def test_monitoring_redraws_when_the_registry_changes(page: Page, panel: Locator, data):
    view = _monitoring(panel)
    expect(view.locator(".jp-mlops-monitor-window")).to_have_count(30)

    data.monitored["1h"] = 31  # the monitor ran elsewhere (a terminal, a notebook)
    data.marker = "marker-2"

    expect(view.locator(".jp-mlops-monitor-window")).to_have_count(31)
    assert [seen.item for seen in data.requests_to("monitoring")] == ["churn", "churn"]
