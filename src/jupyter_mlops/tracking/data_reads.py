"""The data a run reads: each distinct content fingerprinted and profiled once, and the
fingerprint recorded always that of the content the run read.

The notebook tells a run, before each cell, which frames, series and arrays the cell
is about to read (:meth:`DataReads.read`). For a variable read before, the run asks its
pin whether the value is still that content (:mod:`jupyter_mlops.snapshots.pins`):
microseconds, whatever the size of the data, and nothing to write. New content is
pinned; a pandas pin no edit can reach is fingerprinted, profiled and recorded by the
snapshot worker's thread (:mod:`~jupyter_mlops.tracking.snapshot_worker`), off the
cell's path; anything else (numpy arrays, pandas without Copy-on-Write) is recorded at
once, since the user's next cell could change it.

Before the run's end is written, :meth:`DataReads.settle` waits for the worker, records
again what it could not (a locked or full registry: the pin is kept, so nothing read is
lost), and hashes each array the run read in full: an edit its sampled check missed
is recorded then, as the content the run ended with.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from ..errors import MlopsError, RecordingError
from ..registry.connection import Registry
from ..snapshots.pins import Pin, pin_data
from ..snapshots.store import SnapshotRecord, record_snapshot
from .snapshot_worker import SnapshotWorker

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class _Reading:
    """One content read under one variable: its pin, and how its recording goes."""

    pin: Pin
    name: str
    role: str
    variable: str | None
    record: SnapshotRecord | None = None
    job: Future[SnapshotRecord] | None = field(default=None, repr=False)
    failed: bool = False  # the registry refused it: recorded again by settle


class DataReads:
    """What one run has read, by variable (see the module)."""

    def __init__(self, run_id: str, registry: Registry, worker: SnapshotWorker | None) -> None:
        self.run_id = run_id
        self.registry = registry
        self.worker = worker
        self._latest: dict[str, _Reading] = {}  # variable -> what the run read last
        self._unsettled: list[_Reading] = []  # recorded by the worker, or to record again
        self._problems: list[str] = []
        self._lock = threading.Lock()

    def unchanged(self, variable: str, value: object) -> bool:
        """Whether ``value`` is the content the run last read under ``variable``."""
        reading = self._latest.get(variable)
        return reading is not None and reading.pin.holds(value)

    def read(self, value: object, *, name: str, role: str, variable: str) -> None:
        """The run reads ``value`` as ``variable``: record its content unless known.

        Raises what recording raises when it happens at once (a value that cannot be
        fingerprinted, a registry that cannot be written); the worker's problems are
        told by :meth:`take_problems`.
        """
        if self.unchanged(variable, value):
            return
        pin = pin_data(value)
        reading = _Reading(pin, name, role, variable)
        self._latest[variable] = reading
        if pin.protected and self.worker is not None:
            reading.job = self.worker.submit(
                self.registry, lambda conn: self._record(conn, reading)
            )
            with self._lock:
                self._unsettled.append(reading)
            return
        try:
            reading.record = self._record(self.registry, reading)
        except RecordingError:
            reading.failed = True
            with self._lock:
                self._unsettled.append(reading)
            raise
        except BaseException:
            del self._latest[variable]  # not read as far as the registry knows: tried again
            raise

    def _record(self, registry: Registry, reading: _Reading) -> SnapshotRecord:
        return record_snapshot(
            registry,
            reading.pin.content,
            name=reading.name,
            role=reading.role,
            run_id=self.run_id,
            variable=reading.variable,
        )

    def take_problems(self) -> list[str]:
        """What the worker could not record since the last call, one line each."""
        if not (self._unsettled or self._problems):
            return []
        with self._lock:
            for reading in self._unsettled:
                if reading.job is not None and reading.job.done():
                    self._collect(reading)
            self._unsettled = [r for r in self._unsettled if r.job is not None or r.failed]
            problems, self._problems = self._problems, []
        return problems

    def _collect(self, reading: _Reading) -> None:
        """Take the outcome of the worker's job for ``reading`` (called with the lock)."""
        job, reading.job = reading.job, None
        assert job is not None
        error = job.exception()
        if error is None:
            reading.record = job.result()
        elif isinstance(error, RecordingError):
            reading.failed = True
            logger.debug("Snapshot of %s waits for the run's end: %s", reading.name, error)
        else:
            message = error.message if isinstance(error, MlopsError) else repr(error)
            if not isinstance(error, MlopsError):
                logger.warning("Snapshot of %s failed", reading.name, exc_info=error)
            self._problems.append(f"snapshot of {reading.name} not recorded: {message}")

    def settle(self) -> list[str]:
        """Finish recording what the run read, before its end is written.

        Waits for the worker, records what the registry refused earlier, and hashes in
        full each array read (see the module). Raises :class:`RecordingError` when the
        registry still refuses: the pins are kept for the next try. Returns the problems
        not told yet.
        """
        with self._lock:
            unsettled = list(self._unsettled)
        for reading in unsettled:
            if reading.job is not None:
                try:
                    reading.job.exception()  # waits
                finally:
                    with self._lock:
                        if reading.job is not None and reading.job.done():
                            self._collect(reading)
        for reading in unsettled:
            if reading.failed:
                reading.record = self._record(self.registry, reading)
                reading.failed = False
        with self._lock:
            self._unsettled = [r for r in self._unsettled if r.failed or r.job is not None]
        self._verify_arrays()
        return self.take_problems()

    def _verify_arrays(self) -> None:
        from ..snapshots.snapshot import fingerprint

        for variable, reading in list(self._latest.items()):
            array = reading.pin.array()
            if array is None or reading.record is None:
                continue
            try:
                record = reading.record
                changed = fingerprint(array, scheme=record.fingerprint_scheme) != record.fingerprint
            except MlopsError:
                continue
            if changed:
                logger.info("%s changed in place after its last check; recording it", variable)
                self._latest.pop(variable, None)
                self.read(array, name=reading.name, role=reading.role, variable=variable)

    def release(self) -> None:
        """Let go of every pin: the run has ended and all it read is recorded."""
        self._latest.clear()
