"""Cells written ahead of the registry: a notebook run's cells, appended to a file of the
run's own as each one ends, and written into ``code_cells`` a moment later.

A transaction costs tens of microseconds, and the full-text index on ``code_cells``
triples that; appending one line to a file costs one ``write``. What ``write`` has
taken is the kernel's, not the process's: a kernel that dies (SIGKILL, the OOM killer,
a crash in native code) loses no cell that has ended. Opening the registry moves the
cells of the runs that are no longer running into ``code_cells`` and removes their
files; a cell written both ways is stored once.

    .mlops/pending-cells/RUN_ID.jsonl      one JSON array a line:
                                           [seq, execution_count, cell_id, source, executed_at]

The file holds the source as the run keeps it, secrets redacted.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RecordingError

if TYPE_CHECKING:
    from .connection import Registry

logger = logging.getLogger(__name__)

DIRECTORY = "pending-cells"
SUFFIX = ".jsonl"

# (seq, execution_count, cell_id, source, executed_at), as code_cells stores them
Cell = tuple[int, int | None, str | None, str, float]

_INSERT = (
    "INSERT INTO code_cells (run_id, seq, execution_count, cell_id, source, executed_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def write_cells(conn: sqlite3.Connection, run_id: str, cells: Sequence[Cell]) -> None:
    """Store ``cells`` of run ``run_id``; a cell already stored (same ``seq``) is replaced.

    An upsert, not INSERT OR REPLACE: a replaced row would leave the full-text index's
    delete trigger unfired (SQLite fires it only with recursive triggers).
    """
    conn.executemany(
        _INSERT + " ON CONFLICT (run_id, seq) DO UPDATE"
        " SET execution_count = excluded.execution_count, cell_id = excluded.cell_id,"
        " source = excluded.source, executed_at = excluded.executed_at",
        [(run_id, *cell) for cell in cells],
    )


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # json.dumps would make one per call


class PendingCells:
    """The pending-cells file of one run, open for appending while the run records.

    ``append`` raises :class:`OSError` when the file cannot take the line (a full disk);
    the caller then writes its cells to the registry itself.
    """

    def __init__(self, registry_directory: Path, run_id: str) -> None:
        directory = registry_directory / DIRECTORY
        directory.mkdir(exist_ok=True)
        self.path = directory / f"{run_id}{SUFFIX}"
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fd: int | None = os.open(self.path, flags, 0o600)
        self._closing = weakref.finalize(self, os.close, self._fd)

    def append(self, cell: Cell) -> None:
        if self._fd is None:
            raise OSError(f"{self.path} is closed")
        line = (_ENCODER.encode(cell) + "\n").encode()
        if os.write(self._fd, line) != len(line):  # a disk that filled up mid-line
            raise OSError(f"{self.path}: the disk took part of a line")

    def remove(self) -> None:
        """Close the file and delete it: every cell it holds is in the registry."""
        self._closing()
        self._fd = None
        try:
            self.path.unlink()
        except FileNotFoundError:  # another process recovered it already
            pass


def read_pending(path: Path) -> list[Cell]:
    """The cells of a pending-cells file; a line cut short by a crash is skipped."""
    cells: list[Cell] = []
    with open(path, "rb") as handle:
        for line in handle:
            try:
                seq, count, cell_id, source, at = json.loads(line)
                cells.append((int(seq), count, cell_id, str(source), float(at)))
            except (ValueError, TypeError):
                logger.debug("Skipped a damaged line of %s", path)
    return cells


def recover_pending_cells(registry: Registry) -> list[str]:
    """Move the pending cells of runs that no longer run into ``code_cells``.

    Returns the ids of the runs whose cells were recovered. Files of running runs are
    their process's and are left alone; files of runs the registry does not hold are
    removed. A registry that cannot be written keeps the files for a later opening.
    """
    directory = registry.directory / DIRECTORY
    try:
        files = sorted(directory.glob(f"*{SUFFIX}"))
    except OSError:
        return []
    if not files:
        return []
    recovered = []
    for path in files:
        run_id = path.name[: -len(SUFFIX)]
        row = registry.query_one("SELECT status FROM runs WHERE id = ?", (run_id,))
        if row is not None and row["status"] == "running":
            continue
        try:
            cells = read_pending(path) if row is not None else []
            if cells:
                with registry.transaction(f"the cells of run {run_id}") as conn:
                    _keep_stored(conn, run_id, cells)
                recovered.append(run_id)
            path.unlink(missing_ok=True)
        except RecordingError as exc:
            logger.warning("Could not recover the cells of run %s yet: %s", run_id, exc.message)
            break
        except OSError as exc:
            logger.warning("Could not read the pending cells %s: %s", path, exc)
    if recovered:
        logger.info("Recovered the cells of %d run(s): %s", len(recovered), ", ".join(recovered))
    return recovered


def _keep_stored(conn: sqlite3.Connection, run_id: str, cells: Iterable[Any]) -> None:
    """Add the cells the registry does not have; a cell it has is the same cell."""
    conn.executemany(
        _INSERT + " ON CONFLICT (run_id, seq) DO NOTHING", [(run_id, *cell) for cell in cells]
    )
