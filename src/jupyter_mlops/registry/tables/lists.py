"""Migration 0006: the indexes that let a list of runs read one page in order.

A page sorted by a run field reads that field's index, within an experiment or across
all of them, and stops after one page instead of sorting every run (see
``tracking.queries.pages``). Metrics and parameters already have their ``(key, value)``
indexes; tags get theirs. The duration index is on the expression the queries use.
"""

from __future__ import annotations

from .migration import Migration

LIST_INDEXES = Migration(
    "0006_list_indexes",
    """
    CREATE INDEX runs_started ON runs(started_at);
    CREATE INDEX runs_experiment_name ON runs(experiment_id, name);
    CREATE INDEX runs_experiment_status ON runs(experiment_id, status);
    CREATE INDEX runs_duration ON runs(ended_at - started_at);
    CREATE INDEX runs_experiment_duration ON runs(experiment_id, ended_at - started_at);
    CREATE INDEX tags_key_value ON tags(key, value);
    """,
)
