"""Write the Python modules of a pipeline: ``steps/pipeline_setup.py`` and one per step.

A step module reads like the notebook cells it came from: a docstring that lists
its inputs, parameters and outputs, an import of the setup names it uses, then each
cell's code under a ``# --- cell N`` comment. The runner defines the inputs and
parameters before the code runs and saves the outputs after it: no loading or
saving is inlined, so the module stays the notebook's code.

Three rewrites make cells mean in a pipeline what they meant in the notebook:

- in a ``gate`` cell, a bare condition (``accuracy >= 0.85``) becomes
  ``mlops_gate_check(accuracy >= 0.85, "accuracy >= 0.85", {"accuracy": accuracy})``,
  which fails the gate when false (in the notebook it only displayed False) and stores
  the verdict with the values it compared;
- in a ``metrics`` cell, a bare name (``accuracy``) becomes ``mlops.log(accuracy=accuracy)``
  and ``print(accuracy)`` (Kale's convention) is followed by it (see
  :mod:`jupyter_mlops.tracking.metrics_cells`, the rule the notebook follows too);
- after a cell tagged ``drift:VAR``, ``mlops_drift_check("VAR", VAR)`` checks VAR
  against its reference before the step goes on.

Exported with ``--seed N``, the setup module and every step module start with
``mlops_seed(N)``, which seeds Python's ``random``, NumPy's global generator and torch.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass

from ..runner.spec import SETUP_MODULE
from ..tracking.metrics_cells import metric_lines
from ..tracking.secrets import Withheld, redact_param
from .layout import CodeCell
from .plan import PipelinePlan, PlannedStep
from .quoting import docstring_text

RUNTIME_IMPORTS = {
    "mlops": "from jupyter_mlops.runner import step_api as mlops",
    "mlops_shell": "from jupyter_mlops.runner.step_api import shell as mlops_shell",
    "mlops_gate_check": "from jupyter_mlops.runner.step_api import gate_condition as mlops_gate_check",
    "mlops_drift_check": "from jupyter_mlops.runner.step_api import drift_check as mlops_drift_check",
    "display": "from jupyter_mlops.runner.step_api import display",
    "mlops_seed": "from jupyter_mlops.runner.step_api import seed_everything as mlops_seed",
}
_TRACKING_IMPORTS = ("import jupyter_mlops as mlops", "import jupyter_mlops.api as mlops")


@dataclass(frozen=True)
class StepCode:
    """A generated step module with what the spec records about it."""

    step: str
    module: str
    text: str
    gate_conditions: tuple[str, ...]
    metrics: tuple[str, ...]
    calls_check: bool = False  # calls mlops.check: its outcome depends on the registry

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def setup_module_text(
    plan: PipelinePlan, *, pipeline: str, notebook: str, seed: int | None = None
) -> str:
    """The shared setup module: setup cells, then imports found in step cells.

    With ``seed`` (``--seed N``), the module seeds every generator before the setup code runs.
    """
    parts = [
        f'"""Setup code of the pipeline "{docstring_text(pipeline)}", exported from'
        f" {docstring_text(notebook)}.\n\n"
        "Every step imports the names it needs from here. The runner runs this code once\n"
        "per pipeline run and starts each step as a copy of that process, as this code\n"
        "left it (or runs it in each step's process, where it cannot). Classes defined\n"
        'here can be passed between steps."""\n'
    ]
    if seed is not None:
        parts.append(_seed_block(seed))
    for cell in plan.setup_cells:
        parts.append(_cell_block(cell, _tracking_import_fixed(cell.source)))
    if plan.hoisted_imports:
        lines = [_tracking_import_fixed(statement) for statement in plan.hoisted_imports]
        parts.append(
            "# --- imports written in step cells, shared by every step\n" + "\n".join(lines)
        )
    return "\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def step_module_text(
    plan: PipelinePlan,
    step: PlannedStep,
    *,
    pipeline: str,
    notebook: str,
    seed: int | None = None,
) -> StepCode:
    """One step's module (see the module docstring); with ``seed``, it seeds every
    generator before the cells' code runs."""
    gate_conditions: list[str] = []
    metrics: dict[str, None] = dict.fromkeys(step.names.logged_metrics)
    runtime = set(step.runtime_names_used)
    blocks: list[str] = []
    for cell in step.draft.computed:
        blocks.append(
            _cell_block(
                cell,
                _tracking_import_fixed(cell.source.strip("\n")),
                "computed from the parameters",
            )
        )
    for cell in step.draft.cells:
        source = _tracking_import_fixed(cell.source)
        if cell.index in step.draft.gate_cells:
            source, conditions = _gate_rewrite(cell, source)
            gate_conditions.extend(conditions)
            if any(c.startswith("bare:") for c in conditions):
                runtime.add("mlops_gate_check")
            gate_conditions[:] = [c.removeprefix("bare:") for c in gate_conditions]
        if cell.index in step.draft.metrics_cells:
            source, names = _metrics_rewrite(cell, source)
            if names:
                runtime.add("mlops")
                metrics.update(dict.fromkeys(names))
        checks = [t.variable for t in step.draft.drift if t.cell_index == cell.index]
        if checks:
            runtime.add("mlops_drift_check")
            source = (
                source.rstrip()
                + "\n"
                + "".join(
                    f"mlops_drift_check({variable!r}, {variable})  # drift:{variable}\n"
                    for variable in dict.fromkeys(checks)
                )
            )
        blocks.append(_cell_block(cell, source))

    cells = [c.index + 1 for c in step.draft.cells]
    span = f"cell {cells[0]}" if len(cells) == 1 else f"cells {cells[0]}-{cells[-1]}"
    doc = [
        f'Step "{step.name}" of the pipeline "{docstring_text(pipeline)}",'
        f" from {docstring_text(notebook)} ({span}).",
        "",
    ]
    doc.append("Run by the jupyter-mlops runner in a process of its own. Before this code runs,")
    doc.append(
        "the runner defines:" if step.inputs or step.parameters else "the runner defines nothing."
    )
    for item in step.inputs:
        doc.append(f'    {item.name:<20} input, from step "{item.from_step}"')
    for name in step.parameters:
        parameter = next(p for p in plan.parameters if p.name == name)
        default = redact_param(name, parameter.default)  # the module is recorded as code
        shown = f"<{default.text}>" if isinstance(default, Withheld) else repr(default)
        doc.append(f"    {name:<20} parameter, {parameter.type}, default {docstring_text(shown)}")
    if step.outputs:
        doc.append("After it runs, the runner saves: " + ", ".join(step.outputs) + ".")
    if gate_conditions:
        doc.append("This step is a gate: if a condition fails, no step downstream runs.")
    header = '"""' + "\n".join(doc) + '\n"""\n'

    imports: list[str] = []
    if step.setup_names_used:
        shared = ", ".join(sorted(step.setup_names_used))
        imports.append(f"from {SETUP_MODULE} import {shared}")
    imports.extend(RUNTIME_IMPORTS[name] for name in sorted(runtime) if name in RUNTIME_IMPORTS)
    text = header
    if imports:
        text += "\n" + "\n".join(imports) + "\n"
    if seed is not None:
        text += "\n" + _seed_block(seed)
    text += "\n\n" + "\n\n".join(b.rstrip("\n") for b in blocks) + "\n"
    return StepCode(
        step=step.name,
        module=step.draft.module,
        text=text,
        gate_conditions=tuple(gate_conditions),
        metrics=tuple(metrics),
        calls_check=any(_calls_check(cell.tree) for cell in step.draft.cells),
    )


