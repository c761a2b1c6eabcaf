"""The session: which registry this process records into and which runs are active.

All of it is one object, :data:`SESSION`, so that nothing about recording hides in
module globals: a test (or a long-lived kernel that wants a clean slate) calls
``SESSION.reset()``. The module functions are the session's methods, as the public
API and the faces call them::

    run = start_run("baseline", experiment="churn")     # active until it ends
    log(accuracy=0.93)                                   # to the innermost active run
    end_run()

The session also holds this process's settings (:mod:`.settings`, changed with
:func:`configure`) and the background thread that keeps active runs current in the
registry while they record (:mod:`.background`).
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import EllipsisType
from typing import Any

from ..errors import InvalidInputError, NoActiveRunError, RecordingError
from ..registry.connection import Registry
from ..registry.location import locate
from .background import Background
from .capture.environment import current_environment, environment_ready, warm_environment
from .capture.git import GitProbe
from .capture.notebook import Papermill, record_injected
from .cell_writer import CellWriter
from .closure import Closure
from .closure_rows import record_closure
from .run import Run
from .run_endings import describe_exception
from .run_parents import parent_experiment, parent_id_for
from .run_rows import insert_run_row
from .settings import Settings, settings_from_environment
from .snapshot_worker import SnapshotWorker
from .unrecorded import UnrecordedRun
from .values import check_key, new_id

logger = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "default"

ContextProvider = Callable[[], Mapping[str, Any]]


class Session:
    """This process's recording state: the registries it opened, the one it was told to
    use, the runs that are active (innermost last), and who says where runs come from."""

    def __init__(self, background: Background | None = None) -> None:
        self.settings = settings_from_environment()
        self.background = background or Background(flush_interval=self.settings.flush_interval)
        self.cell_writer = CellWriter()
        self.snapshot_worker = SnapshotWorker()
        self.active: list[Run] = []
        # Runs that ended while the registry could not record it; retried until it can.
        self.unfinished: list[Run] = []
        self.registries: dict[Path, Registry] = {}
        # Registries replaced in ``registries`` by another one at the same path: a run may
        # still record into them, so they are closed with the others, not when replaced.
        self.replaced: list[Registry] = []
        self.chosen: Registry | None = None
        self.context_provider: ContextProvider | None = None
        self._exit_hook = False

    def _hook_exit(self) -> None:
        """Once the process records, make :meth:`end_at_exit` run when it exits."""
        if not self._exit_hook:
            atexit.register(self.end_at_exit)
            self._exit_hook = True

    def reset(self) -> None:
        """Forget every active run and close every registry this session opened; the
        settings are read from the environment again."""
        self.background.stop()
        self.cell_writer.stop()
        self.snapshot_worker.stop()
        for run in list(self.active):
            self.forget(run)
        self.unfinished.clear()
        for registry in self.opened():
            registry.close()
        self.registries.clear()
        self.replaced.clear()
        self.chosen = None
        self.context_provider = None
        self.settings = settings_from_environment()
        self.background.set_flush_interval(self.settings.flush_interval)

    def configure(self, **changes: object) -> Settings:
        """Change this process's settings (see :func:`configure`); return them all."""
        self.settings = self.settings.changed(**changes)
        self.background.set_flush_interval(self.settings.flush_interval)
        return self.settings

    # -- the registry ------------------------------------------------------------------

    def default_registry(self, *, create: bool = False) -> Registry:
        """The registry runs record into: the one chosen with :meth:`use_registry` (or
        ``mlops.init``), else the one that applies from the working directory, opened once
        per process and kept open.

        With ``create=True`` a missing registry is created in the working directory.
        """
        if self.chosen is not None:
            return self.chosen
        found = locate()
        if found is None:
            if not create:
                return Registry.open()  # raises RegistryNotFoundError with the hint
            registry = Registry.init()
            self.registries[registry.path] = registry
            self._hook_exit()
            return registry
        cached = self.registries.get(found)
        if cached is None:
            cached = Registry.open(found, create=True)
            self.registries[found] = cached
            self._hook_exit()
        return cached

    def use_registry(self, registry: Registry | None) -> None:
        """Make ``registry`` the one this process records into; ``None`` goes back to locating."""
        self.chosen = registry
        if registry is not None:
            previous = self.registries.get(registry.path)
            if previous is not None and previous is not registry:
                self.replaced.append(previous)
            self.registries[registry.path] = registry
            self._hook_exit()

    def opened(self) -> list[Registry]:
        """Every registry this session holds, replaced ones included: what it closes."""
        return [*self.registries.values(), *self.replaced]

    # -- active runs ----------------------------------------------------------------------

    def active_run(self) -> Run | None:
        """The innermost run that is recording, if any."""
        return self.active[-1] if self.active else None

    def recorded_run(self, registry: Registry) -> Run | None:
        """The innermost active run when ``registry`` holds it: what a model, a snapshot
        or a verdict stored now is linked to. ``None`` when no run is active, when it
        records into another registry, or when it is not recorded at all (an
        :class:`UnrecordedRun`: what is stored then is linked to no run)."""
        run = self.active_run()
        if run is None or isinstance(run, UnrecordedRun) or run.registry.path != registry.path:
            return None
        return run

    def unrecorded_run(self) -> UnrecordedRun | None:
        """The innermost active run when it could not be recorded, else ``None``."""
        run = self.active_run()
        return run if isinstance(run, UnrecordedRun) else None

    def require_active_run(self) -> Run:
        if not self.active:
            raise NoActiveRunError(
                "No run is active",
                hint="Start one with %%mlops run NAME (one cell), %mlops start (several cells) "
                "or `with mlops.start_run(NAME):`.",
            )
        return self.active[-1]

    def forget(self, run: Run) -> None:
        """``run`` no longer records: it is not active, not sampled and has no heartbeat.
        An end the registry could not take yet is kept for :meth:`retry_unfinished`."""
        if run in self.active:
            self.active.remove(run)
        self.background.discard(run.id)
        if run.end_pending and run not in self.unfinished:
            self.unfinished.append(run)

    def end_children(self, run: Run, status: str, *, error: str | None = None) -> None:
        """End, innermost first, the runs still active inside ``run`` (children started
        without a ``with`` block and never ended), before ``run`` itself ends: a child
        does not outlive its parent. An end the registry cannot take now is kept and
        retried, as for any run."""
        if run not in self.active:
            return
        inside = self.active[self.active.index(run) + 1 :]
        for child in reversed(inside):
            try:
                child.end(status, error=error)
            except RecordingError as exc:
                logger.warning(
                    "jupyter-mlops: the end of run %s was not recorded yet (kept, retried"
                    " later): %s",
                    child.id,
                    exc.message,
                )

    def retry_unfinished(self) -> list[Run]:
        """Try again to record the ends kept by :meth:`forget`; return the runs still pending."""
        for run in list(self.unfinished):
            try:
                run.write_end()
            except RecordingError:
                continue
            self.unfinished.remove(run)
        return list(self.unfinished)

    def start_unrecorded(
        self, name: str | None, *, experiment: str | None, reason: str, announce: bool = True
    ) -> Run:
        """Make an :class:`UnrecordedRun` active: the cell or script runs on, its values
        dropped; ``announce`` logs a warning saying so (a face may say it its own way)."""
        run = UnrecordedRun(
            self.chosen,
            name=name or "unrecorded",
            experiment=experiment or DEFAULT_EXPERIMENT,
            reason=reason,
            on_close=self.forget,
        )
        self.active.append(run)
        if announce:
            logger.warning(
                'jupyter-mlops: run "%s" is not recorded (%s); the code runs on and what it'
                " logs is dropped.",
                run.name,
                reason,
            )
        return run

    def cell_context(self) -> Mapping[str, Any] | None:
        """What the frontend says about the code running now (its cell), if one does."""
        return None if self.context_provider is None else self.context_provider()

    def end_at_exit(self) -> None:
        """End the runs still active when the interpreter exits, and write pending ends.

        A script that forgets ``end_run`` (or exits with ``sys.exit``) keeps what it
        logged: the run ends ``finished``, or ``failed`` / ``killed`` when an uncaught
        exception is what ends the interpreter. The registries opened are closed, so
        that what was recorded is in ``registry.db`` itself, not only in its WAL.
        """
        uncaught = getattr(sys, "last_value", None)
        if uncaught is None:
            status, error = "finished", None
        else:
            status = "killed" if isinstance(uncaught, KeyboardInterrupt) else "failed"
            error = describe_exception(uncaught)
        self.background.stop()  # the ends below write everything buffered
        for run in reversed(list(self.active)):
            try:
                run.end(status, error=error)
            except RecordingError as exc:
                logger.warning("jupyter-mlops: the end of run %s was lost: %s", run.id, exc)
        for run in self.retry_unfinished():
            logger.warning(
                "jupyter-mlops: the end of run %s (%s) could not be recorded before exit;"
                " the registry will mark it crashed.",
                run.id,
                run.name,
            )
        self.cell_writer.stop()
        self.snapshot_worker.stop()
        for registry in self.opened():
            registry.close()  # the last connection to close moves the WAL into registry.db

    def start_run(
        self,
        name: str | None = None,
        *,
        experiment: str | None = None,
        tags: Mapping[str, object] | None = None,
        kind: str = "script",
        registry: Registry | None = None,
        notebook_path: str | None = None,
        cell_id: str | None = None,
        previous_run_id: str | None = None,
        workdir: Path | None = None,
        announce_unrecorded: bool = True,
        parent: Run | str | bool | None = None,
        system_metrics: bool | None = None,
        papermill: Papermill | None = None,
        closure: Callable[[Run], Closure] | None = None,
    ) -> Run:
        """Start recording a run and make it the active one (see :func:`start_run`).

        When the registry cannot record it, an :class:`UnrecordedRun` is active instead
        and a warning says why (unless ``announce_unrecorded`` is false, for a face
        that says it its own way): the caller's code runs on. A top-level run of a
        notebook papermill executes records the parameters it injected (``papermill``,
        or what the frontend's context says; see :func:`record_injected`). A top-level
        run given a ``closure`` function (a face that reads the kernel's history, or the
        frontend's context) records what it returns when the run ends: the earlier cells
        the run depended on (see :mod:`.closure`).
        """
        if system_metrics is not None and not isinstance(system_metrics, bool):
            raise InvalidInputError(
                f"system_metrics must be True, False or None, got {system_metrics!r}",
                hint="None samples in notebook runs only (see mlops.configure).",
            )
        self._hook_exit()
        if self.unfinished:
            self.retry_unfinished()
        if registry is None:
            try:
                registry = self.default_registry()
            except RecordingError as exc:  # found, but cannot be opened now (a full disk)
                return self.start_unrecorded(
                    name, experiment=experiment, reason=exc.message, announce=announce_unrecorded
                )
        context: Mapping[str, Any] = {}
        if self.context_provider is not None and kind == "script" and notebook_path is None:
            context = self.context_provider()
            notebook_path, cell_id = context.get("notebook_path"), context.get("cell_id")
            kind = context.get("kind", kind)
            papermill = papermill or context.get("papermill")
            closure = closure or context.get("closure")
        parent_id = parent_id_for(parent, registry, kind, self.active_run())
        if not experiment and parent_id is not None:  # a child stays in its parent's
            experiment = parent_experiment(parent_id, registry, self.active)
        experiment = experiment or os.environ.get("MLOPS_EXPERIMENT") or DEFAULT_EXPERIMENT
        check_key("experiment", experiment)
        run_id = new_id()
        if name is None:
            stem = Path(notebook_path).stem if notebook_path else Path(_script_name()).stem
            name = f"{stem or 'run'}-{run_id[:6]}"
        check_key("run", name)
        git = GitProbe(workdir or Path.cwd())
        warm_environment()  # versions are read in the background and attached when known
        environment = current_environment() if environment_ready() else None
        now = time.time()
        pid = os.getpid()
        try:
            insert_run_row(
                registry,
                run_id=run_id,
                name=name,
                experiment=experiment,
                kind=kind,
                environment=environment,
                previous_run_id=previous_run_id,
                parent_run_id=parent_id,
                notebook_path=notebook_path,
                cell_id=cell_id,
                git=git,
                now=now,
                pid=pid,
            )
        except RecordingError as exc:
            return self.start_unrecorded(
                name, experiment=experiment, reason=exc.message, announce=announce_unrecorded
            )
        run = Run(
            registry,
            run_id=run_id,
            name=name,
            experiment=experiment,
            kind=kind,
            git=git,
            on_close=self.forget,
            cell_writer=self.cell_writer,
            snapshot_worker=self.snapshot_worker,
            parent_run_id=parent_id,
        )
        run.context_source = self.cell_context
        if tags:
            run.set_tags(tags)
        if papermill is not None and parent_id is None:
            record_injected(run, papermill)
        if context.get("cell_source"):
            run.record_cell(
                context["cell_source"],
                execution_count=context.get("execution_count"),
                cell_id=cell_id,
            )
        if closure is not None and parent_id is None:  # a sweep's trials share their parent's
            run.before_end(functools.partial(record_closure, run, closure))
        nested = any(not isinstance(outer, UnrecordedRun) for outer in self.active)
        self.active.append(run)
        settings = self.settings
        sampled = settings.samples_system_metrics(kind, system_metrics, nested=nested)
        self.background.add(
            run, system_metrics=settings.system_metrics_interval if sampled else None
        )
        return run


