"""Shared machinery for the benchmarks in ``bench/``: venvs, worker processes, timing, reports.

A benchmark here compares jupyter-mlops with a peer tool, each installed in its own
virtual environment under ``bench/.venvs/`` so that neither tool's dependencies can
change the other's figures. The driver script runs with any Python >= 3.10 and only
the standard library; each measurement runs in a fresh worker process started with the
Python of the tool's venv. The worker writes its figures as JSON to a file the driver
names, so whatever a library prints on stdout or stderr cannot corrupt the result.

    python_of_ours = ensure_venv(OURS_VENV, create=True)
    result = run_worker(python_of_ours, [__file__, "--worker", "ours", "best_run", "--out"],
                        cwd=workdir)
    update_results_section(RESULTS_FILE, "Tracking", markdown)

Only the standard library is imported here: the module is loaded both by the driver
and by workers running in venvs that have nothing but the tool under test.
"""

from __future__ import annotations

import datetime as _datetime
import json
import os
import platform
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
VENVS_DIR = BENCH_DIR / ".venvs"
RESULTS_FILE = BENCH_DIR / "RESULTS.md"
RESULTS_TITLE = "# Benchmark results"


class BenchError(RuntimeError):
    """A benchmark could not produce a figure: a venv failed to build, a worker failed."""


# -- virtual environments ---------------------------------------------------------------------


@dataclass(frozen=True)
class Venv:
    """A tool's virtual environment: where it lives and what to ``pip install`` into it."""

    name: str
    requirements: tuple[str, ...]

    @property
    def path(self) -> Path:
        return VENVS_DIR / self.name

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def log_file(self) -> Path:
        return VENVS_DIR / f"{self.name}.install.log"

    def exists(self) -> bool:
        return self.python.is_file()


OURS_VENV = Venv("ours", ("-e", f"{REPO_ROOT}[jupyter]"))  # the panel bench runs a server
MLFLOW_VENV = Venv("mlflow", ("mlflow", "psutil"))  # psutil: its system metrics
TRACKIO_VENV = Venv("trackio", ("trackio", "pandas"))  # pandas: the runs DataFrame


def ensure_venv(venv: Venv, *, create: bool) -> Path | None:
    """The Python of ``venv``, building the venv first when it is missing and ``create``.

    Returns ``None`` when the venv is missing and ``create`` is false. The pip output
    goes to ``bench/.venvs/NAME.install.log``; a failed install raises
    :class:`BenchError` naming that log.
    """
    if venv.exists():
        return venv.python
    if not create:
        return None
    VENVS_DIR.mkdir(parents=True, exist_ok=True)
    log(f"Creating the {venv.name} venv in {venv.path} (pip log: {venv.log_file}) ...")
    started = time.perf_counter()
    with open(venv.log_file, "w") as handle:
        steps = [
            [sys.executable, "-m", "venv", str(venv.path)],
            [str(venv.python), "-m", "pip", "install", "--upgrade", "pip"],
            [str(venv.python), "-m", "pip", "install", *venv.requirements],
        ]
        for step in steps:
            handle.write(f"$ {' '.join(step)}\n")
            handle.flush()
            done = subprocess.run(step, stdout=handle, stderr=subprocess.STDOUT, check=False)
            if done.returncode != 0:
                raise BenchError(
                    f"Could not build the {venv.name} venv: `{' '.join(step)}` exited with"
                    f" {done.returncode}. See {venv.log_file}; delete {venv.path} and rerun."
                )
    log(f"  ... {venv.name} venv ready in {time.perf_counter() - started:.0f} s")
    return venv.python


def can_import(python: Path | str, module: str) -> bool:
    """Whether ``python`` can import ``module`` (checked in a child process)."""
    done = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, check=False)
    return done.returncode == 0


def missing_modules(python: Path | str, modules: Sequence[str]) -> list[str]:
    """Those of ``modules`` that ``python`` does not have, found without importing them
    (``importlib.util.find_spec``, in one child process): importing MLServer or scikit-learn
    only to see that it is there costs seconds of CPU each, and the workers that use a module
    import it anyway, failing with the reason when it is broken."""
    code = (
        "import importlib.util, sys\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        found = importlib.util.find_spec(name) is not None\n"
        "    except (ImportError, ValueError):\n"
        "        found = False\n"
        "    if not found:\n"
        "        print(name)\n"
    )
    done = subprocess.run(
        [str(python), "-c", code, *modules], capture_output=True, text=True, check=False
    )
    return list(modules) if done.returncode != 0 else done.stdout.split()


