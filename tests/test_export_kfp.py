"""The Kubeflow Pipelines target compiles, and loads back with every step, edge and parameter."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mlops.errors import ExportError
from jupyter_mlops.export import export_notebook

kfp = pytest.importorskip("kfp", reason="the kfp extra is not installed (pip install '.[kfp]')")
yaml = pytest.importorskip("yaml")


def code(source: str, *tags: str):
    return new_code_cell(source, metadata={"tags": list(tags)} if tags else {})


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kfp")
    path = folder / "churn.ipynb"
    cells = [
        code("import numpy as np", "setup"),
        code("lr = 0.5\nrows = 100\nname = 'churn'\nflags = ['a']\nverbose = False", "parameters"),
        code("data = np.arange(rows) * 1.0", "step:prepare"),
        code("data = data / data.max()", "step:scale"),
        code("score = float((data * lr).mean())", "step:train"),
        code("score > 0.1", "gate"),
        code("report = {'score': score, 'name': name}", "step:report"),
        code("audit = len(data)", "step:audit", "after:prepare"),
    ]
    nbformat.write(new_notebook(cells=cells), path)
    result = export_notebook(path, folder / "out", targets=("local", "kfp"), image="reg/churn:1")
    return result, yaml.safe_load((folder / "out/kfp/pipeline.yaml").read_text())


def test_kfp_pipeline_loads_back_with_every_step(compiled):
    from kfp import components

    result, _ = compiled
    loaded = components.load_component_from_file(str(result.output_dir / "kfp/pipeline.yaml"))
    tasks = loaded.pipeline_spec.root.dag.tasks
    assert set(tasks) == {"prepare", "scale", "train", "train-gate", "report", "audit"}
    assert not [name for name in tasks if name.startswith("condition")]


def test_kfp_pipeline_has_typed_run_time_parameters_with_defaults(compiled):
    _, spec = compiled
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    typed = {name: (p["parameterType"], p.get("defaultValue")) for name, p in parameters.items()}
    assert typed == {
        "lr": ("NUMBER_DOUBLE", 0.5),
        "rows": ("NUMBER_INTEGER", 100),
        "name": ("STRING", "churn"),
        "flags": ("LIST", ["a"]),
        "verbose": ("BOOLEAN", False),
    }
    train = spec["root"]["dag"]["tasks"]["train"]
    assert train["inputs"]["parameters"]["lr"]["componentInputParameter"] == "lr"


def _artifact_producers(spec) -> dict[tuple[str, str], str]:
    """(task, input name) -> producing task, through condition groups' channels."""
    found: dict[tuple[str, str], str] = {}
    for name, task in spec["root"]["dag"]["tasks"].items():
        artifacts = task.get("inputs", {}).get("artifacts", {})
        if name.startswith("condition"):
            channels = {k: v["taskOutputArtifact"] for k, v in artifacts.items()}
            group = spec["components"][task["componentRef"]["name"]]["dag"]["tasks"]
            for inner_name, inner in group.items():
                for key, ref in inner.get("inputs", {}).get("artifacts", {}).items():
                    source = channels[ref["componentInputArtifact"]]
                    found[(inner_name, key)] = (source["producerTask"], source["outputArtifactKey"])
        else:
            for key, ref in artifacts.items():
                source = ref["taskOutputArtifact"]
                found[(name, key)] = (source["producerTask"], source["outputArtifactKey"])
    return found


def test_kfp_pipeline_passes_artifacts_along_every_edge(compiled):
    result, spec = compiled
    producers = {
        key: source
        for key, source in _artifact_producers(spec).items()
        if not key[1].startswith("mlops_")  # the metrics a gate reads: tested below
    }
    expected = {}
    for edge in result.spec.edges:
        for variable in edge.variables:
            key = variable if edge.from_step != "scale" else f"{variable}_out"
            expected[(edge.to_step.replace("_", "-"), variable)] = (
                edge.from_step.replace("_", "-"),
                key,
            )
    assert producers == expected
    assert producers[("train", "data")] == ("scale", "data_out")  # scale re-writes data
    assert ("prepare", "audit") in {(e.from_step, e.to_step) for e in result.spec.edges}
    executors = spec["deploymentSpec"]["executors"]
    assert {e["container"]["image"] for e in executors.values()} == {"reg/churn:1"}
    train = next(e for n, e in executors.items() if n == "exec-train")["container"]
    assert train["command"] == ["python", "-m", "jupyter_mlops.runner.kfp_step"]


