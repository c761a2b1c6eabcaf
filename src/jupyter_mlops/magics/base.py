"""The machinery of ``%mlops``: the subcommand table, argument parsing, dispatch.

A subcommand is a function registered with :func:`command` (its line in
``%mlops help``) and :func:`arguments` (its argparse arguments). The dispatcher turns
every :class:`~jupyter_mlops.errors.MlopsError` into IPython's ``UsageError``: one line
and a hint, no traceback, unless ``%mlops --debug`` is used.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from ..errors import InvalidInputError, MlopsError
from ..registry.connection import Registry
from ..tracking.line_commands import LineParser as _ArgumentParser
from ..tracking.line_commands import glue_dashed_values, read_value, split_pairs
from ..tracking.session import default_registry
from .outputs import OutputCapture
from .session import NotebookSession


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    build: Callable[[argparse.ArgumentParser], object]
    handler: Callable[[MlopsMagics, argparse.Namespace, str | None], Any]
    cell: bool = False  # used as %%mlops NAME
    raw_text: bool = False  # takes the rest of the line as typed (quotes and all) as ``text``


COMMANDS: dict[str, Command] = {}


def command(
    name: str, summary: str, *, cell: bool = False, raw_text: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a subcommand: ``summary`` is its line in ``%mlops help``.

    With ``raw_text`` the handler gets the rest of the line as typed, as ``args.text``
    (a list of one string, or empty): free text such as a note keeps its apostrophes.
    """

    def register(handler: Callable[..., Any]) -> Callable[..., Any]:
        build = getattr(handler, "_arguments", lambda parser: None)
        COMMANDS[name] = Command(name, summary, build, handler, cell, raw_text)
        return handler

    return register


def arguments(
    build: Callable[[argparse.ArgumentParser], object],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def attach(handler: Callable[..., Any]) -> Callable[..., Any]:
        handler._arguments = build  # type: ignore[attr-defined]
        return handler

    return attach


def parser_for(name: str) -> argparse.ArgumentParser:
    spec = COMMANDS[name]
    parser = _ArgumentParser(
        prog=f"%{'%' if spec.cell else ''}mlops {name}", description=spec.summary, add_help=False
    )
    spec.build(parser)
    return parser


@magics_class
class MlopsMagics(Magics):
    """``%mlops SUBCOMMAND ...`` and ``%%mlops run ...``."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.session = NotebookSession(shell)
        # what the run's cells display, stored as its artifacts (installed by ``load``)
        self.outputs = OutputCapture(shell, self.session)

    @line_cell_magic
    def mlops(self, line: str, cell: str | None = None) -> Any:
        __tracebackhide__ = True  # noqa: F841 - read by IPython's traceback printer
        debug = False
        head, text = _first_word(line)
        if head == "--debug":
            debug, line = True, text
            head, text = _first_word(text)
        raw = COMMANDS.get(head)
        try:
            if raw is not None and raw.raw_text:
                words = [head]  # the rest of the line is the argument, as typed
            else:
                words = shlex.split(line, comments=False)
        except ValueError as exc:
            raise UsageError(f"%mlops: cannot read the arguments: {exc}") from None
        if not words:
            words = ["help"]
        name, rest = words[0], words[1:]
        try:
            spec = COMMANDS.get(name)
            if spec is None:
                known = ", ".join(sorted(COMMANDS))
                raise InvalidInputError(
                    f'Unknown subcommand "{name}"', hint=f"Subcommands: {known}. See %mlops help."
                )
            if spec.cell and cell is None:
                raise InvalidInputError(
                    f"%mlops {name} needs a cell: write %%mlops {name} "
                    "on the first line of the cell",
                    hint="See %mlops help.",
                )
            if cell is not None and not spec.cell:
                raise InvalidInputError(
                    f"%%mlops {name} is not a cell magic",
                    hint=f"Use %mlops {name} on a line of its own.",
                )
            if spec.raw_text:
                args = argparse.Namespace(text=[text] if text else [])
            else:
                args = parser_for(name).parse_args(glue_dashed_values(rest))
            return spec.handler(self, args, cell)
        except MlopsError as exc:
            if debug:
                raise
            raise UsageError(exc.describe()) from None

    # -- helpers for handlers -------------------------------------------------------

    @property
    def user_ns(self) -> dict[str, Any]:
        assert self.shell is not None
        return self.shell.user_ns  # type: ignore[no-any-return,unused-ignore]

    def registry(self, *, create: bool = False) -> Registry:
        return default_registry(create=create)

    def value_of(self, text: str, *, text_allowed: bool = False) -> Any:
        """A literal, or a (dotted) name from the user's namespace; nothing is evaluated.

        With ``text_allowed`` (parameters), a word that names no variable is taken as text,
        as on a command line: ``optimizer=adam``.
        """
        word = read_value(text)
        if word is not None and not word.is_name:
            return word.literal
        head, *attributes = text.split(".")
        if not head.isidentifier() or head not in self.user_ns:
            if text_allowed:
                return text
            raise InvalidInputError(
                f'"{text}" is neither a number nor a defined variable',
                hint="Metrics are numbers: write name=0.9 or name=variable.",
            )
        value = self.user_ns[head]
        for attribute in attributes:
            if not attribute.isidentifier() or attribute.startswith("_"):
                raise InvalidInputError(f'"{text}" is not a plain attribute path')
            value = getattr(value, attribute)
        return value

    def pairs(self, items: list[str], *, text_allowed: bool = False) -> dict[str, Any]:
        found = {}
        for key, text in split_pairs(items, example="%mlops log accuracy=0.93 loss=0.2"):
            try:
                found[key] = self.value_of(text, text_allowed=text_allowed)
            except InvalidInputError as exc:
                raise InvalidInputError(f'"{key}": {exc.message}', hint=exc.hint) from None
        return found


def _first_word(line: str) -> tuple[str, str]:
    """The first word of ``line`` and the rest, stripped."""
    parts = line.strip().split(None, 1)
    return (parts[0] if parts else ""), (parts[1].strip() if len(parts) > 1 else "")
