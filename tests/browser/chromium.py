"""Debian's Chromium driven by Playwright (never a browser that Playwright downloads)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

# Headless, no sandbox (tests run as root in CI), and none of Chromium's own network
# traffic: this machine reaches only package registries, and those calls would fail.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

VIEWPORT = {"width": 1400, "height": 900}


def chromium_executable() -> Path:
    """``$MLOPS_CHROMIUM``, else ``chromium`` on PATH; explains how to install it if missing."""
    configured = os.environ.get("MLOPS_CHROMIUM")
    found = configured or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).exists():
        raise FileNotFoundError(
            "No Chromium for the browser tests. Install it with scripts/browser-setup "
            "(Debian's chromium package), or point MLOPS_CHROMIUM at a Chromium binary."
        )
    return Path(found)


@contextmanager
def chromium_context(user_data_dir: Path) -> Iterator[BrowserContext]:
    """A persistent Chromium context in ``user_data_dir`` (it cannot go in the args)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=str(chromium_executable()),
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        try:
            yield context
        finally:
            context.close()
