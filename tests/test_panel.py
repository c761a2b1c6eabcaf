"""The panel in a real JupyterLab and a real Chromium, against the real server extension."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_mlops
from jupyter_mlops.registry.connection import Registry

from .browser.lab import LabServer, running_jupyterlab
from .browser.panel import PANEL, PANEL_ICON, load_lab, open_panel, screenshot

pytest.importorskip("playwright", reason="the browser tests need the playwright package")
from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest_plugins = ("tests.browser.fixtures",)

# The panel polls every 2 s; give a change three polls to show.
POLL_WAIT_MS = 7_000


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    root_dir = tmp_path_factory.mktemp("lab") / "project"
    root_dir.mkdir()
    with running_jupyterlab(
        root_dir, tmp_path_factory.mktemp("lab-state"), env={"MLOPS_REGISTRY": None}
    ) as server:
        yield server


@pytest.fixture
def registry(lab: LabServer) -> Iterator[Path]:
    """An empty registry where the server looks for one (as %mlops init makes it); removed
    afterwards."""
    Registry.init(lab.root_dir).close()
    path = lab.root_dir / ".mlops" / "registry.db"
    try:
        yield path
    finally:
        shutil.rmtree(path.parent)


def test_panel_opens_from_its_icon_and_says_no_registry(page: Page, lab: LabServer):
    load_lab(page, lab)
    expect(page.locator(PANEL)).to_be_hidden()

    panel = open_panel(page)

    notice = panel.locator(".jp-mlops-notice")
    expect(notice).to_contain_text("No registry found")
    expect(notice).to_contain_text(str(lab.root_dir.resolve()))
    expect(notice).to_contain_text("%mlops init")
    expect(panel.locator(".jp-mlops-status")).to_contain_text(
        f"jupyter-mlops {jupyter_mlops.__version__}"
    )
    screenshot(page, "panel-no-registry")


def test_panel_shows_a_new_registry_without_being_reloaded(page: Page, lab: LabServer):
    load_lab(page, lab)
    panel = open_panel(page)
    expect(panel.locator(".jp-mlops-notice")).to_contain_text("No registry found")

    path = lab.root_dir / ".mlops" / "registry.db"
    try:
        Registry.init(lab.root_dir).close()  # what %mlops init does

        expect(panel.locator(".jp-mlops-registry-path")).to_have_text(
            str(path.resolve()), timeout=POLL_WAIT_MS
        )
        expect(panel.locator(".jp-mlops-notice")).to_contain_text("No runs recorded yet")
    finally:
        shutil.rmtree(path.parent)
    expect(panel.locator(".jp-mlops-notice")).to_contain_text(
        "No registry found", timeout=POLL_WAIT_MS
    )


@pytest.mark.parametrize(
    ("tab", "empty_text"),
    [
        ("Runs", "No runs recorded yet"),
        ("Models", "No models recorded yet"),
        ("Snapshots", "No snapshots recorded yet"),
        ("Drift", "No drift reports recorded yet"),
        ("Pipelines", "No pipeline runs recorded yet"),
    ],
)
def test_panel_sections_say_when_they_have_nothing(
    page: Page, lab: LabServer, registry: Path, tab: str, empty_text: str
):
    load_lab(page, lab)
    panel = open_panel(page)

    panel.get_by_role("tab", name=tab).click()

    expect(panel.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
    expect(panel.get_by_role("tabpanel", name=tab).locator(".jp-mlops-notice")).to_contain_text(
        empty_text
    )


def test_panel_follows_the_dark_theme(page: Page, lab: LabServer):
    load_lab(page, lab)
    panel = open_panel(page)
    expect(panel.locator(".jp-mlops-notice")).to_be_visible()

    def colours() -> tuple[str, str]:
        return panel.evaluate(
            "node => [getComputedStyle(node).backgroundColor,"
            " getComputedStyle(node.querySelector('.jp-mlops-notice-text')).color]"
        )

    light = colours()
    try:
        page.evaluate(
            "window.jupyterapp.commands.execute('apputils:change-theme',"
            " {theme: 'JupyterLab Dark'})"
        )
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
        page.wait_for_function(
            "light => getComputedStyle(document.querySelector('#jupyter-mlops-panel'))"
            ".backgroundColor !== light",
            arg=light[0],
        )
        dark = colours()
        page.wait_for_selector("#jupyterlab-splash", state="detached")
        screenshot(page, "panel-dark-theme")
    finally:
        page.evaluate(
            "window.jupyterapp.commands.execute('apputils:change-theme',"
            " {theme: 'JupyterLab Light'})"
        )
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "true")

    assert dark[0] != light[0] and dark[1] != light[1]
    assert _luminance(dark[0]) < 0.3 < _luminance(light[0])


def test_panel_polls_only_while_it_is_visible(page: Page, lab: LabServer):
    requests: list[float] = []
    page.on(
        "request",
        lambda request: (
            requests.append(time.monotonic()) if "/jupyter-mlops/api/" in request.url else None
        ),
    )
    load_lab(page, lab)
    open_panel(page)
    page.wait_for_timeout(4_500)
    assert len(requests) >= 2, "the panel should ask for changes every ~2 s while visible"

    page.click(PANEL_ICON)  # collapse the sidebar
    expect(page.locator(PANEL)).to_be_hidden()
    page.wait_for_timeout(500)  # a request already in flight may still land
    hidden_since = time.monotonic()
    page.wait_for_timeout(5_000)
    assert [t for t in requests if t > hidden_since] == []

    page.click(PANEL_ICON)
    page.wait_for_timeout(3_000)
    assert [t for t in requests if t > hidden_since], "polling resumes when shown again"


def _luminance(css_colour: str) -> float:
    """0 (black) to 1 (white) for an ``rgb(...)``/``rgba(...)`` colour."""
    channels = css_colour[css_colour.index("(") + 1 : css_colour.index(")")].split(",")
    red, green, blue = (float(value) / 255 for value in channels[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue
