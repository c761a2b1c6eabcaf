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


# Tags that give a cell a role, ending the run of untagged cells that continue a Kale
# ``pipeline-metrics`` cell (as in the exporter's layout)
_ROLE_TAGS = frozenset(
    {"parameters", "pipeline-parameters", "injected-parameters", "setup", "imports",
     "functions", "metrics", "pipeline-metrics", "gate"}
)  # fmt: skip
_ROLE_PREFIXES = ("step:", "block:", "after:", "prev:", "drift:", "timeout:", "limit:")
_SKIP_TAGS = frozenset({"skip", "skip-execution"})


@dataclass(frozen=True)
class NotebookMetricsCells:
    """The metrics cells of a saved notebook: their cell ids and their sources."""

    ids: frozenset[str]
    sources: frozenset[str]
    all_ids: frozenset[str]

    def holds(self, cell_id: str | None, source: str) -> bool:
        """Whether the cell being run (its id as the frontend sends it, else its source)
        is a metrics cell of this notebook."""
        if cell_id and cell_id in self.all_ids:
            return cell_id in self.ids
        return source.strip() in self.sources


def metrics_cells_of(notebook: dict[str, object]) -> NotebookMetricsCells:
    """The metrics cells of a notebook's JSON data: cells tagged ``metrics`` or
    ``pipeline-metrics``, and the untagged cells after a ``pipeline-metrics`` cell."""
    ids: set[str] = set()
    sources: set[str] = set()
    all_ids: set[str] = set()
    continued = False
    cells = notebook.get("cells")
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        metadata = cell.get("metadata")
        raw_tags = metadata.get("tags") if isinstance(metadata, dict) else None
        tags = [str(t).strip().lower() for t in raw_tags] if isinstance(raw_tags, list) else []
        if any(t in _SKIP_TAGS for t in tags):
            continue
        role = any(t in _ROLE_TAGS or t.startswith(_ROLE_PREFIXES) for t in tags)
        metrics = is_metrics_cell(tags) or (continued and not role)
        if role:
            continued = "pipeline-metrics" in tags
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        cell_id = cell.get("id")
        if isinstance(cell_id, str):
            all_ids.add(cell_id)
        if metrics:
            sources.add(text.strip())
            if isinstance(cell_id, str):
                ids.add(cell_id)
    return NotebookMetricsCells(frozenset(ids), frozenset(sources), frozenset(all_ids))


class MetricsCellFinder:
    """Reads a notebook file's metrics cells again only when the file changed (its size
    and modification time), so asking after every cell costs one ``stat``."""

    def __init__(self) -> None:
        self._seen: tuple[str, int, int, NotebookMetricsCells] | None = None

    def of(self, path: str) -> NotebookMetricsCells | None:
        import json
        import os

        stat = None
        for candidate in _candidates(path):
            try:
                stat = os.stat(candidate)
            except OSError:
                continue
            path = candidate
            break
        if stat is None:
            return None
        seen = self._seen
        if seen is not None and seen[:3] == (path, stat.st_mtime_ns, stat.st_size):
            return seen[3]
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return None
        found = metrics_cells_of(data if isinstance(data, dict) else {})
        self._seen = (path, stat.st_mtime_ns, stat.st_size, found)
        return found


def _candidates(path: str) -> list[str]:
    """``path``, then its shorter tails: JupyterLab names the notebook relative to the
    server's root, and the kernel runs in the notebook's folder."""
    import os

    parts = path.replace("\\", "/").split("/")
    return [path] + [os.path.join(*parts[i:]) for i in range(1, len(parts))]
