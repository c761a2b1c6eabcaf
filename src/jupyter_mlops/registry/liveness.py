"""Whether the process that recorded a run is still alive, and marking the runs whose
process died as crashed.

On this host a run's process is checked directly, by its pid and a token that tells it
from a later process given the same pid; a run from another host (a container, another
machine) is taken for dead when its heartbeat is stale.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import RecordingError

if TYPE_CHECKING:
    from .connection import Registry

logger = logging.getLogger(__name__)


# A run on another host whose heartbeat is older than this is taken to have crashed.
HEARTBEAT_STALE_SECONDS = 600.0


def process_token(pid: int) -> str | None:
    """A string that identifies a live process, so that a reused pid is not mistaken for it.

    On Linux it is the boot id and the process start time; elsewhere ``None`` (the pid
    alone is then checked).
    """
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
            with registry.transaction("crashed runs"):
                registry.conn.executemany(
                    "UPDATE runs SET status = 'crashed',"
                    " ended_at = COALESCE(heartbeat_at, started_at),"
                    " error = 'the process ended without closing the run'"
                    " WHERE id = ? AND status = 'running'",
                    [(run_id,) for run_id in crashed],
                )
        except RecordingError as exc:  # a read-only registry can still be read
            logger.warning("Could not mark crashed runs: %s", exc)
            return []
        logger.info("Marked %d run(s) as crashed: %s", len(crashed), ", ".join(crashed))
    return crashed