SESSION = Session()
"""The one session of this process."""


def default_registry(*, create: bool = False) -> Registry:
    """The registry runs record into (see :meth:`Session.default_registry`)."""
    return SESSION.default_registry(create=create)


def use_registry(registry: Registry | None) -> None:
    """Make ``registry`` the one this process records into; ``None`` goes back to locating."""
    SESSION.use_registry(registry)


def active_run() -> Run | None:
    """The innermost run that is recording, if any."""
    return SESSION.active_run()


def recorded_run(registry: Registry) -> Run | None:
    """The active run when ``registry`` holds it (see :meth:`Session.recorded_run`)."""
    return SESSION.recorded_run(registry)


def unrecorded_run() -> UnrecordedRun | None:
    """The active run when it could not be recorded, else ``None``."""
    return SESSION.unrecorded_run()


def require_active_run() -> Run:
    """The innermost active run, or :class:`NoActiveRunError` saying how to start one."""
    return SESSION.require_active_run()


def set_context_provider(provider: ContextProvider | None) -> None:
    """Let a frontend say where runs come from (notebook path, cell id, cell source).

    The notebook magics install one, so ``mlops.start_run()`` called from a cell knows
    its notebook and records the cell, without the core importing IPython.
    """
    SESSION.context_provider = provider


