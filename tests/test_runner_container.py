"""Build the generated Dockerfile with podman and run the pipeline in it, for real.

Needs root, podman and the images made by ``scripts/container-setup`` (run here, it
is idempotent). The pipeline runs against a mounted directory: the test checks the
exit code and the files the steps wrote there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mlops.export import export_notebook

pytestmark = [pytest.mark.container, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
SETUP_SCRIPT = REPO / "scripts" / "container-setup"


def code(source: str, *tags: str):
    return new_code_cell(source, metadata={"tags": list(tags)} if tags else {})


@pytest.fixture(scope="module")
def podman_env():
    if os.geteuid() != 0:
        pytest.skip("podman builds here run as root")
    completed = subprocess.run(
        ["bash", str(SETUP_SCRIPT)], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    env = dict(os.environ)
    for line in completed.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    assert shutil.which("podman")
    return env


@pytest.fixture(scope="module")
def image(podman_env, tmp_path_factory):
    folder = tmp_path_factory.mktemp("image")
    cells = [
        code("import json\nimport os\nimport pandas as pd", "setup"),
        code("factor = 2\nthreshold = 0.0", "parameters"),
        code("raw = pd.read_csv('data.csv')", "step:load"),
        code("total = float((raw['v'] * factor).sum())\nmlops.log(total=total)", "step:total"),
        code("total > threshold", "gate"),
        code(
            "os.makedirs('out', exist_ok=True)\n"
            "with open('out/result.json', 'w') as fh:\n"
            "    json.dump({'total': total, 'rows': len(raw)}, fh)",
            "step:publish",
        ),
    ]
    nbformat.write(new_notebook(cells=cells), folder / "sums.ipynb")
    result = export_notebook(folder / "sums.ipynb", folder / "sums-pipeline", targets="docker")
    tag = f"localhost/sums-pipeline:{result.spec.steps[0].code_sha256[:12]}"
    build = subprocess.run(
        ["podman", "build", "--pull=never", "-t", tag, str(result.output_dir)],
        env=podman_env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    yield tag
    subprocess.run(["podman", "rmi", "-f", tag], env=podman_env, capture_output=True)


def _run(podman_env, image, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["podman", "run", "--rm", "-v", f"{workdir}:/work", image, *args],
        env=podman_env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture
def mounted(tmp_path):
    workdir = tmp_path / "mounted"
    workdir.mkdir()
    (workdir / "data.csv").write_text("v\n1\n2\n3\n")
    workdir.chmod(0o777)  # the image runs as an unprivileged user
    return workdir


def test_container_runs_the_pipeline_and_writes_into_the_mounted_directory(
    podman_env, image, mounted
):
    completed = _run(podman_env, image, mounted, "-p", "factor=5")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert json.loads((mounted / "out/result.json").read_text()) == {"total": 30.0, "rows": 3}
    assert [line.split()[0] for line in completed.stdout.splitlines()[:4]] == [
        "load", "total", "total_gate", "publish"
    ]  # fmt: skip
    assert any((mounted / ".mlops/artifacts").rglob("*"))
    again = _run(podman_env, image, mounted, "-p", "factor=5")
    assert again.returncode == 0
    assert again.stdout.count("skipped (cached") == 4


def test_container_failing_gate_exits_non_zero_and_writes_nothing_downstream(
    podman_env, image, mounted
):
    completed = _run(podman_env, image, mounted, "-p", "threshold=1000")
    assert completed.returncode == 3, completed.stdout + completed.stderr
    assert "GATE FAILED" in completed.stdout
    assert not (mounted / "out").exists()


def test_container_image_holds_no_jupyter_packages(podman_env, image, mounted):
    probe = (
        "import importlib.util as u, sys; "
        "found = [m for m in ('IPython', 'jupyterlab', 'ipywidgets', 'nbconvert', 'tornado')"
        " if u.find_spec(m)]; print(found); import jupyter_mlops.runner"
    )
    completed = subprocess.run(
        ["podman", "run", "--rm", "--entrypoint", "python", image, "-c", probe],
        env=podman_env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
    user = subprocess.run(
        ["podman", "run", "--rm", "--entrypoint", "id", image, "-u"],
        env=podman_env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert user.stdout.strip() == "10001"
