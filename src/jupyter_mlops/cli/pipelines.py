"""``jupyter mlops export`` and ``jupyter mlops pipeline run | runs | show``.

    jupyter mlops export churn.ipynb -o churn-pipeline --target local,docker,kfp
    jupyter mlops pipeline run churn-pipeline -p lr=0.5 [--from train]
    jupyter mlops pipeline runs
    jupyter mlops pipeline show last
    jupyter mlops pipeline collect kfp-outputs/RUN

``pipeline run`` prints one line per step as it ends, then the outcome, the run's id in
the registry and the parity with the notebook run, and exits as the container's entry
point does: 0 passed, 1 a step failed, 2 bad arguments, 3 a gate failed, 4 a drift
check stopped the pipeline, 130 or 143 interrupted (Ctrl-C, SIGTERM: the running step is
stopped and the run recorded as killed). A step that runs longer than ``--step-timeout``
(24 hours unless given; a ``timeout:SECONDS`` tag on one of its cells wins) is stopped
and fails.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import MlopsError
from ..runner.console import (
    EXIT_USAGE,
    exit_code,
    failure_lines,
    interrupted_line,
    summary_lines,
)
from ..runner.processes import (
    DEFAULT_STEP_TIMEOUT_S,
    interrupted_exit_code,
    parse_step_timeout,
    sigterm_interrupts,
)
from ..runner.spec import DRIFT_STOP_RULES
from ..tracking.formatting import duration, timestamp
from .base import format_table, friendly, main, open_registry, registry_option, short_id


@main.command("export")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option(
    "--output", "-o", "output", default=None, metavar="DIR",
    help="Where to write the pipeline (default: NOTEBOOK-STEM-pipeline beside the notebook).",
)  # fmt: skip
@click.option(
    "--target", "-t", "targets", multiple=True, metavar="T[,T]",
    help="What to generate: local, docker, kfp (default: local,docker).",
)  # fmt: skip
@click.option(
    "--run", "run", default="auto", show_default=True, metavar="RUN",
    help="The notebook's tracked run the pipeline reflects, for parity: an id, a name, auto"
    " (the latest run of this notebook) or none.",
)  # fmt: skip
@registry_option
@click.option("--base-image", default=None, help="Base image of the Dockerfile.")
@click.option(
    "--image", default=None,
    help="Image the Kubeflow components run, pushed where the cluster pulls it (kfp target;"
    " required there). local: the local build's tag, knowingly.",
)  # fmt: skip
@click.option(
    "--wheel", default=None, metavar="FILE",
    help="A jupyter-mlops wheel of this version to put in wheels/: the image installs it"
    " instead of the package index's.",
)  # fmt: skip
@click.option(
    "--seed", type=int, default=None, metavar="N",
    help="Seed every step (random, NumPy, torch, PYTHONHASHSEED) with N before its code runs.",
)  # fmt: skip
@friendly
def export_command(
    notebook: str,
    output: str | None,
    targets: tuple[str, ...],
    run: str,
    registry_path: str | None,
    base_image: str | None,
    image: str | None,
    wheel: str | None,
    seed: int | None,
) -> None:
    """Export a tagged notebook to a pipeline directory (spec, steps, lock, Dockerfile...)."""
    from ..export import export_notebook

    chosen = ",".join(targets) if targets else "local,docker"
    result = export_notebook(
        notebook,
        output,
        targets=chosen,
        run_id=None if run.lower() == "none" else run,
        registry=registry_path,
        base_image=base_image,
        image=image,
        wheel=wheel,
        seed=seed,
    )
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    spec = result.spec
    click.echo(
        f"Exported {len(spec.steps)} step(s) ({', '.join(result.steps)}) to {result.output_dir}"
        f" ({', '.join(result.targets)})."
    )
    source = spec.source.exported_from_run_id
    click.echo(
        f"Parity reference: notebook run {source} (experiment {spec.source.experiment})."
        if source
        else "Parity reference: none (no tracked run of the notebook was found)."
    )
    click.echo(f"Run it with: jupyter mlops pipeline run {result.output_dir}")


@main.group()
def pipeline() -> None:
    """Run exported pipelines and read their runs."""


@pipeline.command("run")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter value, parsed by its declared type (repeatable).")  # fmt: skip
@click.option("--from", "from_step", default=None, metavar="STEP",
              help="Re-run STEP and everything after it; reuse the results before it.")  # fmt: skip
@registry_option
@click.option("--workdir", default=None, type=click.Path(file_okay=False),
              help="Where the steps run and read their files (default: here).")  # fmt: skip
@click.option("--experiment", "-e", default=None,
              help="Record the run in this experiment (default: the notebook run's).")  # fmt: skip
@click.option("--no-cache", is_flag=True, help="Run every step, even unchanged ones.")
@click.option("--stop-on-drift", type=click.Choice(DRIFT_STOP_RULES), default=None,
              help="Which drift decision stops the pipeline (default: retrain).")  # fmt: skip
@click.option("--step-timeout", default=None, metavar="SECONDS",
              help="Stop a step that runs longer than this, with the processes it started,"
              " and fail it; a timeout:SECONDS tag on one of its cells wins. Also 90s, 10m, 2h;"
              f" 0 for no limit (default: {DEFAULT_STEP_TIMEOUT_S / 3600:g} hours).")  # fmt: skip
def run_command(
    directory: str,
    params: tuple[str, ...],
    from_step: str | None,
    registry_path: str | None,
    workdir: str | None,
    experiment: str | None,
    no_cache: bool,
    stop_on_drift: str | None,
    step_timeout: str | None,
) -> None:
    """Run an exported pipeline, each step in its own process, and record it."""
    from ..runner.pipeline import run_pipeline

    try:
        with sigterm_interrupts():
            result = run_pipeline(
                directory,
                params=list(params),
                from_step=from_step,
                registry=registry_path,
                workdir=workdir,
                use_cache=not no_cache,
                check=False,
                on_progress=lambda step: click.echo(step.progress_line()),
                experiment=experiment,
                drift_stop_on=stop_on_drift,
                step_timeout=parse_step_timeout(step_timeout),
            )
    except MlopsError as error:
        click.echo(f"Error: {error.message}", err=True)
        if error.hint:
            click.echo(f"Hint: {error.hint}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt as interrupted:
        click.echo(interrupted_line(interrupted), err=True)
        sys.exit(interrupted_exit_code(interrupted))
    for line in summary_lines(result):
        click.echo(line)
    for line in failure_lines(result):
        click.echo(line, err=True)
    sys.exit(exit_code(result))


@pipeline.command("runs")
@registry_option
@click.option("--pipeline", "name", default=None, help="Only this pipeline.")
@click.option("--limit", "-n", type=int, default=20, show_default=True, help="At most this many.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")  # fmt: skip
@friendly
def runs_command(registry_path: str | None, name: str | None, limit: int, fmt: str) -> None:
    """List pipeline runs, newest first, with the status of each step."""
    from ..runner.history import pipeline_runs

    found = pipeline_runs(open_registry(registry_path), pipeline=name, limit=limit)
    if fmt == "json":
        click.echo(json.dumps({"runs": [r.to_dict() for r in found]}, indent=2, default=str))
        return
    if not found:
        click.echo("No pipeline runs recorded yet (jupyter mlops pipeline run DIR).")
        return
    rows = [
        [
            short_id(r.id),
            r.pipeline,
            r.status,
            timestamp(r.started_at),
            duration(r.duration),
            (r.parity or {}).get("status", ""),
            " ".join(f"{s.name}:{'cached' if s.cached else s.status}" for s in r.steps),
        ]
        for r in found
    ]
    click.echo(
        format_table(["id", "pipeline", "status", "started", "duration", "parity", "steps"], rows)
    )


@pipeline.command("collect")
@click.argument("outputs", metavar="RUN_OUTPUTS", type=click.Path(exists=True))
@registry_option
@friendly
def collect_command(outputs: str, registry_path: str | None) -> None:
    """Merge a Kubeflow run's records into the registry: the mlops_records bundle of each
    task found under RUN_OUTPUTS (the run's outputs, downloaded; kfp.local's pipeline
    root). Runs, metrics, model versions and gate verdicts already here are not added
    again, so collecting twice adds nothing; records that differ from this registry's are
    reported as conflicts (as jupyter mlops merge does)."""
    from ..runner.collect import collect_outputs

    result = collect_outputs(open_registry(registry_path), Path(outputs))
    click.echo(
        f"Collected {len(result.bundles)} bundle(s): {len(result.runs_added)} new run(s),"
        f" {len(result.model_versions_added)} new model version(s)"
        + (f" ({', '.join(result.model_versions_added)})" if result.model_versions_added else "")
        + f", {result.gate_evaluations_added} gate verdict(s)"
    )
    for run_id in result.pipeline_runs:
        click.echo(f"pipeline run {run_id}")
    for conflict in result.merged.conflicts:
        click.echo(f"conflict: {conflict.describe()}")


@pipeline.command("show")
@click.argument("run", default="last")
@registry_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")  # fmt: skip
@friendly
def show_command(run: str, registry_path: str | None, fmt: str) -> None:
    """One pipeline run: its parameters, each step, and the parity with the notebook run."""
    from ..runner.history import pipeline_run

    record = pipeline_run(open_registry(registry_path), run)
    if fmt == "json":
        click.echo(json.dumps(record.to_dict(), indent=2, default=str))
        return
    took = "" if record.duration is None else f" in {duration(record.duration)}"
    click.echo(f"Pipeline run {record.id} of {record.pipeline}: {record.status}{took}")
    click.echo(f"  experiment {record.experiment}, started {timestamp(record.started_at)}")
    if record.directory:
        click.echo(f"  from {Path(record.directory)}")
    if record.message:
        click.echo(f"  stopped: {record.message}")
    params = ", ".join(f"{k}={v!r}" for k, v in record.parameters.items())
    click.echo(f"  parameters: {params or 'none'}")
    click.echo(
        format_table(
            ["step", "status", "run", "duration", "message"],
            [
                [
                    s.name,
                    ("cached" if s.cached else s.status),
                    s.run_id or "",
                    duration(s.duration),
                    s.message or "",
                ]
                for s in record.steps
            ],
        )
    )
    parity = record.parity or {}
    if parity.get("status") == "not_checked":
        click.echo(f"parity not checked: {parity.get('reason', '')}")
    elif parity:
        for item in parity.get("compared", []):
            verdict = "equal" if item["equal"] else "DIFFERENT"
            click.echo(
                f"parity {item['key']}: notebook {item['notebook']}, pipeline {item['pipeline']}"
                f" ({verdict})"
            )
