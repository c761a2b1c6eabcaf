"""Migration 0010: runs kept in order after the fact: archived runs, experiment notes.

``runs.archived_at`` is when a run was archived (NULL: it is not): an archived run keeps
everything it recorded but leaves every list until it is restored. The partial index
``runs_archived`` holds only the archived runs, so "is any run archived?" is one probe
and lists of a registry without archived runs need no condition at all (the same query
plans as before). An experiment's note lives in ``experiment_notes``, one per
experiment, as a run's lives in ``run_notes``. ``runs_view`` gains ``archived``.
"""

from __future__ import annotations

from .migration import Migration

RUN_HOUSEKEEPING = Migration(
    "0010_run_housekeeping",
    """
    ALTER TABLE runs ADD COLUMN archived_at REAL;
    CREATE INDEX runs_archived ON runs(archived_at) WHERE archived_at IS NOT NULL;

    CREATE TABLE experiment_notes (
        experiment_id INTEGER PRIMARY KEY REFERENCES experiments(id) ON DELETE CASCADE,
        note TEXT NOT NULL,
        updated_at REAL NOT NULL
    );

    DROP VIEW runs_view;
    CREATE VIEW runs_view AS
    SELECT
        runs.id,
        runs.name,
        experiments.name AS experiment,
        runs.status,
        runs.kind,
        datetime(runs.started_at, 'unixepoch') AS started,
        datetime(runs.ended_at, 'unixepoch') AS ended,
        runs.ended_at - runs.started_at AS duration_seconds,
        runs.notebook_path,
        runs.git_commit,
        runs.git_dirty,
        runs.previous_run_id,
        runs.parent_run_id,
        runs.error,
        datetime(runs.archived_at, 'unixepoch') AS archived
    FROM runs JOIN experiments ON experiments.id = runs.experiment_id;
    """,
)
