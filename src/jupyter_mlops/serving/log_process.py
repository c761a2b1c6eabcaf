"""The server's prediction log, written by a process of its own.

    log = PredictionLogProcess(registry.path).start()   # the writer process starts
    log.submit(PredictionRecord(...))      # a deque append: microseconds, never blocks
    log.flush()                            # what was submitted so far is in the registry
    log.close()                            # writes what is pending, then the writer stops

A server answers requests from one event loop, and every millisecond another thread of its
process spends in Python is one the loop may wait for (the interpreter lock). Encoding a
request's inputs as JSON, scoring them with the model for live AUC and inserting them cost
tens to hundreds of microseconds a record; in a thread of the server they showed in every
request's latency (+32% to +39% at the median in bench/serving.py). Here the server only
hands records over: a sender thread pickles each batch in one call (about 3 µs a record,
the inputs as one array) and writes it to the writer's pipe in one system call, every
``flush_seconds`` or when asked to flush. One call, because a thread takes the interpreter
lock back after each write to a pipe, and each time it interrupts the event loop: written
piece by piece to a pipe of 64 KB, batches of 100-row records did so dozens of times each,
and showed in the median latency as much as the writer's work had (see
:func:`.log_wire.write_message`; the pipe is widened to ``PIPE_BYTES``). The writer (:mod:`.log_writer`) does the rest, with a
:class:`.prediction_log.PredictionLog` of its own; it loads each version that answered once
for the scores, so a served model is in memory twice.

Nothing here can fail a request, and what was handed over is not lost:

- while the writer cannot take records (it is starting, or its pipe is full because the
  registry is locked), they wait in memory; past ``max_pending`` the oldest are dropped
  and counted, as in the thread's log;
- a writer that dies is started again (at most once per ``restart_seconds``); the records
  it had not written are counted in :attr:`dropped` and named in the log;
- a server that stops closes the writer's input: the writer writes what it holds, then
  exits; a server that is killed does the same for it (its input ends).
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from .log_wire import WireCounts, record_wire, write_message
from .prediction_log import PredictionRecord

logger = logging.getLogger(__name__)

# what one message to the writer holds at most: pickling costs ~7 µs a record while a
# message stays small, and ~30 µs a record of 100 rows in messages of megabytes (the
# pickle's buffer grows by copies)
MESSAGE_RECORDS = 1000
MESSAGE_ROWS = 2000
# the writer's pipe's size where it can be set: about two messages of 100-row records
PIPE_BYTES = 1 << 20


@dataclass
class _Writer:
    """One writer process and what it was sent and has reported."""

    process: subprocess.Popen[bytes]
    reader: threading.Thread | None = None  # follows its counts
    sent: int = 0
    counts: WireCounts = field(default_factory=WireCounts)
    ended: bool = False


class PredictionLogProcess:
    """A prediction log with the same face as :class:`.prediction_log.PredictionLog`
    (``submit``, ``flush``, ``close``, ``pending``, ``written``, ``dropped``), whose writer is a
    process of its own on the registry at ``registry_path``."""

    def __init__(
        self,
        registry_path: str | Path,
        *,
        busy_timeout: float = 0.5,
        flush_seconds: float = 0.2,
        max_pending: int = 100_000,
        restart_seconds: float = 1.0,
        python: str | None = None,
    ) -> None:
        self.registry_path = str(registry_path)
        self.busy_timeout = busy_timeout
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self.restart_seconds = restart_seconds
        self.python = python or sys.executable
        self.writers_started = 0
        self.handed_over = 0  # records written to a writer's pipe
        self._pending: deque[PredictionRecord] = deque()
        self._lock = threading.Lock()  # the deque, the counts and the writer change together
        self._accepted = 0  # submitted and not dropped on arrival
        self._dropped_here = 0  # dropped on arrival, the deque being full
        self._lost = 0  # handed to a writer that ended before writing them
        self._ended_counts = WireCounts()  # the totals of the writers that ended
        self._writer: _Writer | None = None
        self._last_start = -float("inf")
        self._wake = threading.Event()
        self._closing = False
        self._sender = threading.Thread(
            target=self._send_loop, name="mlops-log-sender", daemon=True
        )

    # -- the server's side ------------------------------------------------------------------

    def start(self) -> PredictionLogProcess:
        self._start_writer()
        self._sender.start()
        return self

    def submit(self, record: PredictionRecord) -> None:
        """Queue ``record`` for the writer; returns at once, whatever the writer does."""
        with self._lock:
            full = len(self._pending) >= self.max_pending
            if full:
                self._pending.popleft()
                self._dropped_here += 1
                self._accepted -= 1
            self._accepted += 1
            self._pending.append(record)
            dropped = self._dropped_here
        if full and (dropped in (1, 10, 100) or dropped % 10_000 == 0):
            logger.warning(
                "%d predictions were not logged: the log's writer has not taken any for a"
                " while and %d wait",
                dropped,
                self.max_pending,
            )

    @property
    def written(self) -> int:
        """Records in the registry."""
        return self._ended_counts.written + self._current_counts().written

    @property
    def dropped(self) -> int:
        """Records that will never be written: dropped for room, lost with a writer, or
        refused by the writer (a value JSON cannot hold)."""
        return (
            self._dropped_here
            + self._lost
            + self._ended_counts.dropped
            + (self._current_counts().dropped)
        )

    @property
    def failed_writes(self) -> int:
        """Batches the registry refused (busy) and the writer kept to try again."""
        return self._ended_counts.failed_writes + self._current_counts().failed_writes

    @property
    def writer_pid(self) -> int | None:
        """The process id of the writer running now, if one is."""
        writer = self._writer
        return None if writer is None or writer.ended else writer.process.pid

    @property
    def pending(self) -> int:
        """Records submitted and neither written nor dropped yet."""
        with self._lock:
            return self._accepted - self._finished()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record submitted before this call is written (or dropped);
        ``False`` on timeout."""
        with self._lock:
            target = self._accepted
        deadline = time.monotonic() + timeout
        self._wake.set()
        while time.monotonic() < deadline:
            with self._lock:
                if self._finished() >= target:
                    return True
            time.sleep(0.005)
        return False

    def close(self, timeout: float = 10.0) -> None:
        """Hand over and write what is pending (for up to ``timeout`` seconds), then stop
        the writer."""
        if self._sender.is_alive():
            self.flush(timeout)
            self._closing = True
            self._wake.set()
            self._sender.join(timeout=timeout)
        if self._writer is not None:
            self._stop_writer(self._writer, timeout)
        if self.pending:
            logger.error(
                "%d predictions could not be written to %s before the server stopped",
                self.pending,
                self.registry_path,
            )

    # -- handing records over -------------------------------------------------------------

    def _finished(self) -> int:
        """Accepted records written or dropped since (the lock held)."""
        return (
            self._lost
            + self._ended_counts.written
            + self._ended_counts.dropped
            + self._current_counts().written
            + self._current_counts().dropped
        )

    def _current_counts(self) -> WireCounts:
        writer = self._writer
        return writer.counts if writer is not None and not writer.ended else WireCounts()

    def _send_loop(self) -> None:
        while True:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            while True:
                writer = self._running_writer()
                if writer is None:
                    break
                with self._lock:
                    batch = self._take_message()
                    last = not self._pending
                if not batch:
                    break
                self._send(writer, batch, last=last)
            writer = self._writer
            if self._closing and (not self._pending or writer is None or writer.ended):
                return  # all handed over, or no writer left: close() reports the rest

    def _take_message(self) -> list[PredictionRecord]:
        """The oldest records, as many as one message holds (the lock held)."""
        batch: list[PredictionRecord] = []
        rows = 0
        while self._pending and len(batch) < MESSAGE_RECORDS:
            if batch and rows + self._pending[0].n_rows > MESSAGE_ROWS:
                break
            batch.append(self._pending.popleft())
            rows += batch[-1].n_rows
        return batch

    def _running_writer(self) -> _Writer | None:
        """The writer to send to, started (again) if it is not running and it may be. Only
        the sender's thread calls it, once the log has started."""
        writer = self._writer
        if writer is not None and not writer.ended:
            return writer
        if writer is not None:
            _close_quietly(writer.process.stdin)
        if self._closing or time.monotonic() - self._last_start < self.restart_seconds:
            return None
        return self._start_writer()

    def _send(self, writer: _Writer, batch: list[PredictionRecord], *, last: bool) -> None:
        """Send ``batch``; ``last``: nothing else waits, the writer writes what it holds."""
        try:
            message = ("records", [record_wire(record) for record in batch], last)
        except Exception as exc:  # pragma: no cover - record_wire reads plain attributes
            logger.warning("%d predictions are not logged: %s", len(batch), exc)
            with self._lock:
                self._lost += len(batch)
            return
        try:
            assert writer.process.stdin is not None
            write_message(writer.process.stdin, message)
        except Exception as exc:  # the writer died, or a value could not be pickled
            with self._lock:
                self._lost += len(batch)
            if not isinstance(exc, (BrokenPipeError, OSError, ValueError)):
                logger.warning("%d predictions are not logged: %s", len(batch), exc)
            return
        with self._lock:
            if writer.ended:  # it ended as they went: its count was made without them
                self._lost += len(batch)
            else:
                writer.sent += len(batch)
            self.handed_over += len(batch)

    # -- the writer process ---------------------------------------------------------------

    def _start_writer(self) -> _Writer | None:
        """Start a writer process; ``None`` if it cannot be started."""
        self._last_start = time.monotonic()
        command = [
            self.python, "-m", "jupyter_mlops.serving.log_writer", self.registry_path,
            "--busy-timeout", str(self.busy_timeout), "--flush-seconds", str(self.flush_seconds),
        ]  # fmt: skip
        try:
            # a session of its own: a terminal's Ctrl-C or a manager's signal to the server's
            # group stops the server, which closes the writer's input; the writer then
            # writes what it holds and exits
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
            )
        except OSError as exc:
            logger.error(
                "The prediction log's writer could not be started (%s); predictions wait in"
                " memory and it is tried again",
                exc,
            )
            return None
        self.writers_started += 1
        _widen(process.stdin)
        writer = _Writer(process)
        writer.reader = threading.Thread(
            target=self._read_counts, args=(writer,), name="mlops-log-counts", daemon=True
        )
        with self._lock:
            self._writer = writer
        writer.reader.start()
        return writer

    def _read_counts(self, writer: _Writer) -> None:
        """Follow ``writer``'s counts until it ends; then account for what it did not write."""
        assert writer.process.stdout is not None
        for line in writer.process.stdout:
            counts = WireCounts.from_line(line)
            if counts is not None:
                with self._lock:
                    writer.counts = counts
        writer.process.stdout.close()
        code = writer.process.wait()
        with self._lock:
            writer.ended = True
            unwritten = writer.sent - writer.counts.written - writer.counts.dropped
            self._lost += unwritten
            self._ended_counts = WireCounts(
                self._ended_counts.written + writer.counts.written,
                self._ended_counts.dropped + writer.counts.dropped,
                self._ended_counts.failed_writes + writer.counts.failed_writes,
            )
            closing = self._closing
        if not closing or unwritten:
            logger.error(
                "The prediction log's writer (process %d) ended with status %s; %d"
                " predictions it held were not written%s",
                writer.process.pid,
                code,
                unwritten,
                "" if closing else "; another is started",
            )
        if not closing:
            self._wake.set()

    def _stop_writer(self, writer: _Writer, timeout: float) -> None:
        """Close the writer's input (it writes what it holds and exits) and wait for it."""
        _close_quietly(writer.process.stdin)
        try:
            writer.process.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.error(
                "The prediction log's writer did not finish within %.0f s; it is stopped",
                timeout,
            )
            writer.process.kill()
            writer.process.wait()
        if writer.reader is not None:
            writer.reader.join(timeout=5)


def _widen(pipe: IO[bytes] | None) -> None:
    """Let ``pipe`` hold ``PIPE_BYTES`` (Linux; elsewhere, or past the system's limit, it
    keeps its size): a message of megabytes then goes in one or two calls, each of which
    takes the interpreter lock back once."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if pipe is None or set_size is None:
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(pipe.fileno(), set_size, PIPE_BYTES)


def _close_quietly(pipe: IO[bytes] | None) -> None:
    """Close the writer's input; a writer already gone makes the last flush fail, which
    changes nothing."""
    if pipe is not None:
        with contextlib.suppress(OSError, ValueError):
            pipe.close()