def test_kfp_steps_below_a_gate_depend_on_it_so_a_failed_gate_fails_the_run(compiled):
    _, spec = compiled
    tasks = spec["root"]["dag"]["tasks"]
    for below in ("report", "audit"):
        assert "train-gate" in tasks[below]["dependentTasks"], below
        assert "triggerPolicy" not in tasks[below]  # not skipped by a condition: never started
    gate = spec["components"]["comp-train-gate"]
    assert "passed" not in gate.get("outputDefinitions", {}).get("parameters", {})


def test_kfp_gate_receives_every_parameter_and_the_metrics_of_every_step_above(compiled):
    _, spec = compiled
    tasks = spec["root"]["dag"]["tasks"]
    gate = tasks["train-gate"]["inputs"]
    assert set(gate["parameters"]) == {"lr", "rows", "name", "flags", "verbose"}
    assert all(p["componentInputParameter"] == n for n, p in gate["parameters"].items())
    producers = _artifact_producers(spec)
    assert {k[1]: v for k, v in producers.items() if k[0] == "train-gate"} == {
        "score": ("train", "score"),  # the gate's condition reads it: a value, as before
        "mlops_metrics_prepare": ("prepare", "mlops_metrics"),
        "mlops_metrics_scale": ("scale", "mlops_metrics"),
        "mlops_metrics_train": ("train", "mlops_metrics"),
    }
    # a step that reads no rules gets the parameters its code reads, no metrics
    assert set(tasks["report"]["inputs"]["parameters"]) == {"name"}
    assert not [k for k in producers if k[0] == "report" and k[1].startswith("mlops_")]


def test_kfp_steps_emit_typed_metrics_records_and_model_artifacts(tmp_path):
    path = tmp_path / "nb.ipynb"
    cells = [
        code("import jupyter_mlops as mlops", "setup"),
        code("score = 0.5\nmlops.log(score=score)", "step:train"),
        code("mlops.register_model({'w': score}, 'm')", "step:register"),
    ]
    nbformat.write(new_notebook(cells=cells), path)
    export_notebook(path, tmp_path / "out", targets="kfp", image="reg/m:1", run_id=None)
    spec = yaml.safe_load((tmp_path / "out/kfp/pipeline.yaml").read_text())

    def outputs(component):
        found = spec["components"][component]["outputDefinitions"]["artifacts"]
        return {name: a["artifactType"]["schemaTitle"] for name, a in found.items()}

    assert outputs("comp-train") == {
        "score": "system.Artifact",
        "mlops_metrics": "system.Metrics",
        "mlops_records": "system.Artifact",
    }
    assert outputs("comp-register") == {
        "mlops_metrics": "system.Metrics",
        "mlops_records": "system.Artifact",
        "mlops_model": "system.Model",
    }
    args = spec["deploymentSpec"]["executors"]["exec-register"]["container"]["args"]
    assert args[args.index("--executor-input") + 1] == "{{$}}"
    assert args[args.index("--kfp-run") + 1] == "{{$.pipeline_job_uuid}}"


def test_kfp_export_without_an_image_says_how_to_build_and_push_one(tmp_path):
    path = tmp_path / "churn.ipynb"
    nbformat.write(new_notebook(cells=[code("x = 1", "step:a")]), path)
    with pytest.raises(ExportError, match="needs the image its steps run in") as caught:
        export_notebook(path, tmp_path / "out", targets="docker,kfp", run_id=None)
    assert "podman push" in caught.value.hint and "--image local" in caught.value.hint
    assert "churn-pipeline" in caught.value.hint
    assert not (tmp_path / "out").exists()
    result = export_notebook(path, tmp_path / "out", targets="kfp", image="local", run_id=None)
    spec = yaml.safe_load((tmp_path / "out/kfp/pipeline.yaml").read_text())
    images = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()}
    assert images == {"churn-pipeline:latest"}
    assert any("cannot pull" in w for w in result.warnings)


