"""Page helpers: load JupyterLab, open the panel by its icon, take screenshots."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

    from .lab import LabServer

ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"

PANEL_ID = "jupyter-mlops-panel"
PANEL_ICON = f'.jp-SideBar .lm-TabBar-tab[data-id="{PANEL_ID}"]'
PANEL = f"#{PANEL_ID}"
LAB_READY_TIMEOUT_MS = 60_000


# JupyterLab names its theme on <body> once the theme's stylesheet is in, and shows this
# dialog when the stylesheet did not come (a server slow to answer on a loaded machine)
THEME_LOADED = "() => document.body.dataset.jpThemeName || document.querySelector({error!r})"
THEME_ERROR = '.jp-Dialog[aria-label^="Error Loading Theme"]'


def load_lab(page: Page, server: LabServer) -> None:
    """Open JupyterLab with a fresh layout and wait until the panel's icon is there and
    the theme is applied; a theme whose stylesheet failed to load is loaded once more."""
    for attempt in (1, 2):
        page.goto(server.lab_url)
        page.wait_for_selector(PANEL_ICON, timeout=LAB_READY_TIMEOUT_MS)
        page.wait_for_function(THEME_LOADED.format(error=THEME_ERROR), timeout=LAB_READY_TIMEOUT_MS)
        if page.locator(THEME_ERROR).count() == 0:
            break
        assert attempt == 1, (
            f"JupyterLab failed twice to load its theme's stylesheet:\n{server.log()}"
        )
    dismiss_toasts(page)


def dismiss_toasts(page: Page) -> None:
    """Close any notification toast (the news question among them) that covers the page."""
    for close in page.locator(".jp-toast-dismiss, .Toastify__close-button").all():
        if close.is_visible():
            close.click()


def open_panel(page: Page) -> Locator:
    """Click the panel's sidebar icon; the panel, once visible."""
    page.click(PANEL_ICON)
    panel = page.locator(PANEL)
    panel.wait_for(state="visible")
    return panel


def widen_sidebar(page: Page, width: int) -> None:
    """Drag the left sidebar's edge until it is ``width`` pixels wide, as a user would."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    assert box is not None, "the left sidebar has no resize handle: is it open?"
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(width, y, steps=5)
    page.mouse.up()


def visible_box(locator: Locator, timeout_ms: float = 10_000) -> dict[str, float]:
    """The element's box once it is shown: the panel redraws a tab when its data moves, and
    between the old element and the new one there is no box to read."""
    import time

    from playwright.sync_api import expect

    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        expect(locator).to_be_visible(timeout=timeout_ms)
        box = locator.bounding_box()
        if box is not None:
            return dict(box)
        if time.monotonic() > deadline:
            raise AssertionError(f"{locator} is visible but has no box after {timeout_ms} ms")
        locator.page.wait_for_timeout(50)


def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot of the whole page as test-artifacts/NAME.png."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    path = ARTIFACTS_DIR / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
    page.screenshot(path=str(path))
    return path
