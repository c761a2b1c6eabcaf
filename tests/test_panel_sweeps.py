"""Child runs and sweeps in the panel, against a real registry, JupyterLab and Chromium.

The Runs table lists runs without a parent, each parent with its number of children,
folded; a parent unfolds to list its children (more of them read from the page's
cursor); *Every run, flat* lists them all. A parent's page draws its sweep: parallel
coordinates with one line per child and the best one in red, a metric picker, and one
parameter against the metric; a click on a child opens its page.
"""

from __future__ import annotations

import itertools
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

EXPERIMENT = "sweeps"
GRID = list(itertools.product([0.01, 1.0, 100.0], ["l1", "l2", "none"]))
N_BIG = 55  # more than the 50 children a parent shows at first
BEST_RED = "#d62728"


def score(index: int) -> float:
    """What grid child ``index`` logs as score: highest for child 2."""
    return round(0.5 + ((index * 4) % len(GRID)) / 20, 4)


def val_loss(index: int) -> float:
    """What grid child ``index`` logs as val_loss: lowest for child 0."""
    return round(0.1 + ((index * 2) % len(GRID)) / 10, 4)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab over a registry with a run "solo", a sweep "grid" of 9 children and a
    run "big" with 55 children, recorded through the Python API."""
    root_dir = tmp_path_factory.mktemp("lab") / "project"
    registry = Registry.init(root_dir)
    use_registry(registry)
    try:
        with mlops.start_run("solo", experiment=EXPERIMENT) as solo:
            solo.log(score=0.4)
        with mlops.start_run("grid", experiment=EXPERIMENT):
            for index, (c, penalty) in enumerate(GRID):
                with mlops.start_run(f"trial-{index}", experiment=EXPERIMENT) as trial:
                    trial.log_params(C=c, penalty=penalty)
                    trial.log(score=score(index), val_loss=val_loss(index))
        with mlops.start_run("big", experiment=EXPERIMENT):
            for index in range(N_BIG):
                with mlops.start_run(f"fold-{index:02d}", experiment=EXPERIMENT) as fold:
                    fold.log_params(seed=index)
                    fold.log(score=index / N_BIG)
    finally:
        SESSION.reset()
        registry.close()
    with running_jupyterlab(
        root_dir, tmp_path_factory.mktemp("lab-state"), env={"MLOPS_REGISTRY": None}
    ) as server:
        yield server


@pytest.fixture(scope="module")
def ids(lab: LabServer) -> dict[str, str]:
    """Every run's id by name, as the server lists them."""
    listed = lab.get_json("jupyter-mlops/api/runs?page_size=500")
    return {run["name"]: run["id"] for run in listed["runs"]}


@pytest.fixture
def panel(page: Page, lab: LabServer) -> Locator:
    load_lab(page, lab)
    opened = open_panel(page)
    widen_sidebar(page, 700)
    expect(_rows(opened)).to_have_count(3)
    return opened


def _rows(panel: Locator) -> Locator:
    return panel.locator(".jp-mlops-runs-table tbody tr.jp-mlops-run-row")


def _row(panel: Locator, name: str) -> Locator:
    return panel.locator(
        ".jp-mlops-runs-table tbody tr.jp-mlops-run-row:not(.jp-mlops-child-row)", has_text=name
    )


def _children(panel: Locator, parent_id: str) -> Locator:
    return panel.locator(f'tr.jp-mlops-child-row[data-parent-id="{parent_id}"]')


def _run_page(page: Page) -> Locator:
    return page.locator(".jp-mlops-run-view:visible .jp-mlops-run-detail")


def test_parents_show_folded_with_their_number_of_children_and_unfold(
    page: Page, panel: Locator, ids: dict[str, str]
):
    listed = _rows(panel).evaluate_all(
        "rows => rows.map(row => [row.dataset.runId, row.dataset.children || '0'])"
    )
    assert listed == [[ids["big"], str(N_BIG)], [ids["grid"], str(len(GRID))], [ids["solo"], "0"]]
    grid = _row(panel, "grid")
    expect(grid.locator(".jp-mlops-children-badge")).to_have_text("9 children")
    expect(_row(panel, "solo").locator(".jp-mlops-children-badge")).to_have_count(0)
    expect(panel.locator("tr.jp-mlops-child-row")).to_have_count(0)  # folded by default
    expect(panel.locator(".jp-mlops-pager-range")).to_have_text("1–3 of 3 runs · page 1 of 1")

    grid.locator(".jp-mlops-expand").click()

    children = _children(panel, ids["grid"])
    expect(children).to_have_count(len(GRID))
    expect(grid.locator(".jp-mlops-expand")).to_have_attribute("aria-expanded", "true")
    shown = set(children.locator(".jp-mlops-col-name").all_inner_texts())
    assert shown == {f"trial-{index}" for index in range(len(GRID))}
    assert page.locator(".jp-mlops-run-view").count() == 0, "unfolding opens no run page"
    # The children's parameters get columns of their own (the parents have none).
    expect(panel.locator('.jp-mlops-runs-table th[data-sort-key="params.C"]')).to_have_count(1)
    screenshot(page, "panel-children-unfolded")

    grid.locator(".jp-mlops-expand").click()

    expect(children).to_have_count(0)
    expect(_rows(panel)).to_have_count(3)


