"""Migration 0011: the columns a runs table shows, chosen per experiment; pipeline step
runs under their pipeline run.

``column_choices`` keeps, for an experiment whose table someone arranged, the columns
chosen (a JSON list of names as sorts write them: ``params.lr``, ``metrics.auc``), so the
notebook's table, the panel and ``jupyter mlops runs`` show the same ones. An
experiment without a row shows the default columns (the parameters that differ
between the listed runs, and every metric).

A pipeline step's run is a child of its pipeline's run from now on (``parent_run_id``,
set as the step starts); the step runs recorded before are given the same parent from
the ``pipeline.run_id`` tag each of them carries, so lists count them on the pipeline
run's line instead of listing them among the notebook runs.
"""

from __future__ import annotations

from .migration import Migration

COLUMN_CHOICES = Migration(
    "0011_column_choices",
    """
    CREATE TABLE column_choices (
        experiment_id INTEGER PRIMARY KEY REFERENCES experiments(id) ON DELETE CASCADE,
        columns TEXT NOT NULL,           -- JSON list: ["params.lr", "metrics.auc"]
        updated_at REAL NOT NULL
    );

    UPDATE runs SET parent_run_id = (
        SELECT tags.value FROM tags WHERE tags.run_id = runs.id AND tags.key = 'pipeline.run_id'
    )
    WHERE kind = 'pipeline-step' AND parent_run_id IS NULL AND EXISTS (
        SELECT 1 FROM tags JOIN runs AS pipeline ON pipeline.id = tags.value
        WHERE tags.run_id = runs.id AND tags.key = 'pipeline.run_id' AND pipeline.id != runs.id
    );
    """,
)