def package_version(python: Path | str, distribution: str) -> str | None:
    """The installed version of ``distribution`` as seen by ``python``, or ``None``."""
    code = (
        "import importlib.metadata as m, sys\n"
        "try: print(m.version(sys.argv[1]))\n"
        "except m.PackageNotFoundError: pass\n"
    )
    done = subprocess.run(
        [str(python), "-c", code, distribution], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or None


# -- worker processes -------------------------------------------------------------------------


def run_worker(
    python: Path | str,
    argv: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 3600.0,
) -> dict[str, Any]:
    """Run ``python ARGV FILE`` in ``cwd`` and return the JSON the worker wrote to FILE.

    The path of the result file is appended as the last argument: end ``argv`` with
    ``--out`` for a script that takes it as an option, or read ``sys.argv[-1]`` in a
    ``-c`` snippet. A worker that fails, times out or writes nothing raises
    :class:`BenchError` with the end of its stderr, so the driver can say which
    measurement broke and why.
    """
    cwd.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("r", suffix=".json", dir=cwd, delete=False) as out:
        out_path = Path(out.name)
    command = [str(python), *argv, str(out_path)]
    what = " ".join(arg for arg in argv if "\n" not in arg)
    try:
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        out_path.unlink(missing_ok=True)
        raise BenchError(f"`{what}` did not finish in {timeout:.0f} s") from exc
    try:
        text = out_path.read_text()
    finally:
        out_path.unlink(missing_ok=True)
    if done.returncode != 0 or not text:
        tail = "\n".join(done.stderr.strip().splitlines()[-25:])
        raise BenchError(f"`{what}` failed (exit {done.returncode}):\n{tail}")
    return json.loads(text)


def write_worker_result(path: str | Path, result: dict[str, Any]) -> None:
    """What a worker does last: its figures as JSON into the file the driver named."""
    Path(path).write_text(json.dumps(result, indent=1, sort_keys=True))


# -- timing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Samples of one measurement, in seconds, and their summary."""

    samples: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def worst(self) -> float:
        return max(self.samples)

    def to_dict(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "min": self.best,
            "max": self.worst,
            "n": self.n,
            "samples": list(self.samples),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Timing:
        return cls(tuple(data["samples"]))


def repeat_timed(
    action: Callable[[], object],
    *,
    min_repeats: int = 3,
    max_repeats: int = 50,
    budget_seconds: float = 10.0,
) -> tuple[Timing, object]:
    """Time ``action`` at least ``min_repeats`` times, more while the budget lasts.

    Returns the timings and the last result (so the caller can check that the action
    did what it should). A fast action runs ``max_repeats`` times; a slow one
    ``min_repeats`` times, whatever the budget.
    """
    samples: list[float] = []
    result: object = None
    spent = 0.0
    while len(samples) < max_repeats and (len(samples) < min_repeats or spent < budget_seconds):
        started = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - started
        samples.append(elapsed)
        spent += elapsed
    return Timing(tuple(samples)), result


# -- the machine ------------------------------------------------------------------------------


def machine_info(directory: Path) -> dict[str, str]:
    """What the figures depend on: CPU, cores, memory, OS, Python, SQLite, file system."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.0f} GiB"
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "filesystem": _filesystem_of(directory),
        "fsync": f"{fsync_latency(directory) * 1e3:.2g} ms",
        "load": load_average(),
        "date": _datetime.datetime.now(_datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def fsync_latency(directory: Path, samples: int = 50) -> float:
    """The median time of ``fsync`` after a 4 KiB write in ``directory``, in seconds.

    SQLite in its default rollback-journal mode syncs several times per transaction,
    so this bounds what one committed write can cost on the disk at hand.
    """
    times = []
    with tempfile.NamedTemporaryFile(dir=directory) as handle:
        for _ in range(samples):
            handle.write(b"x" * 4096)
            handle.flush()
            started = time.perf_counter()
            os.fsync(handle.fileno())
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def memory_directory() -> Path | None:
    """``/dev/shm`` when it is a tmpfs (files in memory: ``fsync`` costs nothing), else ``None``."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and _filesystem_of(shm) == "tmpfs" else None


def free_port() -> int:
    """A TCP port free on the loopback interface now (for a server a benchmark starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def load_average() -> str:
    """The 1-minute load average (``/proc/loadavg``): how busy the machine was, or ``?``."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        return "?"


def _filesystem_of(directory: Path) -> str:
    """The type of the file system that holds ``directory`` (from /proc/mounts), or ``?``."""
    try:
        mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "?"
    target = str(directory.resolve())
    best = ("", "?")
    for fields in mounts:
        if len(fields) >= 3:
            point = fields[1]
            inside = target == point or target.startswith(point.rstrip("/") + "/")
            if inside and len(point) > len(best[0]):
                best = (point, fields[2])
    return best[1]


def git_commit(directory: Path) -> str:
    """The short commit of ``directory``'s checkout, with ``+dirty`` when it has changes."""

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


# -- reporting --------------------------------------------------------------------------------


def log(message: str) -> None:
    """Progress for the person running the benchmark (stderr, so stdout stays the table)."""
    print(message, file=sys.stderr, flush=True)


def format_seconds(seconds: float | None) -> str:
    """A duration with a unit that keeps three significant digits: ``4.21 ms``, ``12.3 µs``."""
    if seconds is None:
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale or unit == "ns":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:,.0f} {unit}"
    raise AssertionError("unreachable")


def format_ratio(peer: float | None, ours: float | None) -> str:
    """How many times slower the peer is: ``215×``, ``1.4×``, or ``0.5×`` when it is faster."""
    if peer is None or ours is None or ours <= 0:
        return "–"
    ratio = peer / ours
    return f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:.3g}×"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table (cells must not contain ``|``)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The same table aligned in columns, for a terminal."""
    columns = zip(headers, *rows, strict=True)
    widths = [max(len(str(cell)) for cell in column) for column in columns]

    def line(cells: Sequence[str]) -> str:
        padded = (str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))
        return "  ".join(padded).rstrip()

    return "\n".join(
        [line(headers), line(["-" * width for width in widths]), *(line(row) for row in rows)]
    )


def update_results_section(path: Path, heading: str, body: str) -> None:
    """Replace the ``## heading`` section of ``path`` with ``body``, leaving the others alone.

    The section runs from its heading to the next ``## `` heading (or the end of the
    file). A missing file is created with the title line; a missing section is appended.
    """
    text = path.read_text() if path.exists() else f"{RESULTS_TITLE}\n"
    section = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}[ \t]*\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)
