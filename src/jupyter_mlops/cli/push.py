"""``jupyter mlops push --to mlflow URI``: send runs and models to a team's MLflow server.

    jupyter mlops push --to mlflow http://mlflow.team.internal:5000
    jupyter mlops push --to mlflow http://127.0.0.1:5000 --experiment churn --since 7d

Exits 0 when everything went, 3 when the push went through but some things could not be
mapped onto MLflow (the report names them), 1 when the push failed (what was sent before
the failure is recorded: pushing again resumes).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

import click

from ..sharing.mlflow_push import PushProgress, push, since_time
from .base import friendly, main, open_registry, registry_option

UNMAPPABLE_STATUS = 3  # 2 is click's, for a command line it cannot read


def progress_printer(stream: TextIO | None = None) -> Callable[[PushProgress], None]:
    """A progress callback that keeps one line up to date on a terminal, and writes a
    line per finished stage elsewhere (a log keeps no carriage returns)."""
    out = stream or sys.stderr
    live = out.isatty()

    def show(progress: PushProgress) -> None:
        if live:
            click.echo(f"\r{progress.line()}\033[K", file=out, nl=False)
            if progress.done == progress.total:
                click.echo("", file=out)
        elif progress.done == progress.total:
            click.echo(progress.line(), file=out)

    return show


@main.command("push")
@registry_option
@click.option(
    "--to",
    "target",
    nargs=2,
    required=True,
    metavar="mlflow URI",
    help="Where to push: mlflow and the tracking server's address (http://host:5000).",
)
@click.option(
    "--experiment", "-e", default=None, metavar="NAME", help="Only this experiment's runs."
)
@click.option(
    "--since",
    default=None,
    metavar="DATE",
    help="Only runs started since DATE (2026-11-30, 2026-11-30T14:00) or that long ago (7d).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress line; the report only.")
@friendly
def push_command(
    registry_path: str | None,
    target: tuple[str, str],
    experiment: str | None,
    since: str | None,
    quiet: bool,
) -> None:
    """Push runs, experiments, model versions and aliases to an MLflow tracking server.

    Only what is new since the last push to the same server is sent; a run carries the
    tag mlops.run_id. Params changed after a push, and names or values MLflow refuses,
    are listed at the end (exit status 3).
    """
    kind, uri = target
    if kind.lower() != "mlflow":
        raise click.BadParameter(
            f'"{kind}" is not a kind of server this version pushes to; write --to mlflow URI',
            param_hint="--to",
        )
    start = None if since is None else since_time(since)
    registry = open_registry(registry_path)
    report = push(
        registry,
        uri,
        experiment=experiment,
        since=start,
        progress=None if quiet else progress_printer(),
    )
    click.echo(report.describe())
    if report.unmappable:
        sys.exit(UNMAPPABLE_STATUS)
