"""``jupyter mlops reproduce RUN --env venv``: a run recorded in an environment with an
older version of a dependency comes back in a fresh environment that has that version,
and the verdict names the versions that differ from the environment it was asked from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from jupyter_mlops.cli import main
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.reproduce.execution import execute
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.tracking.reproductions import reproductions_of

pytestmark = pytest.mark.slow  # two environments made with uv, kernels in each

REPO = Path(__file__).resolve().parents[1]
OLDER_SIX = "1.16.0"


@pytest.fixture
def uv() -> str:
    found = Path(sys.executable).with_name("uv")
    if not found.exists():
        pytest.fail("uv is missing from the test environment: scripts/setup installs it")
    return str(found)


def test_a_run_with_an_older_dependency_comes_back_in_a_venv_with_that_version(
    uv: str, tmp_path: Path
) -> None:
    from importlib.metadata import version

    assert version("six") != OLDER_SIX  # what the command runs in has another
    older = tmp_path / "older"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(older)], check=True)
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(older / "bin" / "python"),
         "-e", f"{REPO}[jupyter]", "ipykernel", f"six=={OLDER_SIX}"],
        check=True, env={**os.environ, "SKIP_JUPYTER_BUILDER": "1"},
    )  # fmt: skip
    registry_path = tmp_path / "registry" / "registry.db"
    Registry.open(registry_path, create=True).close()
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext jupyter_mlops"),
            nbformat.v4.new_code_cell("import six"),
            nbformat.v4.new_code_cell(
                "%%mlops run with-six\nmlops.log(minor=float(six.__version__.split('.')[1]))"
            ),
        ]
    )
    recorded = execute(
        notebook,
        python=str(older / "bin" / "python"),
        registry_path=registry_path,
        workdir=tmp_path,
    )
    assert recorded.error is None, recorded.error

    result = CliRunner().invoke(
        main, ["reproduce", "with-six", "--env", "venv", "--registry", str(registry_path), "--json"]
    )

    assert result.exit_code == 0, result.output
    verdict = json.loads(result.output.strip().splitlines()[-1])
    assert verdict["status"] == "parity"
    assert f"six {OLDER_SIX} -> {version('six')}" in verdict["differs_from_here"]
    with Registry.open(registry_path) as registry:
        (record,) = reproductions_of(registry, verdict["original_run_id"])
        assert record.environment == "venv"
        again = run_detail(registry, record.run_id)
        assert again.environment is not None
        assert again.environment["packages"]["six"] == OLDER_SIX
        assert again.run.metrics["minor"] == 16.0
