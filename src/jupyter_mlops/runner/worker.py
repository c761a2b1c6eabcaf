"""The warm worker: one process per pipeline run imports the setup code once and forks each step.

    launcher = StepLauncher(StepLaunch(python, pipeline_dir, workdir, run_dir, registry_dir))
    ended = launcher.run(request_path, log_path, timeout_s=600)     # a StepExit
    launcher.close()

A spawned step (``python -m jupyter_mlops.runner.step``) imports jupyter_mlops and the
notebook's setup code (pandas, scikit-learn...) again: seconds per step, the same every
time. With the worker:

- The first step that has to run starts it (:mod:`.warm_process`), in a process group
  of its own, bound to the runner's life as a step is. It imports the step machinery
  and ``steps/pipeline_setup.py`` (the files the setup code reads count for every step),
  reads the installed distributions once, and waits. A fully cached run starts no worker.
- For each step it forks. The child binds its life to the worker's (the worker's is
  bound to the runner's: PR_SET_PDEATHSIG both times), leads a new session and process
  group, writes its output to the step's log, and runs the step as a spawned one does
  (:func:`.step.run_request_file`). The runner waits for it, and stops its group at its
  timeout or when interrupted, as for a spawned step (:mod:`.processes`).
- Isolation: each step is a copy of the worker as the setup code left it. The worker
  never runs a step's code, so nothing a step changes (objects of the setup module, the
  environment, the working directory) reaches another step. Python's ``random``, which
  re-seeds itself in a forked child, is given back the state the setup code left, as a
  fresh process that ran the setup code would have it.
- Fork safety (the details, and the threads of native libraries such as OpenBLAS and
  OpenMP, in :mod:`.warm_process`): the worker opens no registry, and forks only when
  the setup code left nothing two processes cannot share: no thread started from
  Python, no open file, socket or database connection, no CUDA context. When the setup
  code leaves such a thing, fails, or the worker ends early, the steps are spawned as
  before and ``worker.log`` in the run's folder says why.
- Linux only (fork and PR_SET_PDEATHSIG). Elsewhere, or with ``MLOPS_WARM_WORKER=0`` in
  the environment, or ``run_pipeline(..., warm_worker=False)``, each step is spawned.

Runner and worker talk through two pipes, one JSON object per line: the runner sends
``{"request": PATH, "log": PATH}``; the worker answers ``{"ready": true}`` (or
``{"ready": false, "problem": ...}``) once, then ``{"started": PID}`` and
``{"exited": PID, "returncode": N}`` for each step.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .processes import (
    GRACE_S,
    StepExit,
    run_step_process,
    step_environment,
    stop_process_group,
    supervise_step,
)

logger = logging.getLogger(__name__)

ENV_SWITCH = "MLOPS_WARM_WORKER"  # "0": spawn every step
LOG_NAME = "worker.log"


def warm_worker_available() -> bool:
    """Whether steps can be forked from a warm worker here (Linux, not switched off)."""
    if os.environ.get(ENV_SWITCH, "").strip().lower() in ("0", "no", "off", "false"):
        return False
    return sys.platform.startswith("linux") and hasattr(os, "fork")


class WorkerGone(Exception):
    """The worker ended (or never became usable); the steps left are spawned."""


@dataclass(frozen=True)
class StepLaunch:
    """What every step process of one pipeline run shares: the Python that runs it, the
    pipeline, where it runs, where its logs go, the registry it records into."""

    python: str
    pipeline_dir: Path
    workdir: Path
    run_dir: Path
    registry_dir: Path
    env: Mapping[str, str]

    def step_argv(self, request_path: Path) -> list[str]:
        return [self.python, "-m", "jupyter_mlops.runner.step", str(request_path)]


class StepLauncher:
    """Starts the steps of one pipeline run: forked from a warm worker when it can,
    spawned otherwise (see the module docstring). Close it when the run ends."""

    def __init__(self, launch: StepLaunch, *, warm: bool | None = None) -> None:
        self.launch = launch
        self.warm = warm_worker_available() if warm is None else warm
        self.worker: WarmWorker | None = None
        self.forked = 0  # steps forked from the worker
        self.spawned = 0  # steps started as processes of their own

    def run(self, request_path: Path, log_path: Path, timeout_s: float | None) -> StepExit:
        """Run one step to its end (or its timeout); stop it when interrupted."""
        started = time.monotonic()
        worker = self._worker(started, timeout_s, log_path)
        if isinstance(worker, StepExit):
            return worker
        if worker is not None:
            try:
                process = worker.fork(request_path, log_path)
            except WorkerGone as exc:
                self._give_up(str(exc))
            else:
                self.forked += 1
                return supervise_step(process, started=started, timeout_s=timeout_s)
        self.spawned += 1
        return run_step_process(
            self.launch.step_argv(request_path),
            cwd=self.launch.workdir,
            env=self.launch.env,
            log_path=log_path,
            timeout_s=timeout_s,
            started=started,
        )

    def close(self) -> None:
        """End the worker, if one was started."""
        if self.worker is not None:
            self.worker.close()

    def _worker(
        self, started: float, timeout_s: float | None, log_path: Path
    ) -> WarmWorker | StepExit | None:
        """The worker, ready; None to spawn; a StepExit when the setup code took the
        step's whole time."""
        if not self.warm:
            return None
        if self.worker is None:
            self.worker = WarmWorker.start(self.launch)
        worker = self.worker
        if worker.gone is not None:
            self._give_up(worker.gone)
            return None
        if worker.ready:
            return worker
        remaining = None if timeout_s is None else max(0.0, started + timeout_s - time.monotonic())
        try:
            worker.wait_ready(remaining)
        except WorkerGone as exc:
            self._give_up(str(exc))
            return None
        except subprocess.TimeoutExpired:
            worker.close(wait_s=0.0)
            log_path.write_text(
                f"The pipeline's setup code did not finish within {timeout_s:g} s; its output"
                f" is in {self.launch.run_dir / LOG_NAME}\n",
                encoding="utf-8",
            )
            self.warm = False
            return StepExit(
                pid=worker.process.pid,
                returncode=worker.process.returncode or -15,
                duration_s=time.monotonic() - started,
                timed_out=True,
                timeout_s=timeout_s,
            )
        except BaseException:
            worker.close(wait_s=0.0)
            raise
        with open(self.launch.run_dir / LOG_NAME, "a", encoding="utf-8") as log:
            log.write(f"jupyter-mlops runner: the worker was ready {worker.ready_after_s:.2f} s"
                      " after it was started\n")  # fmt: skip
        return worker

    def _give_up(self, why: str) -> None:
        """Spawn every step from now on, and say why."""
        self.warm = False
        message = f"Steps start as separate processes from now on: {why}"
        logger.warning("%s", message)
        with open(self.launch.run_dir / LOG_NAME, "a", encoding="utf-8") as log:
            log.write(f"jupyter-mlops runner: {message}\n")
        if self.worker is not None:
            self.worker.close()


