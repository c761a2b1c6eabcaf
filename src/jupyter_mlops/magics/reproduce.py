"""The reproduction subcommands: checkout, reproduce.

    %mlops checkout baseline               # checkout-baseline-3f2a9c.ipynb here
    %mlops checkout last -o review.ipynb --force
    %mlops reproduce baseline              # run it again in a fresh kernel: parity?
    %mlops reproduce baseline -p lr=0.5 --data-from-snapshots

``%mlops checkout`` writes the notebook of a past run (the earlier cells it depended on,
its parameters in a ``parameters`` cell, its own cells) and prints what it holds.
``%mlops reproduce`` runs that notebook in a fresh kernel, a line per cell, and prints the
verdict and its likely causes. The Python API (``jupyter_mlops.reproduce``) returns them.
"""

from __future__ import annotations

import argparse

from .base import MlopsMagics, arguments, command


def _checkout_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="id, id prefix, name or last")
    parser.add_argument("--output", "-o", default=None, metavar="NOTEBOOK",
                        help="where to write it (default: checkout-NAME-ID.ipynb here)")  # fmt: skip
    parser.add_argument("--force", action="store_true",
                        help="replace the notebook at --output if there is one")  # fmt: skip


@command(
    "checkout",
    "Write a past run's notebook: %mlops checkout RUN [-o NOTEBOOK] [--force]",
)
@arguments(_checkout_arguments)
def _checkout(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..reproduce.checkout import checkout

    result = checkout(magics.registry(), args.run, args.output, overwrite=args.force)
    print(result.summary())


def _reproduce_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="id, id prefix, name or last")
    parser.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--env",
        default="current",
        choices=["current", "venv", "container"],
        help="current: this Python; venv: a fresh one with the run's versions;"
        " container: an image with them (podman or docker)",
    )
    parser.add_argument("--base-image", default=None, metavar="IMAGE",
                        help="with --env container: the image to build on (python:X.Y-slim)")  # fmt: skip
    parser.add_argument("--data-from-snapshots", action="store_true",
                        help="data that changed is replaced by the run's stored snapshots")  # fmt: skip
    parser.add_argument("--workdir", default=None, metavar="DIR",
                        help="where the cells run (default: the run's working directory)")  # fmt: skip


@command(
    "reproduce",
    "Run a past run again in a fresh kernel and compare: %mlops reproduce RUN [-p NAME=VALUE]"
    " [--env current|venv|container] [--data-from-snapshots] [--workdir DIR]",
)
@arguments(_reproduce_arguments)
def _reproduce(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..reproduce.reproduction import reproduce

    result = reproduce(
        magics.registry(),
        args.run,
        env=args.env,
        params=args.param,
        data_from_snapshots=args.data_from_snapshots,
        workdir=args.workdir,
        base_image=args.base_image,
        progress=print,
    )
    verdict = result.verdict
    for note in verdict.notes:
        print(note)
    print(verdict.summary())
    for cause in verdict.causes:
        print(f"  likely cause: {cause}")
    if verdict.differs_from_here:
        print(
            f"  versions that differ from this environment: {', '.join(verdict.differs_from_here)}"
        )
    if result.notebook_path is not None:
        print(f"  the executed notebook: {result.notebook_path}")
