"""System metrics: what the process and the machine use while a run records.

A run that samples them (see :mod:`.settings`) gets these series, one point per sample:

| key | what |
| --- | --- |
| ``system/cpu_percent`` | this process's CPU since the last sample, all threads: 100 is one core busy |
| ``system/machine_cpu_percent`` | the machine's CPU busy since the last sample, 0-100 (Linux) |
| ``system/memory_rss_mb`` | this process's resident memory, MB (Linux) |
| ``system/machine_memory_percent`` | the machine's memory in use (not available), 0-100 (Linux) |
| ``system/gpuN_utilization_percent`` | NVIDIA GPU N busy, 0-100 (when NVML is there) |
| ``system/gpuN_memory_used_mb``, ``system/gpuN_memory_percent`` | its memory in use |

The figures come from the standard library and ``/proc`` (no dependency); the GPUs'
from NVIDIA's own management library (NVML, ``libnvidia-ml``, which the driver
installs) through :mod:`ctypes`. What a machine cannot tell is left out quietly: no
``/proc`` (macOS, Windows) leaves the process's CPU only, no NVML leaves no GPU series.

    sampler = SystemSampler()
    time.sleep(1)
    sampler.sample()    # {"system/cpu_percent": 12.5, "system/memory_rss_mb": 812.3, ...}
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import time
from pathlib import Path

logger = logging.getLogger(__name__)

PREFIX = "system/"
_MB = 1024.0 * 1024.0
_PROC = Path("/proc")


class SystemSampler:
    """Samples this process's and the machine's use; each :meth:`sample` covers the time
    since the previous one (the first, since the sampler was made)."""

    def __init__(self) -> None:
        self._page_size = _page_size()
        self._gpus = _Nvml.open()
        self._last_wall = time.monotonic()
        self._last_process = _process_cpu_seconds()
        self._last_machine = _machine_cpu_ticks()

    def sample(self) -> dict[str, float]:
        """The figures now, by metric key; those this machine cannot give are left out."""
        figures: dict[str, float] = {}
        wall = time.monotonic()
        elapsed = wall - self._last_wall
        process = _process_cpu_seconds()
        if elapsed > 0:
            figures[PREFIX + "cpu_percent"] = (
                max(0.0, (process - self._last_process) / elapsed) * 100
            )
        self._last_wall, self._last_process = wall, process
        machine = _machine_cpu_ticks()
        if machine is not None and self._last_machine is not None:
            busy = machine[0] - self._last_machine[0]
            total = machine[1] - self._last_machine[1]
            if total > 0:
                figures[PREFIX + "machine_cpu_percent"] = min(100.0, max(0.0, busy / total * 100))
        self._last_machine = machine
        rss = self._rss_bytes()
        if rss is not None:
            figures[PREFIX + "memory_rss_mb"] = rss / _MB
        used = _machine_memory_percent()
        if used is not None:
            figures[PREFIX + "machine_memory_percent"] = used
        if self._gpus is not None:
            figures.update(self._gpus.sample())
        return figures

    def close(self) -> None:
        if self._gpus is not None:
            self._gpus.close()
            self._gpus = None

    def _rss_bytes(self) -> float | None:
        if self._page_size is None:
            return None
        try:
            resident = (_PROC / "self" / "statm").read_text().split()[1]
        except (OSError, IndexError):
            return None
        return int(resident) * self._page_size


def _page_size() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _process_cpu_seconds() -> float:
    """User and system CPU time of this process, all its threads (children not counted)."""
    times = os.times()
    return times.user + times.system


def _machine_cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of the machine since it started, from ``/proc/stat``."""
    try:
        with open(_PROC / "stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    ticks = [int(value) for value in fields[1:9]]  # user nice system idle iowait irq softirq steal
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    total = sum(ticks)
    return total - idle, total


def _machine_memory_percent() -> float | None:
    """The share of the machine's memory in use (total less available), from ``/proc/meminfo``."""
    try:
        text = (_PROC / "meminfo").read_text()
    except OSError:
        return None
    values: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("MemTotal", "MemAvailable"):
            values[name] = int(rest.split()[0])
    total, available = values.get("MemTotal"), values.get("MemAvailable")
    if not total or available is None:
        return None
    return (total - available) / total * 100


class _Utilization(ctypes.Structure):
    _fields_ = [("gpu", ctypes.c_uint), ("memory", ctypes.c_uint)]


class _Memory(ctypes.Structure):
    _fields_ = [
        ("total", ctypes.c_ulonglong),
        ("free", ctypes.c_ulonglong),
        ("used", ctypes.c_ulonglong),
    ]


class _Nvml:
    """NVIDIA's management library, when the driver installed it; its GPUs' use."""

    def __init__(self, library: ctypes.CDLL, handles: list[ctypes.c_void_p]) -> None:
        self._library = library
        self._handles = handles

    @classmethod
    def open(cls) -> _Nvml | None:
        """The library with its GPUs listed, or None (no NVIDIA driver, no GPU: said in
        the debug log only, since most machines have none)."""
        name = "nvml.dll" if sys.platform == "win32" else "libnvidia-ml.so.1"
        try:
            library = ctypes.CDLL(name)
            if library.nvmlInit_v2() != 0:
                return None
            count = ctypes.c_uint()
            if library.nvmlDeviceGetCount_v2(ctypes.byref(count)) != 0:
                library.nvmlShutdown()
                return None
            handles = []
            for index in range(count.value):
                handle = ctypes.c_void_p()
                if library.nvmlDeviceGetHandleByIndex_v2(index, ctypes.byref(handle)) == 0:
                    handles.append(handle)
        except (OSError, AttributeError) as exc:
            logger.debug("No GPU metrics: %s", exc)
            return None
        if not handles:
            library.nvmlShutdown()
            return None
        return cls(library, handles)

    def sample(self) -> dict[str, float]:
        figures: dict[str, float] = {}
        for index, handle in enumerate(self._handles):
            utilization = _Utilization()
            if self._library.nvmlDeviceGetUtilizationRates(handle, ctypes.byref(utilization)) == 0:
                figures[f"{PREFIX}gpu{index}_utilization_percent"] = float(utilization.gpu)
            memory = _Memory()
            if self._library.nvmlDeviceGetMemoryInfo(handle, ctypes.byref(memory)) == 0:
                figures[f"{PREFIX}gpu{index}_memory_used_mb"] = memory.used / _MB
                if memory.total:
                    figures[f"{PREFIX}gpu{index}_memory_percent"] = memory.used / memory.total * 100
        return figures

    def close(self) -> None:
        try:
            self._library.nvmlShutdown()
        except (OSError, AttributeError):
            pass
