"""Where a reproduction runs: this Python (``current``), or a fresh virtual environment
with the versions the run recorded (``venv``).

A ``venv`` is made with uv (several times faster than pip, and able to install exact
versions from its cache): the Python of the run's major.minor version (one installed
here: nothing is downloaded but packages), every distribution the run had imported at
the version it had, ipykernel for the kernel, and jupyter-mlops itself from where this
one was installed (an editable checkout, or the wheel or directory pip was given). It is
kept under ``.mlops/venvs/`` by the hash of what it holds, so a second reproduction of
the same environment starts at once.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ReproductionError

# Distributions that come with the environment rather than from the run's imports.
_NOT_PINNED = frozenset({"jupyter-mlops", "pip", "setuptools", "wheel"})


def venv_python(
    environment: Mapping[str, Any] | None,
    *,
    cache: Path,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """The Python of a virtual environment with the recorded ``environment``'s versions
    (made, or found made, under ``cache``)."""
    say = progress or (lambda line: None)
    python_version, pins = recorded_pins(environment)
    source = own_source()
    key = hashlib.sha256(json.dumps([python_version, pins, source]).encode()).hexdigest()[:16]
    venv = cache / f"py{python_version}-{key}"
    python = venv / "bin" / "python"
    if python.exists() and (venv / ".complete").exists():
        say(f"the environment of the run's versions is ready in {venv}")
        return python
    uv = find_uv()
    say(
        f"making an environment with the run's {len(pins)} versions (Python {python_version}) in {venv}"
    )
    _run(
        [uv, "venv", "--quiet", "--clear", "--no-python-downloads", "--python", python_version, str(venv)],
        f"Python {python_version}, the run's, is not installed here",
        hint=f"Install Python {python_version} (pyenv install {python_version}), or reproduce with --env current.",
    )  # fmt: skip
    _run(
        [uv, "pip", "install", "--quiet", "--python", str(python), *pins, "ipykernel", *source],
        "the run's versions could not be installed together",
        hint="Reproduce with --env current; the report names the versions that differ.",
        env={**os.environ, "SKIP_JUPYTER_BUILDER": "1"},  # the panel is not needed to run cells
    )
    (venv / ".complete").write_text("\n".join(pins))
    return python


def recorded_pins(environment: Mapping[str, Any] | None) -> tuple[str, list[str]]:
    """The run's Python (``major.minor``) and its recorded versions as ``name==version``
    pins, sorted, without what comes with an environment (pip, setuptools, wheel) and
    jupyter-mlops itself (installed from where this one was)."""
    if not environment or not environment.get("packages"):
        raise ReproductionError(
            "the run recorded no package versions, so no environment can be made with them",
            hint="Reproduce it with --env current.",
        )
    python_version = ".".join(str(environment["python"]).split(".")[:2])
    pins = sorted(
        f"{name}=={version}"
        for name, version in dict(environment["packages"]).items()
        if _canonical(name) not in _NOT_PINNED
    )
    return python_version, pins


def installed_versions(python: Path, names: list[str]) -> dict[str, str]:
    """The versions of ``names`` installed for ``python`` (those not installed left out)."""
    probe = (
        "import importlib.metadata as m, json, sys\n"
        "found = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        found[name] = m.version(name)\n"
        "    except m.PackageNotFoundError:\n"
        "        pass\n"
        "print(json.dumps(found))"
    )
    done = subprocess.run(
        [str(python), "-c", probe, *names], capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout))


def install_origin() -> tuple[str, Path] | None:
    """Where this jupyter-mlops was installed from: ``("editable", checkout)``,
    ``("directory", path)`` or ``("wheel", file)``; None when it came from a package index
    (or pip recorded nothing)."""
    try:
        direct = importlib.metadata.distribution("jupyter-mlops").read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return None
    if not direct:
        return None
    info = json.loads(direct)
    url = str(info.get("url", ""))
    if not url.startswith("file://"):
        return None
    path = Path(url.removeprefix("file://"))
    if info.get("dir_info", {}).get("editable"):
        return "editable", path
    return ("wheel" if path.suffix == ".whl" else "directory"), path


def own_source() -> list[str]:
    """How to install this jupyter-mlops elsewhere: ``-e DIR[jupyter]`` for an editable
    checkout, ``PATH[jupyter]`` for a directory or a wheel pip was given."""
    origin = install_origin()
    if origin is not None:
        kind, path = origin
        if kind == "editable":
            return ["-e", f"{path}[jupyter]"]
        return [f"jupyter-mlops[jupyter] @ {path.as_uri()}"]
    raise ReproductionError(
        "this jupyter-mlops was not installed from a checkout, a directory or a wheel file,"
        " so it cannot be installed in a new environment",
        hint="Install it from its wheel (pip install jupyter_mlops-X.whl), or reproduce with"
        " --env current.",
    )


def find_uv() -> str:
    """The uv on PATH or beside this Python; ReproductionError when there is none."""
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).exists():
        raise ReproductionError(
            "--env venv and --env container use uv (to make the environment, to build this"
            " jupyter-mlops as a wheel), and it is not installed here",
            hint="pip install uv, or reproduce with --env current.",
        )
    return found


def _run(command: list[str], what: str, *, hint: str, env: Mapping[str, str] | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ReproductionError(f"{what}: {' '.join(detail[-3:])}", hint=hint)


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")
