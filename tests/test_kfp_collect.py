"""Kubeflow tasks record into bundles; ``jupyter mlops pipeline collect`` merges them.

The tasks run here as Kubeflow runs them (``python -m jupyter_mlops.runner.kfp_step``
with the paths it hands out), on this machine's Python; tests/test_kfp_local.py runs
the example's compiled spec through kfp.local in its image.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_notebook

from jupyter_mlops.cli import main
from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.export import export_notebook
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.runner.collect import collect_outputs, pipeline_run_id
from jupyter_mlops.runner.history import pipeline_run
from jupyter_mlops.tracking.session import start_run

from .conftest import cli_runner
from .pipelines import code

pytestmark = pytest.mark.slow

pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install '.[kfp]')")

CELLS = [
    code("import jupyter_mlops as mlops", "setup"),
    code("scale = 2.0\nmin_score = 0.5", "parameters"),
    code("weights = {'w': scale}\nscore = 0.8\nmlops.log(score=score)", "step:train"),
    code('mlops.check(["score >= params.min_score"])', "gate"),
    code("mlops.register_model(weights, 'tiny')", "step:register"),
]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("kfp-collect")
    nbformat.write(new_notebook(cells=CELLS), folder / "tiny.ipynb")
    result = export_notebook(
        folder / "tiny.ipynb", folder / "out", targets="kfp", image="local", run_id=None
    )
    return result.output_dir


def task(pipeline: Path, root: Path, step: str, *args: str, kfp_run: str) -> int:
    """Run one task as its component does; its outputs go to ROOT/STEP/NAME."""
    out = root / step
    command = [
        sys.executable, "-m", "jupyter_mlops.runner.kfp_step", "--pipeline", str(pipeline),
        "--step", step, "--kfp-run", kfp_run, *args,
        "--metrics", str(out / "mlops_metrics"), "--records", str(out / "mlops_records"),
    ]  # fmt: skip
    if step == "register":
        command += ["--model", str(out / "mlops_model")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=root, check=False)
    assert done.returncode in (0, 3), done.stderr
    return done.returncode


def run_tasks(pipeline: Path, root: Path, min_score: float, kfp_run: str) -> int:
    """train, the gate, and register when the gate passed; the gate's exit status."""
    root.mkdir(parents=True)
    task(pipeline, root, "train", "--param", "scale", "2.0",
         "--output", "weights", str(root / "train" / "weights"), kfp_run=kfp_run)  # fmt: skip
    gate = task(pipeline, root, "train_gate",
                "--upstream-metrics", "train", str(root / "train" / "mlops_metrics"),
                "--param", "scale", "2.0", "--param", "min_score", str(min_score),
                kfp_run=kfp_run)  # fmt: skip
    if gate == 0:
        task(pipeline, root, "register", "--input", "weights", str(root / "train" / "weights"),
             kfp_run=kfp_run)  # fmt: skip
    return gate


def collect(outputs: Path, registry: Path) -> str:
    result = cli_runner().invoke(
        main, ["pipeline", "collect", str(outputs), "--registry", str(registry)]
    )
    assert result.exit_code == 0, result.output
    return result.output


def table_counts(path: Path) -> dict[str, int]:
    with Registry.open(path) as registry:
        return {
            t: registry.query_one(f"SELECT COUNT(*) FROM {t}")[0]
            for t in ("runs", "metrics", "params", "tags", "model_versions", "gate_evaluations",
                      "gate_results", "artifacts")
        }  # fmt: skip


