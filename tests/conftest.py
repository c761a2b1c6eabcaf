"""Shared fixtures: a fresh registry in a temporary directory, and a real IPython shell."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_mlops import registry as registry_module
from jupyter_mlops import tracking
from jupyter_mlops.registry import Registry


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test runs in its own directory, with no registry configured and no run active."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(registry_module.ENV_VAR, raising=False)
    monkeypatch.delenv("MLOPS_EXPERIMENT", raising=False)
    monkeypatch.setattr(tracking, "_active", [])
    monkeypatch.setattr(tracking, "_registries", {})
    monkeypatch.setattr(tracking, "_chosen", None)
    monkeypatch.setattr(tracking, "_environment_ids", {})
    monkeypatch.setattr(tracking, "_experiment_ids", {})
    monkeypatch.setattr(tracking, "_context_provider", None)
    yield
    for registry in list(tracking._registries.values()):
        registry.close()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    """A new registry at tmp_path/.mlops/registry.db, the one runs record into."""
    opened = Registry.init(tmp_path)
    tracking.use_registry(opened)
    yield opened
    opened.close()


@pytest.fixture
def shell(registry: Registry) -> Iterator[object]:
    """A real IPython InteractiveShell with the extension loaded."""
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    ipython = InteractiveShell.instance()
    ipython.run_cell("%load_ext jupyter_mlops", store_history=True)
    yield ipython
    ipython.run_cell("%unload_ext jupyter_mlops")
    InteractiveShell.clear_instance()


def run_cell(shell: object, source: str) -> object:
    """Run a cell like a notebook does (history stored, hooks fired)."""
    return shell.run_cell(source, store_history=True)  # type: ignore[attr-defined]


@pytest.fixture
def python_env() -> dict[str, str]:
    """Environment for subprocesses: this checkout's package importable."""
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env
