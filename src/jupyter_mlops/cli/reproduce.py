"""``jupyter mlops checkout``: a past run's notebook, from the registry alone.

jupyter mlops checkout baseline                      # checkout-baseline-3f2a9c.ipynb
jupyter mlops checkout last -o review.ipynb --force
"""

from __future__ import annotations

import functools
import sys

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


@main.command()
@registry_option
@click.argument("run")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="Run with this value of one of the run's parameters (parity is then not checked).")  # fmt: skip
@click.option("--env", type=click.Choice(["current", "venv", "container"]), default="current",
              show_default=True,
              help="current: this Python; venv: a fresh environment with the run's recorded versions;"
              " container: an image with them (podman or docker).")  # fmt: skip
@click.option("--base-image", default=None, metavar="IMAGE",
              help="With --env container: the image to build on. Default: python:X.Y-slim of the run's Python.")  # fmt: skip
@click.option("--data-from-snapshots", is_flag=True,
              help="Data that changed since the run is replaced by its stored snapshots.")  # fmt: skip
@click.option("--workdir", default=None, metavar="DIR",
              help="Where the cells run. Default: the run's own working directory.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@functools.partial(friendly, status=2)  # 1 is a mismatch
def reproduce(
    registry_path: str | None,
    run: str,
    params: tuple[str, ...],
    env: str,
    data_from_snapshots: bool,
    workdir: str | None,
    base_image: str | None,
    as_json: bool,
) -> None:
    """Run RUN again from the registry alone (its closure, parameters and cells) in a fresh
    kernel and compare its metrics with the original's.

    Exits 0 when the same metrics came back, 1 on a mismatch (the likely causes are
    listed), 2 when it could not run (changed data, a cell that raised, no closure).
    """
    import json

    from ..reproduce.reproduction import reproduce as run_again

    result = run_again(
        open_registry(registry_path),
        run,
        env=env,
        params=params,
        data_from_snapshots=data_from_snapshots,
        workdir=workdir,
        base_image=base_image,
        progress=None if as_json else click.echo,
    )
    verdict = result.verdict
    if as_json:
        click.echo(json.dumps({**verdict.to_dict(), "notebook": str(result.notebook_path)}))
    else:
        for note in verdict.notes:
            click.echo(note)
        click.echo(verdict.summary())
        for cause in verdict.causes:
            click.echo(f"  likely cause: {cause}")
        if verdict.differs_from_here:
            click.echo(
                f"  versions that differ from this environment: {', '.join(verdict.differs_from_here)}"
            )
        if result.notebook_path is not None:
            click.echo(f"  the executed notebook: {result.notebook_path}")
    sys.exit(verdict.exit_code)
