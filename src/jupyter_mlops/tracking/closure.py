"""The closure of a run: the earlier cells of the kernel that its cells depended on.

A run's cells read names (``df``, ``clean``, ``pd``) that earlier cells bound: the
imports, a helper function, the loading of a CSV, a preprocessing step. The closure is
those cells, found by walking the kernel's executed cells backwards from the run: a cell
is kept when it binds or changes a name still needed, and then what it reads is needed in
turn. A plotting cell that binds nothing the run reads is left out; a cell edited and run
again counts as the version that ran last before the name was needed; the same text run
twice is kept once, at its last execution.

The cells are read from the kernel's own input history (what IPython keeps anyway), so
nothing is recorded per cell while no run ends: the analysis (an AST walk of each cell,
see :mod:`.capture.code_names`) happens once, when a run ends. The files the kept cells
and the run's cells name (``"data/churn.csv"``) are fingerprinted then, where they exist,
so a reproduction can tell when one changed.

    closure = closure_of(history, run_sources, python_of=str)
    closure.cells        # the cells the run depended on, in execution order
    closure.unresolved   # names no earlier cell bound (builtins and the extension's aside)
"""

from __future__ import annotations

import ast
import builtins
import functools
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .capture.code_names import CodeNames, analyse_cells, plain_python

# Names a notebook has without any cell binding them: Python's builtins, what IPython
# puts in every namespace, and what ``%load_ext jupyter_mlops`` adds.
PROVIDED_NAMES = frozenset(dir(builtins)) | frozenset(
    {"get_ipython", "display", "exit", "quit", "In", "Out", "mlops", "__session__"}
)

# Cell magics whose body runs as Python in the notebook's namespace.
_PYTHON_BODY_MAGICS = ("mlops", "time", "capture", "prun")

# Files larger than this are named with their size, not hashed, at a run's end.
MAX_HASHED_FILE_BYTES = 2 * 2**30


@dataclass(frozen=True)
class ExecutedCell:
    """One execution of a cell by the kernel: its number (``In[n]``) and raw source."""

    execution_count: int
    source: str


@dataclass(frozen=True)
class ClosureCell:
    """A cell the run depended on, as it ran, with the names it gave the run."""

    execution_count: int
    source: str
    provides: tuple[str, ...]  # the names bound or changed here that were still needed


@dataclass(frozen=True)
class ClosureFile:
    """A file that a closure cell or one of the run's cells names, as it was at the end
    of the run: ``sha256`` is None when it could not be read (or is too large to hash)."""

    path: str  # as the code wrote it
    resolved: str  # absolute, from the kernel's working directory
    sha256: str | None
    size: int | None
    execution_count: int  # the cell that names it


@dataclass(frozen=True)
class Closure:
    """The cells a run depended on (execution order) and the files they name."""

    cells: tuple[ClosureCell, ...]
    files: tuple[ClosureFile, ...] = ()
    unresolved: tuple[str, ...] = ()  # read by the run, bound by no earlier cell
    directory: str | None = None  # the kernel's working directory at the run's end

    def files_behind(self, name: str) -> tuple[ClosureFile, ...]:
        """The files named by the cells that made ``name`` what it was: the cells that
        bound or changed it, and before them the ones those read from."""
        needed = {name}
        counts: set[int] = set()
        for cell in reversed(self.cells):
            names = names_of(cell.source, plain_python)
            if names is None or not needed.intersection(names.writes):
                continue
            counts.add(cell.execution_count)
            needed.difference_update(names.writes)
            needed.update(names.reads)
        return tuple(f for f in self.files if f.execution_count in counts)


def python_body(source: str, python_of: Callable[[str], str]) -> str:
    """The Python of a cell: IPython's transformation of it (``python_of``), except that
    a cell magic whose body runs in the namespace (``%%mlops run``, ``%%time``) gives
    its body's Python."""
    stripped = source.lstrip()
    if stripped.startswith("%%"):
        first, _, body = stripped.partition("\n")
        magic = first[2:].split(maxsplit=1)[0] if first[2:].strip() else ""
        if magic not in _PYTHON_BODY_MAGICS:
            return ""
        source = body
    try:
        return python_of(source)
    except Exception:  # noqa: BLE001 - a cell IPython cannot transform binds nothing known
        return ""


