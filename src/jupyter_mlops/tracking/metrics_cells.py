"""What a ``metrics`` (or Kale's ``pipeline-metrics``) cell logs: one rule for both sides.

A line that is a bare name (``accuracy``) or prints one name (``print(accuracy)``, Kale's
convention) logs that name's value as a metric, under that name. The exported step logs
it with ``mlops.log``; in the notebook, with a run active, the same cell logs the same
values into the notebook run, so the two runs can be compared (parity). Other lines run
as written and log nothing (``mlops.log(...)`` calls log what they say).

    logged_names(ast.parse("print(accuracy)\\nf1\\nprint('done')"))   # ["accuracy", "f1"]
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

METRICS_TAGS = frozenset({"metrics", "pipeline-metrics"})


@dataclass(frozen=True)
class MetricLine:
    """A statement of a metrics cell that logs ``name``."""

    name: str
    line: int
    end_line: int
    printed: bool  # print(name), else a bare name


def metric_lines(tree: ast.Module) -> list[MetricLine]:
    """The statements of a metrics cell that log a metric (see the module docstring)."""
    found: list[MetricLine] = []
    for statement in tree.body:
        name = metric_name(statement)
        if name is not None:
            found.append(
                MetricLine(
                    name=name,
                    line=statement.lineno,
                    end_line=statement.end_lineno or statement.lineno,
                    printed=not isinstance(getattr(statement, "value", None), ast.Name),
                )
            )
    return found


def metric_name(statement: ast.stmt) -> str | None:
    """``accuracy`` for the statement ``accuracy`` or ``print(accuracy)``, else None."""
    if not isinstance(statement, ast.Expr):
        return None
    value = statement.value
    if isinstance(value, ast.Name):
        return value.id
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "print"
        and len(value.args) == 1
        and not value.keywords
        and isinstance(value.args[0], ast.Name)
    ):
        return value.args[0].id
    return None


def logged_names(tree: ast.Module) -> list[str]:
    """The metric names a metrics cell logs, in order, each once."""
    return list(dict.fromkeys(line.name for line in metric_lines(tree)))


def silent_lines(tree: ast.Module) -> list[ast.stmt]:
    """The expression statements of a metrics cell that log nothing although they look
    like they report a value (``print("acc", acc)``, ``acc * 100``); calls of
    ``mlops.log`` and assignments are left out."""
    silent: list[ast.stmt] = []
    for statement in tree.body:
        if not isinstance(statement, ast.Expr) or metric_name(statement) is not None:
            continue
        value = statement.value
        if isinstance(value, ast.Constant):
            continue
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
            owner = value.func.value
            if isinstance(owner, ast.Name) and owner.id in ("mlops", "jupyter_mlops"):
                continue
        silent.append(statement)
    return silent


def is_metrics_cell(tags: tuple[str, ...] | list[str]) -> bool:
    """Whether a cell's tags make it a metrics cell."""
    return any(str(tag).strip().lower() in METRICS_TAGS for tag in tags)
