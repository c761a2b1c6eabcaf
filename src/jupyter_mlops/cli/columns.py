"""``jupyter mlops columns``: the columns of an experiment's runs tables, the same in the
notebook, the panel and ``jupyter mlops runs``.

    jupyter mlops columns churn                               # what it shows now
    jupyter mlops columns churn params.lr metrics.auc         # choose
    jupyter mlops columns churn --default                     # back to the default
"""

from __future__ import annotations

import click

from ..errors import InvalidInputError
from ..tracking.column_choices import choose_columns
from ..tracking.queries.columns import table_columns
from ..tracking.queries.listing import list_runs
from .base import friendly, main, open_registry, registry_option


@main.command()
@registry_option
@click.argument("experiment")
@click.argument("names", nargs=-1, metavar="[COLUMN...]")
@click.option(
    "--default", "reset", is_flag=True, help="Show the default columns again (forget the choice)."
)
@friendly
def columns(
    registry_path: str | None, experiment: str, names: tuple[str, ...], reset: bool
) -> None:
    """Show or choose the columns of EXPERIMENT's runs tables (params.K, metrics.K).

    Without COLUMN, print the columns shown now and every one there is to choose; the
    default is the parameters whose values differ between the runs, and every metric.
    """
    registry = open_registry(registry_path)
    if reset and names:
        raise InvalidInputError(
            "Give columns or --default, not both", hint="--default forgets the chosen columns."
        )
    if reset or names:
        click.echo(choose_columns(registry, experiment, list(names) or None).message)
        return
    page = list_runs(registry, experiment=experiment, limit=1000)
    shown = table_columns(registry, page, experiment=experiment)
    click.echo(f"{'Chosen' if shown.chosen else 'Default'} columns: {' '.join(shown.names) or '-'}")
    others = [name for name in shown.all_names if name not in shown.names]
    if others:
        click.echo(f"Also available: {' '.join(others)}")
