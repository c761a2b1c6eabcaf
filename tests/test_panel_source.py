"""The panel's TypeScript: it type-checks, is formatted, and never parses strings as HTML."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from .conftest import panel_build_lock

LABEXTENSION = Path(__file__).resolve().parents[1] / "labextension"
SOURCES = sorted((LABEXTENSION / "src").rglob("*.ts"))

# Every way a string becomes markup in the DOM.
HTML_SINKS = re.compile(
    r"\b(innerHTML|outerHTML|insertAdjacentHTML|createContextualFragment|document\.write"
    r"|DOMParser|srcdoc|dangerouslySetInnerHTML)\b"
)


def test_panel_has_typescript_sources():
    assert {path.name for path in SOURCES} >= {"index.ts", "panel.ts", "chart.ts", "api.ts"}


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_panel_source_never_turns_strings_into_html(source: Path):
    offending = [
        f"{source.name}:{number}: {line.strip()}"
        for number, line in enumerate(source.read_text().splitlines(), start=1)
        if HTML_SINKS.search(line)
    ]

    assert offending == [], "registry values must go in as text nodes, never as HTML"


@pytest.mark.slow
def test_panel_source_typechecks_and_is_formatted():
    if not (LABEXTENSION / "node_modules").is_dir():
        pytest.fail("labextension/node_modules is missing: pip install . (or jlpm install) first")
    path = os.pathsep.join([sysconfig.get_paths()["scripts"], os.environ.get("PATH", "")])
    jlpm = shutil.which("jlpm", path=path)
    assert jlpm, "jlpm comes with jupyterlab (jupyter-builder); install the test extra"

    with panel_build_lock():
        result = subprocess.run(
            [jlpm, "run", "lint"],
            cwd=LABEXTENSION,
            env={**os.environ, "PATH": path, "YARN_ENABLE_NETWORK": "0"},
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert result.returncode == 0, result.stdout + result.stderr
