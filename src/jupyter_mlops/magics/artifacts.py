"""``%mlops artifact PATH [--name N]``: store a file, or a directory file by file, as
artifacts of the active run."""

from __future__ import annotations

import argparse

from ..tracking.formatting import size_text
from ..tracking.session import require_active_run
from ..tracking.unrecorded import UnrecordedRun
from .base import MlopsMagics, arguments, command
from .session import warn


def _artifact_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH")
    parser.add_argument(
        "--name", default=None, help="the artifact's name (a directory's files go under it)"
    )


@command(
    "artifact",
    "Store a file or a directory as artifacts of the active run: %mlops artifact PATH [--name N]",
)
@arguments(_artifact_arguments)
def _artifact(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    run = require_active_run()
    records = run.log_artifact(args.path, args.name)
    if isinstance(run, UnrecordedRun):
        return  # the run said why it keeps nothing
    if not records:
        warn(f'nothing of "{args.path}" was stored for run "{run.name}" (see the warning above).')
        return
    total = sum(record.size for record in records)
    names = ", ".join(record.name for record in records[:5])
    more = f" and {len(records) - 5} more" if len(records) > 5 else ""
    print(
        f'Stored {len(records)} artifact(s) ({size_text(total)}) for run "{run.name}"'
        f" ({run.id}): {names}{more}."
    )
