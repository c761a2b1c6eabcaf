"""Gate evaluations as values and as rows: what a gate found, how it is stored and read back.

Each evaluation is one ``gate_evaluations`` row with its inputs (JSON) and verdict, and one
``gate_results`` row per line (a rule, a data expectation or a drift check; a drift line
points at its stored drift report). :mod:`jupyter_mlops.gates` evaluates; this module keeps.

    evaluation = get_evaluation(registry, "5f0c2a9e81d4")
    [r.describe() for r in evaluation.failed]
    evaluations(registry, model="churn", limit=10)      # newest first
"""

from __future__ import annotations

import json
import math
import numbers
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import NotFoundError
from ..registry.connection import Registry
from ..tracking.values import new_id
from .groups import GroupTable, tables_from_json


@dataclass(frozen=True)
class GateResult:
    """One line of a gate: a rule, an expectation or a drift check, what was found, what was
    required.

    ``exact`` is false when ``actual`` is an estimate (an expectation checked on a
    snapshot's profile rather than on the data). A drift line's ``actual`` is the report's
    decision and ``drift_report_id`` the stored report it judged. ``groups`` holds the
    value of each group behind a fairness rule's number (one table per function called).
    """

    rule: str
    kind: str  # rule | expectation | drift
    passed: bool
    actual: Any
    expected: str
    detail: str = ""
    exact: bool = True
    drift_report_id: str | None = None
    groups: tuple[GroupTable, ...] = ()

    @property
    def verdict(self) -> str:
        return "passed" if self.passed else "failed"

    def describe(self) -> str:
        """``rule (actual A, expected E)``: how a failure is named in messages."""
        actual = _short(self.actual)
        return f"{self.rule} (actual {actual}, expected {self.expected})"


@dataclass(frozen=True)
class DataChecked:
    """Which data the expectations were checked on, as stored with a gate evaluation."""

    kind: str  # dataframe | snapshot
    name: str | None
    n_rows: int
    n_columns: int
    snapshot_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "n_rows": self.n_rows,
            "n_columns": self.n_columns,
            "snapshot_id": self.snapshot_id,
        }


@dataclass(frozen=True)
class GateEvaluation:
    """A stored evaluation: its verdict, every result, and what it was evaluated on."""

    id: str
    purpose: str  # check | promote
    passed: bool
    results: tuple[GateResult, ...]
    run_id: str | None
    run_name: str | None
    model: str | None
    version: int | None
    alias: str | None
    data: DataChecked | None
    inputs: dict[str, Any]
    evaluated_at: float

    @property
    def failed(self) -> tuple[GateResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    @property
    def summary(self) -> str:
        """``passed: 3 of 3`` / ``failed: 1 of 3 failed``."""
        if self.passed:
            return f"passed: {len(self.results)} of {len(self.results)}"
        return f"failed: {len(self.failed)} of {len(self.results)} failed"

    def __repr__(self) -> str:
        lines = [f"<GateEvaluation {self.id} {self.summary}>"]
        for r in self.results:
            lines.append(
                f"  {r.verdict:6}  {r.describe()}" + (f" - {r.detail}" if r.detail else "")
            )
            for table in r.groups:
                lines.extend("            " + line for line in table.to_text().splitlines())
        return "\n".join(lines)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return "none"
    return str(value)[:80]


# -- storing and reading ---------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    """JSON without NaN or infinities (SQLite's JSON functions reject them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, numbers.Real):
        return _json_safe(float(value))
    return str(value)


def store_evaluation(
    registry: Registry,
    *,
    purpose: str,
    results: tuple[GateResult, ...],
    run_id: str | None,
    model: str | None,
    version_id: int | None,
    alias: str | None,
    data: DataChecked | None,
    inputs: dict[str, Any],
    notebook_path: str | None,
) -> GateEvaluation:
    """Store one evaluation and its lines in one transaction; return it as read back."""
    evaluation_id = new_id()
    now = time.time()
    passed = all(r.passed for r in results)
    n_failed = sum(1 for r in results if not r.passed)
    with registry.transaction("the gate evaluation") as conn:
        conn.execute(
            "INSERT INTO gate_evaluations (id, purpose, run_id, model_version_id, alias, snapshot_id,"
            " passed, n_rules, n_failed, inputs, notebook_path, evaluated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                evaluation_id,
                purpose,
                run_id,
                version_id,
                alias,
                None if data is None else data.snapshot_id,
                int(passed),
                len(results),
                n_failed,
                json.dumps(_json_safe(inputs)),
                notebook_path,
                now,
            ),
        )
        conn.executemany(
            "INSERT INTO gate_results (evaluation_id, seq, kind, rule, passed, actual, expected,"
            " detail, exact, drift_report_id, groups) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    evaluation_id,
                    seq,
                    r.kind,
                    r.rule,
                    int(r.passed),
                    json.dumps(_json_safe(r.actual)),
                    r.expected,
                    r.detail,
                    int(r.exact),
                    r.drift_report_id,
                    json.dumps([t.to_dict() for t in r.groups]) if r.groups else None,
                )
                for seq, r in enumerate(results)
            ],
        )
    return get_evaluation(registry, evaluation_id)


