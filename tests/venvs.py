"""Fresh virtual environments for the tests that install this package as a user would.

They are made with uv when it is there (scripts/setup puts it in .venv; it resolves the
same requirements as pip, from the same index, and with its cache an environment takes
seconds instead of the half minute pip needs), and with ``python -m venv`` and pip
otherwise. Neither sees the packages of the Python running the tests.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def uv_tool() -> str | None:
    """uv beside this Python, in the checkout's .venv, or on PATH; None when there is none."""
    for candidate in (Path(sys.executable).parent / "uv", REPO / ".venv" / "bin" / "uv"):
        if candidate.is_file():
            return str(candidate)
    return shutil.which("uv")


def make_venv(venv: Path) -> Path:
    """A new venv at ``venv`` on this Python (no system site-packages); its python."""
    uv = uv_tool()
    if uv:
        command = [uv, "venv", "--quiet", "--python", sys.executable, str(venv)]
    else:
        command = [sys.executable, "-m", "venv", str(venv)]
    subprocess.run(command, check=True, stdin=subprocess.DEVNULL)
    return venv / "bin" / "python"


def pip(
    python: Path, *arguments: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``pip ARGUMENTS`` (install, check...) for the venv of ``python``, output captured."""
    uv = uv_tool()
    if uv:  # pip's --force-reinstall is uv's --reinstall
        rest = ["--reinstall" if a == "--force-reinstall" else a for a in arguments[1:]]
        command = [uv, "pip", arguments[0], "--quiet", "--python", str(python), *rest]
    else:
        command = [str(python), "-m", "pip", arguments[0], "--quiet",
                   "--disable-pip-version-check", *arguments[1:]]  # fmt: skip
    if arguments[0] == "check":
        command.remove("--quiet")  # its report is the point
    return subprocess.run(
        command, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env
    )
