"""SQLite's errors, translated into the project's: each says what was not done and why.

Opening, reading, migrating and writing a registry all fail the same few ways (locked,
read-only, disk full, damaged); the message names the registry and what was lost, and
the hint says what to do. Every translation keeps the original as the cause
(``raise ... from exc``), so ``--debug`` output still shows it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..errors import RecordingError, RegistryCorruptError, RegistryError


def newer_schema_error(path: Path) -> RegistryCorruptError:
    """The registry at ``path`` has a schema this version does not know."""
    return RegistryCorruptError(
        f"{path} was written by a newer version of jupyter-mlops",
        hint="Upgrade with `pip install -U jupyter-mlops`; the registry is left untouched.",
    )


def translate_error(
    exc: sqlite3.DatabaseError, path: Path, action: str, *, busy_timeout: float
) -> RegistryError:
    """Turn an sqlite3 error into one of ours that says what was not done and why."""
    text = str(exc)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return RecordingError(
            f"Could not {action}: the registry {path} stayed locked by another process"
            f" for more than {busy_timeout:g} s",
            hint="Another kernel or pipeline holds a long write; retry when it finishes.",
        )
    if "readonly" in lowered or "read-only" in lowered:
        return RecordingError(
            f"Could not {action}: the registry {path} is read-only",
            hint="Check the permissions of the file and of its directory (SQLite writes beside it).",
        )
    if "disk is full" in lowered or "disk full" in lowered:
        return RecordingError(
            f"Could not {action}: the disk holding {path} is full",
            hint="Free some space; nothing already recorded was lost.",
        )
    if "disk i/o error" in lowered and _disk_is_full(path):
        # SQLite says no more than "disk I/O error" when it cannot create or grow the
        # WAL's shared-memory file (opening a registry nobody has open) on a full disk.
        return RecordingError(
            f"Could not {action}: the disk holding {path} is full",
            hint="Free some space; nothing already recorded was lost.",
        )
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return RegistryCorruptError(
            f"Could not {action}: {path} is damaged ({text})",
            hint="Restore it from a backup; the file is left untouched.",
        )
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in lowered:
        return RegistryError(
            f"Could not {action}: cannot open {path}",
            hint="Check that the directory exists and is writable.",
        )
    return RecordingError(f"Could not {action} in {path}: {text}")


def _disk_is_full(path: Path) -> bool:
    """Whether the filesystem holding the registry ``path`` has no block left."""
    try:
        return os.statvfs(path.parent).f_bavail == 0
    except OSError:
        return False
