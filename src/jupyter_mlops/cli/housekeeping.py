"""``jupyter mlops note | tag | untag | rename | move | archive | restore | purge``: runs put
in order after the fact.

    jupyter mlops note baseline "labels were stale"
    jupyter mlops note --experiment churn - < NOTES.md     # a markdown note from stdin
    jupyter mlops tag baseline review=done
    jupyter mlops untag baseline review
    jupyter mlops rename baseline baseline-stale
    jupyter mlops move baseline-stale churn-old             # created when missing
    jupyter mlops archive baseline-stale                    # runs --archived lists it
    jupyter mlops restore baseline-stale
    jupyter mlops purge baseline-stale                      # asks; --yes to skip the question
"""

from __future__ import annotations

import sys

import click

from ..errors import InvalidInputError
from ..tracking.housekeeping import (
    archive_run,
    move_run,
    note_experiment,
    note_run,
    rename_run,
    restore_run,
    tag_run,
    untag_run,
)
from ..tracking.purge import purge_plan, purge_run
from .base import friendly, main, open_registry, registry_option


@main.command()
@registry_option
@click.argument("words", nargs=-1, required=True, metavar="[RUN] TEXT...")
@click.option(
    "--experiment",
    "-e",
    default=None,
    metavar="NAME",
    help="Write the note of this experiment instead of a run's.",
)
@friendly
def note(registry_path: str | None, words: tuple[str, ...], experiment: str | None) -> None:
    """Write the note (markdown) of a run, or of an experiment with --experiment.

    \b
    jupyter mlops note RUN TEXT...
    jupyter mlops note --experiment NAME TEXT...

    TEXT "-" reads the note from stdin; an empty note removes it. RUN is an id, id
    prefix, name or 'last'.
    """
    if experiment is None:
        if len(words) < 2:
            raise InvalidInputError(
                "note takes a run and the text of its note",
                hint='jupyter mlops note RUN "text", or --experiment NAME "text".',
            )
        run, words = words[0], words[1:]
    text = sys.stdin.read() if words == ("-",) else " ".join(words)
    registry = open_registry(registry_path)
    if experiment is not None:
        click.echo(note_experiment(registry, experiment, text).message)
    else:
        click.echo(note_run(registry, run, text).message)


@main.command()
@registry_option
@click.argument("run")
@click.argument("values", nargs=-1, required=True, metavar="KEY=VALUE...")
@friendly
def tag(registry_path: str | None, run: str, values: tuple[str, ...]) -> None:
    """Set tags on a run after the fact (a tag of the same key is replaced)."""
    tags = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInputError(
                f'"{item}" is not of the form key=value',
                hint="For example: jupyter mlops tag RUN review=done",
            )
        tags[key] = value
    click.echo(tag_run(open_registry(registry_path), run, tags).message)


@main.command()
@registry_option
@click.argument("run")
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
@friendly
def untag(registry_path: str | None, run: str, keys: tuple[str, ...]) -> None:
    """Remove tags from a run; a key it does not have is an error listing its tags."""
    click.echo(untag_run(open_registry(registry_path), run, keys).message)


@main.command()
@registry_option
@click.argument("run")
@click.argument("new_name")
@friendly
def rename(registry_path: str | None, run: str, new_name: str) -> None:
    """Give a run another name; its id, values and links stay."""
    click.echo(rename_run(open_registry(registry_path), run, new_name).message)


@main.command()
@registry_option
@click.argument("run")
@click.argument("experiment")
@friendly
def move(registry_path: str | None, run: str, experiment: str) -> None:
    """Move a run and its children to EXPERIMENT (created when it does not exist)."""
    click.echo(move_run(open_registry(registry_path), run, experiment).message)


@main.command()
@registry_option
@click.argument("runs", nargs=-1, required=True, metavar="RUN...")
@friendly
def archive(registry_path: str | None, runs: tuple[str, ...]) -> None:
    """Hide runs and their children from every list until restored (nothing is deleted);
    jupyter mlops runs --archived lists them."""
    registry = open_registry(registry_path)
    for run in runs:
        click.echo(archive_run(registry, run).message)


@main.command()
@registry_option
@click.argument("runs", nargs=-1, required=True, metavar="RUN...")
@friendly
def restore(registry_path: str | None, runs: tuple[str, ...]) -> None:
    """Bring archived runs (and their children) back into the lists."""
    registry = open_registry(registry_path)
    for run in runs:
        click.echo(restore_run(registry, run).message)


@main.command()
@registry_option
@click.argument("run")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@friendly
def purge(registry_path: str | None, run: str, yes: bool) -> None:
    """Delete a run and its children for good, with the artifacts nothing else uses.

    Artifacts another run, a registered model, a snapshot or the pipeline cache uses
    stay. Asks for confirmation unless --yes is given; a running run is refused.
    """
    registry = open_registry(registry_path)
    if not yes:
        plan = purge_plan(registry, run)
        refused = InvalidInputError(
            "Nothing was purged: it was not confirmed",
            hint=f"Answer y, or add --yes: jupyter mlops purge {plan.run_id} --yes"
            f" (or jupyter mlops archive {plan.run_id} to hide it instead).",
        )
        try:
            confirmed = click.confirm(f"Delete {plan.describe()} for good?", default=False)
        except click.Abort:
            raise refused from None
        if not confirmed:
            raise refused
    click.echo(purge_run(registry, run, confirm=True).message)