def test_unfolded_children_follow_the_tables_sort(panel: Locator, ids: dict[str, str]):
    _row(panel, "grid").locator(".jp-mlops-expand").click()
    children = _children(panel, ids["grid"])
    expect(children).to_have_count(len(GRID))

    panel.locator(".jp-mlops-sort-key").select_option("metrics.score")  # high first

    by_score = sorted(range(len(GRID)), key=score, reverse=True)
    expect(children.locator(".jp-mlops-col-name")).to_have_text(
        [f"trial-{index}" for index in by_score]
    )


def test_more_children_are_read_after_the_first_fifty(panel: Locator, ids: dict[str, str]):
    _row(panel, "big").locator(".jp-mlops-expand").click()
    children = _children(panel, ids["big"])
    expect(children).to_have_count(50)
    more = panel.locator(".jp-mlops-children-more")
    expect(more).to_have_text(f"Show {N_BIG - 50} more of {N_BIG} children")

    more.click()

    expect(children).to_have_count(N_BIG)
    expect(more).to_have_count(0)
    names = children.locator(".jp-mlops-col-name").all_inner_texts()
    assert sorted(names) == [f"fold-{index:02d}" for index in range(N_BIG)]  # each once


def test_every_run_flat_lists_the_children_too(panel: Locator):
    panel.locator(".jp-mlops-flat").check()

    total = 3 + len(GRID) + N_BIG
    expect(panel.locator(".jp-mlops-pager-range")).to_have_text(
        f"1–50 of {total} runs · page 1 of 2"
    )
    expect(_rows(panel)).to_have_count(50)
    expect(panel.locator(".jp-mlops-expand")).to_have_count(0)
    panel.locator(".jp-mlops-page-size").select_option("25")
    ids_shown = "rows => rows.map(row => row.dataset.runId)"
    expect(_rows(panel)).to_have_count(25)
    pages = [_rows(panel).evaluate_all(ids_shown)]

    for number in (2, 3):  # read from the server's cursors
        panel.get_by_role("button", name="Next ›").click()
        expect(panel.locator(".jp-mlops-pager-range")).to_contain_text(f"page {number} of 3")
        expect(_rows(panel)).to_have_count(25 if number < 3 else total - 50)
        pages.append(_rows(panel).evaluate_all(ids_shown))

    assert sorted(sum(pages, [])) == sorted(set(sum(pages, []))) and len(sum(pages, [])) == total
    panel.get_by_role("button", name="‹ Previous").click()  # from the page's previous_cursor

    expect(panel.locator(".jp-mlops-pager-range")).to_have_text(
        f"26–50 of {total} runs · page 2 of 3"
    )
    assert _rows(panel).evaluate_all(ids_shown) == pages[1]

    panel.locator(".jp-mlops-flat").uncheck()

    expect(_rows(panel)).to_have_count(3)


def _open_grid(page: Page, panel: Locator) -> Locator:
    _row(panel, "grid").click()
    detail = _run_page(page)
    expect(detail.locator(".jp-mlops-run-name")).to_have_text("grid")
    return detail.locator(".jp-mlops-sweep")