def test_kfp_export_without_the_sdk_says_how_to_install_it(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "kfp", None)  # what Python does for a missing package
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=[code("x = 1", "step:a")]), path)
    with pytest.raises(ExportError, match="needs the Kubeflow Pipelines SDK") as caught:
        export_notebook(path, tmp_path / "out", targets="kfp", image="local")
    assert "jupyter-mlops[kfp]" in caught.value.hint
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.parametrize("lr, gate_exit", [(0.5, 0), (0.01, 3)])
def test_kfp_step_runs_components_with_the_paths_kubeflow_hands_out(
    compiled, tmp_path, lr, gate_exit
):
    import subprocess
    import sys

    result, _ = compiled
    pipeline = str(result.output_dir)

    def run(step, *args, expect=0):
        command = [sys.executable, "-m", "jupyter_mlops.runner.kfp_step", "--pipeline", pipeline,
                   "--step", step, *args]  # fmt: skip
        completed = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
        assert completed.returncode == expect, completed.stderr
        return completed

    run("prepare", "--param", "rows", "100", "--output", "data", str(tmp_path / "a"))
    run("scale", "--input", "data", str(tmp_path / "a"), "--output", "data", str(tmp_path / "b"))
    run("train", "--input", "data", str(tmp_path / "b"), "--param", "lr", str(lr),
        "--output", "score", str(tmp_path / "score"))  # fmt: skip
    gate = run("train_gate", "--input", "score", str(tmp_path / "score"), expect=gate_exit)
    if gate_exit:
        assert 'Gate "train_gate" failed' in gate.stderr and "score > 0.1" in gate.stderr
    from jupyter_mlops.runner.serialization import read_value_file

    assert read_value_file(tmp_path / "score") == pytest.approx(lr * 0.5)


def test_kfp_tasks_get_the_resources_of_their_limit_tags(tmp_path):
    path = tmp_path / "nb.ipynb"
    cells = [
        code("import numpy as np", "imports"),
        code("data = np.arange(10.0)", "block:prepare", "limit:memory:2Gi"),
        code(
            "score = float(data.mean())",
            "block:train",
            "prev:prepare",
            "limit:cpu:2",
            "limit:nvidia.com/gpu:1",
        ),  # fmt: skip
    ]
    nbformat.write(new_notebook(cells=cells), path)
    export_notebook(path, tmp_path / "out", targets="kfp", image="reg/m:1", run_id=None)
    spec = yaml.safe_load((tmp_path / "out/kfp/pipeline.yaml").read_text())
    executors = spec["deploymentSpec"]["executors"]

    def resources(executor: str) -> dict[str, object]:
        """The task's resources in the newer spec's words; kfp before 2.8 wrote numbers
        (cpu in cores, memory in GB) under other keys."""
        found = executors[executor]["container"]["resources"]
        old = ("cpuRequest", "cpuLimit", "memoryRequest", "memoryLimit")
        named = {}
        for key, value in found.items():
            if key in old:
                named["resource" + key[0].upper() + key[1:]] = value
            elif key == "accelerator":
                named["accelerator"] = {
                    "resourceType": value.get("resourceType", value.get("type")),
                    "resourceCount": value.get("resourceCount", value.get("count")),
                }
            else:
                named[key] = value
        return named

    prepare = resources("exec-prepare")
    memory = prepare["resourceMemoryRequest"]
    assert memory == "2Gi" or memory == pytest.approx(2 * 1024**3 / 1e9)  # 2Gi in GB
    assert prepare["resourceMemoryRequest"] == prepare["resourceMemoryLimit"]
    assert not {key for key in prepare if "Cpu" in key or "accelerator" in key}
    train = resources("exec-train")
    assert str(train["resourceCpuRequest"]) in ("2", "2.0")
    assert train["resourceCpuRequest"] == train["resourceCpuLimit"]
    assert train["accelerator"] == {"resourceType": "nvidia.com/gpu", "resourceCount": "1"}


def test_kfp_refuses_a_limit_tag_it_cannot_give_a_task_naming_the_step(tmp_path):
    path = tmp_path / "nb.ipynb"
    cells = [code("rows = 10", "block:load", "limit:ephemeral-storage:1Gi")]
    nbformat.write(new_notebook(cells=cells), path)
    with pytest.raises(ExportError, match=r'Step "load" asks for limit:ephemeral-storage:1Gi'):
        export_notebook(path, tmp_path / "out", targets="kfp", image="reg/m:1", run_id=None)
    local = export_notebook(path, tmp_path / "local", targets="local", run_id=None)
    assert local.spec.steps[0].resource_limits == {"ephemeral-storage": "1Gi"}
