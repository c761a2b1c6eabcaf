"""``%mlops merge OTHER [--dry-run]``: another registry (or a folder of pipeline bundles)
merged into this kernel's registry, by id.

    %mlops merge ../colleague               # a project holding .mlops
    %mlops merge shared/ana.db --dry-run    # what would be added; nothing changes

Prints what was (or would be) added per kind and every conflict, with both sides; the
registry keeps its own records where the two differ. ``mlops.merge`` returns the report.
"""

from __future__ import annotations

import argparse

from .base import MlopsMagics, arguments, command


def _merge_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("other", metavar="OTHER",
                        help="a registry file, the folder holding its .mlops, or bundles")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true",
                        help="report what would be added; change nothing")  # fmt: skip


@command(
    "merge",
    "Merge another registry (or pipeline bundles) into this one, by id:"
    " %mlops merge OTHER [--dry-run]",
)
@arguments(_merge_arguments)
def _merge(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    from ..sharing.merge import merge_registries

    report = merge_registries(magics.registry(), args.other, dry_run=args.dry_run)
    print(report.text())
