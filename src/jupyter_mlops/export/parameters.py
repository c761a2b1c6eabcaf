"""Pipeline parameters from ``parameters`` cells, as papermill and Kale write them.

A name assigned a literal (``lr = 0.1``, ``features: list = ["a"]``) is a typed parameter
with that default; the annotation, when given, is its type. Any other code of the cell
(``d = a == 3``, ``n = len(items)``) computes values from the parameters: the plan runs
it at the start of each step that reads what it computes. papermill's
``injected-parameters`` cell gives the defaults of the notebook papermill wrote.
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Any

from ..errors import ExportError
from ..runner.spec import ParameterSpec
from ..tracking.capture.code_names import analyse_cells
from .layout import INJECTED_PARAMETERS, CodeCell

_TYPE_NAMES = {"int": "int", "float": "float", "str": "str", "bool": "bool", "list": "list",
               "dict": "dict", "List": "list", "Dict": "dict", "None": "none"}  # fmt: skip


def read_parameters(cells: tuple[CodeCell, ...]) -> tuple[ParameterSpec, ...]:
    """Typed parameters from ``parameters`` cells: their literal assignments."""
    return split_parameters(cells)[0]


def split_parameters(
    cells: tuple[CodeCell, ...],
) -> tuple[tuple[ParameterSpec, ...], tuple[CodeCell, ...]]:
    """The typed parameters of ``parameters`` cells (their literal assignments) and the
    rest of their code, which computes values from them (``d = a == 3``), as papermill
    allows: one CodeCell per cell that has such code, in notebook order.

    The literals of papermill's ``injected-parameters`` cell replace the defaults
    above them (an int given for a float parameter stays a float). Code above that cell
    computed its values before papermill injected anything, from the defaults it
    replaced: it is given those values again (see :func:`_as_papermill_ran`).
    """
    found: dict[str, ParameterSpec] = {}
    computed: list[CodeCell] = []
    replaced: dict[str, tuple[Any, int]] = {}  # name -> (default papermill replaced, cell)
    for cell in cells:
        injected = INJECTED_PARAMETERS in (t.strip().lower() for t in cell.tags)
        rest: list[ast.stmt] = []
        for statement in cell.tree.body:
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                continue
            if isinstance(statement, ast.Assign) and all(
                isinstance(t, ast.Name) for t in statement.targets
            ):
                targets = [t.id for t in statement.targets]  # type: ignore[attr-defined]
                annotation: ast.expr | None = None
                value_node: ast.expr | None = statement.value
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                targets = [statement.target.id]
                annotation = statement.annotation
                value_node = statement.value
                if value_node is None:
                    raise _parameter_error(cell, statement, targets[0], "has no default value")
            else:
                rest.append(statement)
                continue
            if not _is_literal(value_node):  # computed from the parameters
                rest.append(statement)
                continue
            value = ast.literal_eval(value_node)  # type: ignore[arg-type]  # checked above
            for target in targets:
                spec = _typed_parameter(cell, statement, target, value, annotation)
                earlier = found.get(target)
                if injected and earlier is not None:
                    spec = _injected(cell, statement, earlier, spec)
                    replaced.setdefault(target, (earlier.default, cell.index))
                found[target] = spec
        if rest:
            computed.append(_code_of(cell, rest))
    written = {
        node.id
        for code in computed
        for node in ast.walk(code.tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    for name in sorted(written & set(found)):
        spec = found[name]
        cell = next(c for c in cells if c.index == spec.cell_index)
        raise _parameter_error(
            cell,
            cell.tree.body[0],
            name,
            "is both given a literal default and computed by code; a parameter of the"
            " pipeline is set by its caller",
        )
    computed = [_as_papermill_ran(code, replaced) for code in computed]
    return tuple(found.values()), tuple(computed)


def _as_papermill_ran(code: CodeCell, replaced: dict[str, tuple[Any, int]]) -> CodeCell:
    """``code`` (computed in a parameters cell) reading the defaults papermill replaced
    below it, as papermill ran it: with those defaults, the run's values restored after."""
    reads = analyse_cells([(code.index, code.tree)]).reads
    stale = {
        name: default
        for name, (default, injected_at) in replaced.items()
        if name in reads and injected_at > code.index
    }
    if not stale:
        return code
    saved = ", ".join(f"{name!r}: {name}" for name in stale)
    before = [f"_mlops_run_values = {{{saved}}}"] + [
        f"{name} = {default!r}  # as papermill computed this code: before it injected {name}"
        for name, default in stale.items()
    ]
    after = [f"{name} = _mlops_run_values[{name!r}]" for name in stale]
    text = "\n".join(before) + "\n" + code.source.strip("\n") + "\n" + "\n".join(after)
    text += "\ndel _mlops_run_values"
    return dataclasses.replace(code, source=text, tree=ast.parse(text))


