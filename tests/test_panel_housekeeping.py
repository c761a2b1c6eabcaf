"""Run housekeeping in the panel, against a real registry, JupyterLab and Chromium.

On a run's page: its note is written and shown as markdown (never as HTML), the Manage
section renames the run, sets and removes tags, moves it to another experiment,
archives and restores it, and purges it after a dialog that says what goes and what
stays; a purged run's own artifact file is gone and a shared one stays. The Runs list
shows the experiment's note (editable) and, on request, the archived runs, greyed, with
Restore. Every write goes through the server's routes with Jupyter's XSRF token; a
refused one shows the server's message and what to do next.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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

EXPERIMENT = "churn"
NAMES = ("noted", "tidy", "shelved", "victim", "keeper", "refused")
XSS = '<img src=x onerror="window.__mlops_xss=1">'


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A registry with one run per test; "victim" has an artifact of its own and one it
    shares with "keeper"; "tidy" has the tag team=growth."""
    root_dir = tmp_path_factory.mktemp("lab") / "project"
    registry = Registry.init(root_dir)
    use_registry(registry)
    ids: dict[str, str] = {}
    try:
        for index, name in enumerate(NAMES):
            with mlops.start_run(name, experiment=EXPERIMENT) as run:
                run.log_params(depth=index + 2)
                run.log(accuracy=0.7 + index / 100)
                if name == "tidy":
                    run.set_tags(team="growth")
                if name in ("victim", "keeper"):
                    mlops.log_text("shared bytes", "shared.txt")
                if name == "victim":
                    mlops.log_text("only the victim's bytes", "own.txt")
                ids[name] = run.id
        rows = registry.query(
            "SELECT name, sha256 FROM run_artifacts WHERE run_id = ?", (ids["victim"],)
        )
        files = {row["name"]: registry.artifacts.path_of(row["sha256"]) for row in rows}
    finally:
        SESSION.reset()
        registry.close()
    return {"root_dir": root_dir, "ids": ids, "files": files}


