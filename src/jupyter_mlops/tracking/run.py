"""A run being recorded: its buffer, its flushes and its end.

Flushes write with plain :mod:`sqlite3` (``executemany`` inside one transaction): a
metric point must cost microseconds, and sqlite-utils' inserts look up the table's
columns and keys on every call, which would cost more than the write itself.

Each metric's summary (:mod:`.metric_summary`) also keeps the min/max buckets of its
curve's preview; a flush writes the preview of every curve longer than the page shows
whole with the points, so a page never reads a long curve.

A flush takes what is buffered under the run's lock, then writes it without holding the
lock: a flush from the background thread (:mod:`.background`, every second while a cell
runs) does not stop the loop that logs. One flush of a run writes at a time, in order;
what a failed flush took goes back to the buffer, ahead of what was logged meanwhile.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, MlopsError, NoActiveRunError
from ..registry.connection import Registry
from ..registry.pending_cells import Cell, PendingCells, write_cells
from ..registry.previews import write_preview
from ..snapshots.store import SnapshotRecord, record_snapshot
from .artifacts import ArtifactLogging
from .capture.environment import current_environment
from .capture.git import GitProbe
from .data_reads import DataReads
from .metric_summary import MetricSummary
from .previews import SERIES_FULL_UP_TO
from .run_endings import describe_exception, failing_exit
from .run_housekeeping import RunHousekeeping
from .secrets import redact_code, redact_param, redact_tag
from .shared_rows import environment_id as environment_id_of
from .values import (
    STATUSES,
    STEP_MAX,
    STEP_MIN,
    check_key,
    check_step,
    encode_param,
    metric_value,
    valid_text,
)

if TYPE_CHECKING:
    from .cell_writer import CellWriter
    from .snapshot_worker import SnapshotWorker

logger = logging.getLogger(__name__)


FLUSH_EVERY_POINTS = 50_000
FLUSH_EVERY_SECONDS = 30.0


class Run(ArtifactLogging, RunHousekeeping):
    """A run that is being recorded. Make one with :func:`start_run`.

    Its artifact methods (``log_artifact``, ``log_figure``, ``log_image``, ``log_table``,
    ``log_text``) come from :class:`~jupyter_mlops.tracking.artifacts.ArtifactLogging`.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        run_id: str,
        name: str,
        experiment: str,
        kind: str,
        git: GitProbe | None,
        on_close: Callable[[Run], None] | None = None,
        cell_writer: CellWriter | None = None,
        snapshot_worker: SnapshotWorker | None = None,
        parent_run_id: str | None = None,
    ) -> None:
        self.registry = registry
        self.id = run_id
        self.parent_run_id = parent_run_id  # the run this one is a child of, if any
        # What autolog recorded as this run's children (see tracking.autolog), by the
        # identity of the object it read, so that naming it again records nothing new.
        self.autologged: dict[tuple[object, ...], object] = {}
        self.name = name
        self.experiment = experiment
        self.kind = kind
        self.status = "running"
        self._git = git
        self._on_close = on_close
        self._end: tuple[str, str | None, float] | None = None
        self._flush_at_points = FLUSH_EVERY_POINTS
        self._points: list[tuple[str, int, float, float]] = []
        self._next_step: dict[str, int] = {}
        self._summaries: dict[str, MetricSummary] = {}
        self._dirty_summaries: set[str] = set()
        self._params: dict[str, tuple[Any, str, str]] = {}
        self._stored_params: dict[str, tuple[Any, str, str]] = {}  # as the registry has them
        self._tags: dict[str, str] = {}
        self._cells: list[Cell] = []
        self._cell_seq = 0
        self._cells_seen: set[tuple[int | None, str | None, str]] = set()
        self._last_flush = time.monotonic()
        self._lock = threading.RLock()
        # A flush has taken the buffer and is writing it (see flush); the next waits.
        self._flushing = False
        self._in_flight = 0  # the points it took
        self._flush_done = threading.Condition(self._lock)
        self._flush_failing = False  # an automatic flush failed and none has succeeded since
        # Cells go to the run's pending-cells file as they end, and into the registry
        # from the cell writer's thread (see end_cell); without a writer, or once the
        # file fails, each cell's end writes them.
        self._cell_writer = cell_writer
        self._pending: PendingCells | None = None
        self._pending_failed = cell_writer is None
        self._cells_writing = 0  # batches the cell writer has taken and not yet stored
        self._cells_written = threading.Condition(self._lock)
        # The data the run's cells read, each content recorded once (see data_reads)
        self.reads = DataReads(run_id, registry, snapshot_worker)
        self._read_problems: list[str] = []
        self._before_end: list[Callable[[], object]] = []
        # (In[n], source) of each cell that ran as part of the run, in order: what its
        # closure starts from (see tracking.closure)
        self.cell_sources: list[tuple[int | None, str]] = []

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.name!r} ({self.status})>"

    def before_end(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` when the run ends, before its end is written: what an autolog
        helper still holds (an epoch's mean) is logged then. A callback that raises is
        logged and skipped."""
        self._before_end.append(callback)

    # -- recording -----------------------------------------------------------------

    def log(
        self,
        metrics: Mapping[str, object] | None = None,
        /,
        *,
        step: int | None = None,
        **named: object,
    ) -> None:
        """Buffer metric values: ``run.log(acc=0.9)``, ``run.log({"val-loss": 0.3}, step=2)``.

        Without ``step``, each key counts its own steps from 0.
        """
        items = named if metrics is None else {**metrics, **named}
        if step is not None and (type(step) is not int or not STEP_MIN <= step < STEP_MAX):
            step = check_step(step)
        now = time.time()
        with self._lock:
            if self.status != "running":
                self._check_open()
            points = self._points
            next_step = self._next_step
            for key, raw in items.items():
                summary = self._summaries.get(key)
                if summary is None:
                    check_key("metric", key)
                value = raw if type(raw) is float else metric_value(key, raw)
                if step is None:
                    at = next_step.get(key, 0)
                    if at >= STEP_MAX:
                        check_step(at)
                    next_step[key] = at + 1
                else:
                    at = int(step)
                    if at >= next_step.get(key, 0):
                        next_step[key] = at + 1
                points.append((key, at, value, now))
                if summary is None:
                    self._summaries[key] = MetricSummary.starting(at, value)
                else:
                    summary.add(at, value)
                self._dirty_summaries.add(key)
            if len(points) >= self._flush_at_points or (
                not len(points) & 1023 and time.monotonic() - self._last_flush > FLUSH_EVERY_SECONDS
            ):
                self._flush_on_the_way()

    def log_params(self, params: Mapping[str, object] | None = None, /, **named: object) -> None:
        """Record parameters; a key set twice keeps the last value."""
        self.record_params(named if params is None else {**params, **named}, source="explicit")

    def record_params(self, items: Mapping[str, object], *, source: str) -> None:
        """Record parameters with where they came from: explicit, literal, estimator, pipeline.

        Secrets are stored redacted, with the reason (:mod:`.secrets`).
        """
        with self._lock:
            self._check_open()
            for key, value in items.items():
                check_key("parameter", key)
                stored, type_name = encode_param(redact_param(key, value))
                entry = (stored, type_name, source)
                # a cell that sets lr = 0.1 again has nothing new to write
                if key in self._params or self._stored_params.get(key) != entry:
                    self._params[key] = entry

    def set_tags(self, tags: Mapping[str, object] | None = None, /, **named: object) -> None:
        """Attach free-form text labels: ``run.set_tags(team="churn")``; secrets are redacted."""
        items = named if tags is None else {**tags, **named}
        with self._lock:
            for key, value in items.items():
                check_key("tag", key)
                self._tags[key] = valid_text(redact_tag(key, str(value)))

    def record_cell(
        self, source: str, *, execution_count: int | None = None, cell_id: str | None = None
    ) -> None:
        """Keep the source of a cell that ran as part of this run (once per execution),
        with its secrets redacted."""
        with self._lock:
            seen = (execution_count, cell_id, source)
            if seen in self._cells_seen:
                return
            self._cells_seen.add(seen)
            self.cell_sources.append((execution_count, source))
            kept = redact_code(source)
            if not kept.isascii():  # ASCII text is valid as it is
                kept = valid_text(kept)
            cell = (self._cell_seq, execution_count, cell_id, kept, time.time())
            self._cells.append(cell)
            self._cell_seq += 1
            if not self._pending_failed:
                self._keep_pending(cell)

    def _keep_pending(self, cell: Cell) -> None:
        """Append ``cell`` to the run's pending-cells file (made with the first cell)."""
        try:
            pending = self._pending
            if pending is None:
                pending = self._pending = PendingCells(self.registry.directory, self.id)
            pending.append(cell)
        except OSError as exc:  # a full or read-only disk: each cell's end writes it
            self._pending_failed = True
            logger.debug("Run %s writes its cells at each cell's end: %s", self.id, exc)

    def snapshot(
        self,
        data: object,
        *,
        name: str | None = None,
        role: str = "input",
        variable: str | None = None,
        materialize: bool = False,
        index: str = "auto",
    ) -> SnapshotRecord:
        """Fingerprint and profile ``data`` and link it to this run with ``role``."""
        with self._lock:
            self._check_open()
            return record_snapshot(
                self.registry,
                data,
                name=name,
                role=role,
                run_id=self.id,
                variable=variable,
                materialize=materialize,
                index=index,
            )

    def read_data(self, data: object, *, name: str, role: str = "input") -> None:
        """The run reads ``data`` as the variable ``name``, as a cell is about to.

        The content is recorded as a snapshot linked to the run the first time it is
        read; reading it again, unchanged, costs microseconds and writes nothing. An
        in-place edit between two readings is a new content, recorded with its own
        fingerprint. Large pandas data is fingerprinted and profiled on another thread
        (see :mod:`jupyter_mlops.tracking.data_reads`), what the worker could not record
        is told by :meth:`take_read_problems`.
        """
        with self._lock:
            self._check_open()
            self.reads.read(data, name=name, role=role, variable=name)

    def take_read_problems(self) -> list[str]:
        """What could not be recorded of the data the run read, since the last call."""
        problems = self.reads.take_problems()
        if self._read_problems:  # most cells: nothing to join, no list to make
            problems, self._read_problems = self._read_problems + problems, []
        return problems

    def settle_reads(self) -> None:
        """Wait until all the data the run has read so far is recorded; what could not
        be is told by :meth:`take_read_problems`."""
        self._read_problems += self.reads.settle()

    # -- writing ---------------------------------------------------------------------

    @property
    def pending_points(self) -> int:
        """The points logged and not in the registry yet (a flush under way included)."""
        return len(self._points) + self._in_flight

    @property
    def has_pending(self) -> bool:
        """Whether values were logged (points, parameters, tags) that a flush would write."""
        return bool(self._points or self._dirty_summaries or self._params or self._tags)

    def end_cell(self) -> None:
        """What the notebook does when a cell ends: write what the cell buffered.

        A cell that logged, set parameters or tags is written at once, its source with
        it, in one transaction. A cell that only adds its source to the run is already
        in the run's pending-cells file (:mod:`~jupyter_mlops.registry.pending_cells`):
        the cell writer stores it a moment later, off the cell's path.
        """
        with self._lock:
            only_cells = not (self._points or self._params or self._tags or self._dirty_summaries)
            if only_cells and (not self._cells or not self._pending_failed):
                if self._cells and self._cell_writer is not None:
                    self._cell_writer.schedule(self)
                return
        self.flush()

    def write_cells(self, conn: sqlite3.Connection) -> None:
        """Store the cells buffered so far through ``conn``, a connection of the cell
        writer's own; if that fails they stay buffered for the run's next flush."""
        with self._lock:
            cells, self._cells = self._cells, []
            if not cells:
                return
            self._cells_writing += 1
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                write_cells(conn, self.id, cells)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except BaseException:
            with self._lock:
                self._cells = cells + self._cells
            raise
        finally:
            with self._lock:
                self._cells_writing -= 1
                self._cells_written.notify_all()

    def _flush_on_the_way(self) -> None:
        """A flush that ``log`` does by itself: it never raises into the user's loop.

        When the registry cannot be written, the values stay buffered, one warning says
        so, and the next automatic try waits for another batch of points (or time).
        """
        if self._automatic_flush():
            self._flush_at_points = FLUSH_EVERY_POINTS
        else:
            self._flush_at_points = len(self._points) + FLUSH_EVERY_POINTS

    def flush_in_background(self, through: Registry) -> bool:
        """Write what is buffered through ``through``, a connection of the calling
        thread's own; never raises. Whether it succeeded (or had nothing to write).

        What the background thread does every second while a cell runs, so that the
        panel's curves move: see :mod:`.background`.
        """
        if self.status != "running" or self._flushing or not self.has_pending:
            return True
        return self._automatic_flush(through)

    def _automatic_flush(self, through: Registry | None = None) -> bool:
        """A flush nobody asked for: a failure keeps the values buffered, and one warning
        says so until a flush succeeds again."""
        try:
            self.flush(through)
        except Exception as exc:  # noqa: BLE001 - the training loop must go on
            message = getattr(exc, "message", None) or str(exc)
            if self._flush_failing:
                logger.debug("Run %s: flush failed again: %s", self.id, message)
            else:
                self._flush_failing = True
                logger.warning(
                    "jupyter-mlops: %d metric point(s) of run %s (%s) are kept in memory and"
                    " retried later: %s",
                    self.pending_points,
                    self.id,
                    self.name,
                    message,
                )
            return False
        if self._flush_failing:
            self._flush_failing = False
            logger.info("jupyter-mlops: run %s (%s) is recorded again", self.id, self.name)
        return True

    def flush(self, through: Registry | None = None) -> None:
        """Write everything buffered in one transaction; on failure keep it for the next try.

        ``through`` is the registry connection to write with (the run's own by default;
        another thread passes one of its own).
        """
        with self._lock:
            while self._flushing:  # a flush of another thread is writing: after it
                self._flush_done.wait()
            points, self._points = self._points, []
            dirty, self._dirty_summaries = self._dirty_summaries, set()
            params, self._params = self._params, {}
            tags, self._tags = self._tags, {}
            cells, self._cells = self._cells, []
            self._last_flush = time.monotonic()
            if not (points or params or tags or cells or dirty):
                return
            summaries = [self._summaries[key].row(self.id, key) for key in dirty]
            previews = [
                self._summaries[key].preview_row(self.id, key)
                for key in dirty
                if self._summaries[key].count > SERIES_FULL_UP_TO
            ]
            self._flushing, self._in_flight = True, len(points)
        try:
            registry = self.registry if through is None else through
            with registry.transaction(self._describe(points, params, cells)) as conn:
                self._write(conn, points, summaries, previews, params, tags, cells)
        except BaseException:
            with self._lock:
                self._points = points + self._points
                self._dirty_summaries |= dirty
                self._params = {**params, **self._params}
                self._tags = {**tags, **self._tags}
                self._cells = cells + self._cells
                self._flushing, self._in_flight = False, 0
                self._flush_done.notify_all()
            raise
        with self._lock:
            self._stored_params.update(params)
            self._flushing, self._in_flight = False, 0
            self._flush_done.notify_all()

    def _write(
        self,
        conn: sqlite3.Connection,
        points: list[tuple[str, int, float, float]],
        summaries: list[tuple[Any, ...]],
        previews: list[tuple[str, str, int, int, list[Any]]],
        params: dict[str, tuple[Any, str, str]],
        tags: dict[str, str],
        cells: list[Cell],
    ) -> None:
        run_id = self.id
        if points:
            conn.executemany(
                "INSERT INTO metrics (run_id, key, step, value, timestamp) VALUES (?, ?, ?, ?, ?)",
                [(run_id, k, s, v if v == v else None, t) for k, s, v, t in points],
            )
        if summaries:
            conn.executemany(
                "INSERT OR REPLACE INTO metric_summaries"
                " (run_id, key, last, last_step, min, min_step, max, max_step, count)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                summaries,
            )
        if previews:
            write_preview(conn, previews)
        if params:
            conn.executemany(
                "INSERT OR REPLACE INTO params (run_id, key, value, type, source) VALUES (?, ?, ?, ?, ?)",
                [
                    (run_id, key, value, type_name, source)
                    for key, (value, type_name, source) in params.items()
                ],
            )
        if tags:
            conn.executemany(
                "INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?, ?, ?)",
                [(run_id, key, value) for key, value in tags.items()],
            )
        if cells:
            write_cells(conn, run_id, cells)
        conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (time.time(), run_id))

    @staticmethod
    def _describe(points: list[Any], params: dict[str, Any], cells: list[Any]) -> str:
        counted = ((points, "metric point(s)"), (params, "parameter(s)"), (cells, "code cell(s)"))
        told = [f"{len(items)} {what}" for items, what in counted if items]
        return ", ".join(told) or "the run's state"

    # -- ending ----------------------------------------------------------------------------

    def end(self, status: str = "finished", *, error: str | None = None) -> None:
        """Write what is buffered and close the run with ``status``.

        The run stops recording at once, whatever happens next: later cells are not
        captured into it. If the registry cannot take the end now, the end (with its
        time) and the buffered values are kept and :meth:`write_end` is tried again
        (by the session after the next cell, at the next run, and at exit); the
        :class:`RecordingError` says so. Ending a run that has already ended does nothing.
        """
        if status not in STATUSES or status == "running":
            raise InvalidInputError(
                f'"{status}" is not a final run status',
                hint="Use finished, failed, killed or crashed.",
            )
        while self._before_end and self.status == "running":
            callback = self._before_end.pop(0)
            try:
                callback()
            except Exception:  # an autolog helper must not keep the run from ending
                logger.warning("Run %s: a callback before its end failed", self.id, exc_info=True)
        with self._lock:
            if self.status != "running":
                return
            self.status = status
            # an error message may quote a URL with its key: kept with its secrets redacted
            self._end = (status, None if error is None else redact_code(error), time.time())
            try:
                self.write_end()
            finally:
                self._closed()

    @property
    def end_pending(self) -> bool:
        """Whether the run has ended but the registry has not been told yet."""
        return self._end is not None

    def write_end(self) -> None:
        """Record the end kept by :meth:`end`, with everything still buffered."""
        with self._lock:
            if self._end is None:
                return
            status, error, ended_at = self._end
            git = self._git.state(wait=2.0) if self._git is not None else None
            dirty = None if git is None or git.dirty is None else int(git.dirty)
            while self._cells_writing:  # the cell writer's batch is stored, or back here
                self._cells_written.wait()
            self.settle_reads()  # before the end: a finished run has all it read recorded
            for problem in self.take_read_problems():  # nothing takes them after the end
                logger.warning("jupyter-mlops: %s", problem)
            self.flush()
            # the environment as it is at the end: packages imported during the run count
            environment = current_environment()
            with self.registry.transaction(f"the end of run {self.id}") as conn:
                environment_id = environment_id_of(self.registry, conn, environment)
                conn.execute(
                    "UPDATE runs SET status = ?, ended_at = ?, error = ?, heartbeat_at = ?,"
                    " git_dirty = COALESCE(?, git_dirty), environment_id = ? WHERE id = ?",
                    (status, ended_at, error, time.time(), dirty, environment_id, self.id),
                )
            self._end = None
            self.reads.release()
            if self._pending is not None:  # every cell it holds is stored
                self._pending.remove()
                self._pending = None

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc_type is None or (issubclass(exc_type, SystemExit) and not failing_exit(exc)):
            status, error = "finished", None
        else:
            status = "killed" if issubclass(exc_type, KeyboardInterrupt) else "failed"
            error = describe_exception(exc)
        try:
            self.end(status, error=error)
        except MlopsError as failure:  # the user's code went well or its own error stands
            logger.warning(
                "jupyter-mlops: could not record the end of run %s yet (kept, retried later): %s",
                self.id,
                failure.message,
            )
        finally:
            self._closed()

    def _closed(self) -> None:
        """Tell whoever started this run (the session) that it no longer records."""
        if self._on_close is not None:
            self._on_close(self)

    def forked(self) -> None:
        """In a child process forked while this run was active: fresh locks (a thread
        of the parent's may have held them; it does not exist here), and nothing of
        what the parent had buffered, which the parent writes itself. What the child
        logs to this run is its own to write."""
        self._lock = threading.RLock()
        self._flush_done = threading.Condition(self._lock)
        self._cells_written = threading.Condition(self._lock)
        self._flushing, self._in_flight, self._cells_writing = False, 0, 0
        self._points, self._dirty_summaries = [], set()
        self._params, self._tags, self._cells = {}, {}, []
        self._pending, self._pending_failed = None, True  # the parent's file

    def _check_open(self) -> None:
        if self.status != "running":
            raise NoActiveRunError(
                f'Run {self.id} ("{self.name}") has already ended ({self.status})',
                hint="Start a new run with %%mlops run or mlops.start_run().",
            )
