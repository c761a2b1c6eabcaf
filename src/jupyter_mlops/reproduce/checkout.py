"""``%mlops checkout RUN``: a clean notebook of a past run, from the registry alone.

The notebook holds, in order: a heading that names the run, ``%load_ext jupyter_mlops``,
the earlier cells the run depended on as they ran (its closure), and the run's own cells
as they ran, less the literal assignments of its parameters, which move to a cell tagged
``parameters`` (the tag papermill and the exporter read) right after the cell that starts
the run, where the run records them. A one-cell run (``%%mlops run NAME``) is written as
``%mlops start NAME``, the parameters, its body and ``%mlops end``. A run
recorded without a closure (before closures were kept, or outside a notebook) gives its
own cells and a heading that says what is missing.

    result = checkout(registry, "baseline")
    result.path          # checkout-baseline-3f2a9c.ipynb
"""

from __future__ import annotations

import ast
import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from ..errors import InvalidInputError
from ..registry.connection import Registry
from ..tracking.capture.code_names import plain_python
from ..tracking.closure import Closure
from ..tracking.closure_rows import read_closure
from ..tracking.queries.detail import run_detail
from ..tracking.queries.records import RunDetail

# The parameters a run's own code assigned as literals (papermill's injected ones too).
LITERAL_SOURCES = ("literal", "papermill")

CHECKOUT_METADATA = "jupyter_mlops"


@dataclass(frozen=True)
class CheckedOutRun:
    """What :func:`checkout` wrote."""

    path: Path
    run_id: str
    run_name: str
    closure_cells: int
    run_cells: int
    parameters: Mapping[str, Any]
    closure_recorded: bool
    unresolved: tuple[str, ...]

    def summary(self) -> str:
        """One line for a person: what the notebook holds and what is missing."""
        text = (
            f'run "{self.run_name}" ({self.run_id[:12]}) checked out to {self.path}:'
            f" {self.closure_cells} earlier cell{'s' * (self.closure_cells != 1)},"
            f" {len(self.parameters)} parameter{'s' * (len(self.parameters) != 1)},"
            f" {self.run_cells} cell{'s' * (self.run_cells != 1)} of the run"
        )
        if not self.closure_recorded:
            text += "; no closure was recorded, so the cells it depended on are missing"
        elif self.unresolved:
            text += f"; no earlier cell bound {', '.join(self.unresolved)}"
        return text


def checkout(
    registry: Registry,
    ref: str,
    output: str | Path | None = None,
    *,
    overwrite: bool = False,
) -> CheckedOutRun:
    """Write the notebook of run ``ref`` (id, prefix, name or ``last``) to ``output``
    (default ``checkout-NAME-ID.ipynb`` in the working directory). An existing file is
    refused unless ``overwrite``: a notebook someone edited is never replaced silently."""
    detail = run_detail(registry, ref, series=False)
    closure = read_closure(registry, detail.run.id)
    notebook, parameters = checkout_notebook(detail, closure)
    path = Path(output) if output is not None else default_path(detail)
    if path.suffix != ".ipynb":
        raise InvalidInputError(
            f"the checkout of run {detail.run.id[:12]} would be written to {path},"
            " which is not a .ipynb file",
            hint="Give a path ending in .ipynb, or none for checkout-NAME-ID.ipynb.",
        )
    if path.exists() and not overwrite:
        raise InvalidInputError(
            f"{path} exists; the checkout of run {detail.run.id[:12]} did not replace it",
            hint="Give another path with -o, or --force to replace it.",
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return CheckedOutRun(
        path=path,
        run_id=detail.run.id,
        run_name=detail.run.name,
        closure_cells=0 if closure is None else len(closure.cells),
        run_cells=len(detail.code),
        parameters=parameters,
        closure_recorded=closure is not None,
        unresolved=() if closure is None else closure.unresolved,
    )


def default_path(detail: RunDetail) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in detail.run.name)
    return Path(f"checkout-{safe}-{detail.run.id[:6]}.ipynb")


