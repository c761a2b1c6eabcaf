"""The reference documents every magic subcommand and every CLI command."""

from __future__ import annotations

import re
from pathlib import Path

import click

from jupyter_mlops import magics
from jupyter_mlops.cli import main

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _headings() -> set[str]:
    text = (DOCS / "reference.md").read_text()
    return {m.group(1).strip() for m in re.finditer(r"^###\s+(.+)$", text, re.MULTILINE)}


def _cli_commands(group: click.Group, prefix: str = "jupyter mlops") -> dict[str, click.Command]:
    # Through list_commands and get_command, as --help finds them: the group imports a
    # command's module only when asked for it, so .commands may not hold them all yet.
    found: dict[str, click.Command] = {}
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, f"{prefix} {name} is listed but cannot be loaded"
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found.update(_cli_commands(command, path))
        else:
            found[path] = command
    return found


def test_every_magic_subcommand_is_in_the_reference_and_has_help() -> None:
    missing = [
        name
        for name, spec in magics.COMMANDS.items()
        if f"{'%%' if spec.cell else '%'}mlops {name}" not in _headings()
    ]
    assert missing == [], f"docs/reference.md has no entry for: {missing}"
    silent = [name for name, spec in magics.COMMANDS.items() if len(spec.summary) < 20]
    assert silent == [], f"no line in %mlops help for: {silent}"


def test_every_cli_command_is_in_the_reference_and_has_help() -> None:
    commands = _cli_commands(main)
    assert {"jupyter mlops runs", "jupyter mlops export", "jupyter mlops pipeline run"} <= set(
        commands
    )
    missing = [path for path in commands if path not in _headings()]
    assert missing == [], f"docs/reference.md has no entry for: {missing}"
    silent = [path for path, command in commands.items() if len(command.help or "") < 20]
    assert silent == [], f"no --help text for: {silent}"


def test_guide_pages_link_to_files_that_exist() -> None:
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#]+\.md)\)", page.read_text()):
            assert (DOCS / target).is_file(), f"{page.name} links to missing {target}"
