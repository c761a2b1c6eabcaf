"""Reproductions the server runs in the background, one worker thread each, and what
each has said so far.

A reproduction starts a kernel and runs a whole notebook: minutes, not the time of a
request. :class:`ReproductionJobs` starts each in a thread of its own, on a registry
connection of its own (the server's shared one is never held that long), keeps the
progress lines as they come, and at the end the verdict or the error. At most one
reproduction of a run runs at a time: a second start raises
:class:`~jupyter_mlops.errors.AlreadyRunningError` naming the job that runs.

    jobs = ReproductionJobs()
    job = jobs.start(registry, run_id, "baseline", ReproduceOptions(env="current"))
    jobs.get(job.id).view()["state"]      # 'running', then 'done' (or 'failed')

The jobs live as long as the server; the reproductions themselves are stored in the
registry (table ``reproductions``), like those of ``jupyter mlops reproduce``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_core.utils import ensure_event_loop

from ..errors import AlreadyRunningError, MlopsError, NotFoundError
from ..registry.connection import Registry
from ..reproduce.reproduction import Reproduction, reproduce

logger = logging.getLogger(__name__)

RUNNING, DONE, FAILED = "running", "done", "failed"
KEPT_FINISHED_JOBS = 100  # older finished jobs are forgotten (the registry keeps the verdicts)


@dataclass(frozen=True)
class ReproduceOptions:
    """How to reproduce: the environment, whether stored snapshots stand in for data that
    changed, and values for the run's parameters (then parity is not checked)."""

    env: str = "current"
    data_from_snapshots: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)


class ReproductionJob:
    """One reproduction started by the server: its progress lines, its state, and at the
    end its verdict (``done``) or the error that stopped it (``failed``).

    Written by its worker thread and read by requests, always under its lock."""

    def __init__(self, run_id: str, run_name: str, options: ReproduceOptions) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.run_id = run_id
        self.run_name = run_name
        self.options = options
        self.started_at = time.time()
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._state = RUNNING
        self._ended_at: float | None = None
        self._verdict: dict[str, Any] | None = None
        self._error: dict[str, str | None] | None = None

    @property
    def running(self) -> bool:
        with self._lock:
            return self._state == RUNNING

    def say(self, line: str) -> None:
        """One progress line, as :func:`~jupyter_mlops.reproduce.reproduction.reproduce`
        reports them."""
        with self._lock:
            self._lines.append(line)

    def finish(self, result: Reproduction, root_dir: Path | None) -> None:
        verdict = result.verdict
        notebook = result.notebook_path
        with self._lock:
            self._verdict = {
                "status": verdict.status,
                "summary": verdict.summary(),
                "original_run_id": verdict.original_run_id,
                "run_id": verdict.run_id,
                "reason": verdict.reason,
                "causes": list(verdict.causes),
                "notes": list(verdict.notes),
                "differs_from_here": list(verdict.differs_from_here),
                "reproduction_id": result.reproduction_id,
                "seconds": round(result.seconds, 3),
                "notebook": None if notebook is None else str(notebook),
                "notebook_lab_path": _lab_path(notebook, root_dir),
            }
            self._state = DONE
            self._ended_at = time.time()

    def fail(self, message: str, hint: str | None) -> None:
        with self._lock:
            self._error = {"message": message, "hint": hint}
            self._state = FAILED
            self._ended_at = time.time()

    def view(self) -> dict[str, Any]:
        """The job as the server answers it (JSON-ready)."""
        with self._lock:
            return {
                "job": self.id,
                "run_id": self.run_id,
                "run_name": self.run_name,
                "environment": self.options.env,
                "data_from_snapshots": self.options.data_from_snapshots,
                "params": dict(self.options.params),
                "state": self._state,
                "started_at": self.started_at,
                "ended_at": self._ended_at,
                "lines": list(self._lines),
                "verdict": None if self._verdict is None else dict(self._verdict),
                "error": None if self._error is None else dict(self._error),
            }