def start_run(
    name: str | None = None,
    *,
    experiment: str | None = None,
    tags: Mapping[str, object] | None = None,
    kind: str = "script",
    registry: Registry | None = None,
    notebook_path: str | None = None,
    cell_id: str | None = None,
    previous_run_id: str | None = None,
    workdir: Path | None = None,
    parent: Run | str | bool | None = None,
    system_metrics: bool | None = None,
) -> Run:
    """Start recording a run and make it the active one; use it as a context manager.

    ``kind`` is ``script`` unless a frontend says otherwise: called from a notebook cell
    with the extension loaded, the run learns its notebook, cell and source from the
    frontend. ``name`` defaults to the notebook's or script's name with a short suffix. A run
    started from the same notebook cell (or, without a cell id, with the same name in
    the same experiment) as an earlier run is linked to it as ``previous_run_id``.
    ``system_metrics`` samples CPU, memory and GPU use into ``system/...`` series while
    the run records (default: in notebook runs only, see :func:`configure`).

    A run started while another one is active is its child (``parent_run_id``): a loop
    of ``with mlops.start_run(...)`` inside a ``%%mlops run`` cell, or inside another
    run's ``with`` block, records one child per pass, and the enclosing run is the
    active one again (what ``mlops.log`` logs to) once each child ends. ``parent=``
    names the parent (a run or its id); ``parent=False`` starts a top-level run even
    while another one is active. A child is not linked to an earlier run as
    ``previous_run_id`` unless ``previous_run_id`` says so.

        with mlops.start_run("baseline", experiment="churn", tags={"team": "growth"}):
            for lr in (0.01, 0.1):
                with mlops.start_run(f"lr={lr}"):        # a child of "baseline"
                    mlops.log(accuracy=train(lr))
    """
    return SESSION.start_run(
        name,
        experiment=experiment,
        tags=tags,
        kind=kind,
        registry=registry,
        notebook_path=notebook_path,
        cell_id=cell_id,
        previous_run_id=previous_run_id,
        workdir=workdir,
        parent=parent,
        system_metrics=system_metrics,
    )