def test_collect_merges_the_tasks_records_once_with_model_versions_numbered_here(
    pipeline, tmp_path
):
    assert run_tasks(pipeline, tmp_path / "outputs", 0.5, kfp_run="run-1") == 0
    metrics = json.loads((tmp_path / "outputs/train/mlops_metrics").read_text())
    assert metrics == {"score": 0.8}
    registry_path = tmp_path / ".mlops" / "registry.db"
    with Registry.open(registry_path, create=True) as registry:  # a version of its own first
        import jupyter_mlops as mlops

        with start_run("by hand", registry=registry):
            mlops.register_model({"w": 1.0}, "tiny")
    before = table_counts(registry_path)

    out = collect(tmp_path / "outputs", registry_path)
    assert "Collected 3 bundle(s): 3 new run(s), 1 new model version(s) (tiny 2)" in out
    assert "1 gate verdict(s)" in out and pipeline_run_id("run-1") in out
    assert "conflict: model version tiny 1: " in out and "added as tiny 2" in out
    after = table_counts(registry_path)
    assert after["runs"] == before["runs"] + 4  # three steps and their pipeline run
    assert after["model_versions"] == before["model_versions"] + 1
    with Registry.open(registry_path) as registry:
        group = pipeline_run_id("run-1")
        row = registry.query_one("SELECT kind, status FROM runs WHERE id = ?", (group,))
        assert tuple(row) == ("pipeline", "finished")
        score = registry.query_one(
            "SELECT last FROM metric_summaries WHERE run_id = ? AND key = 'score'", (group,)
        )
        assert score[0] == 0.8
        verdict = registry.query_one(
            "SELECT passed, inputs FROM gate_evaluations JOIN runs ON runs.id = run_id"
            " WHERE runs.parent_run_id = ?",
            (group,),
        )
        assert verdict[0] == 1 and json.loads(verdict[1])["resolved"]["score"] == 0.8
        version = registry.query_one(
            "SELECT version, artifact_sha256 FROM model_versions WHERE run_id IN"
            " (SELECT id FROM runs WHERE parent_run_id = ?)",
            (group,),
        )
        assert version[0] == 2
        registry.artifacts.verified_path(version[1])  # the file came along, intact

        record = pipeline_run(registry, group)
        assert record.status == "ok" and record.pipeline == "tiny"
        assert [(s.name, s.status) for s in record.steps] == [
            ("train", "ok"), ("train_gate", "ok"), ("register", "ok")
        ]  # fmt: skip
        assert record.parameters == {"scale": 2.0, "min_score": 0.5}

    again = collect(tmp_path / "outputs", registry_path)
    assert "0 new run(s), 0 new model version(s), 0 gate verdict(s)" in again
    assert "conflict" not in again  # the version is the same one now, whatever its number
    assert table_counts(registry_path) == after


def test_a_higher_min_score_at_run_time_fails_the_gate_and_its_bundle_says_so(pipeline, tmp_path):
    assert run_tasks(pipeline, tmp_path / "outputs", 0.9, kfp_run="run-2") == 3
    bundle = json.loads(
        (tmp_path / "outputs/train_gate/mlops_records/mlops-bundle.json").read_text()
    )
    assert bundle["status"] == "gate_failed" and bundle["exit_code"] == 3
    registry_path = tmp_path / ".mlops" / "registry.db"
    Registry.open(registry_path, create=True).close()
    with Registry.open(registry_path) as registry:
        result = collect_outputs(registry, tmp_path / "outputs")
        assert len(result.runs_added) == 2 and result.model_versions_added == ()
        verdict = registry.query_one(
            "SELECT passed, inputs FROM gate_evaluations WHERE run_id = ?", (bundle["run_id"],)
        )
        assert verdict[0] == 0
        assert json.loads(verdict[1])["resolved"]["params.min_score"] == 0.9
        status = registry.query_one("SELECT status FROM runs WHERE id = ?", (bundle["run_id"],))
        assert status[0] == "failed"
        assert registry.query_one("SELECT status FROM runs WHERE id = ?",
                                  (pipeline_run_id("run-2"),))[0] == "failed"  # fmt: skip
        record = pipeline_run(registry, pipeline_run_id("run-2"))
        assert record.status == "gate_failed"
        assert [(s.name, s.status) for s in record.steps] == [
            ("train", "ok"), ("train_gate", "gate_failed"), ("register", "not_run")
        ]  # fmt: skip


def test_collect_without_bundles_says_what_to_point_it_at(tmp_path):
    registry_path = tmp_path / ".mlops" / "registry.db"
    with Registry.open(registry_path, create=True) as registry:
        with pytest.raises(InvalidInputError, match="No jupyter-mlops bundle") as caught:
            collect_outputs(registry, tmp_path)
    assert "mlops_records" in caught.value.hint
