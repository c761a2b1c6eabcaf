"""A real MLflow tracking server on a loopback port, and MLflow's own client beside it.

MLflow lives in a venv of its own (``.venv-mlflow`` in the checkout, made once with uv and
shared by the test modules and workers that need it, under a file lock), so neither its
hundred dependencies nor its pins reach the project's environment. The tests push to the
server with this project's code and read back with ``MlflowClient``, run in that venv:

    python = mlflow_python()
    with MlflowTrackingServer(python, tmp_path) as server:
        push(registry, server.uri)
        runs = mlflow_client(python, server.uri, "print(json.dumps(...))")
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from .venvs import REPO, make_venv, pip, uv_tool

MLFLOW_REQUIREMENT = "mlflow==3.17.2"  # the release bench/ measures against
VENV = REPO / ".venv-mlflow"
STARTUP_SECONDS = 240  # importing MLflow's server on a busy 2-core machine takes most of a minute


def mlflow_python() -> Path:
    """The python of the MLflow venv, made (once, under a lock) if it is not there yet."""
    python = VENV / "bin" / "python"
    with open(REPO / ".venv-mlflow.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ready = VENV / ".ready"
        if not ready.exists():
            if uv_tool() is None:
                pytest.skip(
                    "uv is not installed in this environment (scripts/setup installs it in .venv)"
                )
            make_venv(VENV)
            installed = pip(python, "install", "--compile-bytecode", MLFLOW_REQUIREMENT)
            if installed.returncode != 0:
                raise RuntimeError(f"installing {MLFLOW_REQUIREMENT} failed:\n{installed.stderr}")
            ready.write_text(MLFLOW_REQUIREMENT)
    return python


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MlflowTrackingServer:
    """``mlflow server`` over a SQLite store and a served artifact folder under ``folder``."""

    def __init__(self, python: Path, folder: Path) -> None:
        self.python = python
        self.folder = Path(folder)
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log = self.folder / "mlflow-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MlflowTrackingServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            str(self.python), "-m", "mlflow", "server",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
            "--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}",
            "--artifacts-destination", str(self.folder / "artifacts"),
        ]  # fmt: skip
        # no background job runner (online scoring of traces): it adds seconds to the start
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        with open(self.log, "wb") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True, cwd=self.folder,
            )  # fmt: skip
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mlflow server exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.uri + "/health", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(
            f"mlflow server did not answer in {STARTUP_SECONDS} s:\n{self.log.read_text()[-3000:]}"
        )

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()


def mlflow_client(python: Path, uri: str, code: str, timeout: float = 300) -> Any:
    """Run ``code`` in the MLflow venv with ``client = MlflowClient(uri)`` (and ``mlflow``
    pointed at ``uri``, ``json`` imported) and return the JSON it prints last."""
    prelude = textwrap.dedent(
        f"""
        import json, mlflow
        from mlflow import MlflowClient
        mlflow.set_tracking_uri({uri!r})
        client = MlflowClient({uri!r})
        """
    )
    done = subprocess.run(
        [str(python), "-c", prelude + textwrap.dedent(code)],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        env={**os.environ, "MLFLOW_TRACKING_URI": uri, "GIT_PYTHON_REFRESH": "quiet"},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"MLflow's client failed:\n{done.stderr[-4000:]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None
