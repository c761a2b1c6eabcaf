"""``jupyter mlops checkout``: a past run's notebook, from the registry alone.

jupyter mlops checkout baseline                      # checkout-baseline-3f2a9c.ipynb
jupyter mlops checkout last -o review.ipynb --force
"""

from __future__ import annotations

import click

from .base import friendly, main, open_registry, registry_option


@main.command()
@registry_option
@click.argument("run")
@click.option(
    "--output",
    "-o",
    default=None,
    metavar="NOTEBOOK",
    help="Where to write the notebook. Default: checkout-NAME-ID.ipynb here.",
)
@click.option("--force", is_flag=True, help="Replace the notebook at --output if there is one.")
@friendly
def checkout(registry_path: str | None, run: str, output: str | None, force: bool) -> None:
    """Write the notebook of run RUN (id, id prefix, name or 'last'): the earlier cells it
    depended on as they ran, its parameters in a 'parameters' cell, then its own cells."""
    from ..reproduce.checkout import checkout as write_checkout

    result = write_checkout(open_registry(registry_path), run, output, overwrite=force)
    click.echo(result.summary())
