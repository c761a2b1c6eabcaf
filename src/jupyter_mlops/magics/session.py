"""Following the notebook's cells while a run is active: the pre/post cell hooks.

Before a cell runs, the data it is about to read is snapshotted; after it runs, its
source, literal parameters and fitted estimators are recorded and the run's buffer is
written. A cell tagged ``metrics`` or ``pipeline-metrics`` in the saved notebook (found
by the cell id the frontend sends, else by its source, as nbclient and papermill send
none) logs its bare names and ``print(name)`` lines as metrics, as its exported step
will (see :mod:`jupyter_mlops.tracking.metrics_cells`). The core learns the notebook and cell of API-started runs through
:func:`jupyter_mlops.tracking.session.set_context_provider`. A cell that installs
packages (``%pip install``, ``!conda install``...) makes the installed versions be read
again, so later runs record the versions they import.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError

from ..errors import InvalidInputError, MlopsError, RecordingError
from ..tracking.autolog.cells import any_loaded, note_before_cell, record_after_cell
from ..tracking.capture.cells import (
    CellCode,
    data_inputs,
    estimator_params,
    may_assign_literals,
    may_be_estimator,
    names_data,
    possible_names,
    read_cell,
)
from ..tracking.capture.notebook import (
    FRONTEND,
    KernelNotebook,
    NotebookFinder,
    frontend_notebook,
)
from ..tracking.closure import Closure, ExecutedCell, closure_of, named_files
from ..tracking.line_commands import guess_role
from ..tracking.metrics_cells import MetricsCellFinder, logged_names
from ..tracking.run import Run
from ..tracking.run_endings import describe_exception
from ..tracking.session import SESSION, set_context_provider
from ..tracking.unrecorded import UnrecordedRun

# Automatic snapshots skip objects larger than this (take them with --snapshot VAR).
AUTO_SNAPSHOT_MAX_BYTES = 1 << 30

# A line that may log a metric in a metrics cell: a bare name or print(name).
_METRIC_LINE = re.compile(
    r"^[ \t]*(?:print[ \t]*\([ \t]*)?[A-Za-z_]\w*[ \t]*\)?[ \t;]*(?:#.*)?$", re.MULTILINE
)

# A line that installs packages into the kernel's environment.
# A character IPython rewrites (a magic, a shell escape, help): cells without one are Python
_IPYTHON_SYNTAX = re.compile(r"[%!?]")

_INSTALLS = re.compile(
    r"^\s*[%!]\s*(?:pip3?|conda|mamba|micromamba|uv\s+pip)\b.*\binstall\b", re.MULTILINE
)


def installs_packages(source: str) -> bool:
    """Whether a cell runs ``%pip install``, ``!pip install``, ``%conda install``..."""
    return "install" in source and _INSTALLS.search(source) is not None


def warn(text: str) -> None:
    """One line on stderr: how the magics report what was not recorded."""
    print(f"jupyter-mlops: {text}", file=sys.stderr)


class NotebookSession:
    """Per-kernel state: the current cell, and what automatic capture has done."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.cell_id: str | None = None
        self.raw_cell: str = ""
        self.capture: dict[str, bool] = {}  # run id -> automatic capture on
        self.in_cell_magic = False
        self.debug = False
        # The code of the cell being executed, read once (see code_of), and its text
        # with the words that may be names in it (see text_of)
        self._code: tuple[object, CellCode] | None = None
        self._text: tuple[object, str, frozenset[str] | None] | None = None
        self.finder = NotebookFinder()
        self.metrics_cells = MetricsCellFinder()
        self.failed_cells: set[int | None] = set()  # In[n] of the cells that raised

    @property
    def user_ns(self) -> dict[str, Any]:
        return self.shell.user_ns  # type: ignore[no-any-return,unused-ignore]

    @property
    def execution_count(self) -> int | None:
        """The number of the cell being executed (IPython versions differ in when they count)."""
        result = getattr(self.shell.displayhook, "exec_result", None)
        return getattr(result, "execution_count", None)

    def notebook(self) -> KernelNotebook | None:
        """The notebook this kernel runs: the one the frontend names (JupyterLab's
        ``__session__`` / ``JPY_SESSION_NAME``, VS Code's ``__vsc_ipynb_file__``), else,
        in a kernel, the one its runner names or its working directory holds (see
        :mod:`jupyter_mlops.tracking.capture.notebook`; searched once, when first asked)."""
        session = self.user_ns.get("__session__") or os.environ.get("JPY_SESSION_NAME")
        named = frontend_notebook(session, self.user_ns.get("__vsc_ipynb_file__"))
        if named is not None:
            return KernelNotebook(named, FRONTEND)
        if session or getattr(self.shell, "kernel", None) is None:
            # a frontend's console, or a terminal IPython: no notebook to find
            return None
        return self.finder.find(self.executed_cells)

    def notebook_path(self) -> str | None:
        """Where this kernel's notebook is, if it can be known (see :meth:`notebook`)."""
        found = self.notebook()
        return None if found is None else found.path

    def executed_cells(self) -> list[str]:
        """The sources of the cells this kernel has executed, as IPython keeps them."""
        history = getattr(getattr(self.shell, "history_manager", None), "input_hist_raw", None)
        return list(history) if isinstance(history, list) else []

    def run_context(self) -> dict[str, Any]:
        """What start_run learns about the notebook when called from a cell."""
        found = self.notebook()
        return {
            "notebook_path": None if found is None else found.path,
            "papermill": None if found is None else found.papermill,
            "cell_id": self.cell_id,
            "kind": "notebook",
            "cell_source": self.raw_cell,
            "execution_count": self.execution_count,
            "closure": self.closure_of,
        }

    def closure_of(self, run: Any) -> Closure:
        """The earlier cells of this kernel that ``run``'s cells depended on, and the
        files they name (see :mod:`jupyter_mlops.tracking.closure`). The cells are read
        from IPython's input history; the ones that raised are left out."""
        history = self.executed_cells()
        counts = [count for count, _ in run.cell_sources if count is not None]
        first = min(counts) if counts else len(history)
        earlier = [
            ExecutedCell(count, history[count])
            for count in range(1, min(first, len(history)))
            if count not in self.failed_cells
        ]
        sources = [source for _, source in run.cell_sources]
        closure = closure_of(earlier, sources, python_of=self.plain_python_of)
        directory = Path.cwd()
        files = named_files(
            closure,
            [(count or 0, source) for count, source in run.cell_sources],
            python_of=self.plain_python_of,
            directory=directory,
        )
        return replace(closure, files=files, directory=str(directory))

    def plain_python_of(self, source: str) -> str:
        """:meth:`python_of`, skipped for text with no character IPython rewrites."""
        return self.python_of(source) if _IPYTHON_SYNTAX.search(source) else source

    def register(self) -> None:
        events = self.shell.events
        events.register("pre_run_cell", self.pre_run_cell)
        events.register("post_run_cell", self.post_run_cell)
        set_context_provider(self.run_context)

    def unregister(self) -> None:
        events = self.shell.events
        for name, callback in (
            ("pre_run_cell", self.pre_run_cell),
            ("post_run_cell", self.post_run_cell),
        ):
            try:
                events.unregister(name, callback)
            except ValueError:
                pass
        set_context_provider(None)

    def _is_cell_magic(self, source: str) -> bool:
        return source.lstrip().startswith("%%mlops")

    def pre_run_cell(self, info: Any) -> None:
        self.cell_id = getattr(info, "cell_id", None)
        raw = self.raw_cell = getattr(info, "raw_cell", "") or ""
        active = SESSION.active
        if not active:
            return
        run = active[-1]
        if isinstance(run, UnrecordedRun):
            run.new_cell()
            return
        if not self.capture.get(run.id, True) or self._is_cell_magic(raw):
            return
        words = self.text_of(info)[1]
        if words is None or names_data(self.shell.user_ns, words):
            inputs = self.code_of(info).inputs  # else no word of the cell names data
            if inputs:
                self.snapshot_inputs(run, inputs, explicit=())
        if any_loaded():  # else autolog has nothing to look at
            self.note_results(run, self.names_of(info))

    def names_of(self, info: Any) -> Iterable[str]:
        """The names the cell being executed may use: its words, without parsing it,
        or the names its code mentions when its text cannot tell."""
        words = self.text_of(info)[1]
        return words if words is not None else self.code_of(info).mentioned

    def note_results(self, run: Run, names: Iterable[str]) -> None:
        """Before a cell of ``run``: the searches and studies among the ``names`` it uses,
        as they are (what they hold already is not the cell's; see tracking.autolog)."""
        try:
            note_before_cell(run, self.user_ns, names)
        except Exception as exc:  # noqa: BLE001 - an odd object must not stop the cell
            warn(f"searches and studies not examined: {type(exc).__name__}: {exc}")

    def record_results(self, run: Run, names: Iterable[str]) -> None:
        """After a cell of ``run``: what the searches and studies among the ``names`` it
        uses added, as child runs (see tracking.autolog)."""
        try:
            record_after_cell(run, self.user_ns, names)
        except MlopsError as exc:
            warn(f"the results of a search or study were not recorded: {exc.message}")
        except Exception as exc:  # noqa: BLE001 - an odd search must not break the cell
            warn(f"the results of a search or study were not recorded: {type(exc).__name__}: {exc}")

    def post_run_cell(self, result: Any) -> None:
        raw = self.raw_cell
        if not getattr(result, "success", True):  # left out of closures (see closure_of)
            self.failed_cells.add(getattr(result, "execution_count", None))
        if "install" in raw and installs_packages(raw):
            from ..tracking.capture.environment import rescan_environment

            rescan_environment()
        if SESSION.unfinished:
            SESSION.retry_unfinished()  # ends the registry could not take earlier
        active = SESSION.active
        if not active or self._is_cell_magic(raw):
            return
        run = active[-1]
        info = getattr(result, "info", None)
        source = getattr(info, "raw_cell", raw) or raw
        if _METRIC_LINE.search(source) and getattr(result, "success", True):
            self.log_metrics_cell(run, info, source)
        run.record_cell(
            source, execution_count=getattr(result, "execution_count", None), cell_id=self.cell_id
        )
        if self.capture.get(run.id, True):
            if self.may_capture(info):
                self.capture_after(run, self.code_of(info))
            if any_loaded():  # else autolog has nothing to record
                self.record_results(run, self.names_of(info))
        if isinstance(run, Run):
            for problem in run.take_read_problems():
                warn(problem)
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        if isinstance(error, UsageError):  # a mistyped magic ran nothing: the run goes on
            error = None
        elif isinstance(error, RecordingError):  # our failure is not the run's
            warn(
                f'run "{run.name}" goes on; what the cell asked to record was not: {error.message}'
            )
            error = None
        try:
            if error is not None and run.status == "running":
                status = "killed" if isinstance(error, KeyboardInterrupt) else "failed"
                run.end(status, error=describe_exception(error))
                warn(f'run "{run.name}" ({run.id}) marked {status}; %mlops start begins a new one.')
            elif run.status == "running":
                run.end_cell()
        except RecordingError as exc:
            warn(
                f"not recorded yet for run {run.id}: {exc.message}. "
                "It is kept in memory and retried after the next cell."
            )

    def log_metrics_cell(self, run: Any, info: Any, source: str) -> None:
        """When the cell that ran is a metrics cell of the saved notebook, log its bare
        names and ``print(name)`` lines into ``run``, as the exported step logs them."""
        path = self.notebook_path()
        cells = self.metrics_cells.of(path) if path else None
        if cells is None or not cells.holds(self.cell_id, source):
            return
        try:
            tree = ast.parse(self.text_of(info)[0])
        except SyntaxError:
            return
        for name in logged_names(tree):
            if name not in self.user_ns:
                warn(f'metric "{name}" of this metrics cell is not defined; not logged')
                continue
            try:
                run.log({name: self.user_ns[name]})
            except MlopsError as exc:
                warn(f'metric "{name}" not logged: {exc.message}')

    def python_of(self, source: str) -> str:
        try:
            return str(self.shell.transform_cell(source))
        except Exception:
            return source

    def text_of(self, info: Any) -> tuple[str, frozenset[str] | None]:
        """The Python of the cell being executed and the words in it that may be names
        (:func:`~jupyter_mlops.tracking.capture.cells.possible_names`), read once for
        both hooks.

        The Python is IPython's own transformation of the cell when its execution info
        carries it (IPython 9), else the cell is transformed here, once.
        """
        if self._text is not None and info is not None and self._text[0] is info:
            return self._text[1], self._text[2]
        python = getattr(info, "transformed_cell", None)
        if not isinstance(python, str):
            python = self.python_of(getattr(info, "raw_cell", None) or self.raw_cell)
        words = possible_names(python)
        self._text = (info, python, words)
        return python, words

    def code_of(self, info: Any) -> CellCode:
        """What the code of the cell being executed tells, parsed once for both hooks."""
        if self._code is not None and info is not None and self._code[0] is info:
            return self._code[1]
        code = read_cell(self.text_of(info)[0])
        self._code = (info, code)
        return code

    def may_capture(self, info: Any) -> bool:
        """Whether :meth:`capture_after` may find something in the cell that ran: its code
        may assign a literal, or a word of it names an estimator. Most cells do neither,
        and are then not parsed at all."""
        if self._code is not None and info is not None and self._code[0] is info:
            return True  # parsed already
        python, words = self.text_of(info)
        if words is None or may_assign_literals(python):
            return True
        namespace = self.shell.user_ns
        for name in namespace.keys() & words:
            if not name.startswith("_") and may_be_estimator(namespace[name]):
                return True
        return False

    def snapshot_inputs(self, run: Run, inputs: Iterable[str], explicit: tuple[str, ...]) -> None:
        """Record the data the code reads before assigning it, and the ``explicit`` names.

        ``explicit`` names are snapshotted at once, as ``%mlops snapshot`` would. The
        others are what the run reads: a content already read costs a check of
        microseconds, a new one is recorded once (see :meth:`Run.read_data`).
        """
        names = set(explicit)
        if self.capture.get(run.id, True):
            names.update(inputs)
        for name, value in data_inputs(self.user_ns, names).items():
            try:
                if name in explicit:
                    run.snapshot(value, name=name, role=guess_role(name), variable=name)
                    continue
                if run.reads.unchanged(name, value):
                    continue
                size = _nbytes(value)
                if size > AUTO_SNAPSHOT_MAX_BYTES:
                    warn(
                        f"{name} ({size / 2**30:.1f} GiB) was not snapshotted automatically; "
                        f"use --snapshot {name} to include it."
                    )
                    continue
                run.read_data(value, name=name, role=guess_role(name))
            except MlopsError as exc:
                warn(f"snapshot of {name} not recorded: {exc.message}")
        missing = [n for n in explicit if n not in self.user_ns]
        if missing:
            raise InvalidInputError(
                f"--snapshot names {', '.join(missing)}, which is not defined",
                hint="Define the variable before the run, or drop --snapshot.",
            )

    def capture_after(self, run: Run, code: CellCode) -> None:
        """Record literal parameters and fitted estimators' parameters of the code that ran."""
        try:
            if code.literals:
                literals, injected = _split_injected(code.literals, self.finder.known)
                if literals:
                    run.record_params(literals, source="literal")
                if injected:  # papermill's assignments keep their origin
                    run.record_params(injected, source="papermill")
            estimators = estimator_params(self.user_ns, code.mentioned)
            if estimators:
                run.record_params(estimators, source="estimator")
        except MlopsError as exc:
            warn(f"parameters not captured: {exc.message}")


def _split_injected(
    literals: Mapping[str, Any], found: KernelNotebook | None
) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """``literals`` apart from the ones papermill injected (same name, same value)."""
    if found is None or found.papermill is None or not found.papermill.parameters:
        return literals, {}
    values = found.papermill.parameter_values
    injected = {
        key: value
        for key, value in literals.items()
        if key in values and type(values[key]) is type(value) and values[key] == value
    }
    return {k: v for k, v in literals.items() if k not in injected}, injected


def _nbytes(value: Any) -> int:
    try:
        if hasattr(value, "memory_usage"):
            usage = value.memory_usage(index=True, deep=False)
            return int(usage.sum() if hasattr(usage, "sum") else usage)
        return int(getattr(value, "nbytes", 0))
    except Exception:
        return 0
