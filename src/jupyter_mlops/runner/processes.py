"""Step processes: started in a session of their own, stopped as a whole, never left behind.

    ended = run_step_process(argv, cwd=work, env=env, log_path=log, timeout_s=600)
    ended.returncode, ended.timed_out, ended.duration_s

- A step starts as the leader of a new session and process group
  (``start_new_session=True``), so the processes it starts belong to its group, and a
  Ctrl-C in the terminal reaches the runner alone, which then stops the step.
- Stopping a step stops its whole group: SIGTERM (a step process turns it into
  KeyboardInterrupt, so its run ends as killed), then SIGKILL to whatever is left after
  :data:`GRACE_S` seconds. It happens when the step outlives its timeout, when the
  runner is interrupted while waiting for it (KeyboardInterrupt, or SIGTERM through
  :func:`sigterm_interrupts`), and to processes a finished step left running.
- A step process calls :func:`die_with_runner` first thing: on Linux the kernel then
  kills it with SIGKILL when the runner dies without a chance to clean up (SIGKILL, OOM
  killer); the registry marks such a pipeline run killed when it is next opened (see
  :mod:`jupyter_mlops.registry.liveness`). Processes the step started are not reached
  in that case: they are in its group, and only a living runner signals the group.
- Signal handlers are installed by the entry points only (``python -m
  jupyter_mlops.runner``, ``jupyter mlops pipeline run``), never by the library: a kernel
  that calls ``run_pipeline`` keeps its own.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Protocol

from ..errors import InvalidInputError
from .spec import parse_duration

logger = logging.getLogger(__name__)

# The limit the faces (CLI, container entry point, magic) give a step without its own.
DEFAULT_STEP_TIMEOUT_S = 24 * 3600.0
# Seconds between SIGTERM and SIGKILL when a step is stopped.
GRACE_S = 5.0
# Exit status of a step process whose runner died before it could bind itself to it.
EXIT_ORPHANED = 125
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_POLL_S = 0.05


@dataclass(frozen=True)
class StepExit:
    """How a step process ended. ``returncode`` is negative for a signal (-9: SIGKILL);
    ``timed_out`` when the runner stopped it at its timeout."""

    pid: int
    returncode: int
    duration_s: float
    timed_out: bool = False
    timeout_s: float | None = None


class Terminated(KeyboardInterrupt):
    """SIGTERM received by an entry point (the runner's, a step's), raised where the
    process was, so that the runner stops the running step and records the pipeline run
    as killed, and a step ends its run as killed. A KeyboardInterrupt, so that
    ``except Exception`` on the way does not swallow it."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(f"{signal.Signals(signum).name} received")
        self.signum = signum


class StepProcess(Protocol):
    """A running step process the runner waits for and stops: a ``subprocess.Popen``, or
    a step forked by the warm worker (:class:`.worker.ForkedStep`). Either leads a process
    group of its own whose id is its ``pid``; ``wait`` raises ``subprocess.TimeoutExpired``."""

    pid: int

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


def run_step_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
    timeout_s: float | None,
    grace_s: float = GRACE_S,
    started: float | None = None,
) -> StepExit:
    """Run one step process in its own session, its output into ``log_path``, and wait.

    Past ``timeout_s`` seconds (None: no limit) its group is stopped and the exit says
    ``timed_out``. When the wait is interrupted (KeyboardInterrupt, Terminated),
    the group is stopped before the exception goes on. Processes left in the group after
    the step exits are stopped too. ``started`` (``time.monotonic()``) is when the step's
    clock started, when that was before this call.
    """
    import subprocess

    started = time.monotonic() if started is None else started
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return supervise_step(process, started=started, timeout_s=timeout_s, grace_s=grace_s)


def supervise_step(
    process: StepProcess,
    *,
    started: float,
    timeout_s: float | None,
    grace_s: float = GRACE_S,
) -> StepExit:
    """Wait for a started step until ``timeout_s`` seconds after ``started`` (a
    ``time.monotonic()``), then stop its group (see :func:`run_step_process`)."""
    import subprocess

    timed_out = False
    try:
        remaining = None if timeout_s is None else max(0.0, started + timeout_s - time.monotonic())
        try:
            process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            timed_out = True
            logger.info("Step process %d ran past its %s s: stopping it", process.pid, timeout_s)
        stop_process_group(process, grace_s)
    except BaseException:
        stop_process_group(process, grace_s)
        raise
    return StepExit(
        pid=process.pid,
        returncode=process.wait(),  # at once: it has ended
        duration_s=time.monotonic() - started,
        timed_out=timed_out,
        timeout_s=timeout_s,
    )


