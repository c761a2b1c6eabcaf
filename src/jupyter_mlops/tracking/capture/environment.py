"""The environment a run ran in: Python, platform and installed packages, read once per process."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Environment:
    """Python, platform, and the versions of the distributions the process has imported."""

    python: str
    platform: str
    packages: tuple[tuple[str, str], ...]

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"python": self.python, "platform": self.platform, "packages": dict(self.packages)}


def _normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them: ``Scikit_Learn`` is ``scikit-learn``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions(paths: Iterable[str] | None = None) -> dict[str, list[tuple[str, str]]]:
    """Top-level module name -> [(distribution, version)], read from ``*.dist-info`` folders.

    Reads each distribution's ``top_level.txt`` or, failing that, the first path component
    of its ``RECORD`` as plain text; name and version come from the folder's name. This is
    several times faster than :func:`importlib.metadata.packages_distributions`, which
    builds a path object for every installed file.
    """
    mapping: dict[str, list[tuple[str, str]]] = {}
    seen: set[str] = set()
    for entry in paths if paths is not None else sys.path:
        try:
            items = list(os.scandir(entry or "."))
        except OSError:
            continue
        for item in items:
            if not item.name.endswith((".dist-info", ".egg-info")):
                continue
            stem = item.name.rsplit(".", 1)[0]
            raw_name, _, version = stem.partition("-")
            name = _normalise(raw_name)
            if name in seen or not version:
                continue
            seen.add(name)
            for top in _top_level_modules(item.path) | {name.replace("-", "_")}:
                mapping.setdefault(top, []).append((name, version))
    return mapping


def _top_level_modules(dist_info: str) -> set[str]:
    try:
        with open(os.path.join(dist_info, "top_level.txt"), encoding="utf-8") as handle:
            return {line.strip() for line in handle if line.strip()}
    except OSError:
        pass
    tops: set[str] = set()
    try:
        with open(os.path.join(dist_info, "RECORD"), encoding="utf-8") as handle:
            for line in handle:
                first = line.split(",", 1)[0].split("/", 1)[0]
                if first.endswith((".dist-info", ".egg-info", ".data", ".pth")) or first in (
                    "..",
                    "__pycache__",
                    "",
                ):
                    continue
                tops.add(first[:-3] if first.endswith(".py") else first)
    except OSError:
        pass
    return tops


class _EnvironmentCache:
    """The installed distributions are read once per process, in a thread when asked early.

    :func:`warm_environment` (called by ``%load_ext``) starts reading them in the
    background, so the first run of a notebook does not wait for it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._distributions: dict[str, list[tuple[str, str]]] | None = None
        self._loader: threading.Thread | None = None
        # (len(sys.modules), number of top-level names, the environment they gave)
        self._last: tuple[int, int, Environment] | None = None

    def warm(self) -> None:
        with self._lock:
            if self._distributions is not None or self._loader is not None:
                return
            self._loader = threading.Thread(
                target=self._load, name="mlops-environment", daemon=True
            )
            self._loader.start()

    def ready(self) -> bool:
        return self._distributions is not None

    def forget(self) -> None:
        """Read the installed distributions again on next use (after a ``pip install``)."""
        loader = self._loader
        if loader is not None:
            loader.join()
        with self._lock:
            self._distributions = None
            self._loader = None
            self._last = None

    def _load(self) -> None:
        distributions = installed_distributions()
        with self._lock:
            if self._distributions is None:
                self._distributions = distributions

    def current(self) -> Environment:
        loader = self._loader
        if loader is not None:
            loader.join()
        if self._distributions is None:
            self._load()
        with self._lock:
            # No import since the last call (the usual case between runs of a loop): the
            # same environment, without walking the thousands of names in sys.modules.
            if self._last is not None and self._last[0] == len(sys.modules):
                return self._last[2]
            modules = {name.partition(".")[0] for name in list(sys.modules)}
            if self._last is not None and self._last[1] == len(modules):
                self._last = (len(sys.modules), len(modules), self._last[2])
                return self._last[2]
            assert self._distributions is not None
            packages: dict[str, str] = {}
            for module in modules:
                if not module.startswith("_"):
                    packages.update(self._distributions.get(module, ()))
            environment = Environment(
                python=sys.version.split()[0],
                platform=_platform(),
                packages=tuple(sorted(packages.items())),
            )
            self._last = (len(sys.modules), len(modules), environment)
            return environment


_PLATFORM: list[str] = []


def _platform() -> str:
    if not _PLATFORM:
        import platform

        _PLATFORM.append(platform.platform())
    return _PLATFORM[0]


_environment_cache = _EnvironmentCache()


def warm_environment() -> None:
    """Start reading the installed distributions in the background (idempotent)."""
    _environment_cache.warm()


def environment_ready() -> bool:
    """Whether :func:`current_environment` would answer without waiting for the scan."""
    return _environment_cache.ready()


def rescan_environment() -> None:
    """Read the installed distributions again: packages installed while the process
    runs (``%pip install`` in a live kernel) are then recorded by the runs that import them."""
    _environment_cache.forget()


def current_environment() -> Environment:
    """The environment of this process: Python, platform, versions of imported distributions."""
    return _environment_cache.current()
