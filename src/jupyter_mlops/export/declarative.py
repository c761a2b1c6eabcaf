"""Whether an untagged cell above the first step only declares things (setup code).

Imports, ``def``/``class``, assignments of literal constants, calls that configure an
imported module (``np.random.seed(0)``, ``warnings.filterwarnings``), and ``if``/``try``
blocks made of those are setup code; anything else there is an ExportError naming the
cell and the line (see :mod:`.layout`).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from ..errors import ExportError

if TYPE_CHECKING:
    from .layout import CodeCell


def require_declarative(cell: CodeCell) -> None:
    """Refuse, naming the line, an untagged cell before the first step that does work."""
    imported: set[str] = set()
    for node in ast.walk(cell.tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imported.update((a.asname or a.name.split(".")[0]) for a in node.names if a.name != "*")
    for statement in cell.tree.body:
        problem = _work_done(statement, imported)
        if problem:
            line = ast.get_source_segment(cell.source, problem) or ""
            line = line.splitlines()[0] if line else ""
            raise ExportError(
                f"Cell {cell.index + 1} comes before the first step:NAME cell and does work"
                f" (line {problem.lineno}: `{line[:80]}`), so it is neither setup code nor"
                " part of a step",
                cell_index=cell.index,
                hint="Tag it step:NAME to make it a step, setup to run it before every step,"
                " or skip to leave it out.",
            )


def _work_done(node: ast.stmt, imported: set[str]) -> ast.stmt | None:
    """The statement that does work, or None when ``node`` only declares things."""
    if isinstance(
        node,
        (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
         ast.Pass, ast.Global, ast.Nonlocal),
    ):  # fmt: skip
        return None
    if isinstance(node, ast.Expr):
        if isinstance(node.value, ast.Constant):
            return None
        if isinstance(node.value, ast.Call):
            func = node.value.func
            while isinstance(func, ast.Attribute):
                func = func.value
            if isinstance(func, ast.Name) and func.id in imported:
                return None
        return node
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        value = node.value
        if value is None:
            return None
        try:
            ast.literal_eval(value)
            return None
        except (ValueError, SyntaxError, TypeError):
            return node
    if isinstance(node, ast.If):
        for child in node.body + node.orelse:
            if _work_done(child, imported):
                return child
        return None
    if isinstance(node, ast.Try):
        for child in node.body + node.orelse + node.finalbody:
            if _work_done(child, imported):
                return child
        for handler in node.handlers:
            for child in handler.body:
                if _work_done(child, imported):
                    return child
        return None
    return node
