"""``pip install jupyter-mlops`` (the core, no extras) in a fresh venv: no Jupyter package
can be imported there, yet an exported pipeline runs and is recorded, and the
``jupyter-mlops`` command works (its ``export`` says which extra reads notebooks).

The venv has no system site-packages and gets this checkout's wheel with its declared
core requirements from the package index (tests/venvs.py: uv when it is there, else
pip; their caches make it quick after the first time). Built once per session.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

import jupyter_mlops
from jupyter_mlops import Registry
from jupyter_mlops.runner.history import pipeline_run

from .pipelines import code, export_cells
from .venvs import make_venv, pip

pytestmark = [pytest.mark.slow, pytest.mark.every_python]

JUPYTER_MODULES = ("IPython", "ipywidgets", "jupyter_server", "nbconvert", "tornado", "jupyterlab")
CELLS = [
    code("import pandas as pd", "setup"),
    code("rows = 20", "parameters"),
    code("frame = pd.DataFrame({'x': range(rows)})", "step:load"),
    code(
        "mean = float(frame['x'].mean())\nmlops.log(mean=mean, rows=len(frame))", "step:summarise"
    ),
]


@pytest.fixture(scope="session")
def core_venv(tmp_path_factory: pytest.TempPathFactory, checkout_wheel: Path) -> Path:
    """A fresh venv holding only this checkout's wheel, installed without extras."""
    venv = tmp_path_factory.mktemp("core-install") / "venv"
    python = make_venv(venv)
    install = pip(python, "install", str(checkout_wheel), env=clean_env())
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    return venv


def clean_env() -> dict[str, str]:
    """This environment without what would let the venv see this checkout or its registry."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MLOPS_REGISTRY", "MLOPS_EXPERIMENT")
    return {key: value for key, value in os.environ.items() if key not in drop}


def run_in(venv: Path, program: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(venv / "bin" / program), *args],
        cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=clean_env(),
    )  # fmt: skip


def test_core_install_can_import_no_jupyter_package(core_venv: Path, tmp_path: Path) -> None:
    probe = (
        "import importlib, importlib.metadata as md, json, sys, jupyter_mlops\n"
        "imported = []\n"
        f"for name in {JUPYTER_MODULES!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError:\n"
        "        continue\n"
        "    imported.append(name)\n"
        "print(json.dumps({'imported': imported, 'file': jupyter_mlops.__file__,\n"
        "                  'version': md.version('jupyter-mlops'), 'prefix': sys.prefix}))\n"
    )

    done = run_in(core_venv, "python", "-c", probe, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["imported"] == [], f"the core install can import {found['imported']}"
    assert found["prefix"] == str(core_venv)
    assert found["file"].startswith(str(core_venv)), found["file"]
    assert found["version"] == jupyter_mlops.__version__


def test_core_install_runs_an_exported_pipeline_and_records_it(
    core_venv: Path, tmp_path: Path
) -> None:
    pipeline = export_cells(tmp_path, "summary", CELLS)

    done = run_in(core_venv, "python", "-m", "jupyter_mlops.runner", str(pipeline), "-p",
                  "rows=30", cwd=tmp_path)  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert [line.split()[:2] for line in done.stdout.splitlines()[:2]] == [
        ["load", "ok"], ["summarise", "ok"]
    ]  # fmt: skip
    run_id = re.search(r"recorded as run ([0-9a-f]{12,})", done.stdout)
    assert run_id, done.stdout
    with Registry.open(tmp_path / ".mlops" / "registry.db") as registry:
        record = pipeline_run(registry, run_id.group(1))
    assert (record.pipeline, record.status, record.parameters) == ("summary", "ok", {"rows": 30})
    assert [(s.name, s.status) for s in record.steps] == [("load", "ok"), ("summarise", "ok")]
    summarised = jupyter_mlops.get_run(record.step("summarise").run_id).run
    assert summarised.kind == "pipeline-step" and summarised.status == "finished"
    assert summarised.metrics == {"mean": 14.5, "rows": 30}


def test_core_install_command_lists_runs_and_says_export_needs_the_jupyter_extra(
    core_venv: Path, tmp_path: Path
) -> None:
    assert run_in(core_venv, "jupyter-mlops", "init", ".", cwd=tmp_path).returncode == 0
    pipeline = export_cells(tmp_path, "summary", CELLS)
    ran = run_in(core_venv, "jupyter-mlops", "pipeline", "run", str(pipeline), cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr

    spec = (pipeline / "pipeline.json").read_bytes()
    listed = run_in(core_venv, "jupyter-mlops", "pipeline", "runs", "--format", "json",
                    cwd=tmp_path)  # fmt: skip
    exported = run_in(core_venv, "jupyter-mlops", "export", "summary.ipynb", cwd=tmp_path)

    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)["runs"]
    assert [(r["pipeline"], r["status"]) for r in runs] == [("summary", "ok")]
    assert exported.returncode == 1
    assert "Exporting a notebook needs nbformat" in exported.stderr
    assert "Hint: Install the Jupyter faces with it: pip install 'jupyter-mlops[jupyter]'." in (
        exported.stderr
    )
    assert (pipeline / "pipeline.json").read_bytes() == spec  # the failed export wrote nothing
    assert not (pipeline / "Dockerfile").exists()
