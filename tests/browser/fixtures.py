"""pytest fixtures for the browser tests: one Chromium per test module, one page per test.

Playwright's sync API keeps an asyncio loop running on the main thread while it is
started, which breaks every other test that runs a loop of its own (pytest-jupyter,
nbclient). So Chromium lives per module, and stops before the next module runs.

Use from a test module with ``pytest_plugins = ("tests.browser.fixtures",)``; each module
starts its own JupyterLab (see :func:`browser.lab.running_jupyterlab`) because the
server's folder and environment are what its tests are about.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from .chromium import chromium_context
from .lab import installed_labextension_dir
from .panel import screenshot

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Dialog, Page


# how long an expectation waits for the page: what the panel shows comes from the Jupyter
# server, which on a loaded 2-core machine (CI runs three test processes, two other Pythons'
# suites and Chromium at once) has taken more than Playwright's default 5 s to answer a search
EXPECT_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    if installed_labextension_dir() is None:
        pytest.fail(
            "The jupyter-mlops panel is not installed in this environment, so JupyterLab "
            "cannot show it. Install the package (pip install .) and run the tests again."
        )
    with chromium_context(tmp_path_factory.mktemp("chromium-profile")) as context:
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        yield context


class PageWatch:
    """What happened on a page besides what the test looked at: dialogs, script errors."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []

    def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def page_watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(
    browser_context: BrowserContext, page_watch: PageWatch, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A new tab; its screenshot lands in test-artifacts/ named after the test."""
    tab = browser_context.new_page()
    tab.on("dialog", page_watch.on_dialog)
    tab.on("pageerror", lambda error: page_watch.errors.append(str(error)))
    try:
        yield tab
    finally:
        try:
            screenshot(tab, request.node.name)
        finally:
            tab.close()
