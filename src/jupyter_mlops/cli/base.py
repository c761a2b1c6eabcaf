"""The machinery of ``jupyter mlops``: the command group, the registry option, error
translation and plain-text tables. Each capability's commands live in a module of their
own and attach themselves to :data:`main` when that module is imported, which happens
when one of its commands runs (see :data:`COMMAND_MODULES`)."""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import click

from .._version import __version__
from ..errors import MlopsError
from ..registry.connection import Registry
from ..tracking.formatting import value_text

F = TypeVar("F", bound=Callable[..., Any])


def _fail(error: MlopsError, status: int = 1) -> None:
    click.echo(f"Error: {error.message}", err=True)
    if error.hint:
        click.echo(f"Hint: {error.hint}", err=True)
    sys.exit(status)


def friendly(command: F, *, status: int = 1) -> F:
    """Turn our errors into a message, a hint and exit status ``status`` (1, unless the
    command gives 1 a meaning of its own)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except MlopsError as error:
            _fail(error, status)

    return wrapper  # type: ignore[return-value]


def open_registry(path: str | None) -> Registry:
    """The registry a command works on, closed when the command ends.

    It is tied to the running command's click context (``with_resource``), so every
    command that opens a registry through here closes it, whether it returns, exits
    with a status or fails.
    """
    registry = Registry.open(path) if path else Registry.open()
    return click.get_current_context().with_resource(registry)


registry_option = click.option(
    "--registry",
    "registry_path",
    default=None,
    metavar="PATH",
    help="Registry file or directory (default: MLOPS_REGISTRY, else the nearest .mlops/).",
)


SHORT_ID_DIGITS = 12


def short_id(full: str) -> str:
    """An id as a table shows it: its first 12 digits, which name it anywhere an id is
    asked for (a unique prefix will do); JSON and CSV keep the whole id."""
    return full[:SHORT_ID_DIGITS]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with aligned columns."""
    cells = [[value_text(v) for v in row] for row in rows]
    widths = [max([len(h), *[len(r[i]) for r in cells]]) for i, h in enumerate(headers)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(headers, widths)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


# The module under jupyter_mlops.cli that defines each command. A command's module is
# imported when the command runs (``--help`` without a command imports them all), so
# ``jupyter mlops runs`` pays neither for the gates and drift statistics nor for the
# pipeline runner. tests/test_cli.py checks this table against the modules.
COMMAND_MODULES = {
    "archive": "housekeeping",
    "artifacts": "artifacts",
    "backup": "runs",
    "best": "runs",
    "checkout": "reproduce",
    "columns": "columns",
    "compare": "runs",
    "drift": "drift",
    "export": "pipelines",
    "feedback": "serving",
    "gate": "guard",
    "import": "importing",
    "init": "runs",
    "live": "serving",
    "merge": "merge",
    "models": "guard",
    "monitor": "monitor",
    "move": "housekeeping",
    "note": "housekeeping",
    "pipeline": "pipelines",
    "promote": "guard",
    "purge": "housekeeping",
    "push": "push",
    "rename": "housekeeping",
    "reproduce": "reproduce",
    "restore": "housekeeping",
    "runs": "runs",
    "serve": "serving",
    "show": "runs",
    "status": "runs",
    "tag": "housekeeping",
    "unalias": "guard",
    "untag": "housekeeping",
}


class LazyGroup(click.Group):
    """A command group that imports a command's module only when the command is needed.

    ``modules`` maps each command's name to the module (relative to this package) whose
    import attaches the command to the group, as click's documentation suggests for
    command lines whose subcommands have costly imports.
    """

    def __init__(self, *args: Any, modules: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.modules = dict(modules)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.modules, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = self.modules.get(cmd_name)
        if cmd_name not in self.commands and module is not None:
            importlib.import_module(f".{module}", __package__)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    modules=COMMAND_MODULES,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="jupyter-mlops")
def main() -> None:
    """Track runs, guard models and ship notebooks as pipelines, from the command line."""
