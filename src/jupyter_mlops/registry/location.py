"""Where the registry is, found the way git finds ``.git``."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import RegistryError

ENV_VAR = "MLOPS_REGISTRY"


DIRECTORY_NAME = ".mlops"


FILE_NAME = "registry.db"


def locate(start: Path | None = None) -> Path | None:
    """The registry file that applies from ``start`` (default: the working directory).

    Returns ``None`` when there is no ``MLOPS_REGISTRY`` and no ``.mlops/registry.db``
    in ``start`` or any of its parents.
    """
    configured = os.environ.get(ENV_VAR)
    try:
        if configured:
            return registry_file_for(Path(configured).expanduser())
        here = (start or Path.cwd()).resolve()
        for directory in (here, *here.parents):
            candidate = directory / DIRECTORY_NAME / FILE_NAME
            if candidate.is_file():
                return candidate
    except OSError as exc:  # a name too long, a loop of links, a path through a file
        raise unusable_path(configured or str(start), exc) from exc
    return None


def unusable_path(named: str, exc: OSError) -> RegistryError:
    """The error for a registry path the system cannot use, with what to do instead."""
    shown = named[:60] + ("..." if len(named) > 60 else "")
    return RegistryError(
        f"Cannot use {shown} as a registry: {exc.strerror or exc}",
        hint=f"Choose a shorter path to an existing directory ({ENV_VAR}, --registry or"
        " %mlops init DIR).",
    )


def registry_file_for(path: Path) -> Path:
    """The registry file a path names: a ``.db`` file, a project directory holding
    ``.mlops/registry.db``, or a directory holding ``registry.db``."""
    if path.is_dir() and (path / DIRECTORY_NAME / FILE_NAME).is_file():
        return path / DIRECTORY_NAME / FILE_NAME
    return path / FILE_NAME if path.is_dir() or path.suffix == "" else path
