"""The snapshot worker: a thread that fingerprints, profiles and records pinned data.

A pin of a pandas object under Copy-on-Write is the content a run read, and no later edit
reaches it (:mod:`jupyter_mlops.snapshots.pins`), so the work in proportion to its size
(the fingerprint, then the profile if the content is new) can wait for another thread
while the notebook goes on. The thread records through a registry connection of its
own, one per registry it is given, so that it never shares a transaction with the
kernel's thread. One thread per process: distinct contents are few, and a second thread
would mostly compete with the user's code for the cores.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from ..registry.connection import Registry

logger = logging.getLogger(__name__)

T = TypeVar("T")


class SnapshotWorker:
    """Runs ``job(registry)`` on its thread, ``registry`` being a connection of the
    worker's own to the registry given; :meth:`stop` waits for every job."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        # id of the kernel's registry -> (that registry, the worker's connection to it)
        self._connections: dict[int, tuple[Registry, Registry]] = {}
        self._lock = threading.Lock()

    def submit(self, registry: Registry, job: Callable[[Registry], T]) -> Future[T]:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="mlops-snapshots")
            return self._executor.submit(self._run, registry, job)

    def _run(self, registry: Registry, job: Callable[[Registry], T]) -> T:
        known = self._connections.get(id(registry))
        if known is None or known[0] is not registry:
            known = (registry, registry.another_connection())
            self._connections[id(registry)] = known
        return job(known[1])

    def stop(self) -> None:
        """Wait for the jobs submitted, end the thread and close its connections."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        for _, connection in self._connections.values():
            connection.close()
        self._connections.clear()
