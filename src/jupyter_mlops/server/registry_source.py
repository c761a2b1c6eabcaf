"""The registry a Jupyter server shows, opened once and kept open across requests.

Where it is follows :func:`jupyter_mlops.registry.location.locate` from the server's root folder:
``$MLOPS_REGISTRY`` (a relative value is taken from the root folder, where the kernels of
top-level notebooks start), else the nearest ``.mlops/registry.db`` from the root folder
upwards. The file is looked up again on every request (a few ``stat`` calls), so a
registry that appears after the server started is found, and one that is replaced
(deleted and created again, moved, ``MLOPS_REGISTRY`` changed) is reopened; otherwise the
same connection serves every request.

The server never creates a registry: a missing file is a :class:`RegistryNotFoundError`
(404 for the panel), whatever ``MLOPS_REGISTRY`` says.

    source = RegistrySource(Path("/home/me/project"))
    with source.registry() as registry:       # serialized: one request at a time uses it
        queries.list_runs(registry, limit=50)
    source.change_marker()                    # changes when anything is written
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import RegistryError, RegistryNotFoundError
from ..registry.connection import Registry
from ..registry.location import ENV_VAR, locate
from ..registry.location import registry_file_for as file_named_by

logger = logging.getLogger(__name__)


def locate_registry(root_dir: Path) -> Path | None:
    """The registry file the server shows, or None when there is none to find.

    ``$MLOPS_REGISTRY`` wins (a ``.db`` file or a folder holding one, as for
    :func:`~jupyter_mlops.registry.location.locate`; relative to ``root_dir`` when relative),
    and is returned even when the file does not exist yet, so the panel can say where
    it looked. Otherwise the nearest ``.mlops/registry.db`` from ``root_dir`` upwards.

    Example::

        locate_registry(Path("~/projects/churn").expanduser())
        # PosixPath('/home/me/projects/.mlops/registry.db'), or None
    """
    configured = os.environ.get(ENV_VAR)
    if configured:
        path = Path(configured).expanduser()
        return file_named_by(path if path.is_absolute() else root_dir / path)
    return locate(root_dir)


@dataclass(frozen=True)
class RegistryLocation:
    """Where the server looked for the registry and what it found there."""

    path: Path | None
    exists: bool


@dataclass(frozen=True)
class _Identity:
    """Which file an open registry is: a replaced file has another inode."""

    path: Path
    device: int
    inode: int


class RegistrySource:
    """One open :class:`Registry` for a server, reopened when its file changes identity.

    Use :meth:`registry` as a context manager: it holds a lock, so the connection
    serves one request at a time whichever thread runs it.
    """

    def __init__(self, root_dir: Path) -> None:
        self.root_dir = root_dir
        self._lock = threading.RLock()
        self._open: Registry | None = None
        self._identity: _Identity | None = None

    def location(self) -> RegistryLocation:
        """Where the registry is, and whether its file exists (no opening, no query)."""
        path = locate_registry(self.root_dir)
        return RegistryLocation(path, path is not None and path.is_file())

    @contextlib.contextmanager
    def registry(self) -> Iterator[Registry]:
        """The open registry, (re)opened if its file appeared or changed; used under a lock.

        Raises :class:`RegistryNotFoundError` when there is no registry file, and the
        registry's own errors when the file is not a usable registry.
        """
        with self._lock:
            yield self._current()

    def change_marker(self) -> str:
        """A string that changes when the registry is written, appears, disappears or is
        replaced: the panel reloads what it shows when it changes."""
        with self._lock:
            location = self.location()
            if not location.exists or location.path is None:
                self._close()
                return f"none:{location.path or ''}"
            try:
                registry = self._current()
            except RegistryError:
                # Not usable (not a registry, locked...): the sections say why; the marker
                # still follows the file, so they are asked again when it changes.
                stat = location.path.stat()
                return f"unusable:{location.path}:{stat.st_ino}:{stat.st_mtime_ns}:{stat.st_size}"
            identity = self._identity
            assert identity is not None
            return f"{identity.path}:{identity.inode}:{registry.change_marker()}"

    def close(self) -> None:
        """Close the open registry, if any (the next request opens it again)."""
        with self._lock:
            self._close()

    def _current(self) -> Registry:
        location = self.location()
        if location.path is None or not location.exists:
            self._close()
            raise RegistryNotFoundError(
                f"No registry at {location.path}"
                if location.path is not None
                else f"No registry found in {self.root_dir} or the folders above it",
                hint="Create one with %mlops init in a notebook (or jupyter mlops init in a"
                f" terminal) in {self.root_dir}, or set {ENV_VAR}.",
            )
        stat = location.path.stat()
        identity = _Identity(location.path, stat.st_dev, stat.st_ino)
        if self._open is None or identity != self._identity:
            self._close()
            self._open = Registry.open(location.path)
            self._identity = identity
            logger.info("jupyter-mlops: showing the registry %s", location.path)
        return self._open

    def _close(self) -> None:
        if self._open is not None:
            self._open.close()
        self._open = None
        self._identity = None
