"""Migration 0009: runs have parents (a sweep's trials, a search's candidates, the runs of
a loop inside a run cell).

``parent_run_id`` is the run a run belongs to; NULL for a top-level run. The index
``runs(parent_run_id, started_at)`` serves the three reads that need it: the children of
one run in the order they started, the top-level runs newest first (``parent_run_id IS
NULL`` is an equality for the index), and the number of children of each run of a page.
``runs_view`` gains the column.
"""

from __future__ import annotations

from .migration import Migration

RUN_PARENTS = Migration(
    "0009_run_parents",
    """
    ALTER TABLE runs ADD COLUMN parent_run_id TEXT REFERENCES runs(id);
    CREATE INDEX runs_parent_started ON runs(parent_run_id, started_at);

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
        runs.error
    FROM runs JOIN experiments ON experiments.id = runs.experiment_id;
    """,
)
