"""Scoring one request: the served version's predictions, the record of what it answered,
and the shadow version scoring the same rows on a thread of its own.

    scorer = RequestScorer(served, log=log, shadow=shadow, sample_rate=0.1)
    scored = scorer.score(columns)                    # the rows checked, then predicted
    scorer.record("req-1", columns, scored, latency_ms=0.8)   # queued for the log, and the shadow

``columns`` is a DataFrame or a mapping of column name to values (see :mod:`.inputs`).

The shadow's outputs go to the prediction log only, never into an answer, and its work
never delays one: its jobs queue for its thread (at most ``max_shadow_pending``; past that
they are dropped and counted).
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError, MlopsError
from .inputs import rows_for_signature
from .log_process import PredictionLogProcess
from .prediction_log import PredictionLog, PredictionRecord
from .served_version import LoadedVersion, ServedModel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoredRequest:
    """A request's rows, as the version that scored them took them, and its outputs."""

    loaded: LoadedVersion
    rows: Any
    outputs: Any


def predict(loaded: LoadedVersion, columns: Any) -> ScoredRequest:
    """``loaded``'s predictions for the rows of ``columns``, after checking its columns against the
    version's signature (InvalidInputError naming the column that is wrong)."""
    import numpy as np

    rows = rows_for_signature(loaded.version.signature, columns, model_ref=loaded.ref)
    try:
        outputs = np.asarray(loaded.model.predict(rows))
    except (ValueError, TypeError) as exc:  # what estimators raise for values they cannot take
        raise InvalidInputError(
            f"{loaded.ref} could not score the request: {exc}"[:500],
            hint="Check the request's values against the model's input columns and types.",
        ) from exc
    return ScoredRequest(loaded, rows, outputs)


class RequestScorer:
    """Scores requests with ``served`` and logs them (``sample_rate`` of their inputs);
    ``shadow`` scores the same rows afterwards, for the log only."""

    def __init__(
        self,
        served: ServedModel,
        *,
        log: PredictionLog | PredictionLogProcess | None = None,
        shadow: ServedModel | None = None,
        sample_rate: float = 1.0,
        max_shadow_pending: int = 10_000,
    ) -> None:
        if not 0.0 <= sample_rate <= 1.0:
            raise InvalidInputError(
                f"The sample rate {sample_rate} is not between 0 and 1",
                hint="Give the share of requests whose inputs are logged, e.g. 0.1.",
            )
        self.served = served
        self.log = log
        self.shadow = shadow
        self.sample_rate = sample_rate
        self.shadow_dropped = 0
        self.shadow_failed = 0
        self._shadow_jobs: queue.Queue[tuple[str, Any, bool] | None] = queue.Queue(
            max_shadow_pending
        )
        self._shadow_thread: threading.Thread | None = None
        if shadow is not None:
            self._shadow_thread = threading.Thread(
                target=self._score_shadows, name="mlops-shadow", daemon=True
            )
            self._shadow_thread.start()

    def score(self, columns: Any, loaded: LoadedVersion | None = None) -> ScoredRequest:
        """The served version's outputs for the rows of ``columns``: the version current
        when it starts (or ``loaded``, taken by the caller to read the request) scores every
        row, whatever the alias does meanwhile."""
        return predict(self.served.current if loaded is None else loaded, columns)

    def record(
        self, request_id: str, columns: Any, scored: ScoredRequest, latency_ms: float
    ) -> None:
        """Queue the request's record for the log and its rows for the shadow."""
        keep_inputs = self.sample_rate >= 1.0 or random.random() < self.sample_rate
        if self.log is not None:
            self.log.submit(
                PredictionRecord(
                    request_id=request_id,
                    model_version_id=scored.loaded.version.id,
                    role="served",
                    served_as=self.served.ref.text,
                    n_rows=len(scored.outputs),
                    inputs=scored.rows if keep_inputs else None,
                    outputs=scored.outputs,
                    latency_ms=latency_ms,
                    served_at=time.time(),
                    model=scored.loaded.model if keep_inputs else None,
                )
            )
        if self.shadow is not None:
            try:
                self._shadow_jobs.put_nowait((request_id, columns, keep_inputs))
            except queue.Full:
                self.shadow_dropped += 1
                if self.shadow_dropped in (1, 100) or self.shadow_dropped % 10_000 == 0:
                    logger.warning(
                        "The shadow %s is behind: %d requests were not scored by it",
                        self.shadow.ref.text,
                        self.shadow_dropped,
                    )

    def wait_for_shadow(self, timeout: float = 10.0) -> bool:
        """Wait until the shadow has scored every request queued so far."""
        deadline = time.monotonic() + timeout
        while self._shadow_jobs.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)
        return not self._shadow_jobs.unfinished_tasks

    def close(self) -> None:
        """Let the shadow finish what is queued, then stop its thread."""
        if self._shadow_thread is not None and self._shadow_thread.is_alive():
            self.wait_for_shadow()
            self._shadow_jobs.put(None)
            self._shadow_thread.join(timeout=5)

    def _score_shadows(self) -> None:
        assert self.shadow is not None
        while True:
            job = self._shadow_jobs.get()
            try:
                if job is None:
                    return
                self._score_shadow(*job)
            finally:
                self._shadow_jobs.task_done()

    def _score_shadow(self, request_id: str, columns: Any, keep_inputs: bool) -> None:
        assert self.shadow is not None
        started = time.perf_counter()
        loaded = self.shadow.current
        try:
            scored = predict(loaded, columns)
        except MlopsError as exc:
            self.shadow_failed += 1
            if self.shadow_failed in (1, 100) or self.shadow_failed % 10_000 == 0:
                logger.warning("The shadow %s could not score request %s: %s", loaded.ref,
                               request_id, exc.message)  # fmt: skip
            return
        if self.log is not None:
            self.log.submit(
                PredictionRecord(
                    request_id=request_id,
                    model_version_id=loaded.version.id,
                    role="shadow",
                    served_as=self.shadow.ref.text,
                    n_rows=len(scored.outputs),
                    inputs=scored.rows if keep_inputs else None,
                    outputs=scored.outputs,
                    latency_ms=(time.perf_counter() - started) * 1000,
                    served_at=time.time(),
                    model=loaded.model if keep_inputs else None,
                )
            )
