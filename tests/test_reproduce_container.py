"""``jupyter mlops reproduce RUN --env container``: a run recorded in a fresh kernel comes
back in a container image built, through the export machinery, with the versions it
recorded, executed there with podman and recorded into the same registry; the image is
built once. Without a container engine the reproduction fails saying what to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from jupyter_mlops import __version__
from jupyter_mlops.cli import main
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.reproduce.execution import execute
from jupyter_mlops.reproduce.images import IMAGE_REPOSITORY, dockerfile_text
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.tracking.reproductions import reproductions_of

from .conftest import run_cell

# seconds this module takes, for tests/sharding.py's order: building the image installs the
# run's versions from the index
EXPECTED_SECONDS = 95

REPO = Path(__file__).resolve().parents[1]
SETUP_SCRIPT = REPO / "scripts" / "container-setup"


def test_the_image_installs_the_lock_then_this_jupyter_mlops_and_what_runs_the_notebook() -> None:
    text = dockerfile_text(
        python_version="3.11", base_image="python:3.11-slim", also=("nbclient", "nbformat")
    )
    lines = text.splitlines()
    assert "ARG BASE_IMAGE=python:3.11-slim" in lines and "FROM ${BASE_IMAGE}" in lines
    lock = lines.index("RUN python -m pip install --no-cache-dir -r requirements.lock")
    core = next(i for i, line in enumerate(lines) if f'"jupyter-mlops=={__version__}"' in line)
    assert lock < core  # the lock's layer is kept while only jupyter-mlops changes
    assert lines[core].endswith('"nbclient" "nbformat"')
    assert "--find-links ./wheels" in lines[core]


def test_without_a_container_engine_the_reproduction_fails_saying_what_to_do(
    shell: object, registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for source in ("import json", "%%mlops run tiny\nmlops.log(size=float(len(json.dumps([1]))))"):
        assert run_cell(shell, source).success  # type: ignore[attr-defined]
    monkeypatch.setenv("MLOPS_CONTAINER_ENGINE", "no-such-engine")

    result = CliRunner().invoke(
        main, ["reproduce", "tiny", "--env", "container", "--registry", str(registry.path)]
    )

    assert result.exit_code == 2, result.output
    assert "--env container needs no-such-engine, and it is not installed here" in result.output
    original = registry.query_one("SELECT id FROM runs WHERE name = 'tiny'")[0]
    (record,) = reproductions_of(registry, original)
    assert (record.environment, record.status, record.run_id) == ("container", "failed", None)


@pytest.fixture(scope="module")
def podman_env() -> dict[str, str]:
    if os.geteuid() != 0:
        pytest.skip(
            "the container tests need root: scripts/container-setup sets podman up rootful,"
            " as scripts/test does"
        )
    completed = subprocess.run(
        ["bash", str(SETUP_SCRIPT)], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    env: dict[str, str] = {}
    for line in completed.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    return env


@pytest.mark.slow
@pytest.mark.container
def test_a_run_comes_back_in_an_image_of_its_versions_built_once(
    podman_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in podman_env.items():
        monkeypatch.setenv(key, value)
    made_before = subprocess.run(
        ["podman", "images", "-q", "--filter", f"reference={IMAGE_REPOSITORY}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    if made_before:  # by an earlier run of this test: the first reproduction must build one
        subprocess.run(["podman", "rmi", "--force", *made_before], capture_output=True, check=True)
    (tmp_path / "measures.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    registry_path = tmp_path / ".mlops" / "registry.db"
    Registry.open(registry_path, create=True).close()
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext jupyter_mlops"),
            nbformat.v4.new_code_cell("import six\nimport pandas as pd"),
            nbformat.v4.new_code_cell('raw = pd.read_csv("measures.csv")'),
            nbformat.v4.new_code_cell(
                "%%mlops run in-a-box\n"
                "mlops.log(total=float(raw.a.sum()), six_minor=float(six.__version__.split('.')[1]))"
            ),
        ]
    )
    recorded = execute(
        notebook, python=sys.executable, registry_path=registry_path, workdir=tmp_path
    )
    assert recorded.error is None, recorded.error

    first = CliRunner().invoke(
        main,
        ["reproduce", "in-a-box", "--env", "container", "--registry", str(registry_path)],
    )

    assert first.exit_code == 0, first.output
    assert "building localhost/mlops-reproduce:py3.11-" in first.output
    assert "parity ok" in first.output
    with Registry.open(registry_path) as registry:
        original_id = registry.query_one(
            "SELECT id FROM runs WHERE name = 'in-a-box' ORDER BY started_at LIMIT 1"
        )[0]
        (record,) = reproductions_of(registry, original_id)
        assert (record.environment, record.status) == ("container", "parity")
        original, again = run_detail(registry, original_id), run_detail(registry, record.run_id)
        assert again.run.metrics == original.run.metrics == {"total": 9.0, "six_minor": 17.0}
        assert original.environment is not None and again.environment is not None
        for name in ("six", "pandas", "numpy"):  # the image holds the recorded versions
            assert again.environment["packages"][name] == original.environment["packages"][name]
        hosts = registry.query("SELECT DISTINCT host FROM runs WHERE id = ?", (record.run_id,))
        assert [row[0] for row in hosts] != [os.uname().nodename]  # recorded from inside

    second = CliRunner().invoke(
        main,
        ["reproduce", original_id, "--env", "container", "--registry", str(registry_path)],
    )

    assert second.exit_code == 0, second.output
    assert "the image of the run's versions is ready" in second.output
    assert "building localhost/mlops-reproduce" not in second.output
    assert "parity ok" in second.output
    with Registry.open(registry_path) as registry:
        assert len(reproductions_of(registry, original_id)) == 2
