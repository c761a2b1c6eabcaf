"""The cell writer: a thread that stores notebook runs' cells a moment after they end.

A cell that only adds its source to a run does not wait for a transaction (tens of
microseconds, three times that with the full-text index on code): its source is in
the run's pending-cells file already (:mod:`jupyter_mlops.registry.pending_cells`),
which keeps it if the kernel dies, and this thread writes it into the registry with a
connection of its own, while the kernel waits for the next cell. The cells of a burst
("run all") go in one transaction. Whatever the thread has not stored is written by
the run's next flush (a cell that logs something, the run's end).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..registry.connection import BUSY_TIMEOUT_SECONDS

if TYPE_CHECKING:
    from .run import Run

logger = logging.getLogger(__name__)

# How long the thread lets cells gather before it writes them: a burst of cells ("run
# all") is one transaction, and the thread wakes at most twice a second (a thread that
# wakes takes the interpreter's lock from the notebook's cells, on a busy machine for
# milliseconds). Cells it has not written yet are in the pending-cells file meanwhile.
WRITE_DELAY_SECONDS = 0.5


class CellWriter:
    """Stores the buffered cells of the runs given to :meth:`schedule`, off the caller's
    thread. The thread starts with the first run scheduled and sleeps while none is."""

    def __init__(self, delay: float = WRITE_DELAY_SECONDS) -> None:
        self.delay = delay
        self._due: dict[str, Run] = {}
        self._armed = False  # the thread has been woken for what is due
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def schedule(self, run: Run) -> None:
        """Store ``run``'s buffered cells within :attr:`delay` seconds."""
        with self._lock:
            self._due[run.id] = run
            if self._armed:
                return
            self._armed = True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="mlops-cells", daemon=True)
                self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """Store what is due now and end the thread (a later :meth:`schedule` starts another)."""
        with self._lock:
            thread = self._thread
            self._thread = None
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join(timeout=BUSY_TIMEOUT_SECONDS)
        self._write(self._take())  # whatever the thread did not take
        self._stop.clear()

    def _take(self) -> list[Run]:
        with self._lock:
            due, self._due = self._due, {}
            self._armed = False
            self._wake.clear()
        return list(due.values())

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            stopping = self._stop.wait(self.delay)
            self._write(self._take())
            if stopping:
                return

    def _write(self, runs: list[Run]) -> None:
        by_path: dict[Path, list[Run]] = {}
        for run in runs:
            by_path.setdefault(run.registry.path, []).append(run)
        for path, runs_there in by_path.items():
            try:
                conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            except sqlite3.Error as exc:
                logger.debug("The cells of %d run(s) wait for their flush: %s", len(runs), exc)
                continue
            try:
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
                for run in runs_there:
                    try:
                        run.write_cells(conn)
                    except sqlite3.Error as exc:  # kept by the run for its next flush
                        logger.debug("The cells of run %s wait for its flush: %s", run.id, exc)
            except sqlite3.Error as exc:
                logger.debug("The cells of %d run(s) wait for their flush: %s", len(runs), exc)
            finally:
                conn.close()
