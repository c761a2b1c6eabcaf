"""``--env container``: a reproduction in a container image with the versions the run
recorded, built through the export machinery, run with podman (or docker).

The image is made as a pipeline's image is (:func:`..export.container.install_layers`):
``FROM python:X.Y-slim`` for the run's Python (a build argument, so a mirror or a local
stand-in can replace it), the run's recorded versions pinned in ``requirements.lock``, then
this jupyter-mlops (a wheel built from its checkout, the wheel it was installed from, or the
same version from the package index) with the kernel and nbclient that execute the notebook.
It is tagged ``localhost/mlops-reproduce:<hash of all that>``, so a second reproduction of
the same environment builds nothing.

The notebook then runs inside it (``python -m jupyter_mlops.reproduce.in_image``) with the
registry, the working directory and a job folder mounted at the paths they have here: the
run's relative paths mean the same files, and the reproduction records into the same
registry. Files are written as the user who runs the reproduction (``--user`` with docker,
``--userns=keep-id`` with rootless podman).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from .._version import __version__
from ..errors import ReproductionError
from ..export.container import install_layers
from ..export.quoting import check_image_reference
from .environments import find_uv, install_origin, recorded_pins
from .execution import Execution

ENGINE_VARIABLE = "MLOPS_CONTAINER_ENGINE"
ENGINES = ("podman", "docker")
IMAGE_REPOSITORY = "localhost/mlops-reproduce"
CONTAINER_FAILED = "ContainerError"  # the error_name of an Execution the container cut short
# What executes the notebook inside the image, when the run's versions do not pin it.
_RUNS_THE_NOTEBOOK = ("ipykernel", "nbclient", "nbformat")


@dataclass(frozen=True)
class ReproductionImage:
    """An image with a run's recorded versions: its ``tag``, the ``engine`` that built it,
    and whether this call ``built`` it (False: it was there already)."""

    engine: str
    tag: str
    python: str
    built: bool


def reproduction_image(
    environment: Mapping[str, Any] | None,
    *,
    cache: Path,
    base_image: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReproductionImage:
    """The image of the recorded ``environment``'s versions, built unless it exists; its
    build context is kept under ``cache`` (the Dockerfile can be read there)."""
    say = progress or (lambda line: None)
    python_version, pins = recorded_pins(environment)
    engine = container_engine()
    base = check_image_reference(base_image or f"python:{python_version}-slim", option="base_image")
    pinned = {pin.split("==")[0].lower().replace("_", "-") for pin in pins}
    also = tuple(name for name in _RUNS_THE_NOTEBOOK if name not in pinned)
    with tempfile.TemporaryDirectory(prefix="mlops-wheel-") as scratch:
        wheel = _own_wheel(Path(scratch), say)
        wheel_digest = hashlib.sha256(wheel.read_bytes()).hexdigest() if wheel else __version__
        key = hashlib.sha256(
            json.dumps([python_version, pins, base, also, wheel_digest]).encode()
        ).hexdigest()[:16]
        tag = f"{IMAGE_REPOSITORY}:py{python_version}-{key}"
        if _image_exists(engine, tag):
            say(f"the image of the run's versions is ready: {tag}")
            return ReproductionImage(engine, tag, python_version, built=False)
        context = cache / f"py{python_version}-{key}"
        if context.exists():
            shutil.rmtree(context)
        (context / "wheels").mkdir(parents=True)
        if wheel is not None:
            shutil.copy2(wheel, context / "wheels" / wheel.name)
    (context / "requirements.lock").write_text("\n".join(pins) + "\n")
    (context / "Dockerfile").write_text(
        dockerfile_text(python_version=python_version, base_image=base, also=also)
    )
    say(
        f"building {tag} with {engine}: Python {python_version} and the run's {len(pins)}"
        f" versions (the Dockerfile is in {context})"
    )
    build = [engine, "build", "--build-arg", f"BASE_IMAGE={base}", "-t", tag, str(context)]
    lines = _stream(build, say, show=lambda line: line.startswith(("STEP ", "Step ")))
    if lines.returncode != 0:
        raise ReproductionError(
            f"the image of the run's versions could not be built: {' '.join(lines.tail)}",
            hint=f"Read {context / 'Dockerfile'} and the build output above; a version that"
            " no index holds can be changed in requirements.lock there, or reproduce with"
            " --env venv or --env current.",
        )
    return ReproductionImage(engine, tag, python_version, built=True)


def dockerfile_text(*, python_version: str, base_image: str, also: Iterable[str]) -> str:
    """The Dockerfile of a reproduction image (it runs as whoever ``run`` says: the kernel
    writes into the mounted registry as the user who reproduces)."""
    return f"""\
# The environment a run recorded (Python {python_version} and its package versions), made by
# `jupyter mlops reproduce RUN --env container`: the run's notebook executes in it.
ARG BASE_IMAGE={base_image}
FROM ${{BASE_IMAGE}}

ENV PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    HOME=/tmp \\
    JUPYTER_RUNTIME_DIR=/tmp/jupyter-runtime

WORKDIR /reproduction

{
        install_layers(
            __version__,
            locked="the versions the run recorded",
            core="The jupyter-mlops core, with the kernel and nbclient that execute the notebook",
            also=tuple(also),
        )
    }
