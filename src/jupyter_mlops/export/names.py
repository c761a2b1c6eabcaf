"""The exporter's reading of cell code: the core's name analysis
(:mod:`jupyter_mlops.tracking.capture.code_names`) with a syntax error named by its cell,
and the calls whose results cannot travel between a pipeline's processes."""

from __future__ import annotations

import ast

from ..errors import ExportError
from ..tracking.capture.code_names import CodeNames, analyse_cells

# Calls whose results cannot travel between processes: files, connections, locks...
UNSERIALIZABLE_CALLS = {
    "open": "an open file",
    "connect": "a database or network connection",
    "socket": "a socket",
    "create_connection": "a socket",
    "create_engine": "a database engine with a connection pool",
    "Lock": "a lock",
    "RLock": "a lock",
    "Semaphore": "a semaphore",
    "BoundedSemaphore": "a semaphore",
    "Condition": "a condition variable",
    "Event": "an event",
    "Thread": "a thread",
    "Process": "a process",
    "Popen": "a running process",
    "Pool": "a process pool",
    "ThreadPoolExecutor": "a thread pool",
    "ProcessPoolExecutor": "a process pool",
    "Session": "a network session",
    "urlopen": "an open URL",
    "iter": "an iterator",
    "cursor": "a database cursor",
    "TemporaryFile": "an open temporary file",
    "NamedTemporaryFile": "an open temporary file",
    "TemporaryDirectory": "a temporary directory that is deleted with its object",
    "scandir": "a directory iterator",
}


def parse_cell(source: str, *, cell_index: int, step: str | None = None) -> ast.Module:
    """``ast.parse`` with a SyntaxError turned into an ExportError that names the cell."""
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        where = f"Cell {cell_index + 1}" + (f' (step "{step}")' if step else "")
        ipython_only = _ipython_only_line(source)
        if ipython_only:
            raise ExportError(
                f"{where} uses IPython syntax that cannot run outside IPython: `{ipython_only}`",
                cell_index=cell_index,
                step=step,
                hint="Rewrite it in plain Python (help: obj? -> help(obj)), or tag the cell skip.",
            ) from exc
        raise ExportError(
            f"{where} has a syntax error on line {exc.lineno}: {exc.msg}",
            cell_index=cell_index,
            step=step,
            hint="Fix the cell in the notebook (it would fail there too), then export again.",
        ) from exc


def _ipython_only_line(source: str) -> str | None:
    """The first line IPython would rewrite (``obj?``, ``%%``, ...), when IPython is
    installed here and its rewrite of the cell is valid Python; else None."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return None
    try:
        rewritten = TransformerManager().transform_cell(source)
        ast.parse(rewritten)
    except Exception:  # noqa: BLE001 - not IPython syntax either: a plain syntax error
        return None
    for before, after in zip(source.splitlines(), rewritten.splitlines(), strict=False):
        if before.strip() != after.strip():
            return before.strip()
    return source.strip().splitlines()[0] if source.strip() else None


def analyse_code(source: str | ast.Module, *, cell_index: int = 0) -> CodeNames:
    """Reads, writes and bindings of ``source``; a syntax error is an ExportError that
    names the cell.

    Example::

        analyse_code("x = x + 1").reads     # ('x',)
    """
    tree = parse_cell(source, cell_index=cell_index) if isinstance(source, str) else source
    return analyse_cells([(cell_index, tree)])
