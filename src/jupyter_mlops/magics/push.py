"""``%mlops push --to mlflow URI [--experiment E] [--since DATE]``: the registry's runs and
models to a team's MLflow tracking server.

    %mlops push --to mlflow http://mlflow.team.internal:5000
    %mlops push --to mlflow http://127.0.0.1:5000 --experiment churn --since 7d

A line per stage says how far the push got, then the report: what was created, updated
or unchanged, and what MLflow could not hold, each named.
"""

from __future__ import annotations

import argparse

from ..errors import InvalidInputError
from .base import MlopsMagics, arguments, command


def _push_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", nargs=2, required=True, metavar=("mlflow", "URI"))
    parser.add_argument("--experiment", "-e", default=None)
    parser.add_argument("--since", default=None)


@command(
    "push",
    "Push runs and models to a team's MLflow server: %mlops push --to mlflow URI"
    " [--experiment E] [--since DATE|7d]",
)
@arguments(_push_arguments)
def _push(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..api import push
    from ..sharing.mlflow_push import PushProgress

    kind, uri = args.to
    if kind.lower() != "mlflow":
        raise InvalidInputError(
            f'"{kind}" is not a kind of server %mlops push knows',
            hint="Write %mlops push --to mlflow http://HOST:5000",
        )

    def show(progress: PushProgress) -> None:
        if progress.done == progress.total:
            print(progress.line())

    report = push(uri, experiment=args.experiment, since=args.since, progress=show)
    print(report.describe())