def checkout_notebook(
    detail: RunDetail, closure: Closure | None
) -> tuple[nbformat.NotebookNode, dict[str, Any]]:
    """The notebook of the run ``detail`` describes, and the parameters in its
    ``parameters`` cell.

    The parameters cell comes right after the cell that starts the run, so that the run
    records them as it did. A run of one ``%%mlops run NAME ...`` cell is written as
    ``%mlops start NAME ...``, the parameters, its body and ``%mlops end`` (the same
    options, the same run): a cell magic's body could not take papermill's values."""
    v4 = nbformat.v4
    literals = {p.key: p.value for p in detail.params if p.source in LITERAL_SOURCES}
    originals = [(cell.source, cell.execution_count) for cell in detail.code]
    ends_run = False
    if originals and _RUN_CELL.match(originals[0][0]):
        header, _, body = originals[0][0].lstrip().partition("\n")
        start = "%mlops start" + _RUN_CELL.sub("", header, count=1)
        originals[:1] = [(start.rstrip(), originals[0][1]), (body, originals[0][1])]
        ends_run = True
    run_sources, parameters = move_parameters([source for source, _ in originals], literals)
    cells = [v4.new_markdown_cell(_heading(detail, closure))]
    cells.append(v4.new_code_cell("%load_ext jupyter_mlops"))
    for cell in () if closure is None else closure.cells:
        cells.append(
            v4.new_code_cell(
                cell.source,
                metadata={CHECKOUT_METADATA: {"closure": True, "ran_as": cell.execution_count}},
            )
        )
    for index, (source, (_, ran_as)) in enumerate(zip(run_sources, originals, strict=True)):
        cells.append(
            v4.new_code_cell(source, metadata={CHECKOUT_METADATA: {"run": True, "ran_as": ran_as}})
        )
        if index == 0 and parameters:
            lines = [f"{name} = {value!r}" for name, value in parameters.items()]
            cells.append(v4.new_code_cell("\n".join(lines), metadata={"tags": ["parameters"]}))
    if ends_run:
        cells.append(v4.new_code_cell("%mlops end", metadata={CHECKOUT_METADATA: {"run": True}}))
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata[CHECKOUT_METADATA] = {"checkout_of": detail.run.id}
    return notebook, parameters


# The first line of a one-cell run: ``%%mlops run NAME [options]``
_RUN_CELL = re.compile(r"^\s*%%mlops\s+run\b")


def _heading(detail: RunDetail, closure: Closure | None) -> str:
    run = detail.run
    started = datetime.datetime.fromtimestamp(run.started_at, tz=datetime.timezone.utc)
    lines = [
        f"# Run {run.name}",
        "",
        f"Run `{run.id}` of experiment *{run.experiment}*, {run.status},"
        f" started {started:%Y-%m-%d %H:%M} UTC"
        + (f" in `{run.notebook_path}`." if run.notebook_path else "."),
        "",
    ]
    if closure is None:
        lines.append(
            "No closure was recorded for this run (it ran before closures were kept, or"
            " outside a notebook kernel): only its own cells follow, and the cells they"
            " depended on must be added by hand."
        )
    else:
        lines.append(
            f"The {len(closure.cells)} earlier cells it depended on come first, as they ran,"
            " then its own cells, its parameters in the cell tagged `parameters` after the"
            " one that starts it."
        )
        if closure.unresolved:
            lines.append(
                f" No earlier cell bound {', '.join(f'`{n}`' for n in closure.unresolved)}."
            )
    return "\n".join(lines)


def move_parameters(
    sources: Sequence[str], literals: Mapping[str, Any]
) -> tuple[list[str], dict[str, Any]]:
    """``sources`` without the top-level assignments ``name = literal`` that gave a
    parameter of ``literals`` its recorded value, and those parameters, in the order
    they were assigned. An assignment of another value, or of several names at once,
    stays where it is (the parameter is then not moved)."""
    moved: dict[str, Any] = {}
    result: list[str] = []
    for source in sources:
        lines = source.splitlines(keepends=True)
        try:  # a cell magic's first line becomes a `pass`: the lines keep their numbers
            tree = ast.parse(plain_python(source))
        except SyntaxError:
            result.append(source)
            continue
        dropped: set[int] = set()
        for statement in tree.body:
            name, value = _literal_assignment(statement)
            if name is None or name not in literals or name in moved:
                continue
            if not _same(value, literals[name]):
                continue
            moved[name] = literals[name]
            end = statement.end_lineno or statement.lineno
            dropped.update(range(statement.lineno - 1, end))
        if not dropped:
            result.append(source)
            continue
        kept = "".join(line for number, line in enumerate(lines) if number not in dropped)
        result.append(kept.rstrip("\n"))
    return result, moved


def _literal_assignment(statement: ast.stmt) -> tuple[str | None, Any]:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        return None, None
    if not isinstance(target, ast.Name):
        return None, None
    try:
        return target.id, ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None, None


def _same(value: Any, recorded: Any) -> bool:
    if isinstance(value, tuple) and isinstance(recorded, list):  # JSON has no tuples
        value = list(value)
    return type(value) is type(recorded) and value == recorded