@functools.lru_cache(maxsize=4096)
def names_of(source: str, python_of: Callable[[str], str]) -> CodeNames | None:
    """What a cell reads and binds, or None when its Python does not parse (kept for the
    next run's end: a kernel's history is read again and again)."""
    try:
        tree = ast.parse(python_body(source, python_of))
    except (SyntaxError, ValueError):
        return None
    return analyse_cells([(0, tree)])


def closure_of(
    history: Sequence[ExecutedCell],
    run_sources: Sequence[str],
    *,
    python_of: Callable[[str], str],
) -> Closure:
    """The cells of ``history`` (the kernel's executions before the run, in order) that
    the run's cells (``run_sources``, in order) depended on; see the module docstring."""
    run_trees = []
    for source in run_sources:
        try:
            run_trees.append((0, ast.parse(python_body(source, python_of))))
        except (SyntaxError, ValueError):
            continue
    needed = set(analyse_cells(run_trees).reads) - PROVIDED_NAMES
    kept: list[ClosureCell] = []
    kept_sources: set[str] = set()
    star_imports: list[ExecutedCell] = []
    for cell in reversed(history):
        if not needed:
            break
        names = names_of(cell.source, python_of)
        if names is None:
            continue
        if "import *" in cell.source:
            star_imports.append(cell)
        provides = [name for name in names.writes if name in needed]
        if not provides:
            continue
        needed.difference_update(provides)
        needed.update(set(names.reads) - PROVIDED_NAMES)
        if cell.source in kept_sources:
            continue  # the same text ran again later, and is kept there
        kept_sources.add(cell.source)
        kept.append(ClosureCell(cell.execution_count, cell.source, tuple(sorted(provides))))
    if needed and star_imports:  # ``from x import *`` may bind any of them
        for cell in star_imports:
            if cell.source not in kept_sources:
                kept_sources.add(cell.source)
                kept.append(ClosureCell(cell.execution_count, cell.source, ()))
    kept.sort(key=lambda cell: cell.execution_count)
    return Closure(cells=tuple(kept), unresolved=tuple(sorted(needed)))


def named_files(
    closure: Closure,
    run_cells: Iterable[tuple[int, str]],
    *,
    python_of: Callable[[str], str],
    directory: Path,
) -> tuple[ClosureFile, ...]:
    """The existing files that the closure's cells and the run's cells
    (``(execution count, source)``) name in string literals, fingerprinted now."""
    found: dict[str, ClosureFile] = {}
    cells = [(cell.execution_count, cell.source) for cell in closure.cells] + list(run_cells)
    for execution_count, source in cells:
        names = names_of(source, python_of)
        if names is None:
            continue
        for literal in names.path_literals:
            if literal in found:
                continue
            path = Path(os.path.expanduser(literal))
            resolved = path if path.is_absolute() else directory / path
            if not resolved.is_file():
                continue
            sha256, size = file_digest(resolved)
            found[literal] = ClosureFile(
                literal, str(resolved.resolve()), sha256, size, execution_count
            )
    return tuple(found.values())


# (path, size, modification time in ns) -> SHA-256: a file unchanged since the last run's
# end is not read again
_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_digest(path: Path) -> tuple[str | None, int | None]:
    """The SHA-256 of a file's bytes and its size; no hash when it is larger than
    :data:`MAX_HASHED_FILE_BYTES` or cannot be read."""
    try:
        stat = path.stat()
        size = stat.st_size
        if size > MAX_HASHED_FILE_BYTES:
            return None, size
        key = (str(path.resolve()), size, stat.st_mtime_ns)
        if key in _DIGESTS:
            return _DIGESTS[key], size
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
        return _DIGESTS[key], size
    except OSError:
        return None, None
