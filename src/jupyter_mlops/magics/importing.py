"""``%mlops import --from mlflow URI [--experiment NAME]...``: a team's MLflow history
brought into this kernel's registry.

    %mlops import --from mlflow http://mlflow.team.internal:5000
    %mlops import --from mlflow http://127.0.0.1:5000 --experiment churn

Prints a line as each stage ends (runs, versions), then what was added, updated and left
unchanged per kind and what has no place here. ``mlops.import_from_mlflow`` returns the
report.
"""

from __future__ import annotations

import argparse

from ..sharing.mlflow_import_report import ImportProgress
from .base import MlopsMagics, arguments, command


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="source", choices=["mlflow"], required=True,
                        help="what to import from: an MLflow tracking server")  # fmt: skip
    parser.add_argument("uri", metavar="URI", help="the server's address, http://HOST:PORT")
    parser.add_argument("--experiment", "-e", dest="experiments", action="append",
                        metavar="NAME", help="only this experiment (repeat for several)")  # fmt: skip


def _stage_done(progress: ImportProgress) -> None:
    if progress.done == progress.total:
        print(f"Imported {progress.stage}: {progress.done}/{progress.total}", flush=True)


@command(
    "import",
    "Import an MLflow server's runs, metrics, models and aliases:"
    " %mlops import --from mlflow URI [--experiment NAME]...",
)
@arguments(_import_arguments)
def _import(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..sharing.mlflow_import import import_from_mlflow

    report = import_from_mlflow(
        magics.registry(), args.uri, experiments=args.experiments,
        progress=_stage_done,
    )  # fmt: skip
    print(report.summary())
