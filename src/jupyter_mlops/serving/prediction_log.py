"""The prediction log: what each served request got, written to the registry in batches by
a thread of its own, never on the request path.

    log = PredictionLog(registry.another_connection(busy_timeout=0.5))
    log.start()
    log.submit(PredictionRecord(...))     # a deque append: microseconds, never blocks
    log.close()                           # writes what is pending, then stops

A server does not run this in its own process: its log is a
:class:`.log_process.PredictionLogProcess`, whose writer process runs one of these, so that
the encoding, the scores and the inserts take none of the server's interpreter lock. Here
is what a writer does, wherever it runs.

A submit never waits for the registry. When the registry is busy (another process holds its
write lock), the batch stays in memory and is tried again, with growing pauses. Past
``max_pending`` unwritten records (a registry locked for very long under heavy traffic) the
oldest are dropped and counted, so memory stays bounded. The rows are made by
:mod:`.log_encoding`: JSON written by orjson from the numpy arrays, and the scores of a
binary classifier from one ``predict_proba`` per model for the whole batch.

    read_predictions(registry, "churn")   # a DataFrame, one row per request and model
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import MlopsError
from ..registry.connection import Registry
from .inputs_npy import stored_inputs
from .log_encoding import batch_scores, record_row

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

ROLES = ("served", "shadow")


@dataclass(frozen=True)
class PredictionRecord:
    """One request scored by one version; ``inputs`` is ``None`` when it is not sampled.

    ``inputs`` (a DataFrame) and ``outputs`` (an array, one value per row) are kept as
    they are and turned into JSON by the writer, off the request path. ``model``, the fitted
    object that answered, lets the writer add the scores of a binary classifier (the
    probability of its positive class per row) for sampled requests.
    """

    request_id: str
    model_version_id: int
    role: str
    served_as: str
    n_rows: int
    inputs: Any
    outputs: Any
    latency_ms: float
    served_at: float
    model: Any = None


_INSERT = (
    "INSERT INTO predictions (request_id, model_version_id, role, served_as, n_rows, inputs,"
    " outputs, latency_ms, served_at, scores) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class PredictionLog:
    """A background writer of :class:`PredictionRecord` into ``registry``'s ``predictions``.

    ``registry`` must be a connection of its own (:meth:`Registry.another_connection`):
    only the writer thread uses it. Records are written every ``flush_seconds``, at most
    ``batch_size`` per transaction.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        flush_seconds: float = 0.2,
        batch_size: int = 1000,
        max_pending: int = 100_000,
        max_retry_pause: float = 2.0,
    ) -> None:
        self.registry = registry
        self.flush_seconds = flush_seconds
        self.batch_size = batch_size
        self.max_pending = max_pending
        self.max_retry_pause = max_retry_pause
        self.written = 0
        self.dropped = 0
        self.failed_writes = 0
        self._pending: deque[PredictionRecord] = deque()
        self._batch: list[tuple[Any, ...]] = []  # taken off the deque, encoded, not yet written
        self._unwritten = 0  # submitted, neither written nor dropped: in the deque or the batch
        self._lock = threading.Lock()  # the deque and the count change together
        self._wake = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="mlops-prediction-log", daemon=True)

    def start(self) -> PredictionLog:
        self._thread.start()
        return self

    def submit(self, record: PredictionRecord) -> None:
        """Queue ``record`` for the next batch; returns at once, whatever the registry does."""
        with self._lock:
            full = len(self._pending) >= self.max_pending
            if full:
                self._pending.popleft()
                self.dropped += 1
            else:
                self._unwritten += 1
            self._pending.append(record)
        if full and (self.dropped in (1, 10, 100) or self.dropped % 10_000 == 0):
            logger.warning(
                "%d predictions were not logged: the registry %s has not taken a batch"
                " for a while and %d wait",
                self.dropped,
                self.registry.path,
                self.max_pending,
            )

    @property
    def pending(self) -> int:
        """Records submitted and not written yet (nor dropped)."""
        return self._unwritten

    def write_soon(self) -> None:
        """Have the writer write what is pending now rather than at its next turn."""
        self._wake.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record submitted so far is written; ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        while self.pending and time.monotonic() < deadline:
            if not self._thread.is_alive():
                return False
            time.sleep(0.01)
        return not self.pending

    def close(self, timeout: float = 10.0) -> None:
        """Write what is pending (trying for up to ``timeout`` seconds), then stop."""
        if self._thread.is_alive():
            self.flush(timeout)
            self._closing = True
            self._wake.set()
            self._thread.join(timeout=max(1.0, self.flush_seconds * 2))
        if self.pending:
            logger.error(
                "%d predictions could not be written to %s before the server stopped",
                self.pending,
                self.registry.path,
            )
        self.registry.close()

    # -- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        pause = 0.0
        while not self._closing:
            self._wake.wait(self.flush_seconds if not pause else pause)
            self._wake.clear()
            while self._pending or self._batch:
                if not self._batch:
                    self._batch = self._take()
                if self._write(self._batch):
                    with self._lock:
                        self._unwritten -= len(self._batch)
                    self.written += len(self._batch)
                    self._batch = []
                    pause = 0.0
                else:
                    pause = min(self.max_retry_pause, max(0.05, pause * 2))
                    break

    def _take(self) -> list[tuple[Any, ...]]:
        with self._lock:
            count = min(self.batch_size, len(self._pending))
            records = [self._pending.popleft() for _ in range(count)]
        scores = batch_scores(records)
        rows: list[tuple[Any, ...]] = []
        for record, record_scores in zip(records, scores):
            try:
                rows.append(record_row(record, record_scores))
            except Exception as exc:  # a value JSON cannot hold: the record is not logged
                with self._lock:
                    self._unwritten -= 1
                self.dropped += 1
                logger.warning(
                    "A prediction of request %s is not logged: %s", record.request_id, exc
                )
        return rows

    def _write(self, rows: list[tuple[Any, ...]]) -> bool:
        if not rows:
            return True
        try:
            with self.registry.transaction(f"a batch of {len(rows)} predictions") as conn:
                conn.executemany(_INSERT, rows)
        except MlopsError as exc:
            self.failed_writes += 1
            if self.failed_writes in (1, 10) or self.failed_writes % 100 == 0:
                logger.warning("%s; the batch is kept and tried again", exc.message)
            return False
        return True


