"""The words of the ``%mlops`` commands that record things, read one way for every reader.

``%mlops log``, ``param``, ``tag``, ``snapshot``, ``register``, ``drift``, ``gate`` and
``promote`` are run by the magics in a notebook and turned into Python calls by the
exporter in a pipeline step. Both read a command line with the argparse parsers built
here, split ``name=value`` pairs, gate rules and values the same way, so a line means
the same thing in both places; nothing here runs a command or imports IPython.

    args = parse_line("snapshot", ["df", "--name", "train"])
    args.data, args.name, args.role         # ('df', 'train', None)
    read_value("model.best_score_")         # ValueWord(path=('model', 'best_score_'))
"""

from __future__ import annotations

import argparse
import ast
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ExpressionError, InvalidInputError


class LineParser(argparse.ArgumentParser):
    """argparse that raises InvalidInputError instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InvalidInputError(
            f"%mlops {self.prog.split()[-1]}: {message}",
            hint=f"See %mlops help {self.prog.split()[-1]}.",
        )

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise InvalidInputError(message or "invalid arguments")


# -- the arguments of each command ------------------------------------------------------------


def log_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("values", nargs="+", metavar="NAME=VALUE")
    parser.add_argument("--step", type=int, default=None)


def param_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("values", nargs="+", metavar="NAME=VALUE")


def tag_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("values", nargs="+", metavar="KEY=VALUE")
    parser.add_argument(
        "--run", "-r", default=None, metavar="RUN", help="tag this run (default: the active run)"
    )


def snapshot_arguments(parser: argparse.ArgumentParser) -> None:
    from ..snapshots.store import ROLES

    parser.add_argument("data", metavar="VAR_OR_PATH")
    parser.add_argument("--name", default=None)
    parser.add_argument("--role", default=None, choices=list(ROLES))
    parser.add_argument(
        "--materialize",
        action="store_true",
        help="store the data itself (parquet) so the run can be reproduced",
    )
    parser.add_argument("--index", default="auto", choices=["auto", "include", "ignore"])


def register_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("variable", metavar="VAR")
    parser.add_argument("--name", "-n", required=True, help="the model's name, e.g. churn")
    parser.add_argument("--run", default=None, help="the run that trained it (default: see below)")
    parser.add_argument("--alias", "-a", default=None, help="point this alias at the new version")
    parser.add_argument("--snapshot", default=None, help="the training data snapshot (name or id)")
    parser.add_argument("--description", "-d", default=None)


def drift_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "reference", metavar="REF", help="variable, snapshot, model@version or file"
    )
    parser.add_argument("current", metavar="CUR", help="variable, file, or materialized snapshot")
    parser.add_argument("--columns", "-c", default=None, metavar="A,B", help="compare only these")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (0.05)")
    parser.add_argument(
        "--critical", default=None, metavar="A,B", help="columns where any drift fails the gate"
    )
    parser.add_argument("--name", "-n", default=None, help="a label for the stored report")
    parser.add_argument(
        "--model", "-m", default=None, metavar="NAME@VERSION", help="link the report to a model"
    )


def check_arguments(parser: argparse.ArgumentParser) -> None:
    """What gate and promote both take: values for rules, data with expectations, drift."""
    parser.add_argument("--value", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--data", default=None, metavar="VAR_OR_SNAPSHOT")
    parser.add_argument("--expect", "-x", action="append", default=[], metavar="EXPECTATION")
    parser.add_argument(
        "--drift",
        action="append",
        default=[],
        metavar="REF:CUR",
        help="a drift check that must not ask for retraining, e.g. train:todays_df",
    )
    parser.add_argument(
        "--critical", default=None, metavar="A,B", help="drift in these columns fails the gate"
    )
    parser.add_argument(
        "--fail-on",
        default=None,
        choices=["retrain", "review"],
        help="the drift decision that fails the gate (retrain)",
    )
    parser.add_argument(
        "--prediction", default=None, metavar="COLUMN", help="--data's column of predictions"
    )
    parser.add_argument("--label", default=None, metavar="COLUMN", help="--data's true labels")
    parser.add_argument(
        "--positive", default=None, metavar="VALUE", help="the positive class (1 / True)"
    )


def gate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rules", nargs="*", metavar="RULE")
    parser.add_argument("--run", default=None, help="the run whose metrics the rules read")
    parser.add_argument("--model", "-m", default=None, help="whose aliases champion.x means")
    check_arguments(parser)


def promote_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ref", metavar="NAME@VERSION")
    parser.add_argument("--alias", "-a", required=True, help="the alias to move, e.g. champion")
    parser.add_argument("--gate", "-g", action="append", default=[], metavar="RULE")
    check_arguments(parser)


# The commands a pipeline step can run as Python calls, with their arguments.
RECORDING_COMMANDS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "log": log_arguments,
    "param": param_arguments,
    "tag": tag_arguments,
    "snapshot": snapshot_arguments,
    "register": register_arguments,
    "drift": drift_arguments,
    "gate": gate_arguments,
    "promote": promote_arguments,
}


def parse_line(name: str, words: list[str]) -> argparse.Namespace:
    """The arguments of ``%mlops NAME WORDS...`` for one of :data:`RECORDING_COMMANDS`.

    Raises InvalidInputError, worded as the magic words it, when they do not parse.
    """
    parser = LineParser(prog=f"%mlops {name}", add_help=False)
    RECORDING_COMMANDS[name](parser)
    return parser.parse_args(glue_dashed_values(words))


_VALUE_OPTIONS = ("--sort", "-s", "--where", "-w", "--code", "-c")


def glue_dashed_values(words: list[str]) -> list[str]:
    """Let ``--sort -accuracy`` mean descending, not a second option (argparse's reading)."""
    glued: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word in _VALUE_OPTIONS and index + 1 < len(words) and words[index + 1].startswith("-"):
            glued.append(f"{word}={words[index + 1]}")
            index += 2
            continue
        glued.append(word)
        index += 1
    return glued


# -- reading the words ------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueWord:
    """A value as a command line writes it: a Python literal, or a (dotted) variable name.

    Nothing is evaluated: ``literal`` holds the value when ``path`` is empty.
    """

    text: str
    path: tuple[str, ...] = ()
    literal: Any = None

    @property
    def is_name(self) -> bool:
        return bool(self.path)


def read_value(text: str) -> ValueWord | None:
    """``0.9`` is a literal, ``acc`` or ``model.best_score_`` a name; anything else None."""
    with contextlib.suppress(ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return ValueWord(text, literal=ast.literal_eval(text))  # not a literal: maybe a name
    parts = tuple(text.split("."))
    if parts[0].isidentifier() and all(
        p.isidentifier() and not p.startswith("_") for p in parts[1:]
    ):
        return ValueWord(text, path=parts)
    return None


def split_pairs(items: list[str], *, example: str, word: str = "name") -> list[tuple[str, str]]:
    """``["a=1", "b=x"]`` as ``[("a", "1"), ("b", "x")]``; a word without ``=`` is an error."""
    found = []
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise InvalidInputError(
                f'"{item}" is not of the form {word}=value', hint=f"For example: {example}"
            )
        found.append((key, text))
    return found


def rules_from_words(words: list[str]) -> list[str]:
    """Rules from the words of a command line: each quoted word is a rule; unquoted words
    that only make sense together (``accuracy >= 0.85``) are one rule."""
    from ..gates.fairness_functions import FUNCTIONS
    from . import expressions

    if not words:
        return []
    try:
        for word in words:
            expressions.parse(word, functions=FUNCTIONS)
    except ExpressionError:
        return [" ".join(words)]
    return words


def guess_role(variable: str) -> str:
    """A snapshot role from a variable's name: ``X_train`` is train, ``df_test`` is test."""
    lowered = variable.lower()
    if "train" in lowered:
        return "train"
    if any(word in lowered for word in ("test", "valid", "holdout", "eval")):
        return "test"
    if "ref" in lowered:
        return "reference"
    return "input"
