"""Start a real JupyterLab server for a browser test, isolated in a temporary folder."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_path

STARTUP_TIMEOUT_S = 90.0

# The "Would you like to receive official Jupyter news?" toast covers the status bar
# and steals clicks; the test server never fetches news.
_PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
_NOTIFICATION_SETTINGS = {"fetchNews": "false", "checkForUpdates": False}


@dataclass(frozen=True)
class LabServer:
    """A running JupyterLab: where it listens, its token and its folders."""

    base_url: str
    token: str
    root_dir: Path
    log_path: Path

    @property
    def lab_url(self) -> str:
        """JupyterLab's page with a fresh layout (``reset``) and the token."""
        return f"{self.base_url}lab?reset&token={self.token}"

    def get_json(self, route: str) -> Any:
        """GET ``route`` (e.g. ``jupyter-mlops/api/status``) with the token; the JSON body."""
        request = urllib.request.Request(
            self.base_url + route, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def log(self) -> str:
        """Everything the server printed so far (for failure messages)."""
        return self.log_path.read_text(errors="replace")


def installed_labextension_dir() -> Path | None:
    """Where JupyterLab will load the panel from, or None when it is not installed."""
    for folder in jupyter_path("labextensions"):
        candidate = Path(folder) / "jupyter-mlops" / "package.json"
        if candidate.is_file():
            return candidate.parent
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _write_json(path: Path, payload: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload))


@contextmanager
def running_jupyterlab(
    root_dir: Path, state_dir: Path, env: Mapping[str, str | None] | None = None
) -> Iterator[LabServer]:
    """Run ``jupyter lab`` on a free loopback port with a random token until the block ends.

    User-level config, settings, workspaces and runtime files all go to ``state_dir``,
    so the test neither reads nor changes the developer's own JupyterLab. ``env`` sets
    environment variables for the server (e.g. ``MLOPS_REGISTRY``); None removes one.
    """
    port = free_port()
    token = secrets.token_hex(16)
    config_dir = state_dir / "config"
    settings_dir = state_dir / "settings"
    _write_json(config_dir / "labconfig" / "page_config.json", _PAGE_CONFIG)
    _write_json(
        settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
        _NOTIFICATION_SETTINGS,
    )
    server_env: dict[str, str] = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_RUNTIME_DIR": str(state_dir / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
        "JUPYTERLAB_WORKSPACES_DIR": str(state_dir / "workspaces"),
        "IPYTHONDIR": str(state_dir / "ipython"),
    }
    for name, value in (env or {}).items():
        if value is None:
            server_env.pop(name, None)
        else:
            server_env[name] = value
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # The default manager asks PyPI about extensions; tests make no network calls.
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # Jupyter refuses root otherwise, with one log line
    log_path = state_dir / "jupyterlab.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=root_dir, env=server_env, stdout=log_file, stderr=subprocess.STDOUT
        )
    server = LabServer(f"http://127.0.0.1:{port}/", token, root_dir, log_path)
    try:
        _wait_until_ready(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_until_ready(server: LabServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with code {process.returncode} before answering:\n"
                f"{server.log()}"
            )
        try:
            server.get_json("jupyter-mlops/api/status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    raise RuntimeError(f"JupyterLab did not answer in {STARTUP_TIMEOUT_S} s:\n{server.log()}")
