"""``python -m jupyter_mlops.runner DIR [-p name=value ...] [--from STEP]``.

The entry point of pipeline containers, where only the core is installed (the same as
``jupyter mlops pipeline run``). Prints one line per step as it ends, then the outcome,
where the run is recorded and the parity with the notebook run. Exit codes are listed in
:mod:`jupyter_mlops.runner.console`: 0 passed, 1 a step failed, 2 bad arguments, 3 a gate
failed, 4 a drift check stopped the pipeline, 130 or 143 interrupted (SIGINT, SIGTERM: the
running step is stopped and the run recorded as killed).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import MlopsError
from .console import EXIT_USAGE, exit_code, failure_lines, interrupted_line, summary_lines
from .pipeline import run_pipeline
from .processes import (
    DEFAULT_STEP_TIMEOUT_S,
    interrupted_exit_code,
    parse_step_timeout,
    sigterm_interrupts,
)
from .spec import DRIFT_STOP_RULES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jupyter_mlops.runner", description="Run an exported pipeline."
    )
    parser.add_argument("directory", help="the pipeline directory (holds pipeline.json)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--from", dest="from_step", metavar="STEP", help="restart at STEP")
    parser.add_argument("--registry", help="registry directory (.mlops) or registry.db")
    parser.add_argument("--workdir", help="where the steps run (default: here)")
    parser.add_argument("--experiment", help="record the run in this experiment")
    parser.add_argument("--no-cache", action="store_true", help="run every step")
    parser.add_argument(
        "--stop-on-drift", choices=DRIFT_STOP_RULES, default=None,
        help="which drift decision stops the pipeline (default: each check's, retrain)",
    )  # fmt: skip
    parser.add_argument(
        "--step-timeout", default=None, metavar="SECONDS",
        help="stop a step that runs longer, unless it has a timeout:SECONDS tag (90s, 10m and"
        f" 2h work too; 0 for no limit; default: {DEFAULT_STEP_TIMEOUT_S / 3600:g} hours)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        with sigterm_interrupts():
            run = run_pipeline(
                args.directory,
                params=args.param,
                from_step=args.from_step,
                registry=args.registry,
                workdir=args.workdir,
                use_cache=not args.no_cache,
                check=False,
                on_progress=lambda step: print(step.progress_line(), flush=True),
                experiment=args.experiment,
                drift_stop_on=args.stop_on_drift,
                step_timeout=parse_step_timeout(args.step_timeout),
            )
    except MlopsError as exc:
        print(f"Error: {exc.describe()}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        print(interrupted_line(exc), file=sys.stderr)
        return interrupted_exit_code(exc)
    for line in summary_lines(run):
        print(line)
    for line in failure_lines(run):
        print(line, file=sys.stderr)
    return exit_code(run)


if __name__ == "__main__":
    sys.exit(main())
