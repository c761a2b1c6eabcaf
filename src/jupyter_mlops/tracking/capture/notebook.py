"""Which notebook a kernel runs, found without a server or the network.

A notebook opened in JupyterLab or VS Code is named by the frontend (``__session__``,
``JPY_SESSION_NAME``, ``__vsc_ipynb_file__``). A headless runner names nothing, so the
kernel looks, in this order:

1. the command line of the process that started it, and of two more ancestors (a
   wrapper script between the runner and the kernel): ``jupyter execute X.ipynb``,
   ``jupyter nbconvert --to notebook --execute X.ipynb``, ``papermill IN.ipynb OUT.ipynb``
   or any script given notebooks. Relative names are read from that process's working
   directory. Read from ``/proc``, so on Linux only; elsewhere step 2 applies.
   When a command names several notebooks, the one holding the kernel's code is taken.
2. the notebook in the kernel's working directory whose code cells hold every cell the
   kernel has executed, when exactly one does (nbclient, and so papermill's Python
   API, start the kernel in the notebook's folder). When several do, the one papermill
   marks as executing the kernel's current cell wins; else none is guessed.

The search is made when a run first asks, and its result kept: nothing is looked at per
cell. A search that finds nothing is made again only once the kernel has executed more
code (a later cell may tell two copies of a notebook apart).

papermill: the run's notebook is the *input* notebook, the one the user edits and
exports, so that the runs of one notebook with different parameters are one series and
``%mlops export`` finds them. What papermill injected comes from the metadata it writes
into the *output* notebook before the first cell runs (``metadata.papermill``):
:class:`Papermill` holds both paths and the parameters, and :func:`record_injected`
records them on a run (source ``papermill``, tags ``papermill.injected`` and
``papermill.output``).

    finder = NotebookFinder()
    found = finder.find(lambda: executed_cells)   # a KernelNotebook, or None
    found.path, found.found_by, found.papermill
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import MlopsError

if TYPE_CHECKING:
    from ..run import Run

logger = logging.getLogger(__name__)

# How many processes up from the kernel name its notebook (the runner, then wrappers).
ANCESTORS = 3
# Notebooks of the working directory larger than this are not read (their outputs are
# images; reading them would cost more than the answer is worth).
MAX_NOTEBOOK_BYTES = 32 << 20
MAX_NOTEBOOKS_READ = 200

FRONTEND = "frontend"
COMMAND_LINE = "command line"
WORKING_DIRECTORY = "working directory"

# papermill's options that take values: the next two words, or the next one.
_PAPERMILL_PAIRS = frozenset({"-p", "--parameters", "-r", "--parameters_raw"})
_PAPERMILL_VALUED = frozenset(
    {
        "-f",
        "--parameters_file",
        "-y",
        "--parameters_yaml",
        "-b",
        "--parameters_base64",
        "-k",
        "--kernel",
        "-l",
        "--language",
        "--engine",
        "--cwd",
        "--autosave-cell-every",
        "--stdout-file",
        "--stderr-file",
        "--log-level",
        "--start-timeout",
        "--start_timeout",
        "--execution-timeout",
    }
)
# Jupyter servers: the notebooks their command lines name are opened, not run.
_SERVERS = frozenset(
    {"jupyter-lab", "jupyter-notebook", "jupyter-server", "jupyter-nbclassic", "voila"}
)
_SERVER_MODULES = frozenset({"jupyterlab", "notebook", "jupyter_server", "nbclassic", "voila"})
# Options of nbconvert and jupyter execute whose value may end in .ipynb without being
# the notebook executed.
_OUTPUT_OPTIONS = frozenset({"--output", "--output-dir", "--config", "--template"})


@dataclass(frozen=True)
class Papermill:
    """What papermill says about the execution of a notebook: where it reads and
    writes it, and the parameters it injected (the cell tagged ``injected-parameters``)."""

    input_path: str
    output_path: str | None
    parameters: tuple[tuple[str, Any], ...] = ()

    @property
    def parameter_values(self) -> dict[str, Any]:
        return dict(self.parameters)


@dataclass(frozen=True)
class KernelNotebook:
    """The notebook a kernel runs, how it was found (``"frontend"``, ``"command line"``,
    ``"working directory"``), and papermill's account when papermill runs it."""

    path: str
    found_by: str
    papermill: Papermill | None = None


