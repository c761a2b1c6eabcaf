"""What a command imports: each command loads its own module and what it needs, nothing
else, so that ``jupyter mlops runs`` answers at the speed of its query.

Each command runs in a fresh interpreter, through the same ``main`` the installed script
calls, and reports the modules loaded when it exits. Times are measured in
bench/startup.py, never here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.cli.base import COMMAND_MODULES
from jupyter_mlops.registry.connection import Registry

CLI_DIR = Path(mlops.__file__).parent / "cli"

# Run ``main`` with ARGS as the installed jupyter-mlops script does, and write the names
# of the modules loaded at exit to the file named by the last argument.
RUN_AND_LIST_MODULES = """
import atexit, json, sys
out, sys.argv = sys.argv[-1], ["jupyter-mlops", *sys.argv[1:-1]]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
from jupyter_mlops.cli import main
main()
"""

# Libraries that none of the listing commands needs.
HEAVY = ("pandas", "numpy", "pyarrow", "scipy", "IPython", "nbformat", "jsonschema", "sqlite_utils")


def run_listing_modules(
    args: list[str], cwd: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    listing = cwd / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST_MODULES, *args, str(listing)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
    )
    return done, set(json.loads(listing.read_text()))


def tops(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules} & set(names))


@pytest.fixture
def recorded(registry: Registry) -> Registry:
    for i in range(3):
        with mlops.start_run(f"run-{i}", experiment="startup") as run:
            run.log_params(lr=0.1 * (i + 1), depth=i + 2)
            run.log(accuracy=0.8 + i / 100)
    return registry


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "--limit", "20"],
        ["runs", "--limit", "20", "--format", "csv"],
        ["runs", "--limit", "20", "--format", "json"],
        ["runs", "--where", "accuracy > 0.805", "--sort", "-accuracy"],
        ["show", "last"],
        ["status"],
    ],
    ids=" ".join,
)
def test_listing_commands_import_no_heavy_library_and_no_other_command(
    recorded: Registry, tmp_path: Path, python_env: dict[str, str], args: list[str]
) -> None:
    done, modules = run_listing_modules(args, tmp_path, python_env)

    assert done.returncode == 0, done.stderr
    assert "run-2" in done.stdout or "Registry" in done.stdout
    assert tops(modules, HEAVY) == []
    others = {"jupyter_mlops.cli.drift", "jupyter_mlops.cli.guard", "jupyter_mlops.cli.pipelines"}
    assert sorted(modules & others) == []
    assert not [m for m in modules if m.startswith(("jupyter_mlops.runner", "jupyter_mlops.drift"))]


def test_export_reads_the_notebook_without_nbformat_or_jsonschema(
    tmp_path: Path, python_env: dict[str, str]
) -> None:
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {"cell_type": "code", "id": "a1", "metadata": {"tags": ["step:load"]},
             "source": ["rows = 3\n", "total = rows * 2"], "outputs": [], "execution_count": None},
            {"cell_type": "code", "id": "a2", "metadata": {"tags": ["step:report"]},
             "source": "half = total / 2", "outputs": [], "execution_count": None},
        ],
    }  # fmt: skip
    (tmp_path / "small.ipynb").write_text(json.dumps(notebook))

    args = ["export", "small.ipynb", "-o", "out", "--run", "none", "--target", "local"]
    done, modules = run_listing_modules(args, tmp_path, python_env)

    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out" / "pipeline.json").read_text())["steps"][1]["name"] == (
        "report"
    )
    assert tops(modules, ("nbformat", "jsonschema", "rfc3987_syntax", "IPython", "pandas")) == []


def test_command_modules_name_the_module_of_every_command(python_env: dict[str, str]) -> None:
    # In a fresh interpreter: which commands does importing each module of cli/ attach?
    script = (
        "import importlib, json, pkgutil, jupyter_mlops.cli as cli\n"
        "from jupyter_mlops.cli.base import main\n"
        "where = {}\n"
        "for found in pkgutil.iter_modules(cli.__path__):\n"
        "    before = set(main.commands)\n"
        "    importlib.import_module('jupyter_mlops.cli.' + found.name)\n"
        "    where.update({name: found.name for name in set(main.commands) - before})\n"
        "print(json.dumps(where))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=python_env, check=True
    )
    defined = json.loads(done.stdout)

    assert len(defined) >= 14
    assert defined == COMMAND_MODULES
    assert {p.stem for p in CLI_DIR.glob("*.py")} - {"__init__", "base"} == set(defined.values())
