"""One pipeline step inside a Kubeflow Pipelines container component.

    python -m jupyter_mlops.runner.kfp_step --pipeline /pipeline --step train \\
        --kfp-run RUN_ID --executor-input '{...}' \\
        --input X /tmp/inputs/X --param lr 0.5 --output model /tmp/outputs/model \\
        --metrics /tmp/outputs/mlops_metrics --records /tmp/outputs/mlops_records

Kubeflow hands out paths: inputs and outputs are artifact directories holding
``value.json``, ``value.parquet`` or ``value.joblib``. Parameters arrive as text and
are parsed by their declared type. A failed gate or a drift check that stops the
pipeline exits non-zero (3 and 4, as the local runner does), so Kubeflow marks the task
and the run failed and runs nothing that depends on it.

The task has no registry, so the step records into one of its own (see :mod:`.bundle`):
``mlops.log``, ``mlops.register_model``, ``mlops.check`` work as in a local run, and the
records leave as the ``--records`` directory. What the step logged is also written to
``--metrics`` (a JSON object, the ``Metrics`` artifact; the values are its metadata too),
and a model it registers to ``--model`` (the ``Model`` artifact: the model's file, its
name, version and flavor as metadata). A gate reads the metrics of the steps above it
from their ``--upstream-metrics`` files (as the local runner's pipeline run holds them),
its own first, and the pipeline's parameters. ``--executor-input`` is Kubeflow's
description of the task (``{{$}}``): the metadata of the outputs is written to the file
it names, with every output, as Kubeflow's own Python components do.
"""

from __future__ import annotations

import argparse
import json
import math
import runpy
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..errors import GateFailedError
from . import step_api
from .params import coerce
from .serialization import read_value_file, write_value_file
from .spec import SPEC_FILENAME, PipelineSpec, StepSpec
from .step import EXIT_DRIFT_STOPPED, EXIT_FAILED, EXIT_GATE_FAILED, EXIT_OK

KFP_RUN_TAG = "pipeline.kfp_run"
STEP_TAG = "pipeline.step"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_mlops.runner.kfp_step")
    parser.add_argument("--pipeline", required=True)
    parser.add_argument("--step", required=True)
    parser.add_argument("--kfp-run", default="")
    parser.add_argument("--executor-input", default="")
    parser.add_argument("--input", nargs=2, action="append", default=[], metavar=("NAME", "PATH"))
    parser.add_argument(
        "--upstream-metrics", nargs=2, action="append", default=[], metavar=("STEP", "PATH")
    )
    parser.add_argument("--param", nargs=2, action="append", default=[], metavar=("NAME", "TEXT"))
    parser.add_argument("--output", nargs=2, action="append", default=[], metavar=("NAME", "PATH"))
    parser.add_argument("--metrics", default=None, metavar="PATH")
    parser.add_argument("--records", default=None, metavar="PATH")
    parser.add_argument("--model", default=None, metavar="PATH")
    args = parser.parse_args(argv)

    pipeline_dir = Path(args.pipeline)
    spec = PipelineSpec.load(pipeline_dir)
    step = spec.step(args.step)
    # A first line at once: the task's log says what runs, and a log reader that waits
    # for output before it looks at the container (docker-py on podman) finds it alive.
    print(f'jupyter-mlops: step "{step.name}" of pipeline "{spec.name}"', flush=True)
    params: dict[str, Any] = {}
    for name, text in args.param:
        parameter = spec.parameter(name)
        params[name] = coerce(parameter, text) if parameter else text
    namespace = dict(params)
    for name, path in args.input:
        namespace[name] = read_value_file(Path(path))
    upstream: dict[str, float] = {}
    for _step, path in args.upstream_metrics:
        upstream.update(read_metrics_file(Path(path)))
    sys.path.insert(0, str(pipeline_dir / "steps"))
    context = step_api.StepContext(
        pipeline=spec.name,
        step=step.name,
        pipeline_dir=pipeline_dir,
        params=dict(params),
        drift_checks={check.variable: check for check in step.drift_checks},
        gate=step.gate,
        upstream_metrics=upstream,
    )
    step_api.set_context(context)
    with tempfile.TemporaryDirectory(prefix="mlops-task-") as scratch:
        bundle = _start(context, spec, step, params, args, Path(scratch))
        code, result = _run(context, step, pipeline_dir, namespace, args)
        metrics = _finish(context, bundle, result, code, args, spec)
    outputs_metadata: dict[str, dict[str, Any]] = {}
    if args.metrics:
        write_metrics_file(Path(args.metrics), metrics)
        outputs_metadata["mlops_metrics"] = dict(metrics)
    if args.model:
        outputs_metadata["mlops_model"] = _write_model(result.get("model"), Path(args.model))
    if args.executor_input:
        write_executor_output(args.executor_input, outputs_metadata)
    return code


def _start(
    context: step_api.StepContext,
    spec: PipelineSpec,
    step: StepSpec,
    params: dict[str, Any],
    args: argparse.Namespace,
    scratch: Path,
) -> Any:
    """The task's own registry and the step's run in it (None without ``--records``)."""
    if not args.records:
        return None
    from .bundle import TaskBundle
    from .step import _start_step_run

    bundle = TaskBundle.create(scratch / ".mlops")
    request = {
        "registry_path": str(bundle.registry.path),
        "module": step.module_path,
        "code_sha256": step.code_sha256,
        "params": params,
        "experiment": spec.source.experiment or spec.name,
        "tags": {KFP_RUN_TAG: args.kfp_run} if args.kfp_run else {},
    }
    bundle.registry.close()  # the step's run opens it as the session's registry
    _start_step_run(context, request, Path(args.pipeline))
    assert context.registry is not None
    bundle.registry = context.registry
    return bundle


