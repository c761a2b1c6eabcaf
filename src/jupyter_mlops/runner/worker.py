"""The warm worker: one process per pipeline run imports the setup code once and forks each step.

    launcher = StepLauncher(StepLaunch(python, pipeline_dir, workdir, run_dir, registry_dir))
    ended = launcher.run(request_path, log_path, timeout_s=600)     # a StepExit
    launcher.close()

A spawned step (``python -m jupyter_mlops.runner.step``) imports jupyter_mlops and the
notebook's setup code (pandas, scikit-learn...) again: seconds per step, the same every
time. With the worker:

- The first step that has to run starts it: ``python -m jupyter_mlops.runner.worker``,
  a process group of its own, bound to the runner's life as a step is. It imports the
  step machinery and ``steps/pipeline_setup.py`` (the files the setup code reads count
  for every step), reads the installed distributions once, and waits. A fully cached
  run starts no worker.
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
- Fork safety: the worker opens no registry, and forks only when the setup code left
  nothing two processes cannot share: no thread started from Python, no open file,
  socket or database connection (a SQLite connection must not cross a fork). Threads
  that native libraries keep for themselves (BLAS pools, jemalloc) are stopped and
  restarted around a fork by those libraries. When the setup code leaves such a thing,
  fails, or the worker ends early, the steps are spawned as before and ``worker.log`` in
  the run's folder says why.
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
from typing import TYPE_CHECKING, Any, NoReturn

from .processes import (
    GRACE_S,
    StepExit,
    run_step_process,
    step_environment,
    stop_process_group,
    supervise_step,
)

if TYPE_CHECKING:
    from .spec import PipelineSpec
    from .step import FileAccess

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
        self._commands = commands  # write end: runner -> worker
        self._messages = messages  # read end: worker -> runner
        self._buffer = b""
        self.ready = False
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
                    [launch.python, "-m", "jupyter_mlops.runner.worker", json.dumps(config)],
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
    python: str | None, pipeline_dir: Path, workdir: Path, run_dir: Path, registry_dir: Path
) -> StepLaunch:
    """The StepLaunch of a run: ``python`` or this interpreter, the steps' environment."""
    return StepLaunch(
        python=python or sys.executable,
        pipeline_dir=pipeline_dir,
        workdir=workdir,
        run_dir=run_dir,
        registry_dir=registry_dir,
        env=step_environment(),
    )


# -- the worker process -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Forked:
    """Returned by :func:`serve` in a forked child: the step it is to run."""

    request: str
    log: str
    worker_pid: int
    access: FileAccess
    random_state: Any


def main(argv: list[str] | None = None) -> int:
    """The worker process: warm up, then fork one child per command until the runner
    closes the command pipe. In a child, run the step and return its exit code."""
    from .processes import die_with_runner

    argv = sys.argv[1:] if argv is None else argv
    config = json.loads(argv[0])
    die_with_runner(int(config["runner_pid"]))
    commands = os.fdopen(int(config["commands_fd"]), "rb")
    messages = int(config["messages_fd"])
    before = _open_fds()
    started = time.perf_counter()
    access, problem = _warm_up(Path(config["pipeline_dir"]), Path(config["registry_dir"]))
    problem = problem or _unshareable(before)
    print(f"jupyter-mlops worker {os.getpid()}: warmed up in"
          f" {time.perf_counter() - started:.2f} s", flush=True)  # fmt: skip
    _send(messages, {"ready": problem is None, "problem": problem})
    if problem is not None:
        return 0
    outcome = serve(commands, messages, access)
    if isinstance(outcome, _Forked):
        return _run_forked(outcome)
    return outcome


def serve(commands: Any, messages: int, access: FileAccess) -> int | _Forked:
    """Fork one child per command line and report it; in the child, return what to run."""
    import random
    import warnings

    worker_pid = os.getpid()
    for line in commands:
        command = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        state = random.getstate()
        ready_read, ready_write = os.pipe()
        with warnings.catch_warnings():
            # Python 3.12+ warns of native threads at a fork; see the module docstring
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            os.close(ready_read)
            commands.close()
            os.close(messages)
            _detach(worker_pid, command["log"])
            os.close(ready_write)  # the worker may report the step started
            return _Forked(command["request"], command["log"], worker_pid, access, state)
        os.close(ready_write)
        os.read(ready_read, 1)  # EOF once the child leads its own group (or is gone)
        os.close(ready_read)
        _send(messages, {"started": pid})
        _, status = os.waitpid(pid, 0)
        _send(messages, {"exited": pid, "returncode": os.waitstatus_to_exitcode(status)})
    return 0