def record_again(registry: Registry, evaluation_id: str, *, run_id: str) -> GateEvaluation:
    """Store the verdict of evaluation ``evaluation_id`` once more, for ``run_id``, now,
    without evaluating anything: a pipeline run whose gate step was taken from the cache
    has the verdict its inputs earned. ``inputs["reused_evaluation"]`` names the original.
    """
    original = registry.query_one(
        "SELECT inputs FROM gate_evaluations WHERE id = ?", (evaluation_id,)
    )
    if original is None:
        raise NotFoundError(f'No gate evaluation "{evaluation_id}"')
    inputs = {**json.loads(original["inputs"]), "reused_evaluation": evaluation_id}
    copy_id = new_id()
    with registry.transaction("the gate evaluation") as conn:
        conn.execute(
            "INSERT INTO gate_evaluations (id, purpose, run_id, model_version_id, alias,"
            " snapshot_id, passed, n_rules, n_failed, inputs, notebook_path, evaluated_at)"
            " SELECT ?, purpose, ?, model_version_id, alias, snapshot_id, passed, n_rules,"
            " n_failed, ?, notebook_path, ? FROM gate_evaluations WHERE id = ?",
            (copy_id, run_id, json.dumps(inputs), time.time(), evaluation_id),
        )
        conn.execute(
            "INSERT INTO gate_results (evaluation_id, seq, kind, rule, passed, actual, expected,"
            " detail, exact, drift_report_id, groups) SELECT ?, seq, kind, rule, passed, actual,"
            " expected, detail, exact, drift_report_id, groups FROM gate_results"
            " WHERE evaluation_id = ?",
            (copy_id, evaluation_id),
        )
    return get_evaluation(registry, copy_id)


def get_evaluation(registry: Registry, evaluation_id: str) -> GateEvaluation:
    """One stored evaluation by id."""
    found = _evaluations(registry, "gate_evaluations.id = ?", [evaluation_id], limit=1)
    if not found:
        raise NotFoundError(f'No gate evaluation with id "{evaluation_id}"')
    return found[0]


def evaluations(
    registry: Registry,
    *,
    run: str | None = None,
    model: str | None = None,
    limit: int = 50,
) -> tuple[GateEvaluation, ...]:
    """Stored evaluations, newest first, optionally of one run or one model's versions."""
    from ..tracking.queries.refs import resolve_run

    conditions: list[str] = ["1"]
    params: list[Any] = []
    if run is not None:
        conditions.append("gate_evaluations.run_id = ?")
        params.append(resolve_run(registry, run))
    if model is not None:
        conditions.append(
            "(models.name = ? OR json_extract(gate_evaluations.inputs, '$.model') = ?)"
        )
        params += [model, model]
    return tuple(_evaluations(registry, " AND ".join(conditions), params, limit=limit))


def _evaluations(
    registry: Registry, condition: str, params: list[Any], *, limit: int
) -> list[GateEvaluation]:
    rows = registry.query(
        "SELECT gate_evaluations.*, runs.name AS run_name, models.name AS model_name,"
        " model_versions.version AS version, snapshots.name AS snapshot_name"
        " FROM gate_evaluations"
        " LEFT JOIN runs ON runs.id = gate_evaluations.run_id"
        " LEFT JOIN model_versions ON model_versions.id = gate_evaluations.model_version_id"
        " LEFT JOIN models ON models.id = model_versions.model_id"
        " LEFT JOIN snapshots ON snapshots.id = gate_evaluations.snapshot_id"
        f" WHERE {condition} ORDER BY gate_evaluations.evaluated_at DESC LIMIT ?",
        [*params, limit],
    )
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    marks = ", ".join("?" for _ in ids)
    lines: dict[str, list[GateResult]] = {}
    for r in registry.query(
        f"SELECT * FROM gate_results WHERE evaluation_id IN ({marks}) ORDER BY evaluation_id, seq",
        ids,
    ):
        lines.setdefault(r["evaluation_id"], []).append(
            GateResult(
                r["rule"],
                r["kind"],
                bool(r["passed"]),
                json.loads(r["actual"]) if r["actual"] else None,
                r["expected"],
                r["detail"],
                bool(r["exact"]),
                r["drift_report_id"],
                tables_from_json(json.loads(r["groups"]) if r["groups"] else None),
            )  # fmt: skip
        )
    found = []
    for row in rows:
        inputs = json.loads(row["inputs"])
        data = inputs.get("data")
        found.append(
            GateEvaluation(
                id=row["id"],
                purpose=row["purpose"],
                passed=bool(row["passed"]),
                results=tuple(lines.get(row["id"], ())),
                run_id=row["run_id"],
                run_name=row["run_name"],
                model=row["model_name"] or inputs.get("model"),
                version=row["version"],
                alias=row["alias"],
                data=None if data is None else DataChecked(**data),
                inputs=inputs,
                evaluated_at=row["evaluated_at"],
            )
        )
    return found
