"""The rows of a merge: copying the source registry's records (attached as ``src``) into
the target (``main``), table by table, inside the merge's transaction.

Columns are matched by name, so a source made by an older jupyter-mlops (fewer columns,
fewer tables) merges too. Integer ids are local to each registry: rows that hold them
(a run's experiment, a version's model, a pipeline run's pipeline) get the target's id
through the natural key (:mod:`.merge_plan`). Temp tables map what the later steps
need: ``merge_runs`` (the runs new to the target), ``merge_snapshots`` (each source
snapshot to the target's), ``merge_versions`` (:mod:`.merge_models`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from .merge_conflicts import Conflict, content_conflicts, run_conflicts

# A run's own records, copied with a run new to the target (run_snapshots apart: it
# names snapshots, which are mapped).
RUN_RECORD_TABLES = (
    "params",
    "tags",
    "metrics",
    "metric_summaries",
    "metric_previews",
    "code_cells",
    "run_notes",
    "closures",
    "closure_cells",
    "closure_files",
    "run_artifacts",
)
NEW_RUN = "s.run_id IN (SELECT id FROM temp.merge_runs)"
SNAPSHOT = "(SELECT target_id FROM temp.merge_snapshots WHERE source_id = s.{})"
VERSION = "(SELECT target_id FROM temp.merge_versions WHERE source_id = s.{})"
RUN_HERE = "(SELECT id FROM main.runs WHERE id = s.{})"
REPORT_HERE = "(SELECT id FROM main.drift_reports WHERE id = s.{})"
TEMP_TABLES = ("merge_runs", "merge_snapshots", "merge_versions", "merge_reports",
               "merge_evaluations")  # fmt: skip


@dataclass
class SourceRows:
    """The attached source and what the merge has done so far (counts, conflicts)."""

    conn: sqlite3.Connection
    tables: set[str]  # the tables both registries have
    added: dict[str, int] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    renumbered: list[tuple[str, int, int]] = field(default_factory=list)
    added_versions: list[str] = field(default_factory=list)
    new_runs: list[str] = field(default_factory=list)

    @classmethod
    def attached(cls, conn: sqlite3.Connection) -> SourceRows:
        def names(schema: str) -> set[str]:
            return {
                row[0]
                for row in conn.execute(
                    f"SELECT name FROM {schema}.sqlite_master WHERE type='table'"
                )
            }

        for table in TEMP_TABLES:
            conn.execute(f"DROP TABLE IF EXISTS temp.{table}")
        return cls(conn, names("src") & names("main"))

    def has(self, table: str) -> bool:
        return table in self.tables

    def shared_columns(self, table: str) -> list[str]:
        def columns(schema: str) -> list[str]:
            return [row[1] for row in self.conn.execute(f"PRAGMA {schema}.table_info({table})")]

        here = set(columns("main"))
        return [c for c in columns("src") if c in here]

    def count(self, table: str, added: int) -> None:
        self.added[table] = self.added.get(table, 0) + max(added, 0)

    def insert(self, table: str, where: str, params: tuple[Any, ...] = (), **replace: str) -> int:
        """INSERT OR IGNORE the source's rows of ``table`` (as ``s``) matching ``where``;
        ``replace`` gives SQL expressions for some columns (ids mapped to the target's)."""
        if not self.has(table):
            return 0
        columns = self.shared_columns(table)
        chosen = ", ".join(replace.get(c, f"s.{c}") for c in columns)
        cursor = self.conn.execute(
            f"INSERT OR IGNORE INTO main.{table} ({', '.join(columns)})"
            f" SELECT {chosen} FROM src.{table} AS s WHERE {where}",
            params,
        )
        self.count(table, cursor.rowcount)
        return int(cursor.rowcount)


def merge_names(rows: SourceRows) -> None:
    """Experiments by name, environments by hash, artifact rows by sha256."""
    rows.insert("experiments", "s.name NOT IN (SELECT name FROM main.experiments)", id="NULL")
    rows.insert("environments", "s.hash NOT IN (SELECT hash FROM main.environments)", id="NULL")
    rows.insert("artifacts", "s.sha256 NOT IN (SELECT sha256 FROM main.artifacts)")


def merge_snapshots(rows: SourceRows) -> None:
    """Snapshots by id, else by name and fingerprint; ``temp.merge_snapshots`` maps them."""
    conn = rows.conn
    conn.execute("CREATE TEMP TABLE merge_snapshots (source_id TEXT PRIMARY KEY, target_id TEXT)")
    rows.conflicts += content_conflicts(
        conn, "snapshot", "snapshots", "m.id = s.id", "s.id", ("name", "fingerprint")
    )
    rows.insert(
        "snapshots",
        "s.id NOT IN (SELECT id FROM main.snapshots) AND NOT EXISTS (SELECT 1 FROM"
        " main.snapshots m WHERE m.name = s.name AND m.fingerprint = s.fingerprint)",
    )
    conn.execute(
        "INSERT INTO temp.merge_snapshots SELECT s.id, COALESCE("
        "(SELECT id FROM main.snapshots WHERE id = s.id), (SELECT m.id FROM main.snapshots m"
        " WHERE m.name = s.name AND m.fingerprint = s.fingerprint)) FROM src.snapshots s"
    )


def merge_runs(rows: SourceRows) -> None:
    """Runs new to the target, with all their records; the others are compared."""
    conn = rows.conn
    rows.conflicts += run_conflicts(conn, rows.tables)
    conn.execute("CREATE TEMP TABLE merge_runs (id TEXT PRIMARY KEY)")
    conn.execute(
        "INSERT INTO temp.merge_runs SELECT id FROM src.runs"
        " WHERE id NOT IN (SELECT id FROM main.runs) ORDER BY started_at, id"
    )
    rows.new_runs = [
        row[0]
        for row in conn.execute(
            "SELECT r.id FROM temp.merge_runs r JOIN src.runs s ON s.id = r.id"
            " ORDER BY s.started_at, s.id"
        )
    ]
    # links to other runs are set once every run is in (a parent may come after its child)
    rows.insert(
        "runs",
        "s.id IN (SELECT id FROM temp.merge_runs)",
        experiment_id="(SELECT m.id FROM main.experiments m JOIN src.experiments e"
        " ON e.name = m.name WHERE e.id = s.experiment_id)",
        environment_id="(SELECT m.id FROM main.environments m JOIN src.environments e"
        " ON e.hash = m.hash WHERE e.id = s.environment_id)",
        previous_run_id="NULL",
        parent_run_id="NULL",
    )
    links = [c for c in ("previous_run_id", "parent_run_id") if c in rows.shared_columns("runs")]
    for link in links:
        source = f"(SELECT s.{link} FROM src.runs s WHERE s.id = runs.id)"
        conn.execute(
            f"UPDATE main.runs SET {link} = {source} WHERE id IN (SELECT id FROM temp.merge_runs)"
            f" AND {source} IN (SELECT id FROM main.runs)"
        )
    for table in RUN_RECORD_TABLES:
        rows.insert(table, NEW_RUN)
    rows.insert("run_snapshots", NEW_RUN, snapshot_id=SNAPSHOT.format("snapshot_id"))


def merge_gates_and_drift(rows: SourceRows) -> None:
    """Drift reports with their columns, gate evaluations with their results, by id."""
    conn = rows.conn
    if rows.has("drift_reports"):
        rows.conflicts += content_conflicts(
            conn, "drift report", "drift_reports", "m.id = s.id", "s.id",
            ("decision", "reference_name", "current_name", "summary"),
        )  # fmt: skip
        conn.execute("CREATE TEMP TABLE merge_reports (id TEXT PRIMARY KEY)")
        conn.execute(
            "INSERT INTO temp.merge_reports SELECT id FROM src.drift_reports"
            " WHERE id NOT IN (SELECT id FROM main.drift_reports)"
        )
        rows.insert(
            "drift_reports",
            "s.id IN (SELECT id FROM temp.merge_reports)",
            reference_snapshot_id=SNAPSHOT.format("reference_snapshot_id"),
            current_snapshot_id=SNAPSHOT.format("current_snapshot_id"),
            model_version_id=VERSION.format("model_version_id"),
            run_id=RUN_HERE.format("run_id"),
        )
        rows.insert("drift_columns", "s.report_id IN (SELECT id FROM temp.merge_reports)")
    if rows.has("gate_evaluations"):
        rows.conflicts += content_conflicts(
            conn, "gate evaluation", "gate_evaluations", "m.id = s.id", "s.id",
            ("passed", "n_rules", "n_failed", "inputs"),
        )  # fmt: skip
        conn.execute("CREATE TEMP TABLE merge_evaluations (id TEXT PRIMARY KEY)")
        conn.execute(
            "INSERT INTO temp.merge_evaluations SELECT id FROM src.gate_evaluations"
            " WHERE id NOT IN (SELECT id FROM main.gate_evaluations)"
        )
        rows.insert(
            "gate_evaluations",
            "s.id IN (SELECT id FROM temp.merge_evaluations)",
            run_id=RUN_HERE.format("run_id"),
            model_version_id=VERSION.format("model_version_id"),
            snapshot_id=SNAPSHOT.format("snapshot_id"),
        )
        rows.insert(
            "gate_results",
            "s.evaluation_id IN (SELECT id FROM temp.merge_evaluations)",
            drift_report_id=REPORT_HERE.format("drift_report_id"),
        )


def merge_pipelines(rows: SourceRows) -> None:
    """Pipelines by name and spec; the pipeline runs (and steps) of the runs new here."""
    rows.insert(
        "pipelines",
        "NOT EXISTS (SELECT 1 FROM main.pipelines m WHERE m.name = s.name"
        " AND m.spec_sha256 = s.spec_sha256)",
        id="NULL",
    )
    rows.insert(
        "pipeline_runs",
        f"{NEW_RUN} AND s.run_id NOT IN (SELECT run_id FROM main.pipeline_runs)",
        pipeline_id="(SELECT m.id FROM main.pipelines m JOIN src.pipelines p ON p.name = m.name"
        " AND p.spec_sha256 = m.spec_sha256 WHERE p.id = s.pipeline_id)",
    )
    rows.insert(
        "step_runs",
        "s.pipeline_run_id IN (SELECT id FROM temp.merge_runs)"
        " AND s.pipeline_run_id IN (SELECT run_id FROM main.pipeline_runs)",
        run_id=RUN_HERE.format("run_id"),
    )


def merge_reproductions(rows: SourceRows) -> None:
    """Reproductions of runs the target holds, by run, start time and environment."""
    rows.insert(
        "reproductions",
        "s.original_run_id IN (SELECT id FROM main.runs) AND NOT EXISTS (SELECT 1 FROM"
        " main.reproductions m WHERE m.original_run_id = s.original_run_id"
        " AND m.started_at = s.started_at AND m.environment = s.environment)",
        id="NULL",
        run_id=RUN_HERE.format("run_id"),
    )


def merge_notes(rows: SourceRows) -> None:
    """Experiment notes by experiment name; a different note is a conflict."""
    if not rows.has("experiment_notes"):
        return
    experiment = "(SELECT name FROM {0}.experiments WHERE id = {1}.experiment_id)"
    rows.conflicts += content_conflicts(
        rows.conn, "experiment note", "experiment_notes",
        f"{experiment.format('main', 'm')} = {experiment.format('src', 's')}",
        experiment.format("src", "s"), ("note",),
    )  # fmt: skip
    target = (
        "(SELECT m.id FROM main.experiments m JOIN src.experiments e ON e.name = m.name"
        " WHERE e.id = s.experiment_id)"
    )
    rows.insert(
        "experiment_notes",
        f"{target} NOT IN (SELECT experiment_id FROM main.experiment_notes)",
        experiment_id=target,
    )


def merge_monitoring(rows: SourceRows) -> None:
    """Monitor windows and retrains, predictions and their labels, by natural key."""
    conn = rows.conn
    if rows.has("monitor_windows"):
        rows.conflicts += content_conflicts(
            conn, "monitor window", "monitor_windows",
            "m.model = s.model AND m.window_seconds = s.window_seconds AND m.start = s.start",
            "s.model || ' from ' || s.start", ("n_predictions", "decision", "metrics"),
        )  # fmt: skip
    rows.insert(
        "monitor_windows",
        "1",
        input_report_id=REPORT_HERE.format("input_report_id"),
        prediction_report_id=REPORT_HERE.format("prediction_report_id"),
    )
    rows.insert(
        "monitor_retrains",
        "NOT EXISTS (SELECT 1 FROM main.monitor_retrains m WHERE m.model = s.model"
        " AND m.window_start = s.window_start AND m.started_at = s.started_at)",
        id="NULL",
    )
    version = VERSION.format("model_version_id")
    rows.insert(
        "predictions",
        f"{version} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM main.predictions m"
        " WHERE m.request_id = s.request_id AND m.role = s.role"
        f" AND m.served_at = s.served_at AND m.model_version_id = {version})",
        id="NULL",
        model_version_id=version,
    )
    if rows.has("prediction_labels"):
        rows.conflicts += content_conflicts(
            conn, "prediction label", "prediction_labels", "m.request_id = s.request_id",
            "s.request_id", ("labels",),
        )  # fmt: skip
    rows.insert("prediction_labels", "1")
