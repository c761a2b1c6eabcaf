"""``python -m jupyter_mlops.runner DIR [-p name=value ...] [--from STEP]``.

The entry point of pipeline containers, where only the core is installed. Prints one
line per step; exits 0 when every step passed, 3 when a gate stopped the pipeline,
1 when a step failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import MlopsError
from .pipeline import run_pipeline
from .step import EXIT_FAILED, EXIT_GATE_FAILED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jupyter_mlops.runner", description="Run an exported pipeline."
    )
    parser.add_argument("directory", help="the pipeline directory (holds pipeline.json)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--from", dest="from_step", metavar="STEP", help="restart at STEP")
    parser.add_argument("--registry", help="registry directory (.mlops) or registry.db")
    parser.add_argument("--workdir", help="where the steps run (default: here)")
    parser.add_argument("--no-cache", action="store_true", help="run every step")
    args = parser.parse_args(argv)

    def show(result):  # one line per step, as it finishes
        print(result.progress_line(), flush=True)

    try:
        run = run_pipeline(
            args.directory,
            params=args.param,
            from_step=args.from_step,
            registry=args.registry,
            workdir=args.workdir,
            use_cache=not args.no_cache,
            check=False,
            on_progress=show,
        )
    except MlopsError as exc:
        print(f"Error: {exc.describe()}", file=sys.stderr)
        return 2
    print(f"pipeline {run.pipeline}: {run.status} in {run.duration_s:.2f} s (run {run.run_id})")
    if run.ok:
        return 0
    failed = run.step(run.failed_step or "")
    print(f"Error: {failed.message}\nSee {failed.log_path}", file=sys.stderr)
    return EXIT_GATE_FAILED if run.status == "gate_failed" else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
