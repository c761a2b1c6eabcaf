"""The background thread of the active runs: live curves, system metrics and heartbeats.

One daemon thread per process, started with the first run and asleep while none is
active, does three things for each active run:

- **Flush** every ``flush_interval`` seconds (1 s by default, :mod:`.settings`) what the
  run buffered, when it buffered anything, so that the panel's curves move while the
  cell that logs still runs. The loop that logs is not held up: the flush takes the
  buffer under the run's lock and writes it with a connection of the thread's own
  (:meth:`Run.flush_in_background`). A failed write keeps the values buffered, warns
  once, and is tried again later, less and less often (up to every 30 s).
- **Sample system metrics** (:mod:`.system_metrics`) for the runs that asked, every
  ``system_metrics_interval`` seconds, the first a second after the run starts, into
  the run's ``system/...`` series. Sampling stops when the run ends.
- **Stamp the heartbeat** every minute: a run on another host (a container, a remote
  kernel) cannot be checked by its process id; the registry takes it for crashed when
  its heartbeat is older than :data:`~jupyter_mlops.registry.liveness.HEARTBEAT_STALE_SECONDS`.

The thread never keeps the process alive (a daemon; the session stops it at exit,
before the last flush). A forked child does not inherit it (threads do not survive
``fork``): the child forgets the parent's runs, which the parent writes, and starts a
thread of its own with its first run (a pipeline step forked from the warm worker).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MlopsError
from ..registry.connection import Registry
from .settings import FLUSH_INTERVAL_SECONDS

if TYPE_CHECKING:
    from .run import Run
    from .system_metrics import SystemSampler

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 60.0
# After a failed flush the next waits twice as long, up to this.
LONGEST_RETRY_SECONDS = 30.0
# The first sample of a run: soon, but after enough time for a CPU share to mean something.
FIRST_SAMPLE_SECONDS = 1.0
# How long the thread's writes wait for another writer's lock: a busy registry is
# tried again at the next tick rather than waited for.
BUSY_TIMEOUT_SECONDS = 5.0
JOIN_SECONDS = 5.0

_ALL: weakref.WeakSet[Background] = weakref.WeakSet()
# Connections a forked child inherited: never used, never closed (closing SQLite's
# connection in a child may drop the parent's file locks).
_INHERITED: list[object] = []


class _Sampling:
    """A run's system metrics: its sampler (made by the thread at once), its next step
    and when it is due."""

    def __init__(self, interval: float, now: float) -> None:
        self.interval = interval
        self.sampler: SystemSampler | None = None
        self.step = 0
        self.due = now


class _Control:
    """How a thread is woken and told to stop: one per thread, so that a thread that
    outlived :meth:`Background.stop` never runs beside the next one."""

    def __init__(self) -> None:
        self.wake = threading.Event()
        self.stopping = False


class Background:
    """The thread described in the module docstring, for the runs :meth:`add`-ed to it.

    ``interval`` is the heartbeat's; ``flush_interval`` 0 switches the background flush
    off (the runs are then written at each cell's end, at their end and in long loops).
    """

    def __init__(
        self, interval: float = HEARTBEAT_SECONDS, flush_interval: float = FLUSH_INTERVAL_SECONDS
    ) -> None:
        self.interval = interval
        self.flush_interval = flush_interval
        self._start_state()
        _ALL.add(self)

    def _start_state(self) -> None:
        self._runs: dict[str, Run] = {}
        self._sampling: dict[str, _Sampling] = {}
        self._lock = threading.Lock()
        self._control = _Control()
        self._thread: threading.Thread | None = None
        self._connections: dict[Path, Registry] = {}  # the thread's own
        self._failures: dict[str, int] = {}  # run id -> flushes failed in a row
        self._retry_at: dict[str, float] = {}
        self._beaten_at = time.monotonic()
        self._flushed_at = time.monotonic()

    # -- what the session calls ------------------------------------------------------------

    def add(self, run: Run, *, system_metrics: float | None = None) -> None:
        """Keep ``run`` current; ``system_metrics`` is its sampling interval (None: none)."""
        with self._lock:
            self._runs[run.id] = run
            if system_metrics is not None:
                self._sampling[run.id] = _Sampling(system_metrics, time.monotonic())
            if self._thread is None or not self._thread.is_alive():
                self._control = _Control()
                self._thread = threading.Thread(
                    target=self._loop, args=(self._control,), name="mlops-background", daemon=True
                )
                self._thread.start()
                return
            control = self._control
        control.wake.set()  # a first sample is due now

    def discard(self, run_id: str) -> None:
        """Stop keeping the run current (it has ended): no more samples, no more flushes."""
        with self._lock:
            self._runs.pop(run_id, None)
            sampling = self._sampling.pop(run_id, None)
            self._failures.pop(run_id, None)
            self._retry_at.pop(run_id, None)
        if sampling is not None and sampling.sampler is not None:
            sampling.sampler.close()

    def set_flush_interval(self, seconds: float) -> None:
        self.flush_interval = seconds
        self._control.wake.set()

    def stop(self) -> None:
        """End the thread after its current work (a run added later starts another)."""
        with self._lock:
            thread, control = self._thread, self._control
            self._thread = None
            control.stopping = True
        control.wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=JOIN_SECONDS)
            if thread.is_alive():  # stuck in a write: it closes what it opened itself
                return
        self._close_connections()

    # -- the thread ---------------------------------------------------------------------------

    def _loop(self, control: _Control) -> None:
        while not control.stopping:
            with self._lock:
                timeout = self._next_due() - time.monotonic()
            if timeout > 0:
                control.wake.wait(timeout)
            control.wake.clear()
            if control.stopping:
                break
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - the thread must outlive any surprise
                logger.exception("jupyter-mlops: the background work of the active runs failed")
                control.wake.wait(1.0)
        if self._thread is None:  # stopped late: stop() left the connections to it
            self._close_connections()

    def _next_due(self) -> float:
        due = [self._beaten_at + self.interval]
        if self.flush_interval > 0:
            due.append(self._flushed_at + self.flush_interval)
        due.extend(sampling.due for sampling in self._sampling.values())
        return min(due)

    def _tick(self) -> None:
        now = time.monotonic()
        with self._lock:
            runs = list(self._runs.values())
            due_samples = [
                (self._runs[run_id], sampling)
                for run_id, sampling in self._sampling.items()
                if sampling.due <= now and run_id in self._runs
            ]
        for run, sampling in due_samples:
            self._sample(run, sampling, now)
        # samples are written with the next flush, as what the run logs is
        flushing = self.flush_interval > 0 and now >= self._flushed_at + self.flush_interval
        written: set[str] = set()
        if flushing:
            self._flushed_at = now
            for run in runs:
                if self._retry_at.get(run.id, 0.0) <= now and run.has_pending:
                    if self._flush(run, now):
                        written.add(run.id)
        if now >= self._beaten_at + self.interval:
            self._beaten_at = now
            self._beat([run for run in runs if run.id not in written])
        self._close_unused_connections()

    def _sample(self, run: Run, sampling: _Sampling, now: float) -> None:
        sampling.due = now + sampling.interval
        try:
            if sampling.sampler is None:  # made here: opening NVML can take a while
                from .system_metrics import SystemSampler  # ctypes, only when sampled

                sampling.sampler = SystemSampler()
                sampling.due = time.monotonic() + min(sampling.interval, FIRST_SAMPLE_SECONDS)
                return
            figures = sampling.sampler.sample()
            if figures and run.status == "running":
                run.log(figures, step=sampling.step)
                sampling.step += 1
        except MlopsError as exc:  # the run ended meanwhile
            logger.debug("System metrics of run %s stop: %s", run.id, exc)
            self.discard(run.id)
        except Exception as exc:  # noqa: BLE001 - a sampling failure must not stop the thread
            logger.debug("System metrics of run %s skipped: %s", run.id, exc)

    def _flush(self, run: Run, now: float) -> bool:
        try:
            through = self._connection(run.registry)
        except MlopsError as exc:
            logger.debug("Run %s waits for its flush: %s", run.id, exc)
            return self._failed(run, now)
        if run.flush_in_background(through):
            self._failures.pop(run.id, None)
            self._retry_at.pop(run.id, None)
            return True
        self._close_connection(run.registry.path)  # a replaced file is opened afresh
        return self._failed(run, now)

    def _failed(self, run: Run, now: float) -> bool:
        failures = self._failures.get(run.id, 0) + 1
        self._failures[run.id] = failures
        self._retry_at[run.id] = now + min(LONGEST_RETRY_SECONDS, 2.0 ** (failures - 1))
        return False

    def _beat(self, runs: list[Run]) -> None:
        by_path: dict[Path, list[str]] = {}
        for run in runs:
            by_path.setdefault(run.registry.path, []).append(run.id)
        for path, run_ids in by_path.items():
            try:
                conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
                try:
                    conn.executemany(
                        "UPDATE runs SET heartbeat_at = ? WHERE id = ?",
                        [(time.time(), run_id) for run_id in run_ids],
                    )
                finally:
                    conn.close()
            except sqlite3.Error as exc:
                logger.debug("Heartbeat for %s skipped: %s", path, exc)

    # -- the thread's connections --------------------------------------------------------------

    def _connection(self, registry: Registry) -> Registry:
        conn = self._connections.get(registry.path)
        if conn is None:
            conn = registry.another_connection(busy_timeout=BUSY_TIMEOUT_SECONDS)
            self._connections[registry.path] = conn
        return conn

    def _close_connection(self, path: Path) -> None:
        conn = self._connections.pop(path, None)
        if conn is not None:
            conn.close()

    def _close_unused_connections(self) -> None:
        """Close what the thread opened for registries no run it keeps still uses: a
        registry whose runs all ended is not held open (nor left for the collector)."""
        with self._lock:
            in_use = {run.registry.path for run in self._runs.values()}
        for path in [path for path in self._connections if path not in in_use]:
            self._close_connection(path)

    def _close_connections(self) -> None:
        for path in list(self._connections):
            self._close_connection(path)

    def _forked(self) -> None:
        """In a forked child: no thread, no run of the parent's, fresh locks."""
        _INHERITED.extend(self._connections.values())
        for sampling in self._sampling.values():
            _INHERITED.append(sampling.sampler)  # NVML's state belongs to the parent
        runs = list(self._runs.values())
        self._start_state()
        for run in runs:
            run.forked()


def _after_fork_in_child() -> None:
    for background in list(_ALL):
        background._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