def _detach(worker_pid: int, log: str) -> None:
    """In a forked child: die with the worker, lead a new session, output to the log."""
    from .processes import die_with_runner

    die_with_runner(worker_pid)
    os.setsid()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _run_forked(forked: _Forked) -> NoReturn:
    import random

    from . import step

    random.setstate(forked.random_state)
    sys.argv = [step.__file__, forked.request]
    code = step.run_request_file(
        Path(forked.request), parent_pid=forked.worker_pid, access=forked.access
    )
    _exit_quickly(code)


def _exit_quickly(code: int) -> NoReturn:
    """End a forked step as a spawned one ends (its threads joined, exit handlers run, its
    garbage collected so that its files are flushed and closed), without tearing down the
    modules the worker imported: that would touch, and copy, the worker's whole heap."""
    import atexit
    import gc
    import threading

    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    gc.collect()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _warm_up(pipeline_dir: Path, registry_dir: Path) -> tuple[FileAccess, str | None]:
    """Import what the steps will import: the step machinery, the setup code (the files
    it reads recorded for every step), then what the steps' values and calls need."""
    import gc
    import importlib
    import traceback

    from ..tracking.capture.environment import current_environment
    from ..tracking.secrets import redact_param
    from . import step
    from .spec import SETUP_MODULE, STEPS_DIRNAME, PipelineSpec

    for module in _STEP_MODULES:
        importlib.import_module(module)
    current_environment()  # the installed distributions, read once for every step
    redact_param("warm-up", "compiles the secret patterns once")
    access = step.FileAccess.for_step(Path.cwd(), registry_dir, pipeline_dir)
    sys.addaudithook(access.hook)
    sys.path.insert(0, str(pipeline_dir / STEPS_DIRNAME))
    try:
        importlib.import_module(SETUP_MODULE)
    except BaseException as exc:  # noqa: BLE001 - each step will show it again
        traceback.print_exception(exc)
        return access, f"the setup code failed ({type(exc).__name__}: {exc})"
    finally:
        access.active = False
    for module in _modules_for(PipelineSpec.load(pipeline_dir)):
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    gc.collect()
    gc.freeze()  # the steps' collections leave the worker's objects, and their pages, alone
    return access, None


# What every step process imports (see .step).
_STEP_MODULES = (
    "jupyter_mlops.registry.artifacts",
    "jupyter_mlops.registry.connection",
    "jupyter_mlops.tracking.run",
    "jupyter_mlops.tracking.session",
    "jupyter_mlops.runner.records",
    "jupyter_mlops.runner.serialization",
    "jupyter_mlops.runner.step",
    "jupyter_mlops.runner.step_api",
    "jupyter_mlops.models.registering",
)


def _modules_for(spec: PipelineSpec) -> list[str]:
    """What this pipeline's steps will import besides: the gates and drift checks, and
    the writers of the values the setup code's libraries make (DataFrames, models)."""
    wanted = []
    if any(step.gate or step.reads_pipeline_run for step in spec.steps):
        wanted.append("jupyter_mlops.gates.evaluation")
    if spec.drift_checks:
        wanted += ["jupyter_mlops.runner.drift_check", "jupyter_mlops.drift.deciding"]
    if "pandas" in sys.modules:
        wanted.append("pyarrow.parquet")
    if "numpy" in sys.modules:
        wanted.append("joblib")
    return wanted


def _unshareable(before: set[int]) -> str | None:
    """Why forking this process would let steps share state, or None."""
    import threading

    threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if threads:
        return f"the setup code started threads ({', '.join(threads)})"
    opened = sorted(_open_fds() - before)
    if opened:
        names = ", ".join(_fd_name(fd) for fd in opened[:5])
        return (
            f"the setup code leaves open {names}: each step would share it. Open it inside"
            " the steps, or close it at the end of the setup code"
        )
    return None


def _open_fds() -> set[int]:
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            os.readlink(f"/proc/self/fd/{name}")  # the listing's own descriptor is closed now
        except OSError:
            continue
        found.add(int(name))
    return found


def _fd_name(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return f"descriptor {fd}"


def _send(fd: int, message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode("utf-8")
    while data:
        data = data[os.write(fd, data) :]


if __name__ == "__main__":
    worker_pid = os.getpid()
    code = main()
    if os.getpid() == worker_pid:
        # The worker itself ends without running exit handlers: those the setup code
        # registered belong to the steps, which run them as they end.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