class ReproductionJobs:
    """The reproductions one server started; at most one running per run. ``root_dir``
    is the server's root: a kept notebook inside it is given by its path there too."""

    def __init__(self, root_dir: Path | None = None) -> None:
        self.root_dir = root_dir
        self._lock = threading.Lock()
        self._jobs: dict[str, ReproductionJob] = {}

    def start(
        self, registry: Registry, run_id: str, run_name: str, options: ReproduceOptions
    ) -> ReproductionJob:
        """Reproduce run ``run_id`` in a worker thread, on a connection of its own to
        ``registry``; the job, running. AlreadyRunningError when that run is being
        reproduced already."""
        with self._lock:
            running = next(
                (job for job in self._jobs.values() if job.run_id == run_id and job.running),
                None,
            )
            if running is not None:
                raise AlreadyRunningError(
                    f'Run "{run_name}" ({run_id[:12]}) is being reproduced already, by job'
                    f" {running.id} (started {time.strftime('%H:%M:%S', time.localtime(running.started_at))})",
                    job=running.id,
                    hint=f"Follow it at reproductions/jobs/{running.id}, or start again once it"
                    " has ended.",
                )
            connection = registry.another_connection()
            job = ReproductionJob(run_id, run_name, options)
            self._jobs[job.id] = job
            self._forget_old()
        worker = threading.Thread(
            target=self._work,
            args=(job, connection),
            name=f"jupyter-mlops-reproduce-{job.id}",
            daemon=True,
        )
        worker.start()
        return job

    def get(self, job_id: str) -> ReproductionJob:
        """The job ``job_id``; NotFoundError for one this server did not start (or forgot)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(
                f'No reproduction job "{job_id[:40]}" on this server',
                hint="Jobs live as long as the Jupyter server that started them; the verdicts"
                " of finished ones are on the run's page (Reproduced).",
            )
        return job

    def latest_for(self, run_id: str) -> ReproductionJob | None:
        """The last job started for ``run_id`` (running or not), if any."""
        with self._lock:
            jobs = [job for job in self._jobs.values() if job.run_id == run_id]
        return max(jobs, key=lambda job: job.started_at) if jobs else None

    def _work(self, job: ReproductionJob, registry: Registry) -> None:
        # The kernel client runs on this thread's event loop (jupyter_core's, which nbclient
        # uses); made here so that it is closed when the thread ends, not left to the GC.
        loop = ensure_event_loop()
        try:
            options = job.options
            result = reproduce(
                registry,
                job.run_id,
                env=options.env,
                params=dict(options.params) or None,
                data_from_snapshots=options.data_from_snapshots,
                progress=job.say,
            )
            job.finish(result, self.root_dir)
        except MlopsError as exc:
            job.fail(exc.message, exc.hint)
        except Exception as exc:  # a thread has nobody to raise to: the job says it
            logger.exception("jupyter-mlops: the reproduction of run %s failed", job.run_id)
            job.fail(
                f"The reproduction stopped on an internal error ({type(exc).__name__}: {exc})",
                "The Jupyter server log has the details; jupyter mlops reproduce RUN in a"
                " terminal shows the same run's progress.",
            )
        finally:
            registry.close()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            asyncio.set_event_loop(None)

    def _forget_old(self) -> None:
        finished = [job for job in self._jobs.values() if not job.running]
        for job in sorted(finished, key=lambda job: job.started_at)[:-KEPT_FINISHED_JOBS]:
            del self._jobs[job.id]


def _lab_path(path: Path | None, root_dir: Path | None) -> str | None:
    """``path`` relative to the server's root with ``/`` when it lies inside it, so the
    panel can open it; None otherwise."""
    if path is None or root_dir is None:
        return None
    try:
        return path.resolve().relative_to(root_dir.resolve()).as_posix()
    except ValueError:
        return None
