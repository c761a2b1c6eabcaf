"""The machinery of ``jupyter mlops``: the command group, the registry option, error
translation and plain-text tables. Each capability's commands live in a module of their
own and attach themselves to :data:`main`."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from .._version import __version__
from ..errors import MlopsError
from ..registry.connection import Registry
from ..tracking.formatting import value_text

F = TypeVar("F", bound=Callable[..., Any])


def _fail(error: MlopsError) -> None:
    click.echo(f"Error: {error.message}", err=True)
    if error.hint:
        click.echo(f"Hint: {error.hint}", err=True)
    sys.exit(1)


def friendly(command: F) -> F:
    """Turn our errors into a message, a hint and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except MlopsError as error:
            _fail(error)

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jupyter-mlops")
def main() -> None:
    """Track runs, guard models and ship notebooks as pipelines, from the command line."""
