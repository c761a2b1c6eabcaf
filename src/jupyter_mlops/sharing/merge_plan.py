"""What a merge does with each table of the registry: the plan every merge follows.

Every table of the schema has one decision here (tests/test_merge_plan.py fails when a
migration adds a table without one):

==========================  ==============  ==================================================
table                       how             what identifies a row / why
==========================  ==============  ==================================================
runs                        by id           the run id (random, unique across a team)
params, tags, metrics,      with its run    copied with a run new to the target; a run both
metric_summaries,                           hold keeps the target's rows (differences are
metric_previews,                            reported as a conflict on the run)
code_cells, run_notes,
closures, closure_cells,
closure_files,
run_artifacts,
run_snapshots
experiments                 natural key     its name (ids are local integers)
experiment_notes            natural key     its experiment's name; a different note is a
                                            conflict, the target's is kept
environments                natural key     the hash of the packages and Python
artifacts                   natural key     the sha256 of the bytes; each file is copied and
                                            hashed again on the way
snapshots                   by id           the snapshot id, else (name, fingerprint): the
                                            same data recorded on both sides is one snapshot
                                            (its profile is a column of the row)
models                      natural key     the model's name
model_versions              natural key     (model name, artifact sha256, registration
                                            time); a number the target already uses for
                                            another version is renumbered (see below)
model_aliases               natural key     (model name, alias); one pointing elsewhere in
                                            the target is a conflict, the target's is kept
model_alias_history         natural key     (model, alias, from, to, reason, time): every
                                            move of both sides is kept, conflict or not
gate_evaluations,           by id           the evaluation id; its results come with it
gate_results                                (group results are a column of the result)
drift_reports,              by id           the report id; its columns come with it
drift_columns
pipelines                   natural key     (name, spec sha256)
pipeline_runs, step_runs    with its run    the pipeline run's run id
reproductions               natural key     (reproduced run, start time, environment)
monitor_windows             natural key     (model, window length, start)
monitor_retrains            natural key     (model, window start, start time)
predictions                 natural key     (request id, role, version, time served)
prediction_labels           natural key     the request id; a different label is a conflict
column_choices              local-only      how this registry's user arranged a runs table
step_cache                  local-only      reused only while files on this machine hash
                                            the same; its paths are this machine's
registry_info               local-only      when and by what this registry file was made
mlflow_pushes               local-only      what this registry sent to which MLflow server
schema_migrations           local-only      the schema of this file, applied when opened
code_cells_fts*,            derived         the full-text index, filled by triggers as
run_notes_fts*                              cells and notes are inserted
==========================  ==============  ==================================================

Model versions: a version is the same version in both registries when its model's name,
its artifact's sha256 and its registration time agree, whatever its number. A source
version not in the target keeps its number when the target's model does not use it;
otherwise it gets the model's next free number (as ``pipeline collect`` numbers a
task's versions), and the report gives the mapping ("churn 2 -> churn 4") as a conflict
resolved that way. Aliases and alias history, and every row that names a version by its
id (gate evaluations, drift reports, predictions), follow the versions to their numbers
here. Text that names a version by its number is copied as it is: a monitoring window's
``version`` and per-version metrics, a retrain's ``alias_before``/``alias_after``, a gate
evaluation's inputs; after a renumbering they keep the source's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableDecision:
    """How a merge treats one table, and why."""

    how: str  # by id | natural key | with its run | local-only | derived
    why: str


HOW = ("by id", "natural key", "with its run", "local-only", "derived")

_RUN = "copied with a run new to the target"

TABLE_DECISIONS: dict[str, TableDecision] = {
    "runs": TableDecision("by id", "the run id"),
    "params": TableDecision("with its run", _RUN),
    "tags": TableDecision("with its run", _RUN),
    "metrics": TableDecision("with its run", _RUN),
    "metric_summaries": TableDecision("with its run", _RUN + " (they agree with its points)"),
    "metric_previews": TableDecision("with its run", _RUN + " (they agree with its points)"),
    "code_cells": TableDecision("with its run", _RUN),
    "run_notes": TableDecision("with its run", _RUN),
    "closures": TableDecision("with its run", _RUN),
    "closure_cells": TableDecision("with its run", _RUN),
    "closure_files": TableDecision("with its run", _RUN),
    "run_artifacts": TableDecision("with its run", _RUN),
    "run_snapshots": TableDecision("with its run", _RUN),
    "experiments": TableDecision("natural key", "the experiment's name"),
    "experiment_notes": TableDecision("natural key", "the experiment's name"),
    "environments": TableDecision("natural key", "the environment's hash"),
    "artifacts": TableDecision("natural key", "the sha256 of the file"),
    "snapshots": TableDecision("by id", "the snapshot id, else its name and fingerprint"),
    "models": TableDecision("natural key", "the model's name"),
    "model_versions": TableDecision("natural key", "model name, artifact sha256, time"),
    "model_aliases": TableDecision("natural key", "model name and alias"),
    "model_alias_history": TableDecision("natural key", "every move, by its content"),
    "gate_evaluations": TableDecision("by id", "the evaluation id"),
    "gate_results": TableDecision("by id", "with their evaluation"),
    "drift_reports": TableDecision("by id", "the report id"),
    "drift_columns": TableDecision("by id", "with their report"),
    "pipelines": TableDecision("natural key", "name and spec sha256"),
    "pipeline_runs": TableDecision("with its run", _RUN),
    "step_runs": TableDecision("with its run", _RUN),
    "reproductions": TableDecision("natural key", "reproduced run, start time, environment"),
    "monitor_windows": TableDecision("natural key", "model, window length, start"),
    "monitor_retrains": TableDecision("natural key", "model, window start, start time"),
    "predictions": TableDecision("natural key", "request id, role, version, time served"),
    "prediction_labels": TableDecision("natural key", "the request id"),
    "column_choices": TableDecision("local-only", "a display preference of this registry's user"),
    "step_cache": TableDecision("local-only", "valid only for this machine's files"),
    "registry_info": TableDecision("local-only", "describes this registry file"),
    # Another registry's record of its pushes would make this one skip runs it never sent;
    # a push from here finds runs already on the server by their mlops.run_id tag instead.
    "mlflow_pushes": TableDecision("local-only", "what this registry sent, and where"),
    "schema_migrations": TableDecision("local-only", "the schema of this file"),
}

DERIVED_PREFIXES = ("code_cells_fts", "run_notes_fts")
"""Tables of the full-text index (the FTS5 table and its shadow tables): derived."""


def decision_for(table: str) -> TableDecision | None:
    """The decision for ``table``, the full-text index's tables included."""
    if table.startswith(DERIVED_PREFIXES):
        return TableDecision("derived", "the full-text index, filled by triggers")
    return TABLE_DECISIONS.get(table)


# What the report calls the rows of each table it counts, in the order it lists them.
KIND_LABELS: dict[str, str] = {
    "experiments": "experiments",
    "environments": "environments",
    "runs": "runs",
    "metrics": "metric points",
    "artifacts": "artifacts",
    "snapshots": "snapshots",
    "models": "models",
    "model_versions": "model versions",
    "model_aliases": "aliases",
    "model_alias_history": "alias moves",
    "gate_evaluations": "gate evaluations",
    "drift_reports": "drift reports",
    "pipelines": "pipelines",
    "pipeline_runs": "pipeline runs",
    "reproductions": "reproductions",
    "monitor_windows": "monitor windows",
    "monitor_retrains": "monitor retrains",
    "predictions": "predictions",
    "prediction_labels": "prediction labels",
    "experiment_notes": "experiment notes",
}
