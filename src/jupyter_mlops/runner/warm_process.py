"""The warm worker process: imports a pipeline's setup code once, then forks each step.

    python -m jupyter_mlops.runner.warm_process CONFIG_JSON

Started and spoken to by :class:`.worker.WarmWorker` (the protocol is in :mod:`.worker`).
It warms up (:func:`_warm_up`), says whether its state can be forked safely
(:func:`_unshareable`), then forks a child per command; a child leads a session of its
own, writes to its step's log and runs the step as a spawned step process would.

Why forking is safe here, and when it is not:

- The worker forks from a known state: the step machinery and the setup code imported,
  no step's code ever run. Whatever a step then does happens in its own copy.
- No thread started from Python may be running (its lock state would be copied
  mid-way), no file, socket or database connection may be open (two steps would share
  its offset or its locks): the steps are spawned instead, and ``worker.log`` says why.
  CUDA, once initialised, cannot be used in a forked child: the same.
- Native libraries keep threads of their own. Those that exist after imports (the
  OpenBLAS pools of numpy and scipy, jemalloc's background thread of pyarrow) stop and
  restart them around ``fork()`` through ``pthread_atfork`` handlers. GNU OpenMP
  (libgomp, scikit-learn's parallel loops) and similar pools have no such handlers: a
  child that inherits a started pool can hang at its first parallel region. Those
  pools start at the first parallel work, not at import, so setup code that only
  imports and defines is safe; setup code that already computes in parallel (fits a
  model, multiplies large matrices) is the risk. ``worker.log`` lists the native
  threads present at the fork; a step that hangs is stopped at its timeout like any
  other; ``MLOPS_WARM_WORKER=0`` spawns every step. The worker does not cap the
  libraries' threads (``OMP_NUM_THREADS=1``...): that would slow every step's own work.
- This is multiprocessing's ``forkserver`` with the setup preloaded
  (``set_forkserver_preload``), done by hand because each child must lead a process
  group of its own, die with the runner, write to its step's log, and be reaped and
  reported so that the runner can stop it on its timeout as it stops a spawned step.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from .spec import PipelineSpec
    from .step import FileAccess


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
    native = _native_threads()
    if native and problem is None:
        print(f"jupyter-mlops worker {os.getpid()}: threads of native libraries at the fork:"
              f" {', '.join(native)} (see jupyter_mlops.runner.warm_process)", flush=True)  # fmt: skip
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
    "jupyter_mlops.tracking.queries.refs",
    "jupyter_mlops.api",  # what mlops.<name> forwards to
)


def _modules_for(spec: PipelineSpec) -> list[str]:
    """What this pipeline's steps will import besides: the gates and drift checks, and
    the writers of the values the setup code's libraries make (DataFrames, models)."""
    wanted = []
    if any(step.gate or step.reads_pipeline_run for step in spec.steps):
        wanted += ["jupyter_mlops.gates.evaluation", "jupyter_mlops.drift.gate"]
    if spec.drift_checks:
        wanted += ["jupyter_mlops.runner.drift_check", "jupyter_mlops.drift.deciding",
                   "jupyter_mlops.drift.store", "jupyter_mlops.snapshots.snapshot"]  # fmt: skip
    if "pandas" in sys.modules:  # what pandas' parquet reader and writer import on first use
        wanted += ["pyarrow.parquet", "pyarrow.dataset", "pyarrow.pandas_compat",
                   "pandas.core.arrays.arrow.extension_types"]  # fmt: skip
    if "numpy" in sys.modules:
        wanted.append("joblib")
    return wanted


def _unshareable(before: set[int]) -> str | None:
    """Why forking this process would let steps share state, or None."""
    import threading

    threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if threads:
        return f"the setup code started threads ({', '.join(threads)})"
    torch = sys.modules.get("torch")
    if torch is not None and getattr(torch, "cuda", None) and torch.cuda.is_initialized():
        return "the setup code initialised CUDA, which a forked process cannot use"
    opened = sorted(_open_fds() - before)
    if opened:
        names = ", ".join(_fd_name(fd) for fd in opened[:5])
        return (
            f"the setup code leaves open {names}: each step would share it. Open it inside"
            " the steps, or close it at the end of the setup code"
        )
    return None


def _native_threads() -> list[str]:
    """The names of this process's threads besides the main one (Python started none
    when this is asked): those native libraries keep, e.g. OpenBLAS's pool."""
    names = []
    for task in sorted(os.listdir("/proc/self/task"), key=int):
        if int(task) == os.getpid():
            continue
        try:
            with open(f"/proc/self/task/{task}/comm", encoding="utf-8") as comm:
                names.append(comm.read().strip())
        except OSError:
            continue
    return names


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