def _is_literal(node: ast.expr | None) -> bool:
    try:
        ast.literal_eval(node)  # type: ignore[arg-type]
    except (ValueError, SyntaxError, TypeError):
        return False
    return True


def _injected(
    cell: CodeCell, statement: ast.stmt, earlier: ParameterSpec, given: ParameterSpec
) -> ParameterSpec:
    """A value papermill injected for a parameter declared above it, with the declared type."""
    value = given.default
    if earlier.type == "float" and given.type == "int":
        value = float(value)
    elif earlier.type not in (given.type, "none") and not (given.type == "none"
                                                            and earlier.nullable):  # fmt: skip
        raise _parameter_error(
            cell,
            statement,
            given.name,
            f"is injected as {given.type}, but cell {(earlier.cell_index or 0) + 1} declares"
            f" it {earlier.type}",
        )
    kind = earlier.type if earlier.type != "none" else given.type
    return ParameterSpec(
        name=given.name,
        type=kind,
        default=value,
        nullable=earlier.nullable or given.nullable,
        cell_index=earlier.cell_index,
    )


def _code_of(cell: CodeCell, statements: list[ast.stmt]) -> CodeCell:
    """The lines of ``statements`` of ``cell`` as a cell of their own, on the lines they
    hold in the cell (so errors name the cell's own line numbers)."""
    lines = cell.source.split("\n")
    kept = [""] * len(lines)
    for statement in statements:
        for number in range(statement.lineno - 1, statement.end_lineno or statement.lineno):
            kept[number] = lines[number]
    text = "\n".join(kept).strip("\n")
    text = "\n" * (statements[0].lineno - 1) + text
    return CodeCell(
        index=cell.index,
        source=text,
        tags=cell.tags,
        tree=ast.parse(text),
        execution_count=cell.execution_count,
    )


def _typed_parameter(
    cell: CodeCell, statement: ast.stmt, name: str, value: Any, annotation: ast.expr | None
) -> ParameterSpec:
    if isinstance(value, tuple):
        value = list(value)
    inferred = _value_type(value)
    declared, nullable = _annotation_type(annotation) if annotation is not None else (None, False)
    if inferred is None:
        raise _parameter_error(
            cell,
            statement,
            name,
            f"has a {type(value).__name__} value; parameters are"
            " int, float, str, bool, list, dict or None",
        )
    kind = declared or inferred
    none_allowed = inferred == "none" and nullable  # x: Optional[float] = None
    if declared is not None and inferred != declared and not none_allowed:
        if declared == "float" and inferred == "int":
            value = float(value)
        else:
            raise _parameter_error(
                cell, statement, name, f"is annotated {declared} but its value is {inferred}"
            )
    return ParameterSpec(
        name=name,
        type=kind,
        default=value,
        nullable=nullable or value is None,
        cell_index=cell.index,
    )


def _value_type(value: Any) -> str | None:
    if value is None:
        return "none"
    for kind, label in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"),
                        (list, "list"), (dict, "dict")):  # fmt: skip
        if isinstance(value, kind):
            return label
    return None


def _annotation_type(node: ast.expr) -> tuple[str | None, bool]:
    """('float', True) for ``float | None`` or ``Optional[float]``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return None, False
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        left, left_null = _annotation_type(node.left)
        right, right_null = _annotation_type(node.right)
        kinds = [k for k in (left, right) if k and k != "none"]
        nullable = left == "none" or right == "none" or left_null or right_null
        return (kinds[0] if kinds else "none"), nullable
    if isinstance(node, ast.Subscript):
        base = (
            node.value.attr
            if isinstance(node.value, ast.Attribute)
            else getattr(node.value, "id", "")
        )
        if base == "Optional":
            inner, _ = _annotation_type(node.slice)
            return inner, True
        return _TYPE_NAMES.get(base), False
    if isinstance(node, ast.Constant) and node.value is None:
        return "none", True
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return _TYPE_NAMES.get(name), False


def _parameter_error(
    cell: CodeCell, statement: ast.stmt, name: str | None, problem: str
) -> ExportError:
    what = f'parameter "{name}"' if name else f"line {statement.lineno}"
    return ExportError(
        f"Cell {cell.index + 1} (parameters): {what} {problem}",
        cell_index=cell.index,
        variable=name,
        tag="parameters",
        hint="A parameter is a name assigned a literal, such as lr = 0.1 or"
        " features: list = ['a', 'b']; other code of a parameters cell computes values"
        " from them.",
    )