def frontend_notebook(*hints: object) -> str | None:
    """The first of ``hints`` that names a notebook (``.ipynb``), as given."""
    for hint in hints:
        if isinstance(hint, str) and hint.endswith(".ipynb"):
            return hint
    return None


class NotebookFinder:
    """Finds the notebook of this kernel when first asked, and keeps it."""

    def __init__(self, *, pid: int | None = None, directory: Path | None = None) -> None:
        self._pid = pid  # the kernel's process (this one by default)
        self._directory = directory  # the kernel's working directory (the current one)
        self._found: KernelNotebook | None = None
        self._missed_at: int | None = None  # how much code had run at a search that failed

    @property
    def known(self) -> KernelNotebook | None:
        """What an earlier search found, without searching."""
        return self._found

    def find(self, executed: Callable[[], Sequence[str]]) -> KernelNotebook | None:
        """The notebook of this kernel, whose executed cells ``executed`` returns."""
        if self._found is not None:
            return self._found
        sources = executed()
        if self._missed_at is not None and len(sources) <= self._missed_at:
            return None
        cells = _code_set(sources)
        current = next((s.strip() for s in reversed(sources) if s and s.strip()), None)
        try:
            self._found = self._search(cells, current)
        except Exception:  # noqa: BLE001 - an odd /proc or file never stops a run
            self._found = None
        if self._found is None:
            self._missed_at = len(sources)
        return self._found

    def _search(self, cells: frozenset[str], current: str | None) -> KernelNotebook | None:
        pid = os.getpid() if self._pid is None else self._pid
        for ancestor in ancestors(pid, ANCESTORS):
            argv = command_line(ancestor)
            if not argv:
                continue
            found = notebook_of_command(argv, process_directories(ancestor), cells)
            if found is not None:
                return found
        directory = self._directory or Path.cwd()
        return notebook_in_directory(directory, cells, current=current)


def ancestors(pid: int, count: int) -> list[int]:
    """The ids of up to ``count`` processes above ``pid`` (its parent first), read from
    ``/proc``; none where there is no ``/proc``."""
    found: list[int] = []
    current = pid
    for _ in range(count):
        parent = parent_pid(current)
        if parent is None or parent <= 1 or parent in found:
            break
        found.append(parent)
        current = parent
    return found