def _seed_block(seed: int) -> str:
    return (
        f"# --- exported with --seed {seed}: random, NumPy and torch start from it\n"
        f"{RUNTIME_IMPORTS['mlops_seed']}\n\nmlops_seed({seed})\n"
    )


def _calls_check(tree: ast.Module) -> bool:
    """Whether the code calls ``mlops.check(...)`` (or ``jupyter_mlops.check``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if (
                node.func.attr == "check"
                and isinstance(owner, ast.Name)
                and owner.id in ("mlops", "jupyter_mlops")
            ):
                return True
    return False


def _cell_block(cell: CodeCell, source: str, note: str = "") -> str:
    label = f"# --- cell {cell.index + 1}"
    if cell.execution_count is not None:
        label += f" [{cell.execution_count}]"
    if note:
        label += f", {note}"
    return f"{label} " + "-" * max(3, 78 - len(label)) + "\n" + source.rstrip() + "\n"


def _tracking_import_fixed(source: str) -> str:
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if line.strip() in _TRACKING_IMPORTS:
            indent = line[: len(line) - len(line.lstrip())]
            lines[i] = indent + RUNTIME_IMPORTS["mlops"]
    return "\n".join(lines)


def _gate_rewrite(cell: CodeCell, source: str) -> tuple[str, list[str]]:
    """Rewrite bare conditions in ``source`` (``cell``'s code, line for line)."""
    lines = source.split("\n")
    conditions: list[str] = []
    replacements: list[tuple[int, int, str]] = []
    for statement in cell.tree.body:
        if isinstance(statement, ast.Assert):
            conditions.append(ast.get_source_segment(cell.source, statement.test) or "")
        elif isinstance(statement, ast.Expr) and _is_condition(statement.value):
            text = ast.get_source_segment(cell.source, statement.value) or ""
            conditions.append("bare:" + text)
            one_line = " ".join(text.split())
            values = ", ".join(f"{name!r}: {name}" for name in _compared_names(statement.value))
            replacements.append(
                (statement.lineno, statement.end_lineno or statement.lineno,
                 f"mlops_gate_check({text}, {one_line!r}, {{{values}}})")
            )  # fmt: skip
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            name = ast.unparse(statement.value.func)
            if name in ("mlops.check", "mlops_gate_check") and statement.value.args:
                conditions.append(ast.unparse(statement.value.args[0]))
    for start, end, text in reversed(replacements):
        new = text.split("\n")
        new += [""] * ((end - start + 1) - len(new))
        lines[start - 1 : end] = new
    return "\n".join(lines), conditions


def _compared_names(node: ast.expr) -> list[str]:
    """The plain names a condition compares (not the functions it calls), in order."""
    called = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    local = {
        n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    local |= {a.arg for n in ast.walk(node) if isinstance(n, ast.Lambda) for a in n.args.args}
    names = [
        n.id
        for n in ast.walk(node)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in called
        and n.id not in local
    ]  # fmt: skip
    return list(dict.fromkeys(names))


def _is_condition(node: ast.expr) -> bool:
    return isinstance(node, (ast.Compare, ast.BoolOp)) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    )


def _metrics_rewrite(cell: CodeCell, source: str) -> tuple[str, list[str]]:
    """Log the metrics of a metrics cell, line for line: ``accuracy`` becomes
    ``mlops.log(accuracy=accuracy)``, ``print(accuracy)`` is followed by it."""
    lines = source.split("\n")
    names: list[str] = []
    for found in metric_lines(cell.tree):
        names.append(found.name)
        call = f"mlops.log({found.name}={found.name})"
        if found.printed:
            lines[found.end_line - 1] = f"{lines[found.end_line - 1].rstrip()}; {call}"
        else:
            lines[found.line - 1] = call
    return "\n".join(lines), names