def read_predictions(
    registry: Registry,
    model: str | None = None,
    *,
    role: str | None = None,
    since: float | None = None,
    with_inputs: bool = True,
) -> pd.DataFrame:
    """The logged predictions (of ``model``, of one ``role``, served at or after ``since``:
    unix seconds, to the microsecond), oldest first, as a DataFrame.

    Columns: request_id, model, version, role, served_as, n_rows, inputs (dict or None),
    outputs (list), latency_ms, served_at (UTC timestamps), scores (list or None: the
    positive class's probabilities, for the sampled requests of a binary classifier).
    ``with_inputs=False`` leaves the inputs unread (``None``): their decoding is most of
    the reading.

        read_predictions(registry, "churn", role="shadow")
    """
    import pandas as pd

    conditions: list[str] = []
    params: list[Any] = []
    if model is not None:
        conditions.append("models.name = ?")
        params.append(model)
    if role is not None:
        conditions.append("predictions.role = ?")
        params.append(role)
    if since is not None:  # to the microsecond: a served_at read back finds its own request
        conditions.append("predictions.served_at >= ?")
        params.append(since - 1e-6)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    inputs = "predictions.inputs" if with_inputs else "NULL"
    rows = registry.query_tuples(
        "SELECT predictions.request_id, models.name, model_versions.version, predictions.role,"
        f" predictions.served_as, predictions.n_rows, {inputs}, predictions.outputs,"
        " predictions.latency_ms, predictions.served_at, predictions.scores FROM predictions"
        " JOIN model_versions ON model_versions.id = predictions.model_version_id"
        " JOIN models ON models.id = model_versions.model_id"
        f"{where} ORDER BY predictions.id",
        params,
    )
    columns = [
        "request_id", "model", "version", "role", "served_as", "n_rows", "inputs", "outputs",
        "latency_ms", "served_at", "scores",
    ]  # fmt: skip
    decoded = [
        (
            *row[:6],
            stored_inputs(row[6]),
            json.loads(row[7]),
            row[8],
            row[9],
            None if row[10] is None else json.loads(row[10]),
        )
        for row in rows
    ]
    frame = pd.DataFrame(decoded, columns=columns)
    frame["inputs"] = pd.Series([row[6] for row in decoded], index=frame.index, dtype=object)
    frame["scores"] = pd.Series([row[10] for row in decoded], index=frame.index, dtype=object)
    frame["served_at"] = pd.to_datetime(frame["served_at"], unit="s", utc=True)
    return frame
