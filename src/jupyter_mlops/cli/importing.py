"""``jupyter mlops import``: a team's history brought into the registry.

jupyter mlops import --from mlflow http://mlflow.team.internal:5000
jupyter mlops import --from mlflow http://127.0.0.1:5000 --experiment churn
"""

from __future__ import annotations

import sys

import click

from ..sharing.mlflow_import import import_from_mlflow
from ..sharing.mlflow_import_report import ImportProgress, ProgressCallback
from .base import friendly, main, open_registry, registry_option


@main.command("import")
@registry_option
@click.option(
    "--from",
    "source",
    type=click.Choice(["mlflow"]),
    required=True,
    help="What to import from: an MLflow tracking server.",
)
@click.argument("uri")
@click.option(
    "--experiment",
    "-e",
    "experiments",
    multiple=True,
    metavar="NAME",
    help="Import only this experiment (repeat for several; default: every active one).",
)
@friendly
def import_(registry_path: str | None, source: str, uri: str, experiments: tuple[str, ...]) -> None:
    """Import an MLflow tracking server's experiments, runs, metric histories, registered
    models, versions and aliases into the registry.

    URI is the server's address (http://HOST:PORT). Importing again adds what is new,
    updates what changed in MLflow and leaves the rest; the report names what has no
    place here (dataset inputs, traces, logged models, stages).
    """
    registry = open_registry(registry_path)
    report = import_from_mlflow(
        registry, uri, experiments=experiments or None, progress=_progress_line()
    )
    click.echo(report.summary())


def _progress_line() -> ProgressCallback:
    """A callback that keeps one line of progress on stderr: rewritten in place on a
    terminal, one line per finished stage otherwise."""
    live = sys.stderr.isatty()

    def show(progress: ImportProgress) -> None:
        text = f"Importing {progress.stage}: {progress.done}/{progress.total}"
        finished = progress.done == progress.total
        if live:
            click.echo("\r" + text, nl=finished, err=True)
        elif finished:
            click.echo(text, err=True)

    return show