"""


def execute_in_image(
    image: ReproductionImage,
    notebook: nbformat.NotebookNode,
    *,
    registry_path: Path,
    workdir: Path,
    timeout: float = 1800,
    progress: Callable[[str], None] | None = None,
) -> Execution:
    """Execute ``notebook`` (in place: outputs filled in) in a container of ``image``, in
    ``workdir``, recording into the registry at ``registry_path``."""
    say = progress or (lambda line: None)
    started = time.monotonic()
    registry_path = registry_path.resolve()
    workdir = workdir.resolve()
    with tempfile.TemporaryDirectory(prefix="mlops-reproduce-job-") as job_folder:
        job = Path(job_folder)
        nbformat.write(notebook, str(job / "notebook.ipynb"))
        (job / "job.json").write_text(
            json.dumps(
                {"registry": str(registry_path), "workdir": str(workdir), "timeout": timeout}
            )
        )
        os.chmod(job, 0o777)  # the container's user writes the executed notebook here
        mounts = _outermost([registry_path.parent, workdir, job])
        command = [image.engine, "run", "--rm", *_as_this_user(image.engine)]
        for folder in mounts:
            command += ["-v", f"{folder}:{folder}"]
        command += ["-w", str(workdir), image.tag]
        command += ["python", "-m", "jupyter_mlops.reproduce.in_image", str(job)]
        ran = _stream(command, say, show=lambda line: True, timeout=timeout + 120)
        result = job / "execution.json"
        if not result.exists():
            return Execution(
                time.monotonic() - started,
                error=f"the container stopped (exit {ran.returncode}) before the notebook"
                f" ran: {' '.join(ran.tail)}",
                error_name=CONTAINER_FAILED,
            )
        executed = nbformat.read(str(job / "notebook.ipynb"), as_version=4)
        notebook.cells = executed.cells
        recorded = json.loads(result.read_text())
    return Execution(
        time.monotonic() - started,
        error=recorded["error"],
        error_name=recorded["error_name"],
        failed_cell=recorded["failed_cell"],
        outputs=tuple(recorded["outputs"]),
    )


def container_engine() -> str:
    """``$MLOPS_CONTAINER_ENGINE``, else podman, else docker; ReproductionError when
    none is installed."""
    chosen = os.environ.get(ENGINE_VARIABLE)
    for name in [chosen] if chosen else ENGINES:
        found = shutil.which(name)
        if found:
            return found
    raise ReproductionError(
        f"--env container needs {chosen or 'podman or docker'}, and it is not installed here",
        hint="Install podman (or docker), or reproduce with --env venv or --env current.",
    )


@dataclass(frozen=True)
class _Streamed:
    returncode: int
    tail: tuple[str, ...]


def _stream(
    command: list[str],
    say: Callable[[str], None],
    *,
    show: Callable[[str], bool],
    timeout: float | None = None,
) -> _Streamed:
    """Run ``command``, passing the lines ``show`` picks to ``say`` as they come; the last
    lines are kept for the message when it fails."""
    tail: list[str] = []
    deadline = None if timeout is None else time.monotonic() + timeout
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip()
            tail = (tail + [line])[-3:]
            if line and show(line):
                say(f"  {line}")
            if deadline is not None and time.monotonic() > deadline:
                process.kill()
                tail.append(f"(stopped after {timeout:.0f} s)")
                break
        return _Streamed(process.wait(), tuple(tail))


def _own_wheel(folder: Path, say: Callable[[str], None]) -> Path | None:
    """A wheel of this jupyter-mlops: the file it was installed from, or one built from its
    checkout or directory (the panel is left out: a kernel does not need it); None when it
    came from a package index (the image installs the same version from there)."""
    origin = install_origin()
    if origin is None:
        return None
    kind, path = origin
    if kind == "wheel":
        return path
    say(f"building a wheel of jupyter-mlops from {path}")
    done = subprocess.run(
        [find_uv(), "build", "--wheel", "--quiet", "--out-dir", str(folder), str(path)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "SKIP_JUPYTER_BUILDER": "1"},
    )
    wheels = sorted(folder.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ReproductionError(
            f"jupyter-mlops could not be built as a wheel from {path}: {' '.join(detail[-3:])}",
            hint="Install jupyter-mlops from a wheel, or reproduce with --env venv.",
        )
    return wheels[0]


def _image_exists(engine: str, tag: str) -> bool:
    return (
        subprocess.run(
            [engine, "image", "inspect", tag],
            capture_output=True,
            stdin=subprocess.DEVNULL,
        ).returncode
        == 0
    )


def _as_this_user(engine: str) -> list[str]:
    if os.geteuid() == 0:
        return []
    if Path(engine).name == "podman":
        return ["--userns=keep-id"]
    return ["--user", f"{os.getuid()}:{os.getgid()}"]


def _outermost(folders: list[Path]) -> list[Path]:
    """The folders to mount: each once, none inside another that is mounted."""
    unique = sorted({folder.resolve() for folder in folders}, key=lambda f: len(f.parts))
    kept: list[Path] = []
    for folder in unique:
        if not any(folder.is_relative_to(outer) for outer in kept):
            kept.append(folder)
    return kept
