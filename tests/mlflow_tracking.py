"""A real MLflow tracking server on a loopback port, and MLflow's own client beside it.

MLflow lives in a venv of its own (``.venv-mlflow`` in the checkout, made once with uv and
shared by the test modules and workers that need it, under a file lock), so neither its
hundred dependencies nor its pins reach the project's environment. The tests push to the
server with this project's code and read back with ``MlflowClient``, run in that venv:

    python = mlflow_python()
    with MlflowTrackingServer(python, tmp_path) as server:
        push(registry, server.uri)
        runs = mlflow_client(python, server.uri, "print(json.dumps(...))")

Importing MLflow's server costs 20-30 CPU seconds, so the whole suite shares one:
scripts/test starts it in the background while the rest is set up,

    python -m tests.mlflow_tracking --port PORT FOLDER

and gives its address to pytest in MLOPS_TEST_MLFLOW_URI; ``MlflowTrackingServer`` then
waits for that server to answer instead of starting its own. Each module keeps to
experiment and model names of its own and counts only what it made, so modules can share
it. Without the variable (one module run by hand) each module starts its own.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import signal
import socket
import subprocess
import textwrap
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, NoReturn

import pytest

from .venvs import REPO, make_venv, pip, uv_tool

MLFLOW_REQUIREMENT = "mlflow==3.17.2"  # the release bench/ measures against
VENV = REPO / ".venv-mlflow"
STARTUP_SECONDS = 240  # importing MLflow's server on a busy 2-core machine takes most of a minute
SUITE_SERVER = "MLOPS_TEST_MLFLOW_URI"  # the address of the server the whole suite shares
SUITE_SERVER_LOG = "test-artifacts/mlflow-server.log"  # where scripts/test writes its output


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
            # no --compile-bytecode: compiling all of MLflow's hundred packages costs half a
            # CPU minute, and the server and the client scripts import a small part of them,
            # whose bytecode Python writes on first import
            installed = pip(python, "install", MLFLOW_REQUIREMENT)
            if installed.returncode != 0:
                raise RuntimeError(f"installing {MLFLOW_REQUIREMENT} failed:\n{installed.stderr}")
            ready.write_text(MLFLOW_REQUIREMENT)
    return python


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MlflowTrackingServer:
    """``mlflow server`` over a SQLite store and a served artifact folder under ``folder``,
    or, when MLOPS_TEST_MLFLOW_URI is set, the suite's shared server at that address
    (``folder`` is then unused and leaving the block leaves that server running)."""

    def __init__(self, python: Path, folder: Path, *, port: int | None = None) -> None:
        self.python = python
        self.folder = Path(folder)
        shared = os.environ.get(SUITE_SERVER, "").rstrip("/")
        self.shared = bool(shared)
        if self.shared:
            self.uri = shared
            self.port = urllib.parse.urlsplit(shared).port or 80
        else:
            self.port = port or free_port()
            self.uri = f"http://127.0.0.1:{self.port}"
        self.log = self.folder / "mlflow-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MlflowTrackingServer:
        if self.shared:
            self._wait_for_shared()
            return self
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
        try:
            self._wait_for_own()
        except BaseException:
            # a failed start, or a stop asked for meanwhile (SIGTERM from scripts/test, ^C):
            # `with` calls no __exit__ when __enter__ raises, and the server has a session of
            # its own, so nothing else would stop it
            self.__exit__()
            raise
        return self

    def _wait_for_own(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mlflow server exited:\n{self.log.read_text()[-3000:]}")
            if self._answers():
                return
            time.sleep(0.3)
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

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.uri + "/health", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def _wait_for_shared(self) -> None:
        """The suite's server may still be starting (it starts while the rest is set up)."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._answers():
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the suite's MLflow server ({SUITE_SERVER}={self.uri}) did not answer in"
                    f" {STARTUP_SECONDS} s: see {REPO / SUITE_SERVER_LOG}, or unset"
                    f" {SUITE_SERVER} so that each module starts its own"
                )
            time.sleep(0.5)


def serve_for_the_suite(folder: Path, port: int) -> None:
    """Make the MLflow venv, start a server over ``folder`` on ``port`` and keep it until
    SIGTERM or SIGINT, or until the process that started this one is gone."""

    def stop(signum: int, frame: object) -> NoReturn:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    os.environ.pop(SUITE_SERVER, None)  # this is the server, not a user of one
    parent = os.getppid()
    started = time.monotonic()
    with MlflowTrackingServer(mlflow_python(), folder, port=port) as server:
        print(
            f"{server.uri} answers, {time.monotonic() - started:.0f} s after the start", flush=True
        )
        while os.getppid() == parent:
            time.sleep(1)


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


if __name__ == "__main__":
    arguments = argparse.ArgumentParser(
        prog="python -m tests.mlflow_tracking",
        description="One MLflow server for the whole suite (scripts/test starts it).",
    )
    arguments.add_argument("--port", type=int, required=True)
    arguments.add_argument("folder", type=Path, help="its SQLite store and artifacts go here")
    options = arguments.parse_args()
    serve_for_the_suite(options.folder, options.port)
