"""The reproduction subcommands: checkout.

    %mlops checkout baseline               # checkout-baseline-3f2a9c.ipynb here
    %mlops checkout last -o review.ipynb --force

``%mlops checkout`` writes the notebook of a past run (the earlier cells it depended on,
its parameters in a ``parameters`` cell, its own cells) and prints what it holds; the
Python API (``jupyter_mlops.reproduce.checkout.checkout``) returns it.
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
