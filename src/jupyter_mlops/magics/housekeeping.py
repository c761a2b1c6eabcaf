"""The housekeeping subcommands: note, tag, untag, rename, move, archive, restore, purge.

    %mlops note tried a deeper forest               # the active run's note (markdown)
    %mlops note --run baseline labels were stale    # any run's
    %mlops note --experiment churn Target: 30-day churn
    %mlops tag review=done --run baseline
    %mlops untag review --run baseline
    %mlops rename baseline baseline-stale
    %mlops move baseline-stale churn-old            # the experiment is created if missing
    %mlops archive baseline-stale                   # %mlops runs --archived lists it
    %mlops restore baseline-stale
    %mlops purge baseline-stale --yes               # for good; refused without --yes

Each calls one function of :mod:`jupyter_mlops.tracking.housekeeping_api` (the core's, with the
session's active run kept in step) and prints the sentence it returns.
"""

from __future__ import annotations

import argparse
import re

from ..errors import InvalidInputError
from ..tracking import housekeeping_api as api
from ..tracking import line_commands
from ..tracking.purge import purge_plan
from ..tracking.session import require_active_run
from .base import MlopsMagics, arguments, command

# ``--run RUN`` or ``--experiment NAME`` before a note's text (quoted when it has spaces).
_NOTE_TARGET = re.compile(
    r"^(?P<option>--run|-r|--experiment|-e)(?:\s+|=)"
    r"(?:\"(?P<double>[^\"]*)\"|'(?P<single>[^']*)'|(?P<bare>\S+))\s*(?P<text>.*)$",
    re.DOTALL,
)


@command(
    "note",
    "Write a note (markdown), which --code searches: %mlops note [--run RUN | --experiment E]"
    " TEXT (the active run's by default)",
    raw_text=True,
)
@arguments(lambda p: p.add_argument("text", nargs="*", metavar="[--run RUN | --experiment E] TEXT"))
def _note(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    line = " ".join(args.text).strip()
    option, target, text = None, None, line
    first = line.split(None, 1)[0].split("=", 1)[0] if line else ""
    if first in ("--run", "-r", "--experiment", "-e"):  # else a note may start with "-"
        found = _NOTE_TARGET.match(line)
        if found is None:
            raise InvalidInputError(
                f"%mlops note: cannot read {line.split()[0]!r}",
                hint="Write %mlops note [--run RUN | --experiment NAME] TEXT.",
            )
        option = found["option"]
        target = next(v for v in (found["double"], found["single"], found["bare"]) if v is not None)
        text = found["text"].strip()
    if not text:
        raise InvalidInputError(
            "%mlops note: the note is empty",
            hint="Write it after the command: %mlops note tried a deeper forest",
        )
    if option in ("--experiment", "-e"):
        print(api.note_experiment(str(target), text).message)
        return
    print(api.note(target if target is not None else require_active_run(), text).message)


@command("tag", "Label a run: %mlops tag team=growth [--run RUN] (the active run by default)")
@arguments(line_commands.tag_arguments)
def _tag(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    tags = _pairs(args.values)
    if args.run is None:
        require_active_run().set_tags(tags)
        return
    print(api.tag(args.run, tags).message)


def _untag_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("keys", nargs="+", metavar="KEY")
    parser.add_argument(
        "--run", "-r", default=None, metavar="RUN", help="untag this run (default: the active run)"
    )


@command("untag", "Remove tags from a run: %mlops untag KEY [KEY...] [--run RUN]")
@arguments(_untag_arguments)
def _untag(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    run = args.run if args.run is not None else require_active_run()
    print(api.untag(run, *args.keys).message)


@command("rename", "Rename a run: %mlops rename RUN NEW_NAME")
@arguments(
    lambda p: (p.add_argument("run", metavar="RUN"), p.add_argument("name", metavar="NEW_NAME"))
)
def _rename(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    print(api.rename(args.run, args.name).message)


@command(
    "move",
    "Move a run (and its children) to another experiment, created if missing:"
    " %mlops move RUN EXPERIMENT",
)
@arguments(
    lambda p: (p.add_argument("run", metavar="RUN"), p.add_argument("experiment", metavar="EXP"))
)
def _move(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    print(api.move(args.run, args.experiment).message)


@command(
    "archive",
    "Hide runs (and their children) from every list until restored: %mlops archive RUN [RUN...]",
)
@arguments(lambda p: p.add_argument("runs", nargs="+", metavar="RUN"))
def _archive(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    for run in args.runs:
        print(api.archive(run).message)


@command("restore", "Bring archived runs back into the lists: %mlops restore RUN [RUN...]")
@arguments(lambda p: p.add_argument("runs", nargs="+", metavar="RUN"))
def _restore(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    for run in args.runs:
        print(api.restore(run).message)


def _purge_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN")
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="confirm: the run, its children and the artifacts only they use are deleted for good",
    )


@command(
    "purge",
    "Delete a run, its children and the artifacts only they use, for good: %mlops purge RUN --yes",
)
@arguments(_purge_arguments)
def _purge(magics: MlopsMagics, args: argparse.Namespace, cell: str | None) -> None:
    if not args.yes:
        plan = purge_plan(magics.registry(), args.run)
        raise InvalidInputError(
            f"%mlops purge deletes {plan.describe()} for good; add --yes to confirm",
            hint=f"%mlops purge {plan.run_id} --yes, or %mlops archive {plan.run_id}"
            " to hide it instead (it can be restored).",
        )
    print(api.purge(args.run, confirm=True).message)


def _pairs(items: list[str]) -> dict[str, str]:
    return dict(line_commands.split_pairs(items, example="%mlops tag team=growth", word="key"))
