"""notebooks/03-pipeline.ipynb compiled for Kubeflow and run by KFP's own local executor.

``kfp.local`` (kfp 2.17) runs a compiled pipeline on one machine. Its SubprocessRunner
runs only lightweight Python components and refuses container components ("only
supports running Lightweight Python Components"); the exported steps are container
components (each runs ``python -m jupyter_mlops.runner.kfp_step`` in the pipeline's
image). So they run here with kfp.local's DockerRunner, which talks to podman's
Docker-compatible API service (``podman system service``), in the image built from the
generated Dockerfile (``scripts/container-setup`` installs podman and the base image).
kfp.local resolves every placeholder of the compiled spec, passes artifacts between the
tasks by the executor output each task writes, and runs the tasks in dependency order.

Two differences between kfp.local and a cluster, handled here and only here:

- Kubernetes runs a component's ``command`` in place of the image's ENTRYPOINT; docker-py
  passes it as the CMD, after the ENTRYPOINT (``python -m jupyter_mlops.runner
  /pipeline``). The runner is given ``entrypoint=["env"]``, so the command runs as it
  does on a cluster.
- kfp.local's DockerTaskHandler starts each container with ``auto_remove``; podman
  removes a container as soon as it exits, and the handler, no longer finding it to ask
  its exit status, takes it for 0. A failed gate (exit 3) is therefore reported as
  SUCCESS by kfp.local, and the step below it runs; on a cluster the exit status fails
  the task and nothing below it starts. The test reads the gate's verdict where a user
  reads it: in the records the task left, collected into the registry.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from jupyter_mlops.cli import main
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.runner.collect import pipeline_run_id
from jupyter_mlops.runner.history import pipeline_run
from jupyter_mlops.tracking.queries.detail import run_detail

from .conftest import cli_runner
from .pipelines import notebook_metrics
from .test_runner_container import podman_env  # noqa: F401 - the fixture, shared

pytestmark = [
    pytest.mark.container,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Task .* have no effect:UserWarning"),
]

kfp = pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install '.[kfp]')")
pytest.importorskip("docker", reason="kfp.local's DockerRunner needs docker-py (the test extra)")

REPO = Path(__file__).resolve().parents[1]
IMAGE = "localhost/mlops-kfp-example:test"
TASKS = ["load", "features", "train", "train-gate", "register"]


@pytest.fixture(scope="module")
def kfp_pipeline(pipeline_example, checkout_wheel, tmp_path_factory):
    """The example exported for Kubeflow (and its Dockerfile), from the registry that
    holds the notebook's run, so the drift check's reference travels in the image."""
    from jupyter_mlops.export import export_notebook

    result = export_notebook(
        REPO / "notebooks" / "03-pipeline.ipynb",
        tmp_path_factory.mktemp("kfp") / "cancer-kfp",
        targets="docker,kfp",
        image=IMAGE,
        registry=pipeline_example / ".mlops",
        wheel=checkout_wheel,
    )
    return result.output_dir


@pytest.fixture(scope="module")
def kfp_image(podman_env, kfp_pipeline):  # noqa: F811 - podman_env is the imported fixture
    build = subprocess.run(
        ["podman", "build", "--pull=never", "-t", IMAGE, str(kfp_pipeline)],
        env=podman_env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    return IMAGE


@pytest.fixture(scope="module")
def docker_host(podman_env, tmp_path_factory):  # noqa: F811
    """podman's Docker-compatible API on a socket of its own, for as long as the module runs."""
    socket = tmp_path_factory.mktemp("podman-api") / "podman.sock"
    service = subprocess.Popen(
        ["podman", "system", "service", "--time=0", f"unix://{socket}"],
        env=podman_env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not socket.exists():
            assert service.poll() is None, "podman system service ended"
            assert time.monotonic() < deadline, "podman's API socket did not appear"
            time.sleep(0.1)
        yield f"unix://{socket}"
    finally:
        service.terminate()
        try:
            service.wait(timeout=10)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()


def run_with_kfp_local(kfp_pipeline, root: Path, monkeypatch, docker_host, **arguments):
    """Run the compiled pipeline.yaml with kfp.local's DockerRunner; the run's folder."""
    import kfp.local
    from kfp import components

    monkeypatch.setenv("DOCKER_HOST", docker_host)
    root.mkdir(parents=True)
    os.chmod(root, 0o777)  # the image's user (uid 10001) writes the task outputs
    kfp.local.init(
        runner=kfp.local.DockerRunner(entrypoint=["env"]),
        pipeline_root=str(root),
        raise_on_error=False,
    )
    pipeline = components.load_component_from_file(str(kfp_pipeline / "kfp" / "pipeline.yaml"))
    started = time.monotonic()
    pipeline(**arguments)
    print(f"kfp.local ran the pipeline in {time.monotonic() - started:.1f} s")
    (run_folder,) = root.iterdir()
    return run_folder


def collect(outputs: Path, registry: Path) -> str:
    result = cli_runner().invoke(
        main, ["pipeline", "collect", str(outputs), "--registry", str(registry)]
    )
    assert result.exit_code == 0, result.output
    return result.output


def registry_copy(pipeline_example: Path, target: Path) -> Path:
    """A copy of the registry holding the notebook's run (the other tests keep theirs)."""
    shutil.copytree(pipeline_example / ".mlops", target)
    return target / "registry.db"


def counts(registry_path: Path) -> dict[str, int]:
    with Registry.open(registry_path) as registry:
        return {
            table: registry.query_one(f"SELECT COUNT(*) FROM {table}")[0]
            for table in ("runs", "metrics", "params", "model_versions", "gate_evaluations",
                          "gate_results", "artifacts")
        }  # fmt: skip


def test_kfp_local_runs_the_example_and_collect_puts_it_next_to_the_notebook_run(
    kfp_pipeline, kfp_image, docker_host, pipeline_example, tmp_path, monkeypatch
):
    run = run_with_kfp_local(kfp_pipeline, tmp_path / "outputs", monkeypatch, docker_host)
    assert sorted(p.name for p in run.iterdir()) == sorted(TASKS)
    expected = notebook_metrics(pipeline_example)

    # metrics as a Metrics artifact, its values also its metadata; the model as a Model
    train_output = json.loads((run / "train" / "executor_output.json").read_text())
    assert train_output["artifacts"]["mlops_metrics"]["artifacts"][0]["metadata"] == expected
    assert json.loads((run / "train" / "mlops_metrics").read_text()) == expected
    register_output = json.loads((run / "register" / "executor_output.json").read_text())
    model = register_output["artifacts"]["mlops_model"]["artifacts"][0]
    assert model["metadata"]["name"] == "cancer-classifier" and model["metadata"]["flavor"]
    import hashlib

    model_bytes = (run / "register" / "mlops_model").read_bytes()
    assert hashlib.sha256(model_bytes).hexdigest() == model["metadata"]["sha256"]
    bundle = json.loads((run / "train-gate" / "mlops_records" / "mlops-bundle.json").read_text())
    assert bundle["status"] == "ok" and bundle["exit_code"] == 0

    registry_path = registry_copy(pipeline_example, tmp_path / ".mlops")
    before = counts(registry_path)
    out = collect(tmp_path / "outputs", registry_path)
    assert "Collected 5 bundle(s): 5 new run(s), 1 new model version(s)" in out, out
    with Registry.open(registry_path) as registry:
        pipeline_id = pipeline_run_id(bundle["kfp_run"])
        pipeline = run_detail(registry, pipeline_id).run
        assert pipeline.kind == "pipeline" and pipeline.status == "finished"
        assert pipeline.metrics == expected  # the notebook run's, exactly
        assert pipeline.params["min_accuracy"] == 0.9
        notebook = run_detail(registry, "cancer-notebook").run
        assert pipeline.experiment == notebook.experiment == "cancer"
        steps = registry.query(
            "SELECT name, kind, status FROM runs WHERE parent_run_id = ? ORDER BY started_at",
            (pipeline_id,),
        )
        assert [tuple(r) for r in steps] == [
            (f"03-pipeline.{s.replace('-', '_')}", "pipeline-step", "finished") for s in TASKS
        ]
        verdicts = registry.query(
            "SELECT passed FROM gate_evaluations JOIN runs ON runs.id = gate_evaluations.run_id"
            " WHERE runs.parent_run_id = ?",
            (pipeline_id,),
        )
        assert [v[0] for v in verdicts] == [1]
        record = pipeline_run(registry, pipeline_id)
        assert record.status == "ok" and record.experiment == "cancer"
        assert [(s.name, s.status) for s in record.steps] == [
            (s.replace("-", "_"), "ok") for s in TASKS
        ]
        version = registry.query_one(
            "SELECT model_versions.version, model_versions.artifact_sha256, runs.name"
            " FROM model_versions JOIN runs ON runs.id = model_versions.run_id"
            " WHERE runs.parent_run_id = ?",
            (pipeline_id,),
        )
        assert version is not None and version[2] == "03-pipeline.register"
        newest = registry.query_one(
            "SELECT MAX(version) FROM model_versions JOIN models ON models.id = model_id"
            " WHERE models.name = 'cancer-classifier'"
        )[0]
        assert version[0] == newest  # numbered after the registry's own versions
        assert registry.artifacts.verified_path(version[1]).read_bytes() == model_bytes
    after = counts(registry_path)
    assert after["runs"] == before["runs"] + 6  # five steps and their pipeline run
    assert after["model_versions"] == before["model_versions"] + 1

    again = collect(tmp_path / "outputs", registry_path)
    assert "0 new run(s), 0 new model version(s), 0 gate verdict(s)" in again
    assert counts(registry_path) == after


def test_kfp_local_min_accuracy_given_at_run_time_changes_the_gate_verdict(
    kfp_pipeline, kfp_image, docker_host, pipeline_example, tmp_path, monkeypatch
):
    run = run_with_kfp_local(
        kfp_pipeline, tmp_path / "outputs", monkeypatch, docker_host, min_accuracy=0.99
    )
    bundle = json.loads((run / "train-gate" / "mlops_records" / "mlops-bundle.json").read_text())
    assert bundle["status"] == "gate_failed" and bundle["exit_code"] == 3

    registry_path = registry_copy(pipeline_example, tmp_path / ".mlops")
    collect(tmp_path / "outputs", registry_path)
    with Registry.open(registry_path) as registry:
        gate = registry.query_one(
            "SELECT status, id FROM runs WHERE name = '03-pipeline.train_gate'"
            " AND parent_run_id = ?",
            (pipeline_run_id(bundle["kfp_run"]),),
        )
        assert gate is not None and gate[0] == "failed"
        verdict = registry.query_one(
            "SELECT passed, inputs FROM gate_evaluations WHERE run_id = ?", (gate[1],)
        )
        assert verdict[0] == 0
        resolved = json.loads(verdict[1])["resolved"]
        assert resolved["params.min_accuracy"] == 0.99
        assert resolved["accuracy"] == notebook_metrics(pipeline_example)["accuracy"]
        record = pipeline_run(registry, pipeline_run_id(bundle["kfp_run"]))
        assert record.status == "gate_failed" and record.failed_step == "train_gate"