def stop_process_group(process: StepProcess, grace_s: float = GRACE_S) -> None:
    """Stop every process of the group ``process`` leads: SIGTERM, then SIGKILL to those
    left after ``grace_s`` seconds; reap ``process``. Quick when the group is gone."""
    if not hasattr(os, "killpg"):  # no process groups here: the step process alone
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=grace_s)
            except Exception:  # noqa: BLE001 - any failure to wait ends in a kill
                process.kill()
        process.wait()
        return
    group = process.pid
    if not _group_alive(process, group):
        return
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    try:
        while _group_alive(process, group) and time.monotonic() < deadline:
            time.sleep(_POLL_S)
    finally:
        if _group_alive(process, group):
            logger.warning("Process group %d outlived SIGTERM by %s s: killing it", group, grace_s)
            _signal_group(group, signal.SIGKILL)
        process.wait()


def _group_alive(process: StepProcess, group: int) -> bool:
    process.poll()  # reap the leader, so that a dead leader does not count
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member changed its user: still there
        return True
    return True


def _signal_group(group: int, signum: int) -> None:
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        pass


def die_with_runner(runner_pid: int) -> None:
    """Called by a step process first thing: be killed (SIGKILL) when the runner dies.

    Linux only (``prctl(PR_SET_PDEATHSIG)``); elsewhere a no-op. When the runner died
    before this call the parent is no longer the runner, and the step exits at once.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        failed = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0
    except (OSError, AttributeError):
        failed = True
    if failed:
        logger.warning("This step process cannot be bound to its runner's life (prctl failed)")
        return
    if os.getppid() != runner_pid:
        print("jupyter-mlops: the runner ended before this step started", file=sys.stderr)
        os._exit(EXIT_ORPHANED)


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While inside, SIGTERM raises :class:`Terminated` in the main thread (once;
    later ones are ignored while the runner cleans up). For entry points only.

        with sigterm_interrupts():
            run_pipeline(directory)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if received:
            return
        received.append(signum)
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted_exit_code(exc: KeyboardInterrupt) -> int:
    """The shell's convention for a process ended by a signal: 128 + its number."""
    return 128 + (exc.signum if isinstance(exc, Terminated) else int(signal.SIGINT))


def parse_step_timeout(value: str | None) -> float | None:
    """``--step-timeout``: seconds or a duration (``90s``, ``10m``, ``2h``); ``0`` or
    ``none`` for no limit; None (not given) for :data:`DEFAULT_STEP_TIMEOUT_S`."""
    if value is None:
        return DEFAULT_STEP_TIMEOUT_S
    if value.strip().lower() in ("0", "none", "off"):
        return None
    return parse_duration(value, what="--step-timeout")


def check_step_timeout(value: float | None) -> float | None:
    """A step timeout given to ``run_pipeline``: None or a positive number of seconds."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) and value > 0)
    ):
        raise InvalidInputError(
            f"step_timeout={value!r} is not a positive number of seconds",
            hint="Give seconds, for example step_timeout=600, or None for no limit.",
        )
    return float(value)


def timed_out_message(ended: StepExit, log_path: Path) -> str:
    """What a step stopped at its timeout says: its limit and where its output is."""
    return (
        f"timed out after {ended.timeout_s:g} s and was stopped with the processes it started;"
        f" its output is in {log_path} (to give it longer, tag one of its cells"
        " timeout:SECONDS or run with --step-timeout SECONDS)"
    )


def interruption_message(exc: BaseException, step: str | None, log_path: Path | None) -> str:
    """Why a pipeline run ended early, for its record: what stopped the runner, which
    step was stopped with it, and where that step's output is."""
    if isinstance(exc, Terminated):
        what = f"the runner received {signal.Signals(exc.signum).name}"
    elif isinstance(exc, KeyboardInterrupt):
        what = "the runner was interrupted"
    else:
        what = f"the runner stopped: {type(exc).__name__}: {exc}"
    if step is None:
        return what
    return f'{what}; step "{step}" was stopped (its output is in {log_path})'


def step_environment() -> dict[str, str]:
    """The environment of a step process: this one's, with this ``jupyter_mlops`` on
    PYTHONPATH when it runs from a source tree, and a fixed hash seed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_source_checkout_root(), env.get("PYTHONPATH", "")) if p
    )
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def _source_checkout_root() -> str:
    """The folder holding ``jupyter_mlops`` when it runs from a source tree put on
    ``sys.path`` by hand, so that step processes import the same code; '' when it is
    installed (putting site-packages on PYTHONPATH would shadow the standard library)."""
    import site

    root = Path(__file__).resolve().parents[2]
    installed = {Path(p).resolve() for p in site.getsitepackages()}
    user_site = site.getusersitepackages()
    if user_site:
        installed.add(Path(user_site).resolve())
    return "" if root in installed else str(root)