def parent_pid(pid: int) -> int | None:
    if pid == os.getpid():
        return os.getppid()
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8", errors="replace") as status:
            for line in status:
                if line.startswith("PPid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def command_line(pid: int) -> list[str]:
    """The words of process ``pid``'s command line, or [] when it cannot be read."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read()
    except OSError:
        return []
    return [os.fsdecode(word) for word in raw.split(b"\0") if word]


def process_directories(pid: int) -> list[Path]:
    """Where process ``pid``'s relative paths may start: its working directory now, and
    the one its shell started it in (``PWD``: papermill --cwd moves the first)."""
    directories: list[Path] = []
    # no /proc, or a process gone or not ours: that directory is simply not known
    with contextlib.suppress(OSError):
        directories.append(Path(os.readlink(f"/proc/{pid}/cwd")))
    with contextlib.suppress(OSError), open(f"/proc/{pid}/environ", "rb") as handle:
        for entry in handle.read().split(b"\0"):
            if entry.startswith(b"PWD="):
                directories.append(Path(os.fsdecode(entry[4:])))
                break
    return directories


def named_notebooks(argv: Sequence[str]) -> tuple[list[str], bool]:
    """The notebooks a command line names, in order, and whether it is papermill's
    (whose first two are its input and output notebooks). A Jupyter server's command
    line names none: ``jupyter lab a.ipynb`` opens a.ipynb, its kernels may run others."""
    if _is_server(argv):
        return [], False
    start = _papermill_start(argv)
    if start is not None:
        return _papermill_positionals(argv[start:]), True
    named: list[str] = []
    skip = False
    for word in argv[1:]:
        if skip:
            skip = False
            continue
        if word in _OUTPUT_OPTIONS:
            skip = True
            continue
        if word.startswith("-") or not word.lower().endswith(".ipynb") or word in named:
            continue
        named.append(word)
    return named, False


def _is_server(argv: Sequence[str]) -> bool:
    for index, word in enumerate(argv[:3]):
        if Path(word).name.lower() in _SERVERS:
            return True
        if word == "-m" and index + 1 < len(argv) and argv[index + 1] in _SERVER_MODULES:
            return True
    return False


def _papermill_start(argv: Sequence[str]) -> int | None:
    """Where papermill's own arguments begin in ``argv``, if it is papermill's."""
    for index, word in enumerate(argv[:3]):
        name = Path(word).name.lower()
        if name in ("papermill", "papermill.exe"):
            return index + 1
        if word == "-m" and index + 1 < len(argv) and argv[index + 1] == "papermill":
            return index + 2
    return None


def _papermill_positionals(words: Sequence[str]) -> list[str]:
    positionals: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word in _PAPERMILL_PAIRS:
            index += 3
            continue
        if word in _PAPERMILL_VALUED:
            index += 2
            continue
        if not word.startswith("-") or word == "-":
            positionals.append(word)
        index += 1
    return positionals


def resolve(name: str, directories: Iterable[Path]) -> Path | None:
    """``name`` as an existing file: itself if absolute, else under the first of
    ``directories`` that has it."""
    path = Path(name).expanduser()
    if path.is_absolute():
        return path if path.is_file() else None
    for directory in directories:
        candidate = directory / path
        if candidate.is_file():
            return Path(os.path.abspath(candidate))
    return None


def notebook_of_command(
    argv: Sequence[str], directories: Sequence[Path], cells: frozenset[str]
) -> KernelNotebook | None:
    """The notebook the command line ``argv`` runs, if it names one (see the module
    docstring); ``cells`` picks among several."""
    names, papermill = named_notebooks(argv)
    where = [*directories, Path.cwd()]
    if papermill:
        if not names:
            return None
        source = resolve(names[0], where)
        target = resolve(names[1], where) if len(names) > 1 else None
        if source is None and target is None:
            return None
        injected = papermill_metadata(target) if target is not None else None
        written = names[1] if len(names) > 1 and names[1].lower().endswith(".ipynb") else None
        return KernelNotebook(
            str(source or target),
            COMMAND_LINE,
            Papermill(
                str(source or names[0]),
                str(target) if target is not None else written,  # not "-" (its stdout)
                injected[2] if injected is not None else (),
            ),
        )
    paths = [path for path in (resolve(name, where) for name in names) if path is not None]
    if len(paths) > 1 and cells:
        paths = [path for path in paths if _holds(path, cells)]
    if len(paths) != 1:
        return None
    return _identified(paths[0], COMMAND_LINE)


def notebook_in_directory(
    directory: Path, cells: frozenset[str], *, current: str | None = None
) -> KernelNotebook | None:
    """The one notebook in ``directory`` whose code cells hold all of ``cells``.

    When several do (papermill writing its output beside its input, before the cell it
    injected has run), the one papermill marks as executing ``current``, the cell the
    kernel runs now, is the one, if there is exactly one.
    """
    if not cells:
        return None
    try:
        candidates = sorted(directory.glob("*.ipynb"))[:MAX_NOTEBOOKS_READ]
    except OSError:
        return None
    matches = [path for path in candidates if _holds(path, cells)]
    if len(matches) > 1 and current:
        matches = [path for path in matches if _papermill_runs(path, current)]
    if len(matches) != 1:
        return None
    return _identified(Path(os.path.abspath(matches[0])), WORKING_DIRECTORY)


def _identified(path: Path, found_by: str) -> KernelNotebook:
    """``path`` found ``found_by``; a notebook papermill is writing stands for its input."""
    told = papermill_metadata(path)
    if told is None:
        return KernelNotebook(str(path), found_by)
    source = resolve(told[0], [path.parent, Path.cwd()]) if told[0] else None
    return KernelNotebook(
        str(source or path), found_by, Papermill(str(source or told[0]), str(path), told[2])
    )


def papermill_metadata(path: Path) -> tuple[str, str | None, tuple[tuple[str, Any], ...]] | None:
    """(input path, output path, injected parameters) papermill wrote into the notebook
    at ``path``, or None when it holds no such metadata."""
    notebook = _read(path)
    if notebook is None:
        return None
    metadata = notebook.get("metadata")
    told = metadata.get("papermill") if isinstance(metadata, Mapping) else None
    if not isinstance(told, Mapping):
        return None
    source = told.get("input_path")
    target = told.get("output_path")
    parameters = told.get("parameters")
    return (
        source if isinstance(source, str) else "",
        target if isinstance(target, str) else None,
        tuple(parameters.items()) if isinstance(parameters, Mapping) else (),
    )


def _papermill_runs(path: Path, current: str) -> bool:
    """Whether papermill is executing the notebook at ``path`` and, in it, the cell
    ``current`` (it saves the notebook with the cell marked running before sending it)."""
    notebook = _read(path)
    metadata = notebook.get("metadata") if notebook is not None else None
    told = metadata.get("papermill") if isinstance(metadata, Mapping) else None
    if not isinstance(told, Mapping) or told.get("end_time") is not None:
        return False
    cells = notebook.get("cells") if notebook is not None else None
    running = [
        cell
        for cell in (cells if isinstance(cells, list) else [])
        if isinstance(cell, Mapping)
        and isinstance(cell.get("metadata"), Mapping)
        and isinstance(cell["metadata"].get("papermill"), Mapping)
        and cell["metadata"]["papermill"].get("status") == "running"
    ]
    if len(running) != 1:
        return False
    source = running[0].get("source", "")
    text = "".join(source) if isinstance(source, list) else str(source)
    return text.strip() == current


def code_cells(path: Path) -> list[str] | None:
    """The sources of the code cells of the notebook at ``path``, or None if unreadable."""
    notebook = _read(path)
    if notebook is None:
        return None
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        return None
    sources = []
    for cell in cells:
        if not isinstance(cell, Mapping) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        sources.append("".join(source) if isinstance(source, list) else str(source))
    return sources


def _holds(path: Path, cells: frozenset[str]) -> bool:
    sources = code_cells(path)
    return sources is not None and cells <= _code_set(sources)


def _code_set(sources: Iterable[object]) -> frozenset[str]:
    return frozenset(text for text in (s.strip() for s in sources if isinstance(s, str)) if text)


def _read(path: Path, attempts: int = 3) -> dict[str, Any] | None:
    """The notebook at ``path`` as JSON; read again a moment later if it is half
    written (papermill saves the notebook it runs while it runs)."""
    for attempt in range(attempts):
        try:
            if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                return None
            with path.open("rb") as handle:
                notebook = json.load(handle)
        except OSError:
            return None
        except ValueError:
            if attempt + 1 < attempts:
                time.sleep(0.05)
            continue
        return notebook if isinstance(notebook, dict) else None
    return None


def record_injected(run: Run, papermill: Papermill) -> None:
    """Record on ``run`` the parameters papermill injected into its notebook, as
    parameters of source ``papermill``, with the tag ``papermill.injected`` naming them
    and ``papermill.output`` naming the notebook papermill writes. A value that cannot be
    recorded is left out with a warning: the run goes on."""
    tags = {"papermill.output": papermill.output_path} if papermill.output_path else {}
    recorded = []
    for key, value in papermill.parameters:
        try:
            run.record_params({key: value}, source="papermill")
        except MlopsError as exc:
            logger.warning("jupyter-mlops: papermill parameter %s not recorded: %s", key, exc)
            continue
        recorded.append(key)
    if recorded:
        tags["papermill.injected"] = ", ".join(recorded)
    if tags:
        run.set_tags(tags)
