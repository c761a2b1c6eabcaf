"""A backup of a registry: one consistent file, made while other processes write.

The registry is an SQLite database in WAL mode: what was committed recently may live
in ``registry.db-wal`` beside the main file until a checkpoint moves it over, so
copying ``registry.db`` alone can miss the latest runs, and copying the two files
while a writer works can give a torn pair. :func:`backup_registry` uses SQLite's online
backup API instead: the copy is the registry as of one moment, whatever writers do
meanwhile, written as a single self-contained file (rollback journal, no ``-wal``).

    result = backup_registry(registry, Path("backups/2026-12-02.db"), artifacts=True)
    result.path, result.runs, result.artifacts_copied

With ``artifacts=True`` the content-addressed files go to ``artifacts/`` beside the
copy, so that the copy opens as a registry of its own (``Registry.open(result.path)``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidInputError, RecordingError
from .artifacts import storage_error

if TYPE_CHECKING:
    from .connection import Registry


@dataclass(frozen=True)
class BackupResult:
    """What a backup wrote: the file, its size, the runs in it, the artifacts copied."""

    path: Path
    size: int
    runs: int
    artifacts_copied: int
    artifacts_present: int


def backup_registry(
    registry: Registry, dest: str | Path, *, artifacts: bool = False, overwrite: bool = False
) -> BackupResult:
    """Copy ``registry`` into the single file ``dest`` as of one moment.

    ``dest`` may be a directory, or a path without a suffix (the copy is then
    ``dest/registry.db``). An existing
    file is replaced only with ``overwrite``; the registry itself is never a target.
    """
    target = _target(registry, Path(dest).expanduser(), overwrite)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            registry.conn.backup(copy)  # one step: a consistent read of the whole file
            copy.execute("PRAGMA journal_mode = DELETE")
            runs = int(copy.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy.close()
        if check != "ok":
            raise RecordingError(
                f"The backup of {registry.path} did not pass SQLite's check: {check}",
                hint="Check the registry with `jupyter mlops status`; the backup was not kept.",
            )
        os.replace(partial, target)
    except sqlite3.DatabaseError as exc:
        raise RecordingError(
            f"Could not write the backup {target}: {exc}",
            hint="Check that the destination has room and can be written.",
        ) from exc
    except OSError as exc:
        raise storage_error(exc, target.parent, "the backup") from exc
    finally:
        partial.unlink(missing_ok=True)
    copied = present = 0
    if artifacts:
        copied, present = _copy_artifacts(registry, target.parent / "artifacts")
    return BackupResult(target, target.stat().st_size, runs, copied, present)


def describe_backup(result: BackupResult) -> str:
    """One line on what a backup wrote, as the CLI and the magic print it."""
    line = f"Backed up {result.runs} run(s) to {result.path} ({result.size / 1024:.0f} KiB)"
    if result.artifacts_copied or result.artifacts_present:
        line += (
            f"; artifacts: {result.artifacts_copied} copied,"
            f" {result.artifacts_present} already there"
        )
    return line + "."


def _target(registry: Registry, dest: Path, overwrite: bool) -> Path:
    with contextlib.suppress(OSError):
        if dest.is_dir() or not dest.suffix:  # a folder, existing or to be made
            dest = dest / "registry.db"
    if dest.resolve() == registry.path.resolve():
        raise InvalidInputError(
            f"{dest} is the registry itself", hint="Back it up to another file or directory."
        )
    if dest.exists() and not overwrite:
        raise InvalidInputError(
            f"{dest} exists already; it was left as it is",
            hint="Choose a new file name, or pass --force (overwrite=True) to replace it.",
        )
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, dest.parent, "the backup") from exc
    return dest


def _copy_artifacts(registry: Registry, into: Path) -> tuple[int, int]:
    """Copy the artifact files the target does not have yet; return (copied, present)."""
    source = registry.artifacts.root
    copied = present = 0
    if not source.is_dir():
        return 0, 0
    for folder in sorted(source.iterdir()):
        if not folder.is_dir() or folder.name == "tmp":
            continue
        for file in sorted(folder.iterdir()):
            destination = into / folder.name / file.name
            if destination.exists():
                present += 1
                continue
            try:
                destination.parent.mkdir(parents=True, exist_ok=True)
                temporary = destination.with_name(destination.name + ".partial")
                shutil.copyfile(file, temporary)
                os.replace(temporary, destination)
            except OSError as exc:
                raise storage_error(exc, into, f"artifact {file.name[:12]}") from exc
            copied += 1
    return copied, present
