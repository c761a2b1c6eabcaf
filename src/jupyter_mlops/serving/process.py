"""A model server in a process of its own: started with this Python, ready when MLServer
says the model is, stopped with SIGTERM (MLServer's own graceful stop: requests in flight
finish and the prediction log writes what it holds).

    server = start_server_process(plan)      # returns once the model answers, or raises
    server.url                               # http://127.0.0.1:8080
    server.stop()

A notebook's ``%mlops serve`` starts its servers here, with ``plan.stop_with_pid`` set to
the kernel's process id: a server whose kernel is gone stops itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ServingError
from .plan import ServePlan


@dataclass
class ServerProcess:
    """A running ``jupyter mlops serve``: its plan, its process and the file of its output."""

    plan: ServePlan
    popen: subprocess.Popen[bytes]
    log_path: Path
    started_at: float = field(default_factory=time.time)

    @property
    def url(self) -> str:
        return self.plan.url

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> int:
        """Stop the server gracefully (SIGTERM), killing it after ``timeout``; its exit status."""
        if self.running:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return int(self.popen.returncode)


# ``jupyter mlops`` run by this Python (the kernel's, whose environment may have no scripts
# on PATH), with the program name its messages use
_RUN_CLI = "import sys; from jupyter_mlops.cli import main; sys.argv[0] = 'jupyter-mlops'; main()"


def serve_command(plan: ServePlan, python: str = sys.executable) -> list[str]:
    """The command line that runs ``plan``."""
    grpc, metrics = plan.ports[1:]
    command = [
        python, "-c", _RUN_CLI, "serve", plan.ref,
        "--registry", plan.registry_path,
        "--host", plan.host,
        "--port", str(plan.port),
        "--grpc-port", str(grpc),
        "--metrics-port", str(metrics),
        "--sample-rate", repr(plan.sample_rate),
        "--follow-seconds", repr(plan.follow_seconds),
    ]  # fmt: skip
    if plan.shadow is not None:
        command += ["--shadow", plan.shadow]
    if not plan.log_predictions:
        command.append("--no-log")
    if plan.stop_with_pid is not None:
        command += ["--stop-with-pid", str(plan.stop_with_pid)]
    return command


def start_server_process(
    plan: ServePlan,
    *,
    ready_timeout: float = 120.0,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> ServerProcess:
    """Start ``jupyter mlops serve`` for ``plan`` and wait until its model is ready.

    A server that exits first (a version not found, a changed file, a port in use) raises
    :class:`ServingError` with the server's own message and hint.
    """
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="mlops-serve-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    with log_path.open("wb") as output:
        popen = subprocess.Popen(
            serve_command(plan),
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # an interrupt of the notebook's cell is not the server's
        )
    server = ServerProcess(plan, popen, log_path)
    deadline = time.monotonic() + ready_timeout
    ready_url = f"{plan.url}/v2/models/{plan.model_name}/ready"
    while time.monotonic() < deadline:
        if not server.running:
            raise _exit_error(server)
        if _answers(ready_url):
            return server
        time.sleep(0.1)
    server.stop()
    raise ServingError(
        f"The server of {plan.ref} was not ready after {ready_timeout:.0f} seconds; it was stopped",
        log=server.log_tail(),
        hint=f"See its output in {log_path}.",
    )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _exit_error(server: ServerProcess) -> ServingError:
    """The error a server that exited early printed (``Error: ...`` and ``Hint: ...``)."""
    tail = server.log_tail(60)
    message = hint = None
    for line in tail.splitlines():
        if line.startswith("Error: "):
            message = line[len("Error: ") :]
        elif line.startswith("Hint: "):
            hint = line[len("Hint: ") :]
    if message is None:
        message = f"The server of {server.plan.ref} stopped (exit status {server.popen.returncode})"
        hint = f"Its output is in {server.log_path}."
    return ServingError(message, log=tail, hint=hint)


class BackgroundServers:
    """The servers this process started (a notebook's), by HTTP port; all are stopped when
    the process exits. One object, so tests can reset it."""

    def __init__(self) -> None:
        self.servers: dict[int, ServerProcess] = {}
        self._exit_hook = False

    def start(self, plan: ServePlan, **options: object) -> ServerProcess:
        """Start a server for ``plan`` that stops when this process is gone."""
        from dataclasses import replace

        if not self._exit_hook:
            import atexit

            atexit.register(self.stop_all)
            self._exit_hook = True
        running = self.servers.get(plan.port)
        if running is not None and running.running:
            raise ServingError(
                f"This process already serves {running.plan.ref} on port {plan.port}",
                hint="Stop it first (%mlops serve --stop), or choose another --port.",
            )
        server = start_server_process(replace(plan, stop_with_pid=os.getpid()), **options)  # type: ignore[arg-type]
        self.servers[plan.port] = server
        return server

    def stop(self, port: int | None = None) -> list[ServerProcess]:
        """Stop the server on ``port`` (every server when ``None``); return those stopped."""
        if port is not None and port not in self.servers:
            listed = ", ".join(str(p) for p in sorted(self.servers)) or "none"
            raise ServingError(
                f"No server started here listens on port {port}",
                hint=f"Ports of the servers started here: {listed}.",
            )
        ports = [port] if port is not None else sorted(self.servers)
        stopped = []
        for each in ports:
            server = self.servers.pop(each)
            server.stop()
            stopped.append(server)
        return stopped

    def stop_all(self) -> None:
        self.stop()


SERVERS = BackgroundServers()
