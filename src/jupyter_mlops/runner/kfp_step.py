"""One pipeline step inside a Kubeflow Pipelines container component.

    python -m jupyter_mlops.runner.kfp_step --pipeline /pipeline --step train \\
        --input X /tmp/inputs/X --param lr 0.5 --output model /tmp/outputs/model

Kubeflow hands out paths: inputs and outputs are artifact directories holding
``value.json``, ``value.parquet`` or ``value.joblib``. Parameters arrive as text and
are parsed by their declared type. A failed gate or a drift check that stops the
pipeline exits non-zero (3 and 4, as the local runner does), so Kubeflow marks the task
and the run failed and runs nothing that depends on it.

The step is *detached* from any registry (see :mod:`.step_api`): what it logs is printed
as one ``metrics: {...}`` line, and gate rules read this step's metrics and the
pipeline's parameters.
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from pathlib import Path

from ..errors import GateFailedError
from . import step_api
from .params import coerce
from .serialization import read_value_file, write_value_file
from .spec import PipelineSpec
from .step import EXIT_DRIFT_STOPPED, EXIT_GATE_FAILED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_mlops.runner.kfp_step")
    parser.add_argument("--pipeline", required=True)
    parser.add_argument("--step", required=True)
    parser.add_argument("--input", nargs=2, action="append", default=[], metavar=("NAME", "PATH"))
    parser.add_argument("--param", nargs=2, action="append", default=[], metavar=("NAME", "TEXT"))
    parser.add_argument("--output", nargs=2, action="append", default=[], metavar=("NAME", "PATH"))
    args = parser.parse_args(argv)

    pipeline_dir = Path(args.pipeline)
    spec = PipelineSpec.load(pipeline_dir)
    step = spec.step(args.step)
    namespace = {}
    for name, text in args.param:
        parameter = spec.parameter(name)
        namespace[name] = coerce(parameter, text) if parameter else text
    for name, path in args.input:
        namespace[name] = read_value_file(Path(path))
    sys.path.insert(0, str(pipeline_dir / "steps"))
    context = step_api.StepContext(
        pipeline=spec.name,
        step=step.name,
        pipeline_dir=pipeline_dir,
        params=dict(namespace),
        drift_checks={check.variable: check for check in step.drift_checks},
        gate=step.gate,
    )
    step_api.set_context(context)
    try:
        result = runpy.run_path(
            str(pipeline_dir / step.module_path),
            init_globals=namespace,
            run_name=f"mlops_step_{step.name}",
        )
    except (GateFailedError, AssertionError) as exc:
        if isinstance(exc, AssertionError) and not step.gate:
            raise
        what = "Drift check in step" if context.drift_stopped else "Gate"
        print(f'{what} "{step.name}" failed: {exc}', file=sys.stderr)
        return EXIT_DRIFT_STOPPED if context.drift_stopped else EXIT_GATE_FAILED
    finally:
        if context.metrics:
            print("metrics: " + json.dumps(context.metrics), flush=True)
    for name, path in args.output:
        write_value_file(result[name], Path(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
