"""The heartbeat: active runs stamped as alive every minute, from a thread of its own.

A run on another host (a container, a remote kernel) cannot be checked by its process
id; the registry takes it for crashed when its heartbeat is older than
:data:`~jupyter_mlops.registry.liveness.HEARTBEAT_STALE_SECONDS`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 60.0


class Heartbeat:
    """Every ``interval`` seconds, stamp the runs added as alive, with a connection of its own.

    The thread starts with the first run added and sleeps while there is none.
    """

    def __init__(self, interval: float = HEARTBEAT_SECONDS) -> None:
        self.interval = interval
        self._runs: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, run_id: str, registry_path: Path) -> None:
        with self._lock:
            self._runs[run_id] = registry_path
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="mlops-heartbeat", daemon=True
                )
                self._thread.start()

    def discard(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    def stop(self) -> None:
        """End the thread (a new run added later starts another)."""
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5.0)
        self._thread = None
        self._wake = threading.Event()

    def _loop(self) -> None:
        wake = self._wake
        while not wake.wait(self.interval):
            with self._lock:
                by_path: dict[Path, list[str]] = {}
                for run_id, path in self._runs.items():
                    by_path.setdefault(path, []).append(run_id)
            for path, run_ids in by_path.items():
                try:
                    conn = sqlite3.connect(path, timeout=5.0, isolation_level=None)
                    try:
                        conn.executemany(
                            "UPDATE runs SET heartbeat_at = ? WHERE id = ?",
                            [(time.time(), run_id) for run_id in run_ids],
                        )
                    finally:
                        conn.close()
                except sqlite3.Error as exc:
                    logger.debug("Heartbeat for %s skipped: %s", path, exc)