def configure(
    *,
    flush_interval: float | None = None,
    system_metrics: bool | None | EllipsisType = ...,
    system_metrics_interval: float | None = None,
    run_summary: bool | None = None,
) -> Settings:
    """Change how this process records; return the settings now in force.

    - ``flush_interval``: seconds between two background writes of what active runs
      logged (default 1, ``MLOPS_FLUSH_INTERVAL``), so curves move while a cell runs;
      0 writes at each cell's end and run's end only.
    - ``system_metrics``: sample CPU, memory and GPU use into ``system/...`` series in
      every run (True), in none (False), or in notebook runs only (None, the default;
      ``MLOPS_SYSTEM_METRICS=1`` / ``0``). A run's own ``start_run(system_metrics=...)``
      wins.
    - ``system_metrics_interval``: seconds between two samples (default 10,
      ``MLOPS_SYSTEM_METRICS_INTERVAL``), for the runs started afterwards.
    - ``run_summary``: whether a ``%%mlops run`` cell and ``%mlops end`` close with the
      line ``run <id> "<name>": 5 params, 3 metrics, 1 snapshot, 2 artifacts`` (default
      True, ``MLOPS_RUN_SUMMARY=0`` to silence it).

    ::

        mlops.configure(system_metrics=True, system_metrics_interval=5)
        mlops.configure(flush_interval=0)        # no background writes
        mlops.configure(run_summary=False)       # run cells print nothing
    """
    changes: dict[str, object] = {}
    if flush_interval is not None:
        changes["flush_interval"] = flush_interval
    if system_metrics is not ...:
        changes["system_metrics"] = system_metrics
    if system_metrics_interval is not None:
        changes["system_metrics_interval"] = system_metrics_interval
    if run_summary is not None:
        changes["run_summary"] = run_summary
    return SESSION.configure(**changes)


