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


def _cli_paths(group: click.Group, prefix: str = "jupyter mlops") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            paths += _cli_paths(command, path)
        else:
            paths.append(path)
    return paths


def test_every_magic_subcommand_is_in_the_reference() -> None:
    missing = [
        name
        for name, spec in magics.COMMANDS.items()
        if f"{'%%' if spec.cell else '%'}mlops {name}" not in _headings()
    ]
    assert missing == [], f"docs/reference.md has no entry for: {missing}"


def test_every_cli_command_is_in_the_reference_and_has_help() -> None:
    paths = _cli_paths(main)
    missing = [path for path in paths if path not in _headings()]
    assert missing == [], f"docs/reference.md has no entry for: {missing}"


def test_guide_pages_link_to_files_that_exist() -> None:
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#]+\.md)\)", page.read_text()):
            assert (DOCS / target).is_file(), f"{page.name} links to missing {target}"
