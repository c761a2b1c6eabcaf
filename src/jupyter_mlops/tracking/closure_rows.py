"""A run's closure in the registry: written once when the run ends, read by checkout and
reproduction (see :mod:`.closure`)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import MlopsError
from ..registry.connection import Registry
from .closure import Closure, ClosureCell, ClosureFile
from .secrets import redact_code
from .values import valid_text

if TYPE_CHECKING:
    from .run import Run

logger = logging.getLogger(__name__)


def record_closure(run: Run, compute: Callable[[Run], Closure]) -> None:
    """Compute the closure of ``run`` as it ends and record it; a failure is a warning,
    never the end of the user's cell (the run ends without a closure)."""
    try:
        write_closure(run.registry, run.id, compute(run))
    except MlopsError as exc:
        logger.warning(
            "jupyter-mlops: the closure of run %s was not recorded: %s", run.id, exc.message
        )
    except Exception as exc:  # noqa: BLE001 - odd code must not keep the run from ending
        logger.warning(
            "jupyter-mlops: the closure of run %s was not recorded: %s: %s",
            run.id,
            type(exc).__name__,
            exc,
            exc_info=logger.isEnabledFor(logging.DEBUG),
        )


def write_closure(registry: Registry, run_id: str, closure: Closure) -> None:
    """Record ``closure`` for run ``run_id``, replacing one recorded before."""
    with registry.transaction(f"the closure of run {run_id}") as conn:
        conn.execute("DELETE FROM closures WHERE run_id = ?", (run_id,))
        conn.execute("DELETE FROM closure_cells WHERE run_id = ?", (run_id,))
        conn.execute("DELETE FROM closure_files WHERE run_id = ?", (run_id,))
        conn.execute(
            "INSERT INTO closures (run_id, unresolved, directory, recorded_at) VALUES (?, ?, ?, ?)",
            (run_id, json.dumps(list(closure.unresolved)), closure.directory, time.time()),
        )
        conn.executemany(
            "INSERT INTO closure_cells (run_id, seq, execution_count, source, provides)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    seq,
                    cell.execution_count,
                    valid_text(redact_code(cell.source)),
                    json.dumps(list(cell.provides)),
                )
                for seq, cell in enumerate(closure.cells)
            ],
        )
        conn.executemany(
            "INSERT INTO closure_files (run_id, path, resolved, sha256, size, execution_count)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (run_id, f.path, f.resolved, f.sha256, f.size, f.execution_count)
                for f in closure.files
            ],
        )


def read_closure(registry: Registry, run_id: str) -> Closure | None:
    """The closure recorded for run ``run_id``, or None when it has none (a run recorded
    before closures were kept, or one that did not run in a notebook kernel)."""
    with registry.reading():
        recorded = registry.query_one(
            "SELECT unresolved, directory FROM closures WHERE run_id = ?", (run_id,)
        )
        if recorded is None:
            return None
        cells = registry.query(
            "SELECT execution_count, source, provides FROM closure_cells WHERE run_id = ?"
            " ORDER BY seq",
            (run_id,),
        )
        files = registry.query(
            "SELECT path, resolved, sha256, size, execution_count FROM closure_files"
            " WHERE run_id = ? ORDER BY execution_count, path",
            (run_id,),
        )
    return Closure(
        cells=tuple(ClosureCell(row[0], row[1], tuple(json.loads(row[2]))) for row in cells),
        files=tuple(ClosureFile(row[0], row[1], row[2], row[3], row[4]) for row in files),
        unresolved=tuple(json.loads(recorded[0])),
        directory=recorded[1],
    )
