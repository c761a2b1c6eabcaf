"""Whether the process that recorded a run is still alive, and marking the runs whose
process died as crashed.

On this host a run's process is checked directly, by its pid and a token that tells it
from a later process given the same pid; a run from another host (a container, another
machine) is taken for dead when its heartbeat is stale.

When the dead process was a pipeline runner (its run is a pipeline run, still
``running`` in ``pipeline_runs``), the pipeline run becomes ``killed`` with a message, its
step still running ``failed`` and the steps it never reached ``not_run``, in the same
transaction: the runner had no chance to record how it ended (SIGKILL, the OOM killer,
a kernel that died), and its step process died with it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import RecordingError

if TYPE_CHECKING:
    from .connection import Registry

logger = logging.getLogger(__name__)


# A run on another host whose heartbeat is older than this is taken to have crashed.
HEARTBEAT_STALE_SECONDS = 600.0
RUNNER_DIED = "the runner process ended without recording how the run ended (killed or crashed)"
STEP_STOPPED = "stopped: the runner process ended while this step ran"
STEP_NOT_REACHED = "not run: the runner process ended before this step"


# This process's own token, by pid (a forked child has a pid and a token of its own): every
# run started records it, and reading /proc twice per run is most of a short run's cost.
_OWN_TOKENS: dict[int, str | None] = {}


def process_token(pid: int) -> str | None:
    """A string that identifies a live process, so that a reused pid is not mistaken for it.

    On Linux it is the boot id and the process start time; elsewhere ``None`` (the pid
    alone is then checked).
    """
    if pid == os.getpid():
        if pid not in _OWN_TOKENS:
            _OWN_TOKENS[pid] = _read_process_token(pid)
        return _OWN_TOKENS[pid]
    return _read_process_token(pid)


def _read_process_token(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):  # zombie or dead: the process has ended
        return None
    return f"{boot_id}:{fields[19]}"


def hostname() -> str:
    """This machine's name, as runs record it (no socket import on POSIX)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def process_alive(pid: int, token: str | None) -> bool:
    if token is not None and Path("/proc").is_dir():
        return process_token(pid) == token
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_crashed_runs(registry: Registry) -> list[str]:
    """Mark as crashed every running run whose process is gone; return their ids.

    On this host the recorded process is checked directly; a run from another host
    (a container, another machine) is crashed when its heartbeat is stale.
    """
    rows = registry.query(
        "SELECT id, host, pid, process_token, heartbeat_at, started_at FROM runs"
        " WHERE status = 'running'"
    )
    if not rows:
        return []
    host = hostname()
    now = time.time()
    crashed = []
    for row in rows:
        if row["host"] == host and row["pid"] is not None:
            alive = process_alive(row["pid"], row["process_token"])
        else:
            last_sign = row["heartbeat_at"] or row["started_at"]
            alive = now - last_sign < HEARTBEAT_STALE_SECONDS
        if not alive:
            crashed.append(row["id"])
    if crashed:
        try:
            with registry.transaction("crashed runs") as conn:
                conn.executemany(
                    "UPDATE runs SET status = 'crashed',"
                    " ended_at = COALESCE(heartbeat_at, started_at),"
                    " error = 'the process ended without closing the run'"
                    " WHERE id = ? AND status = 'running'",
                    [(run_id,) for run_id in crashed],
                )
                _close_pipeline_runs(conn, crashed)
        except RecordingError as exc:  # a read-only registry can still be read
            logger.warning("Could not mark crashed runs: %s", exc)
            return []
        logger.info("Marked %d run(s) as crashed: %s", len(crashed), ", ".join(crashed))
    return crashed


def _close_pipeline_runs(conn: sqlite3.Connection, crashed: list[str]) -> None:
    """The pipeline runs among ``crashed`` still marked running: killed, with their steps."""
    runs: list[str] = []
    for start in range(0, len(crashed), 500):  # within SQLite's limit on bound values
        chunk = crashed[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        runs.extend(
            row[0]
            for row in conn.execute(
                f"SELECT run_id FROM pipeline_runs WHERE status = 'running' AND run_id IN ({marks})",
                chunk,
            )
        )
    for run_id in runs:
        running = [
            row[0]
            for row in conn.execute(
                "SELECT step FROM step_runs WHERE pipeline_run_id = ? AND status = 'running'"
                " ORDER BY seq",
                (run_id,),
            )
        ]
        during = f' while step "{running[0]}" ran' if running else ""
        conn.execute(
            "UPDATE pipeline_runs SET status = 'killed', message = ?,"
            " failed_step = COALESCE(failed_step, ?),"
            " ended_at = (SELECT ended_at FROM runs WHERE runs.id = pipeline_runs.run_id)"
            " WHERE run_id = ? AND status = 'running'",
            (RUNNER_DIED + during, running[0] if running else None, run_id),
        )
        conn.execute(
            "UPDATE step_runs SET status = 'failed', message = ?"
            " WHERE pipeline_run_id = ? AND status = 'running'",
            (STEP_STOPPED, run_id),
        )
        conn.execute(
            "UPDATE step_runs SET status = 'not_run', message = ?"
            " WHERE pipeline_run_id = ? AND status = 'pending'",
            (STEP_NOT_REACHED, run_id),
        )
    if runs:
        logger.info("Marked %d pipeline run(s) as killed: %s", len(runs), ", ".join(runs))