def test_a_sweep_draws_one_line_per_child_and_the_best_in_red(
    page: Page, panel: Locator, ids: dict[str, str]
):
    sweep = _open_grid(page, panel)

    chart = sweep.locator("svg.jp-mlops-sweep-parallel")
    lines = chart.locator("polyline.jp-mlops-sweep-line")
    expect(lines).to_have_count(len(GRID))
    drawn = set(lines.evaluate_all("lines => lines.map(line => line.dataset.runId)"))
    assert drawn == {ids[f"trial-{index}"] for index in range(len(GRID))}
    best = max(range(len(GRID)), key=score)
    highlighted = chart.locator("polyline.jp-mlops-sweep-best")
    expect(highlighted).to_have_count(1)
    expect(highlighted).to_have_attribute("data-run-id", ids[f"trial-{best}"])
    expect(highlighted).to_have_attribute("stroke", BEST_RED)
    others = lines.evaluate_all(
        "lines => lines.filter(l => !l.classList.contains('jp-mlops-sweep-best'))"
        ".map(l => l.getAttribute('stroke'))"
    )
    assert BEST_RED not in others
    # One axis per parameter and one for the metric; C spans four decades: a log axis.
    labels = chart.locator(".jp-mlops-sweep-axis-label").all_text_contents()
    assert labels == ["C (log)", "penalty", "score"]
    # Each line crosses every axis; the best one ends at the top of the metric's axis.
    assert all(len(p.split(" ")) == 3 for p in lines.evaluate_all(
        "lines => lines.map(line => line.getAttribute('points'))"
    ))  # fmt: skip
    ends = lines.evaluate_all(
        "lines => lines.map(l => Number(l.getAttribute('points').split(' ')[2].split(',')[1]))"
    )
    assert min(ends) == float(highlighted.get_attribute("points").split(" ")[2].split(",")[1])
    expect(sweep.locator(".jp-mlops-sweep-best-child")).to_contain_text(
        f"Best of {len(GRID)} by highest score: trial-{best} {score(best)}"
    )
    screenshot(page, "panel-sweep")


def test_the_metric_picker_draws_the_sweep_against_another_metric(
    page: Page, panel: Locator, ids: dict[str, str]
):
    sweep = _open_grid(page, panel)
    expect(sweep.locator(".jp-mlops-sweep-metric option")).to_have_text(["score", "val_loss"])

    sweep.locator(".jp-mlops-sweep-metric").select_option("val_loss")

    best = min(range(len(GRID)), key=val_loss)
    assert best != max(range(len(GRID)), key=score)
    highlighted = sweep.locator("svg.jp-mlops-sweep-parallel polyline.jp-mlops-sweep-best")
    expect(highlighted).to_have_attribute("data-run-id", ids[f"trial-{best}"])
    expect(sweep).to_contain_text("lower is better")
    expect(sweep.locator(".jp-mlops-sweep-metric")).to_have_value("val_loss")
    expect(sweep.locator(".jp-mlops-sweep-direction")).to_have_value("lowest")  # a loss

    sweep.locator(".jp-mlops-sweep-direction").select_option("highest")

    worst = max(range(len(GRID)), key=val_loss)
    expect(highlighted).to_have_attribute("data-run-id", ids[f"trial-{worst}"])
    expect(sweep).to_contain_text("higher is better")
    expect(sweep.locator(".jp-mlops-sweep-metric")).to_have_value("val_loss")


def test_the_scatter_draws_the_picked_parameter_and_a_click_opens_a_child(
    page: Page, panel: Locator, ids: dict[str, str]
):
    sweep = _open_grid(page, panel)
    scatter = sweep.locator("svg.jp-mlops-sweep-scatter")
    expect(scatter).to_have_attribute("aria-label", "score by C")

    sweep.locator(".jp-mlops-sweep-param").select_option("penalty")

    expect(scatter).to_have_attribute("aria-label", "score by penalty")
    points = scatter.locator("circle.jp-mlops-sweep-point")
    expect(points).to_have_count(len(GRID))
    # Three penalties: the points stand in three columns.
    assert len(set(points.evaluate_all("ps => ps.map(p => p.getAttribute('cx'))"))) == 3
    best = max(range(len(GRID)), key=score)
    expect(scatter.locator("circle.jp-mlops-sweep-best")).to_have_attribute(
        "data-run-id", ids[f"trial-{best}"]
    )

    worst = min(range(len(GRID)), key=score)
    scatter.locator(f'circle[data-run-id="{ids[f"trial-{worst}"]}"]').click()

    expect(_run_page(page).locator(".jp-mlops-run-name")).to_have_text(f"trial-{worst}")
    expect(_run_page(page).locator(".jp-mlops-parent-run")).to_have_text(ids["grid"][:8])


def test_a_click_on_a_sweeps_line_opens_that_child(page: Page, panel: Locator, ids: dict[str, str]):
    sweep = _open_grid(page, panel)
    best = max(range(len(GRID)), key=score)

    sweep.locator("svg.jp-mlops-sweep-parallel polyline.jp-mlops-sweep-best").dispatch_event(
        "click"
    )

    expect(_run_page(page).locator(".jp-mlops-run-name")).to_have_text(f"trial-{best}")
