"""One pipeline step inside a Kubeflow Pipelines container component.

    python -m jupyter_mlops.runner.kfp_step --pipeline /pipeline --step train \\
        --input X /tmp/inputs/X --param lr 0.5 --output model /tmp/outputs/model \\
        [--gate-result /tmp/outputs/passed]

Kubeflow hands out paths: inputs and outputs are artifact directories holding
``value.json``, ``value.parquet`` or ``value.joblib``. Parameters arrive as text and
are parsed by their declared type. A gate step writes ``true`` or ``false`` to the
gate-result path and exits 0, so that kfp's ``dsl.If`` skips the steps below it.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_mlops.runner.kfp_step")
    parser.add_argument("--pipeline", required=True)
    parser.add_argument("--step", required=True)
    parser.add_argument("--input", nargs=2, action="append", default=[], metavar=("NAME", "PATH"))
    parser.add_argument("--param", nargs=2, action="append", default=[], metavar=("NAME", "TEXT"))
    parser.add_argument("--output", nargs=2, action="append", default=[], metavar=("NAME", "PATH"))
    parser.add_argument("--gate-result")
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
    record = step_api.reset_record()
    try:
        result = runpy.run_path(
            str(pipeline_dir / step.module_path),
            init_globals=namespace,
            run_name=f"mlops_step_{step.name}",
        )
    except (GateFailedError, AssertionError) as exc:
        if not (step.gate and args.gate_result):
            raise
        print(f'Gate "{step.name}" failed: {exc}', file=sys.stderr)
        Path(args.gate_result).parent.mkdir(parents=True, exist_ok=True)
        Path(args.gate_result).write_text("false")
        return 0
    for name, path in args.output:
        write_value_file(result[name], Path(path))
    if args.gate_result:
        Path(args.gate_result).parent.mkdir(parents=True, exist_ok=True)
        Path(args.gate_result).write_text("true")
    if record.metrics:
        print("metrics: " + json.dumps(record.metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
