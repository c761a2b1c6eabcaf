"""The MLflow server scripts/test starts for the whole suite (``python -m tests.mlflow_tracking``):
asked to stop while it is still starting, it stops the ``mlflow server`` it started too,
rather than leaving it running in a session of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .mlflow_tracking import SUITE_SERVER, free_port, mlflow_python
from .venvs import REPO


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _stat(int(entry.name))[1] == pid:
            found.append(int(entry.name))
    return found


def alive_in_group(group: int) -> list[int]:
    """The processes of process group ``group`` that are not zombies."""
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit()
        and _stat(int(entry.name))[2] == group
        and _stat(int(entry.name))[0] != "Z"
    ]


def _stat(pid: int) -> tuple[str, int, int]:
    """State, parent and process group of ``pid`` (a process gone reads as ("", 0, 0))."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return "", 0, 0
    return fields[0], int(fields[1]), int(fields[2])


@pytest.mark.slow
def test_a_stop_while_the_suites_server_starts_stops_its_mlflow_server_too(tmp_path: Path):
    mlflow_python()  # made before the clock below: the server starts from it
    env = {key: value for key, value in os.environ.items() if key != SUITE_SERVER}
    with open(tmp_path / "out.log", "wb") as out:
        serving = subprocess.Popen(
            [sys.executable, "-m", "tests.mlflow_tracking", "--port", str(free_port()),
             str(tmp_path / "store")],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    server = 0
    try:
        deadline = time.monotonic() + 60
        while not server:
            assert serving.poll() is None, (tmp_path / "out.log").read_text()
            assert time.monotonic() < deadline, "no mlflow server was started in 60 s"
            # the server, once in a session of its own: its process group is its pid
            server = next((pid for pid in children_of(serving.pid) if _stat(pid)[2] == pid), 0)
            time.sleep(0.05)

        serving.send_signal(signal.SIGTERM)  # what scripts/test's exit trap sends
        serving.wait(timeout=60)

        assert "answers" not in (tmp_path / "out.log").read_text(), "stopped only once started"
        deadline = time.monotonic() + 30
        while alive_in_group(server) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert alive_in_group(server) == [], "the mlflow server outlived the stop"
    finally:
        if serving.poll() is None:
            serving.kill()
            serving.wait()
        if server and alive_in_group(server):
            os.killpg(server, signal.SIGKILL)
