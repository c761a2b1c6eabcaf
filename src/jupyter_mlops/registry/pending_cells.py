"""Cells written ahead of the registry: a notebook run's cells, appended to a file of the
run's own as each one ends, and written into ``code_cells`` a moment later.

A transaction costs tens of microseconds, and the full-text index on ``code_cells``
triples that; appending one line to a file mapped into memory costs a copy of it.
What the mapping holds is the kernel's page cache, not the process's: a kernel that
dies (SIGKILL, the OOM killer, a crash in native code) loses no cell that has ended. Opening the registry moves the
cells of the runs that are no longer running into ``code_cells`` and removes their
files; a cell written both ways is stored once.

    .mlops/pending-cells/RUN_ID.jsonl      one JSON array a line:
                                           [seq, execution_count, cell_id, source, executed_at]
                                           then zeros: space reserved, not used yet

The file holds the source as the run keeps it, secrets redacted.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import mmap
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
# The space a run's file takes at first (doubled when full): some hundreds of cells.
RESERVE_BYTES = 1 << 16

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


_ENCODER = json.JSONEncoder(separators=(",", ":"))
_quote = json.encoder.encode_basestring_ascii  # what _ENCODER writes a string as


def cell_line(cell: Cell) -> bytes:
    """``cell`` as a line of the file: what ``_ENCODER`` writes, and a newline.

    The encoder sets itself up on every call (some microseconds, on each cell of a run);
    a cell of the usual types is written here directly, byte for byte the same.
    """
    seq, count, cell_id, source, at = cell
    if (
        type(seq) is int
        and (count is None or type(count) is int)
        and (cell_id is None or type(cell_id) is str)
        and type(source) is str
        and type(at) is float
        and math.isfinite(at)
    ):
        count_text = "null" if count is None else int.__repr__(count)
        id_text = "null" if cell_id is None else _quote(cell_id)
        return f"[{seq},{count_text},{id_text},{_quote(source)},{at!r}]\n".encode()
    return (_ENCODER.encode(cell) + "\n").encode()


class PendingCells:
    """The pending-cells file of one run, mapped into memory while the run records.

    A cell is appended by copying its line into the mapping: no system call, so no wait
    behind another process's ``fsync`` (on ext4 a ``write`` that changes a file's size
    waits for the journal, and IPython commits its history after every cell). The
    mapping is the kernel's page cache: a process that dies loses nothing copied into
    it. Space is reserved with ``posix_fallocate`` before it is mapped, so that a full
    disk is an :class:`OSError` here, never a ``SIGBUS`` in a mapped write; the caller
    then writes its cells to the registry itself. Unused space is zeros.
    """

    def __init__(self, registry_directory: Path, run_id: str) -> None:
        directory = registry_directory / DIRECTORY
        directory.mkdir(exist_ok=True)
        self.path = directory / f"{run_id}{SUFFIX}"
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fd: int | None = os.open(self.path, flags, 0o600)
        self._map: mmap.mmap | None = None
        self._used = 0
        self._closing = weakref.finalize(self, _close, [self._fd, None])
        self._grow(RESERVE_BYTES)

    def _grow(self, needed: int) -> None:
        assert self._fd is not None
        size = max(RESERVE_BYTES, len(self._map) if self._map is not None else 0)
        while size < needed:
            size *= 2
        _reserve(self._fd, size)
        mapped = mmap.mmap(self._fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        if self._map is not None:
            self._map.close()
        self._map = mapped
        self._closing.detach()
        self._closing = weakref.finalize(self, _close, [self._fd, mapped])

    def append(self, cell: Cell) -> None:
        if self._map is None:
            raise OSError(f"{self.path} is closed")
        line = cell_line(cell)
        end = self._used + len(line)
        if end > len(self._map):
            self._grow(end)
        self._map[self._used : end] = line
        self._used = end

    def remove(self) -> None:
        """Close the file and delete it: every cell it holds is in the registry."""
        self._closing()
        self._fd = None
        self._map = None
        try:
            self.path.unlink()
        except FileNotFoundError:  # another process recovered it already
            pass


def _reserve(fd: int, size: int) -> None:
    """Give the file ``size`` bytes of disk (zeros), or raise OSError (a full disk)."""
    try:
        os.posix_fallocate(fd, 0, size)
        return
    except AttributeError:  # not on macOS
        pass
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
            raise
    start = os.fstat(fd).st_size
    zeros = bytes(min(size - start, RESERVE_BYTES)) if size > start else b""
    while start < size:
        start += os.pwrite(fd, zeros[: size - start], start)


def _close(handles: list[Any]) -> None:
    fd, mapped = handles
    if mapped is not None:
        mapped.close()
    os.close(fd)


def read_pending(path: Path) -> list[Cell]:
    """The cells of a pending-cells file; a line cut short by a crash is skipped."""
    cells: list[Cell] = []
    with open(path, "rb") as handle:
        for line in handle:
            line = line.strip(b"\0")
            if not line.strip():
                continue  # the zeros of the space reserved and not used
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
