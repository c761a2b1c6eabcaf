"""The pipeline subcommands: export, pipeline.

    %mlops export                          # this notebook -> <stem>-pipeline/ beside it
    %mlops export -o build/churn --target local,docker,kfp
    %mlops pipeline run churn-pipeline -p lr=0.5
    %mlops pipeline runs
    %mlops pipeline show [RUN]             # the latest run, or one by id or pipeline name

``%mlops export`` exports the notebook as last saved, checks the values passed between
steps against the kernel's live variables, records this notebook's latest run (the
active one, if a run is going on) as the run the pipeline should reproduce, and draws
the steps as a graph. ``%mlops pipeline run`` prints a line per step as it ends, then the
outcome and the parity with the notebook run, and draws the graph with each step's
outcome; a failed step, gate or drift check ends with one line and a hint. They show
rather than return: the Python API (``export_notebook``, ``run_pipeline``) returns the
results.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from IPython.display import display

from ..errors import InvalidInputError
from ..runner.processes import DEFAULT_STEP_TIMEOUT_S, parse_step_timeout
from ..runner.spec import DRIFT_STOP_RULES
from ..tracking.session import recorded_run
from .base import MlopsMagics, arguments, command


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", nargs="?", default=None, metavar="NOTEBOOK",
                        help="the notebook to export (default: this one)")  # fmt: skip
    parser.add_argument("--output", "-o", default=None, metavar="DIR")
    parser.add_argument("--target", "-t", action="append", default=[], metavar="T[,T]",
                        help="local, docker, kfp (default: local,docker)")  # fmt: skip
    parser.add_argument("--run", default=None, metavar="RUN",
                        help="the run the pipeline reflects (default: this notebook's latest)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=None, metavar="N",
                        help="seed every step (random, NumPy, torch, PYTHONHASHSEED) with N")  # fmt: skip
    parser.add_argument("--image", default=None, metavar="IMAGE",
                        help="the pushed image the Kubeflow tasks run (kfp target; local: the"
                        " local build's tag)")  # fmt: skip


@command(
    "export",
    "Export this notebook to a pipeline: %mlops export [-o DIR] [--target local,docker,kfp]"
    " [--seed N] [--image IMAGE]",
)
@arguments(_export_arguments)
def _export(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..export import export_notebook

    notebook = _notebook(magics, args.notebook)
    registry = _registry_or_none(magics)
    run_id: str | None = args.run or "auto"
    active = recorded_run(registry) if registry is not None else None
    if args.run is None and active is not None:
        if _same_notebook(magics.session.notebook_path(), notebook):
            active.flush()
            run_id = active.id
    result = export_notebook(
        notebook,
        args.output,
        targets=",".join(args.target) or "local,docker",
        live_namespace=magics.user_ns,
        run_id=run_id,
        registry=registry,
        seed=args.seed,
        image=args.image,
    )
    for warning in result.warnings:
        print(f"Warning: {warning}")
    spec = result.spec
    print(
        f"Exported {notebook.name} (as last saved) to {result.output_dir}: {len(spec.steps)}"
        f" step(s) {', '.join(result.steps)} ({', '.join(result.targets)})."
    )
    source = spec.source.exported_from_run_id
    print(
        f"Parity reference: run {source} (experiment {spec.source.experiment})."
        if source
        else "Parity reference: none (no tracked run of this notebook yet)."
    )
    print(f"Run it with: %mlops pipeline run {result.output_dir}")
    from ..widgets.pipelines import PipelineView

    display(PipelineView(result))


def _pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["run", "runs", "show"],
                        help="run a pipeline, list pipeline runs, or show one")  # fmt: skip
    parser.add_argument("directory", nargs="?", default=None, metavar="DIR|RUN",
                        help="run: the pipeline's directory; show: a run id, a pipeline name"
                        " or last (the default)")  # fmt: skip
    parser.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--from", dest="from_step", default=None, metavar="STEP")
    parser.add_argument("--no-cache", action="store_true", help="run every step")
    parser.add_argument("--stop-on-drift", choices=DRIFT_STOP_RULES, default=None)
    parser.add_argument("--experiment", "-e", default=None)
    parser.add_argument("--step-timeout", default=None, metavar="SECONDS",
                        help="stop a step that runs longer (90s, 10m, 2h; 0: no limit; default:"
                        f" {DEFAULT_STEP_TIMEOUT_S / 3600:g} hours); a timeout: tag wins")  # fmt: skip
    parser.add_argument("--limit", "-n", type=int, default=10, help="for runs: how many")


@command(
    "pipeline",
    "Run an exported pipeline, list or show pipeline runs: %mlops pipeline run|runs|show",
)
@arguments(_pipeline_arguments)
def _pipeline(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> Any:
    if args.action == "runs":
        return _list_runs(magics, args.limit)
    if args.action == "show":
        return _show_run(magics, args.directory or "last")
    if args.directory is None:
        raise InvalidInputError(
            "%mlops pipeline run needs the pipeline's directory",
            hint="For example: %mlops pipeline run churn-pipeline -p lr=0.5",
        )
    from ..runner.console import summary_lines
    from ..runner.pipeline import run_failure, run_pipeline

    result = run_pipeline(
        args.directory,
        params=args.param,
        from_step=args.from_step,
        registry=magics.registry(create=True),
        use_cache=not args.no_cache,
        check=False,
        on_progress=lambda step: print(step.progress_line(), flush=True),
        experiment=args.experiment,
        drift_stop_on=args.stop_on_drift,
        step_timeout=parse_step_timeout(args.step_timeout),
    )
    for line in summary_lines(result):
        print(line)
    _show_run(magics, result.run_id)
    if not result.ok:
        raise run_failure(result)
    return None


def _list_runs(magics: MlopsMagics, limit: int) -> None:
    from ..runner.history import pipeline_runs
    from ..widgets.pipelines import PipelineRunsView

    display(PipelineRunsView(pipeline_runs(magics.registry(), limit=limit)))


def _show_run(magics: MlopsMagics, ref: str) -> None:
    from ..runner.history import pipeline_run
    from ..widgets.pipelines import PipelineRunView

    display(PipelineRunView(pipeline_run(magics.registry(), ref)))


def _notebook(magics: MlopsMagics, given: str | None) -> Path:
    """The notebook to export: the one named, else this kernel's notebook."""
    if given is not None:
        path = Path(given).expanduser()
        if not path.is_file():
            raise InvalidInputError(f"Notebook {given} does not exist", hint="Check the path.")
        return path
    recorded = magics.session.notebook_path()
    if recorded is None:
        raise InvalidInputError(
            "This kernel does not know which notebook it runs",
            hint="Name it: %mlops export NOTEBOOK.ipynb",
        )
    for candidate in (Path(recorded), Path.cwd() / recorded, Path.cwd() / Path(recorded).name):
        if candidate.is_file():
            return candidate
    raise InvalidInputError(
        f"The notebook {recorded} is not found from {Path.cwd()}",
        hint="Save it, or name it: %mlops export NOTEBOOK.ipynb",
    )


def _same_notebook(recorded: str | None, notebook: Path) -> bool:
    if not recorded:
        return False
    for candidate in (Path(recorded), Path.cwd() / recorded):
        try:
            if candidate.resolve() == notebook.resolve():
                return True
        except OSError:
            continue
    return False


def _registry_or_none(magics: MlopsMagics) -> Any:
    from ..errors import RegistryNotFoundError

    try:
        return magics.registry()
    except RegistryNotFoundError:
        return None