@pytest.fixture(scope="module")
def lab(recorded: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    with running_jupyterlab(
        recorded["root_dir"], tmp_path_factory.mktemp("lab-state"), env={"MLOPS_REGISTRY": None}
    ) as server:
        yield server


@pytest.fixture
def ids(recorded: dict[str, Any]) -> dict[str, str]:
    return dict(recorded["ids"])


@pytest.fixture
def panel(page: Page, lab: LabServer) -> Locator:
    load_lab(page, lab)
    opened = open_panel(page)
    widen_sidebar(page, 700)
    expect(_rows(opened).first).to_be_visible()
    return opened


def _rows(panel: Locator) -> Locator:
    return panel.locator(".jp-mlops-runs-table tbody tr.jp-mlops-run-row")


def _row(panel: Locator, name: str) -> Locator:
    return _rows(panel).filter(has=panel.page.locator(".jp-mlops-col-name", has_text=name))


def _open_run(page: Page, panel: Locator, name: str) -> Locator:
    """Open the run's page from its row; the page, once drawn."""
    _row(panel, name).locator(".jp-mlops-col-name").click()
    detail = page.locator(".jp-mlops-run-view:visible .jp-mlops-run-detail")
    expect(detail.locator(".jp-mlops-run-name")).to_have_text(name)
    return detail


def _manage(detail: Locator) -> Locator:
    manage = detail.locator(".jp-mlops-manage")
    if manage.get_attribute("open") is None:
        manage.locator("summary").click()
    return manage


def _run_json(lab: LabServer, run_id: str) -> dict[str, Any]:
    return lab.get_json(f"jupyter-mlops/api/runs/{run_id}")


def _listed(lab: LabServer, **query: str) -> set[str]:
    arguments = "&".join(f"{key}={value}" for key, value in query.items())
    listed = lab.get_json(f"jupyter-mlops/api/runs?page_size=500&{arguments}")
    return {run["name"] for run in listed["runs"]}


def test_a_note_is_written_and_shown_as_markdown_never_as_html(
    page: Page, panel: Locator, lab: LabServer, ids: dict[str, str]
):
    detail = _open_run(page, panel, "noted")
    expect(detail.locator(".jp-mlops-run-note-block .jp-mlops-note-empty")).to_have_text(
        "No note yet."
    )
    text = (
        "## Stale labels\nRerun after the **March** fix, see [the log](https://example.org/log)"
        f" and [this](javascript:alert(1)).\n\n- see `labels.csv`\n- {XSS}"
    )

    detail.get_by_role("button", name="Add a note").click()
    detail.locator(".jp-mlops-note-input").fill(text)
    detail.get_by_role("button", name="Save note").click()

    note = detail.locator(".jp-mlops-run-note")
    expect(note.locator("h4")).to_have_text("Stale labels")
    expect(note.locator("strong")).to_have_text("March")
    expect(note.locator("li code")).to_have_text("labels.csv")
    expect(note.locator("li").nth(1)).to_have_text(XSS)  # the characters, not an image
    # Only web links become links; any other stays text.
    expect(note.locator("a")).to_have_count(1)
    expect(note.locator("a")).to_have_attribute("href", "https://example.org/log")
    expect(note.locator("p")).to_contain_text("[this](javascript:alert(1))")
    assert note.locator("img, script").count() == 0
    assert page.evaluate("window.__mlops_xss") is None
    expect(detail.locator(".jp-mlops-run-note-block .jp-mlops-write-status")).to_contain_text(
        'Noted on run "noted"'
    )
    assert _run_json(lab, ids["noted"])["run"]["note"] == text

    detail.get_by_role("button", name="Edit note").click()
    expect(detail.locator(".jp-mlops-note-input")).to_have_value(text)
    detail.locator(".jp-mlops-note-input").fill("")
    detail.get_by_role("button", name="Save note").click()

    expect(detail.locator(".jp-mlops-note-empty")).to_have_text("No note yet.")
    assert _run_json(lab, ids["noted"])["run"]["note"] is None


def test_rename_tags_and_move_go_through_the_server_and_every_view_follows(
    page: Page, panel: Locator, lab: LabServer, ids: dict[str, str]
):
    detail = _open_run(page, panel, "tidy")
    manage = _manage(detail)
    expect(manage.locator('.jp-mlops-tag[data-tag="team"]')).to_have_text("team=growth×")

    manage.locator(".jp-mlops-rename-input").fill("tidy-v2")
    manage.get_by_role("button", name="Rename").click()

    expect(detail.locator(".jp-mlops-run-name")).to_have_text("tidy-v2")
    expect(_row(panel, "tidy-v2")).to_have_count(1)  # the list redraws too
    assert _run_json(lab, ids["tidy"])["run"]["name"] == "tidy-v2"

    manage.locator(".jp-mlops-tag-key").fill("review")
    manage.locator(".jp-mlops-tag-value").fill("done")
    manage.get_by_role("button", name="Add tag").click()

    expect(manage.locator('.jp-mlops-tag[data-tag="review"]')).to_have_text("review=done×")
    manage.get_by_role("button", name="Remove the tag team").click()

    expect(manage.locator('.jp-mlops-tag[data-tag="team"]')).to_have_count(0)
    assert _run_json(lab, ids["tidy"])["tags"] == {"review": "done"}

    manage.locator(".jp-mlops-move-input").fill("churn-old")
    manage.get_by_role("button", name="Move", exact=True).click()

    expect(manage.locator(".jp-mlops-manage-current")).to_contain_text("churn-old")
    expect(_row(panel, "tidy-v2")).to_have_count(0)  # gone from the churn list
    assert _run_json(lab, ids["tidy"])["run"]["experiment"] == "churn-old"
    assert "tidy-v2" in _listed(lab, experiment="churn-old")
    screenshot(page, "panel-housekeeping-manage")


def test_a_refused_change_shows_the_servers_message_and_changes_nothing(
    page: Page, panel: Locator, lab: LabServer, ids: dict[str, str]
):
    detail = _open_run(page, panel, "refused")
    manage = _manage(detail)

    manage.locator(".jp-mlops-move-input").fill("   ")
    manage.get_by_role("button", name="Move", exact=True).click()

    error = detail.locator(".jp-mlops-write-status .jp-mlops-notice-error")
    expect(error).to_contain_text('Could not move run "refused"')
    expect(error).to_contain_text("Cannot move run")
    expect(error.locator(".jp-mlops-notice-hint")).not_to_be_empty()
    assert _run_json(lab, ids["refused"])["run"]["experiment"] == EXPERIMENT


def test_archive_hides_the_run_and_the_archived_list_restores_it(
    page: Page, panel: Locator, lab: LabServer, ids: dict[str, str]
):
    detail = _open_run(page, panel, "shelved")

    _manage(detail).get_by_role("button", name="Archive").click()

    expect(detail.locator(".jp-mlops-archived-badge")).to_have_text("archived")
    expect(_row(panel, "shelved")).to_have_count(0)
    assert "shelved" in _listed(lab, archived="true")

    panel.locator(".jp-mlops-show-archived").check()

    archived = _row(panel, "shelved")
    expect(archived).to_have_class("jp-mlops-run-row jp-mlops-archived-row")
    expect(_rows(panel)).to_have_count(1)  # only the archived runs
    screenshot(page, "panel-housekeeping-archived")
    archived.get_by_role("button", name="Restore").click()

    expect(_rows(panel)).to_have_count(0)
    panel.locator(".jp-mlops-show-archived").uncheck()
    expect(_row(panel, "shelved")).to_have_count(1)
    expect(detail.locator(".jp-mlops-archived-badge")).to_have_count(0)
    assert "shelved" in _listed(lab)


def test_purge_asks_first_then_deletes_the_runs_own_artifact_and_keeps_the_shared_one(
    page: Page, panel: Locator, lab: LabServer, ids: dict[str, str], recorded: dict[str, Any]
):
    own: Path = recorded["files"]["own.txt"]
    shared: Path = recorded["files"]["shared.txt"]
    assert own.is_file() and shared.is_file()
    detail = _open_run(page, panel, "victim")

    _manage(detail).get_by_role("button", name="Purge…").click()

    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text('Purge run "victim"?')
    expect(dialog.locator(".jp-mlops-purge-unique")).to_contain_text(
        "1 artifact file only it uses will be deleted"
    )
    expect(dialog.locator(".jp-mlops-purge-shared")).to_contain_text(
        "1 artifact file that other runs, models or snapshots use will stay"
    )
    screenshot(page, "panel-housekeeping-purge-dialog")
    dialog.get_by_role("button", name="Cancel").click()

    expect(dialog).to_have_count(0)
    assert own.is_file() and "victim" in _listed(lab)

    _manage(detail).get_by_role("button", name="Purge…").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Purge run victim").click()

    purged = page.locator(".jp-mlops-run-view:visible .jp-mlops-run-purged")
    expect(purged).to_contain_text('Purged run "victim"')
    expect(purged).to_contain_text("removed 1 artifact(s)")
    expect(_row(panel, "victim")).to_have_count(0)
    assert not own.exists()
    assert shared.is_file()
    assert "victim" not in _listed(lab, archived="all")
    assert "keeper" in _listed(lab)


def test_the_experiments_note_shows_in_the_list_and_is_edited_there(
    page: Page, panel: Locator, lab: LabServer
):
    block = panel.locator(".jp-mlops-experiment-note-block")
    expect(block.locator(".jp-mlops-note-empty")).to_have_text("No note yet.")

    block.get_by_role("button", name="Add a note").click()
    block.locator(".jp-mlops-note-input").fill("Target: **30-day churn**.")
    block.get_by_role("button", name="Save note").click()

    expect(block.locator(".jp-mlops-experiment-note strong")).to_have_text("30-day churn")
    note = lab.get_json(f"jupyter-mlops/api/experiments/{EXPERIMENT}")["note"]
    assert note == "Target: **30-day churn**."


def test_a_run_opens_in_the_sidebar_when_asked_and_its_actions_work_there(
    page: Page, panel: Locator, lab: LabServer, ids: dict[str, str]
):
    try:
        panel.locator(".jp-mlops-open-here").check()
        _row(panel, "keeper").locator(".jp-mlops-col-name").click()

        detail = panel.locator(".jp-mlops-sidebar-run .jp-mlops-run-detail")
        expect(detail.locator(".jp-mlops-run-name")).to_have_text("keeper")
        assert page.locator(".jp-mlops-run-widget").count() == 0, "no main-area tab opened"
        manage = _manage(detail)
        manage.locator(".jp-mlops-tag-key").fill("checked")
        manage.locator(".jp-mlops-tag-value").fill("in the sidebar")
        manage.get_by_role("button", name="Add tag").click()

        expect(manage.locator('.jp-mlops-tag[data-tag="checked"]')).to_have_count(1)
        assert _run_json(lab, ids["keeper"])["tags"] == {"checked": "in the sidebar"}
        screenshot(page, "panel-housekeeping-sidebar-run")

        panel.get_by_role("button", name="‹ Runs").click()

        expect(_row(panel, "keeper")).to_have_count(1)
        panel.locator(".jp-mlops-open-here").uncheck()
        _row(panel, "keeper").locator(".jp-mlops-col-name").click()
        expect(page.locator(".jp-mlops-run-widget")).to_have_count(1)  # a tab again
    finally:
        page.evaluate("localStorage.removeItem('jupyter-mlops:open-runs-in-sidebar')")
