"""The prediction log's writer process: records in on its standard input, rows into the
registry, counts back on its standard output.

    python -m jupyter_mlops.serving.log_writer REGISTRY [--busy-timeout 0.5] [--flush-seconds 0.2]

Started by :class:`.log_process.PredictionLogProcess`, never by hand. Inside, a
:class:`.prediction_log.PredictionLog` does what it does in a server's process (batches,
retries while the registry is busy, JSON encoding, the scores of sampled rows), but here
its work takes no interpreter time from the server. The scores need the fitted model: the
writer loads each version that answered from the registry once, its file checked against
its hash, as the server did (a version it cannot load gets no scores, and the log says so).

The writer ignores SIGINT and SIGTERM, which a terminal or a process manager sends to the
whole process group: it stops when its input ends, after writing what it holds, so a
server that stops (or dies) loses nothing already handed over.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from typing import Any

from ..errors import MlopsError
from ..registry.connection import Registry
from .log_wire import WireCounts, read_message, records_from_wire
from .prediction_log import PredictionLog

logger = logging.getLogger(__name__)

# how often the counts are looked at, and sent when they changed
REPORT_SECONDS = 0.02
# how long the writer keeps trying to write what it holds once its input has ended
CLOSE_TIMEOUT = 30.0


class ScoringModels:
    """The fitted model of each version that answered, loaded once from the registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._models: dict[int, Any] = {}

    def model_for(self, version_id: int) -> Any:
        if version_id not in self._models:
            self._models[version_id] = self._load(version_id)
        return self._models[version_id]

    def _load(self, version_id: int) -> Any:
        from ..models.versions import version_by_id
        from .served_version import load_version

        try:
            loaded = load_version(self.registry, version_by_id(self.registry, version_id))
        except MlopsError as exc:
            logger.warning("Its predictions are logged without scores: %s", exc.describe())
            return None
        except Exception as exc:  # the user's class cannot be unpickled here
            logger.warning(
                "The predictions of model version %d are logged without scores: it could not"
                " be loaded in the log's writer (%s)",
                version_id,
                exc,
            )
            return None
        if not hasattr(loaded.model, "predict_proba"):
            return None
        return loaded.model


class CountsReporter:
    """Sends the log's counts on ``out`` whenever they change, from a thread of its own."""

    def __init__(self, log: PredictionLog, out: Any) -> None:
        self.log = log
        self.out = out
        self._sent = WireCounts()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlops-log-counts", daemon=True)

    def start(self) -> CountsReporter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.report()

    def _run(self) -> None:
        while not self._stop.wait(REPORT_SECONDS):
            self.report()

    def report(self) -> None:
        counts = WireCounts(self.log.written, self.log.dropped, self.log.failed_writes)
        if counts != self._sent:
            # a server that is gone has nobody to tell: the writer goes on writing
            with contextlib.suppress(BrokenPipeError, ValueError):
                self.out.write(counts.line())
                self.out.flush()
            self._sent = counts


def serve_log(registry_path: str, *, busy_timeout: float, flush_seconds: float) -> int:
    """Write what arrives on standard input until it ends; the exit status."""
    source, out = sys.stdin.buffer, sys.stdout.buffer
    registry = Registry.open(registry_path)
    log = PredictionLog(
        registry.another_connection(busy_timeout=busy_timeout), flush_seconds=flush_seconds
    ).start()
    models = ScoringModels(registry)
    reporter = CountsReporter(log, out).start()
    try:
        while (message := read_message(source)) is not None:
            _, wires, last = message  # ("records", ...), the one kind the server sends
            for record in records_from_wire(wires, models.model_for):
                log.submit(record)
            if last:  # one transaction for a burst of messages, not one each
                log.write_soon()
    finally:
        log.close(timeout=CLOSE_TIMEOUT)
        reporter.stop()
        registry.close()
    return 0 if not log.pending else 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jupyter_mlops.serving.log_writer")
    parser.add_argument("registry")
    parser.add_argument("--busy-timeout", type=float, default=0.5)
    parser.add_argument("--flush-seconds", type=float, default=0.2)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s [jupyter-mlops log writer] %(levelname)s %(message)s",
    )
    sys.exit(
        serve_log(args.registry, busy_timeout=args.busy_timeout, flush_seconds=args.flush_seconds)
    )


if __name__ == "__main__":
    main()