class WarmWorker:
    """The runner's side of one worker process: the process, and the pipes to it."""

    def __init__(self, process: subprocess.Popen[bytes], commands: int, messages: int) -> None:
        self.process = process
        self.started = time.monotonic()
        self._commands = commands  # write end: runner -> worker
        self._messages = messages  # read end: worker -> runner
        self._buffer = b""
        self.ready = False
        self.ready_after_s = 0.0  # from starting the process to its first message
        self.gone: str | None = None  # why the worker cannot be used

    @classmethod
    def start(cls, launch: StepLaunch) -> WarmWorker:
        commands_read, commands_write = os.pipe()
        messages_read, messages_write = os.pipe()
        config = {
            "runner_pid": os.getpid(),
            "commands_fd": commands_read,
            "messages_fd": messages_write,
            "pipeline_dir": str(launch.pipeline_dir),
            "registry_dir": str(launch.registry_dir),
        }
        try:
            with open(launch.run_dir / LOG_NAME, "ab") as log:
                process = subprocess.Popen(
                    [launch.python, "-m", "jupyter_mlops.runner.warm_process", json.dumps(config)],
                    cwd=launch.workdir,
                    env=dict(launch.env),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    pass_fds=(commands_read, messages_write),
                )
        except BaseException:
            os.close(commands_write)
            os.close(messages_read)
            raise
        finally:
            os.close(commands_read)
            os.close(messages_write)
        return cls(process, commands_write, messages_read)

    def wait_ready(self, timeout: float | None) -> None:
        """Wait until the worker has imported the setup code. Raises WorkerGone when it
        cannot fork steps (saying why), subprocess.TimeoutExpired after ``timeout``."""
        message = self.receive(timeout)
        if not message.get("ready"):
            self.gone = str(message.get("problem") or "the worker is not ready")
            raise WorkerGone(self.gone)
        self.ready = True
        self.ready_after_s = time.monotonic() - self.started

    def fork(self, request_path: Path, log_path: Path) -> ForkedStep:
        """Have the worker fork the step the request file describes; return it started."""
        self.send({"request": str(request_path), "log": str(log_path)})
        message = self.receive(None)
        if "started" not in message:
            raise self._ended(f"the worker answered {message!r} instead of starting the step")
        return ForkedStep(self, int(message["started"]))

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message) + "\n").encode("utf-8")
        try:
            while data:
                data = data[os.write(self._commands, data) :]
        except OSError as exc:  # BrokenPipeError: the worker is gone
            raise self._ended(f"it cannot be written to ({exc})") from exc

    def receive(self, timeout: float | None) -> dict[str, Any]:
        """The worker's next message; subprocess.TimeoutExpired after ``timeout`` seconds,
        WorkerGone when it ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self._messages], [], [], wait)
            if not readable:
                raise subprocess.TimeoutExpired("the warm worker", timeout or 0.0)
            chunk = os.read(self._messages, 65536)
            if not chunk:
                raise self._ended("it ended")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        return message

    def _ended(self, what: str) -> WorkerGone:
        code = self.process.poll()
        self.gone = f"the warm worker {what}" + (f" (exit status {code})" if code else "")
        self.gone += f"; see {LOG_NAME} in the run's folder"
        return WorkerGone(self.gone)

    def close(self, wait_s: float = GRACE_S) -> None:
        """Tell the worker to end (its command pipe closes); stop it if it has not ended
        within ``wait_s`` seconds."""
        if self._commands >= 0:
            os.close(self._commands)
            self._commands = -1
        try:
            self.process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            pass
        stop_process_group(self.process, grace_s=1.0)
        if self._messages >= 0:
            os.close(self._messages)
            self._messages = -1
        self.gone = self.gone or "the warm worker was closed"


class ForkedStep:
    """A step forked by the worker, as the runner waits for it: the worker reaps it and
    reports its exit status (see :class:`.processes.StepProcess`)."""

    def __init__(self, worker: WarmWorker, pid: int) -> None:
        self.worker = worker
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.wait(timeout=0)
            except subprocess.TimeoutExpired:
                pass
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is not None:
            return self.returncode
        try:
            message = self.worker.receive(timeout)
        except WorkerGone:
            # the step died with the worker (PR_SET_PDEATHSIG): say it was killed
            self.returncode = -9
            return self.returncode
        if message.get("exited") != self.pid:
            raise self.worker._ended(f"answered {message!r} while step {self.pid} ran")
        self.returncode = int(message["returncode"])
        return self.returncode

    def terminate(self) -> None:
        self._signal(15)

    def kill(self) -> None:
        self._signal(9)

    def _signal(self, signum: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass


def launch_for(
    python: str | None,
    pipeline_dir: Path,
    workdir: Path,
    run_dir: Path,
    registry_dir: Path,
    *,
    hash_seed: int | None = None,
) -> StepLaunch:
    """The StepLaunch of a run: ``python`` or this interpreter, the steps' environment
    (with ``PYTHONHASHSEED`` the pipeline's ``--seed``, when it was exported with one)."""
    env = step_environment()
    if hash_seed is not None:
        env["PYTHONHASHSEED"] = str(hash_seed)
    return StepLaunch(
        python=python or sys.executable,
        pipeline_dir=pipeline_dir,
        workdir=workdir,
        run_dir=run_dir,
        registry_dir=registry_dir,
        env=env,
    )
