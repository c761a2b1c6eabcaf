"""Helpers for the browser tests of the JupyterLab panel (tests/test_panel*.py).

``lab`` starts a real JupyterLab server in a temporary folder, ``chromium`` drives
Debian's Chromium through Playwright, ``fixtures`` wires both into pytest and
``contract`` answers the panel's data routes from canned JSON until the server
implements them.
"""
