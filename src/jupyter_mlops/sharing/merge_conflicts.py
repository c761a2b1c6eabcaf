"""The conflicts of a merge: the same record with different content on the two sides.

A merge never settles one silently: the target keeps what it has (or, for a model
version whose number is taken, the source's version is added under another number) and
the report names both sides. The checks here compare rows of the source (attached as
``src``) with the target's (``main``) inside the merge's transaction.

    Conflict("alias", "churn@champion", target="churn 3", source="churn 2",
             resolution="the target's alias is kept", details=("target: ...", "source: ..."))
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class Conflict:
    """One record that differs between the two registries, and what the merge did."""

    kind: str  # run | alias | model version | snapshot | gate evaluation | ...
    key: str  # what names the record: a run id, "churn@champion", "churn 2"
    target: str  # what the target holds
    source: str  # what the source holds
    resolution: str  # what the merge did: "the target's is kept", "added as churn 4"
    details: tuple[str, ...] = ()  # more lines: an alias's history on each side

    def describe(self) -> str:
        """One line for people: ``alias churn@champion: target churn 3, source churn 2 (...)``."""
        return (
            f"{self.kind} {self.key}: target {self.target}, source {self.source}"
            f" ({self.resolution})"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "key": self.key,
            "target": self.target,
            "source": self.source,
            "resolution": self.resolution,
            "details": list(self.details),
        }


KEPT = "the target's is kept"

# The columns of a run compared between the sides; the others are where the run was
# recorded (pid, heartbeat) or links a merge or a collect adds (parent, previous).
RUN_FIELDS = ("name", "status", "kind", "started_at", "ended_at", "error")
# The tag an MLflow import marks its runs with (the MLflow run's id): where a copy of a
# run came from, not part of the run, so one side having it is no conflict.
IMPORT_MARK = "mlops.mlflow_run_id"
# The tables of a run's records compared between the sides, with the columns compared.
RUN_RECORDS = {
    "params": ("key", "value", "type"),
    "tags": ("key", "value"),
    "metric_summaries": ("key", "last", "last_step", "count"),
    "run_notes": ("note",),
}


def run_conflicts(conn: sqlite3.Connection, tables: set[str]) -> list[Conflict]:
    """Runs both registries hold whose fields, experiment or records differ."""
    differing: dict[str, list[str]] = {}
    shared = "SELECT id FROM src.runs WHERE id IN (SELECT id FROM main.runs)"
    pairs = ", ".join(f"s.{f}, m.{f}" for f in RUN_FIELDS)
    rows = conn.execute(
        f"SELECT s.id, {pairs},"
        " (SELECT name FROM src.experiments WHERE id = s.experiment_id),"
        " (SELECT name FROM main.experiments WHERE id = m.experiment_id)"
        " FROM src.runs s JOIN main.runs m ON m.id = s.id"
    ).fetchall()
    for row in rows:
        values = row[1:]
        for index, field in enumerate((*RUN_FIELDS, "experiment")):
            ours, theirs = values[2 * index + 1], values[2 * index]
            if ours != theirs:
                differing.setdefault(row[0], []).append(
                    f"{field}: target {_short(ours)}, source {_short(theirs)}"
                )
    for table, columns in RUN_RECORDS.items():
        if table not in tables:
            continue
        listed = ", ".join(("run_id", *columns))
        mark = f" AND key != '{IMPORT_MARK}'" if table == "tags" else ""
        found = conn.execute(
            f"SELECT run_id FROM (SELECT {listed} FROM src.{table} WHERE run_id IN ({shared})"
            f"{mark} EXCEPT SELECT {listed} FROM main.{table})"
            f" UNION SELECT run_id FROM (SELECT {listed} FROM main.{table}"
            f" WHERE run_id IN ({shared}){mark} EXCEPT SELECT {listed} FROM src.{table})"
        ).fetchall()
        for (run_id,) in found:
            differing.setdefault(run_id, []).append(f"{table}: the two sides differ")
    return [
        Conflict("run", run_id, "one record", "a different one", KEPT, tuple(parts))
        for run_id, parts in sorted(differing.items())
    ]


def content_conflicts(
    conn: sqlite3.Connection,
    kind: str,
    table: str,
    join: str,
    key: str,
    compared: tuple[str, ...],
) -> list[Conflict]:
    """Rows of ``table`` that ``join`` pairs (``s`` the source's, ``m`` the target's) and
    whose ``compared`` columns differ; ``key`` is an SQL expression naming the row."""
    differs = " OR ".join(f"s.{c} IS NOT m.{c}" for c in compared)
    found = conn.execute(
        f"SELECT {key}, {', '.join(f's.{c}, m.{c}' for c in compared)}"
        f" FROM src.{table} s JOIN main.{table} m ON {join} WHERE {differs}"
    ).fetchall()
    conflicts = []
    for row in found:
        parts = [
            f"{column}: target {_short(row[2 + 2 * i])}, source {_short(row[1 + 2 * i])}"
            for i, column in enumerate(compared)
            if row[1 + 2 * i] != row[2 + 2 * i]
        ]
        conflicts.append(
            Conflict(kind, str(row[0]), "its own", "a different one", KEPT, tuple(parts))
        )
    return conflicts


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
