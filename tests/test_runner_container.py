"""Build the example's generated Dockerfile with podman and run its pipeline in it, for real.

Needs root, podman and the images made by ``scripts/container-setup`` (run here, it
is idempotent). notebooks/03-pipeline.ipynb is executed first (the ``pipeline_example``
fixture); its folder, with the registry that holds the notebook's run, is mounted as
the container's working directory: the tests check exit codes, the lines printed, and
what the pipeline recorded in that registry, read back from the host.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from jupyter_mlops.runner.history import pipeline_run
from jupyter_mlops.tracking.queries.detail import run_detail

from .pipelines import notebook_metrics, open_registry

pytestmark = [pytest.mark.container, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
SETUP_SCRIPT = REPO / "scripts" / "container-setup"
IMAGE = "localhost/mlops-example-pipeline:test"
STEPS = ["load", "features", "train", "train_gate", "register"]


@pytest.fixture(scope="module")
def podman_env():
    if os.geteuid() != 0:
        pytest.skip(
            "the container tests need root: scripts/container-setup sets podman up rootful, as scripts/test does"
        )
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
def image(podman_env, pipeline_example, checkout_wheel):
    """The image of the example's pipeline, built once (podman keeps the layer of the
    installed lock between sessions while the lock does not change). The wheel of this
    checkout is put in the pipeline's wheels/, where the Dockerfile's pip finds it."""
    context = pipeline_example / "cancer-pipeline"
    shutil.copy2(checkout_wheel, context / "wheels" / checkout_wheel.name)
    build = subprocess.run(
        ["podman", "build", "--pull=never", "-t", IMAGE, str(context)],
        env=podman_env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    return IMAGE


def run_in_container(podman_env, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """``podman run`` with ``workdir`` mounted as /work, writable by the image's user."""
    subprocess.run(["chmod", "-R", "a+rwX", str(workdir)], check=True)
    return subprocess.run(
        ["podman", "run", "--rm", "-v", f"{workdir}:/work", IMAGE, *args],
        env=podman_env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def recorded_run_id(stdout: str) -> str:
    found = re.search(r"recorded as run ([0-9a-f]{12,})", stdout)
    assert found, stdout
    return found.group(1)


def test_container_run_reproduces_the_notebook_run_in_its_registry(
    podman_env, image, pipeline_example
):
    completed = run_in_container(podman_env, pipeline_example, "--no-cache")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:5]] == [[step, "ok"] for step in STEPS]
    assert "in /work/.mlops/registry.db" in completed.stdout
    assert "parity ok: 2 metric(s) equal the notebook run" in completed.stdout
    run_id = recorded_run_id(completed.stdout)
    with open_registry(pipeline_example) as registry:
        record = pipeline_run(registry, run_id)
        assert record.status == "ok" and record.parity["status"] == "ok"
        assert record.directory == "/pipeline" and record.experiment == "cancer"
        assert run_detail(registry, run_id).run.metrics == notebook_metrics(pipeline_example)
        hosts = {
            row[0] for row in registry.query(
                "SELECT host FROM runs WHERE id IN (?, ?)", (run_id, record.step("train").run_id)
            )
        }  # fmt: skip
        assert len(hosts) == 1 and hosts != {os.uname().nodename}  # recorded from inside
    again = run_in_container(podman_env, pipeline_example)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count("skipped (cached") == 5  # every step, the gate too


def test_container_failing_gate_exits_3_and_registers_nothing(podman_env, image, pipeline_example):
    with open_registry(pipeline_example) as registry:
        before = registry.query_one("SELECT COUNT(*) FROM model_versions")[0]
    completed = run_in_container(podman_env, pipeline_example, "-p", "min_accuracy=0.999")
    assert completed.returncode == 3, completed.stdout + completed.stderr
    assert "GATE FAILED" in completed.stdout
    assert re.search(r"^register\s+not run", completed.stdout, re.MULTILINE)
    with open_registry(pipeline_example) as registry:
        record = pipeline_run(registry, recorded_run_id(completed.stdout))
        assert (record.status, record.failed_step) == ("gate_failed", "train_gate")
        assert registry.query_one("SELECT COUNT(*) FROM model_versions")[0] == before


def test_container_drifted_input_exits_4(podman_env, image, pipeline_example):
    from sklearn.datasets import load_breast_cancer

    shifted = load_breast_cancer(as_frame=True).frame
    shifted["mean radius"] = shifted["mean radius"] * 1.3
    shifted.to_csv(pipeline_example / "shifted-in-container.csv", index=False)
    completed = run_in_container(
        podman_env, pipeline_example, "-p", "data_file=shifted-in-container.csv"
    )
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert "DRIFT: STOPPED" in completed.stdout


def test_container_image_holds_the_code_of_the_checkouts_wheel(podman_env, image, checkout_wheel):
    probe = (
        "import hashlib, json, pathlib, jupyter_mlops; root = pathlib.Path(jupyter_mlops.__file__)"
        ".parent; print(json.dumps({p.relative_to(root.parent).as_posix():"
        " hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob('*.py')}))"
    )
    completed = subprocess.run(
        ["podman", "run", "--rm", "--entrypoint", "python", image, "-c", probe],
        env=podman_env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    with zipfile.ZipFile(checkout_wheel) as wheel:
        expected = {
            name: hashlib.sha256(wheel.read(name)).hexdigest()
            for name in wheel.namelist()
            if name.startswith("jupyter_mlops/") and name.endswith(".py")
        }
    assert json.loads(completed.stdout) == expected


def test_container_image_holds_no_jupyter_packages_and_runs_unprivileged(podman_env, image):
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
