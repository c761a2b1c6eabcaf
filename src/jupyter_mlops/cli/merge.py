"""``jupyter mlops merge OTHER``: another registry's records (or a folder of pipeline
bundles) merged into this one, by id.

    jupyter mlops merge ../colleague                 # a project holding .mlops
    jupyter mlops merge shared/ana.db --dry-run      # what would be added; nothing changes
    jupyter mlops merge kfp-outputs/run-42           # the bundles of a Kubeflow run

Exit status: 0 when the merge is done (conflicts are reported, and the target keeps its
own records); 2 with ``--fail-on-conflict`` when there were conflicts (the rest is merged
all the same); 1 when nothing could be merged (a missing source, a changed artifact).
"""

from __future__ import annotations

import json
import sys

import click

from ..sharing.merge import merge_registries
from ..sharing.merge_report import MergeProgress
from .base import friendly, main, open_registry, registry_option

CONFLICTS_STATUS = 2


@main.command("merge")
@click.argument("other", metavar="OTHER")
@registry_option
@click.option("--dry-run", is_flag=True, help="Report what would be added; change nothing.")
@click.option(
    "--fail-on-conflict",
    is_flag=True,
    help=f"Exit with status {CONFLICTS_STATUS} when a conflict was reported.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")  # fmt: skip
@friendly
def merge_command(
    other: str, registry_path: str | None, dry_run: bool, fail_on_conflict: bool, fmt: str
) -> None:
    """Merge another registry into this one: OTHER is a registry file, the folder holding
    its .mlops, or a folder of pipeline bundles (a Kubeflow run's outputs). What this
    registry lacks is added by id (runs with all they recorded, models, aliases and
    their history, gates, drift reports, artifacts checked by hash); records that differ
    on the two sides are reported as conflicts and this registry's are kept. Merging
    twice adds nothing."""
    registry = open_registry(registry_path)
    show = _progress_line if sys.stderr.isatty() and fmt == "text" else None
    report = merge_registries(registry, other, dry_run=dry_run, progress=show)
    if show is not None:
        click.echo("\r\033[K", nl=False, err=True)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(report.text())
    if fail_on_conflict and report.conflicts:
        sys.exit(CONFLICTS_STATUS)


def _progress_line(progress: MergeProgress) -> None:
    click.echo(f"\r\033[K{progress.line()}", nl=False, err=True)
