"""Migration 0013: reproductions, each attempt to run a past run again
(see :mod:`jupyter_mlops.reproduce`).

``original_run_id`` is the run reproduced; ``run_id`` the run the reproduction recorded
(NULL when it could not run that far). ``status`` is ``parity`` (every metric came back
within the tolerance), ``mismatch``, ``not_checked`` (other parameters, or no metric in
common) or ``failed`` (the reproduction could not run: data that changed, a cell that
raised, an environment that could not be made). ``report`` is the verdict as JSON: the
metrics compared, the likely causes, the versions that differ.
"""

from __future__ import annotations

from .migration import Migration

REPRODUCTIONS = Migration(
    "0013_reproductions",
    """
    CREATE TABLE reproductions (
        id INTEGER PRIMARY KEY,
        original_run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        run_id TEXT REFERENCES runs(id) ON DELETE SET NULL,
        environment TEXT NOT NULL,       -- current | venv | container
        status TEXT NOT NULL
            CHECK (status IN ('parity', 'mismatch', 'not_checked', 'failed')),
        summary TEXT NOT NULL,           -- one line for people
        report TEXT NOT NULL,            -- JSON
        started_at REAL NOT NULL,
        ended_at REAL NOT NULL
    );
    CREATE INDEX reproductions_original ON reproductions(original_run_id, started_at);
    CREATE INDEX reproductions_run ON reproductions(run_id);
    """,
)
