"""``jupyter mlops artifacts``: a run's artifacts listed, and one written out, checked
against its hash.

    jupyter mlops artifacts baseline                 # name, kind, size, media type, cell
    jupyter mlops artifacts baseline --json
    jupyter mlops artifacts get baseline roc.png -o plots/roc.png
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from ..errors import InvalidInputError
from ..tracking.formatting import size_text, timestamp
from ..tracking.queries.artifacts import artifacts_of, find_artifact, save_artifact
from .base import format_table, friendly, main, open_registry, registry_option


@main.command()
@registry_option
@click.argument("words", nargs=-1, metavar="[get] RUN [NAME]")
@click.option("--json", "as_json", is_flag=True, help="List the artifacts as JSON.")
@click.option(
    "--output",
    "-o",
    default=None,
    metavar="PATH",
    help="With get: where to write the artifact (a file, or a directory). Default: its file name.",
)
@friendly
def artifacts(
    registry_path: str | None, words: tuple[str, ...], as_json: bool, output: str | None
) -> None:
    """List a run's artifacts (RUN: id, id prefix, name or 'last'), or write one out.

    \b
    jupyter mlops artifacts RUN [--json]
    jupyter mlops artifacts get RUN NAME [-o PATH]

    get checks the bytes against their sha256 before writing them: a file changed on
    disk is refused.
    """
    if len(words) >= 2 and words[0] == "get":
        if len(words) != 3:
            raise InvalidInputError(
                "artifacts get takes a run and an artifact's name",
                hint="jupyter mlops artifacts get RUN NAME -o PATH",
            )
        _get(registry_path, words[1], words[2], output)
        return
    if len(words) > 1:
        raise InvalidInputError(
            f"artifacts takes one run, not {len(words)} words",
            hint="jupyter mlops artifacts RUN, or jupyter mlops artifacts get RUN NAME -o PATH",
        )
    registry = open_registry(registry_path)
    found = artifacts_of(registry, words[0] if words else "last")
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(a) for a in found], indent=2))
        return
    if not found:
        click.echo("This run has no artifacts.")
        return
    click.echo(
        format_table(
            ["name", "kind", "size", "media type", "cell", "logged", "sha256"],
            [
                [
                    a.name,
                    a.kind,
                    size_text(a.size),
                    a.media_type,
                    "" if a.execution_count is None else f"[{a.execution_count}]",
                    timestamp(a.created_at),
                    a.sha256[:12],
                ]
                for a in found
            ],
        )
    )


def _get(registry_path: str | None, run: str, name: str, output: str | None) -> None:
    registry = open_registry(registry_path)
    record = find_artifact(registry, run, name)
    dest = Path(output) if output else Path(Path(record.name).name)
    written = save_artifact(registry, record, dest)
    click.echo(f"Wrote {record.name} ({size_text(record.size)}, sha256 verified) to {written}.")