def end_run(status: str = "finished") -> Run:
    """End the active run (``%mlops end``) and return it.

    If the registry cannot record the end now, a warning says so and the end is kept
    and retried (after the next cell, at the next run, at exit): the caller goes on.
    """
    run = SESSION.require_active_run()
    try:
        run.end(status)
    except RecordingError as exc:
        logger.warning(
            "jupyter-mlops: run %s ended, but its end is not recorded yet (kept, retried"
            " later): %s",
            run.id,
            exc.message,
        )
    return run


def log(
    metrics: Mapping[str, object] | None = None, /, *, step: int | None = None, **named: object
) -> None:
    """Log metrics to the active run: ``mlops.log(accuracy=0.93)``, ``mlops.log(loss=l, step=i)``."""
    SESSION.require_active_run().log(metrics, step=step, **named)


def log_params(params: Mapping[str, object] | None = None, /, **named: object) -> None:
    """Record parameters on the active run: ``mlops.log_params(lr=0.1, depth=6)``."""
    SESSION.require_active_run().log_params(params, **named)


def log_artifact(path: str | os.PathLike[str], name: str | None = None) -> tuple[Any, ...]:
    """Store a file, or a directory file by file, as artifacts of the active run:
    ``mlops.log_artifact("plots/")`` (see :meth:`Run.log_artifact`)."""
    return SESSION.require_active_run().log_artifact(path, name)


def log_figure(figure: Any, name: str | None = None) -> Any:
    """Store a matplotlib or plotly figure as an artifact of the active run:
    ``mlops.log_figure(fig, "roc")`` (see :meth:`Run.log_figure`)."""
    return SESSION.require_active_run().log_figure(figure, name)


def log_image(image: Any, name: str | None = None) -> Any:
    """Store an image (numpy array or PIL image) as PNG on the active run:
    ``mlops.log_image(array, "sample")`` (see :meth:`Run.log_image`)."""
    return SESSION.require_active_run().log_image(image, name)


def log_table(table: Any, name: str | None = None) -> Any:
    """Store a table (a DataFrame) as parquet on the active run, with a preview:
    ``mlops.log_table(df, "errors")`` (see :meth:`Run.log_table`)."""
    return SESSION.require_active_run().log_table(table, name)


def log_text(text: str, name: str) -> Any:
    """Store text as an artifact of the active run: ``mlops.log_text(report, "report.md")``."""
    return SESSION.require_active_run().log_text(text, name)


def _script_name() -> str:
    main = sys.modules.get("__main__")
    return getattr(main, "__file__", None) or "run"