def _run(
    context: step_api.StepContext,
    step: StepSpec,
    pipeline_dir: Path,
    namespace: dict[str, Any],
    args: argparse.Namespace,
) -> tuple[int, dict[str, Any]]:
    result: dict[str, Any] = {"step": step.name, "outputs": {}}
    error: BaseException | None = None
    code = EXIT_OK
    try:
        globals_after = runpy.run_path(
            str(pipeline_dir / step.module_path),
            init_globals=namespace,
            run_name=f"mlops_step_{step.name}",
        )
        for name, path in args.output:
            write_value_file(globals_after[name], Path(path))
        result["status"] = "ok"
    except (GateFailedError, AssertionError) as exc:
        if isinstance(exc, AssertionError) and not step.gate:
            error, code, result["status"] = exc, EXIT_FAILED, "failed"
        else:
            error = exc
            what = "Drift check in step" if context.drift_stopped else "Gate"
            print(f'{what} "{step.name}" failed: {exc}', file=sys.stderr)
            code = EXIT_DRIFT_STOPPED if context.drift_stopped else EXIT_GATE_FAILED
            result["status"] = "drift_stopped" if context.drift_stopped else "gate_failed"
    except BaseException as exc:  # noqa: BLE001 - recorded, then raised again below
        error, code, result["status"] = exc, EXIT_FAILED, "failed"
    result["error"] = error
    return code, result


def _finish(
    context: step_api.StepContext,
    bundle: Any,
    result: dict[str, Any],
    code: int,
    args: argparse.Namespace,
    spec: PipelineSpec,
) -> dict[str, float]:
    """End the step's run, write the bundle; the last value of each metric logged."""
    from .step import _end_step_run

    error = result.get("error")
    if bundle is None:
        metrics = {m["key"]: m["value"] for m in context.metrics}
    else:
        _end_step_run(context, result, error)
        metrics = {m["key"]: m["value"] for m in result.get("metrics", [])}
        result["model"] = _registered_model(context)
        bundle.write_to(
            Path(args.records),
            {
                "spec": (Path(args.pipeline) / SPEC_FILENAME).read_text(encoding="utf-8"),
                "pipeline": spec.name,
                "step": context.step,
                "kfp_run": args.kfp_run or None,
                "run_id": result.get("run_id"),
                "status": result.get("status"),
                "exit_code": code,
                "metrics": metrics,
            },
        )
        if result["model"] is not None:
            result["model"]["path"] = Path(args.records) / result["model"]["relative"]
    if metrics:
        print("metrics: " + json.dumps(metrics), flush=True)
    if code == EXIT_FAILED and isinstance(error, BaseException):
        raise error
    return metrics


def _registered_model(context: step_api.StepContext) -> dict[str, Any] | None:
    """The last model version the step's run registered, with where its file lies."""
    if context.registry is None or context.run is None:
        return None
    row = context.registry.query_one(
        "SELECT models.name, model_versions.version, model_versions.flavor,"
        " model_versions.artifact_sha256 FROM model_versions"
        " JOIN models ON models.id = model_versions.model_id"
        " WHERE model_versions.run_id = ? ORDER BY model_versions.id DESC LIMIT 1",
        (context.run.id,),
    )
    if row is None:
        return None
    sha = row[3]
    return {
        "name": row[0],
        "version": row[1],
        "flavor": row[2],
        "sha256": sha,
        "relative": f"artifacts/{sha[:2]}/{sha}",
    }


def _write_model(model: dict[str, Any] | None, target: Path) -> dict[str, Any]:
    """The model's file at ``target`` (Kubeflow's Model artifact); its metadata."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if model is None:
        target.write_text("{}\n", encoding="utf-8")
        return {"registered": False}
    shutil.copyfile(model["path"], target)
    return {k: model[k] for k in ("name", "version", "flavor", "sha256")}


def read_metrics_file(path: Path) -> dict[str, float]:
    """The metrics of a step's ``Metrics`` artifact (a JSON object of name -> number)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(key): float(value)
        for key, value in data.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def write_metrics_file(path: Path, metrics: dict[str, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()}
    path.write_text(json.dumps(plain, indent=1) + "\n", encoding="utf-8")


def write_executor_output(executor_input: str, metadata: dict[str, dict[str, Any]]) -> None:
    """Kubeflow's executor output: every output artifact (Kubeflow passes on only those
    listed), with ``metadata`` for some of them, to the file the executor input names."""
    try:
        described = json.loads(executor_input)
        outputs = described.get("outputs", {})
        target = outputs.get("outputFile")
    except (json.JSONDecodeError, AttributeError):
        print("jupyter-mlops: the executor input is not JSON; no output metadata", file=sys.stderr)
        return
    if not target:
        return
    artifacts: dict[str, Any] = {}
    for key, listed in (outputs.get("artifacts") or {}).items():
        entries = []
        for artifact in listed.get("artifacts", []):
            entry = {"name": artifact.get("name", ""), "uri": artifact.get("uri", "")}
            values = {k: v for k, v in metadata.get(key, {}).items() if v is not None}
            entry["metadata"] = {**(artifact.get("metadata") or {}), **values}
            entries.append(entry)
        artifacts[key] = {"artifacts": entries}
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"artifacts": artifacts}), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
