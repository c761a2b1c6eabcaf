"""Drift reports in the registry: store a :class:`~jupyter_mlops.drift.report.DriftReport`, read it back.

A stored report keeps what was compared (the reference and current data by name, and the
snapshot ids when they were stored snapshots), the run that was active and the model version
it was checked for, its settings, sizes and decision, one row per column in ``drift_columns``
(test, figures, verdict, reason: queryable without parsing JSON) and the full report as JSON,
from which :func:`get_drift_report` rebuilds the exact :class:`DriftReport`, drawing data
included.

    report = drift_report(train_profile, todays_df, critical=["amount"])
    report_id = record_drift_report(
        registry, report, reference_name="train", current_name="todays_df",
        reference_snapshot_id=snapshot_id, run_id=run.id, model="churn@3",
    )
    stored = get_drift_report(registry, report_id)
    stored.decision, stored.record.model, stored.report.column("amount").verdict
    drift_reports(registry, model="churn", decision="retrain")     # newest first

Writing is one transaction (the report row and its column rows together). Reading never
needs scipy or pandas, except :func:`drift_reports_frame`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, NotFoundError
from ..registry.connection import Registry
from ..tracking.values import new_id
from .report import DECISIONS, ColumnDrift, DriftReport

if TYPE_CHECKING:
    import pandas as pd

    from ..models.versions import ModelVersion

logger = logging.getLogger(__name__)

ORIGINS = ("notebook", "python", "cli", "gate", "pipeline", "monitor")
"""Who asked for a report: a magic, the Python API, the command line, a gate, a pipeline step."""

REFERENCE_KINDS = ("snapshot", "dataframe", "file", "profile")
CURRENT_KINDS = ("dataframe", "file", "snapshot")

_COLUMN_FIELDS = (
    "kind",
    "test",
    "statistic",
    "p_value",
    "p_adjusted",
    "effect",
    "effect_name",
    "psi",
    "null_rate_ref",
    "null_rate_cur",
    "null_p_adjusted",
    "null_effect",
    "unseen_share",
    "n_ref",
    "n_cur",
    "drifted",
    "null_drifted",
    "critical",
    "decision",
    "verdict",
    "reason",
)


@dataclass(frozen=True)
class DriftReportRecord:
    """One stored report as lists show it: what was compared, the decision, the counts.

    ``flagged_columns`` are the columns whose decision is not ``monitor``, worst first.
    ``model``/``version`` name the model version the check was made for, when one was given.
    """

    id: str
    name: str
    decision: str
    gate_passed: bool
    reference_name: str
    reference_kind: str
    reference_snapshot_id: str | None
    current_name: str
    current_kind: str
    current_snapshot_id: str | None
    run_id: str | None
    run_name: str | None
    model: str | None
    version: int | None
    n_columns: int
    n_drifted: int
    n_null_drifted: int
    n_review: int
    n_retrain: int
    n_untested: int
    flagged_columns: tuple[str, ...]
    critical: tuple[str, ...]
    alpha: float
    n_reference: int
    n_current: int
    subsampled: bool
    summary: str
    origin: str
    notebook_path: str | None
    created_at: float

    @property
    def model_ref(self) -> str | None:
        """``churn@3`` when the report is linked to a model version, else ``None``."""
        return None if self.model is None else f"{self.model}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (the panel and ``--json`` output use it)."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["flagged_columns"] = list(self.flagged_columns)
        data["critical"] = list(self.critical)
        data["model_ref"] = self.model_ref
        return data


@dataclass(frozen=True)
class ColumnVerdict:
    """One column of a stored report as lists show it: the decision and what it rests on."""

    column: str
    decision: str
    verdict: str
    reason: str
    test: str
    statistic: float | None
    p_adjusted: float | None
    effect: float | None
    effect_name: str


@dataclass(frozen=True)
class StoredDriftReport:
    """A stored report: its registry record and the full :class:`DriftReport`.

    The common questions are answered directly (``decision``, ``column(name)``,
    ``to_frame()``); in a notebook with the extension loaded it shows as the drift view.

        stored = mlops.check_drift("train", todays_df)
        stored.decision, stored.id, stored.report.drifted_columns
    """

    record: DriftReportRecord
    report: DriftReport

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def decision(self) -> str:
        """``monitor``, ``review`` or ``retrain``: the worst decision of any column."""
        return self.report.decision

    @property
    def gate_passed(self) -> bool:
        """False when a critical column's decision is not ``monitor``."""
        return self.report.gate_passed

    def column(self, name: str) -> ColumnDrift:
        """The verdict of one column (``NotFoundError`` when it was not compared)."""
        return self.report.column(name)

    def summary(self) -> str:
        return self.report.summary()

    def to_frame(self) -> pd.DataFrame:
        """One row per column with every figure (see :meth:`DriftReport.to_frame`)."""
        return self.report.to_frame()

    def to_dict(self) -> dict[str, Any]:
        """The record's fields and, under ``report``, the full report as stored."""
        return {**self.record.to_dict(), "report": self.report.to_dict()}

    def __repr__(self) -> str:
        return (
            f"<StoredDriftReport {self.id} {self.record.name!r}: {self.decision}; "
            f"{self.report.summary()}>"
        )


# -- writing ----------------------------------------------------------------------------------


def record_drift_report(
    registry: Registry,
    report: DriftReport,
    *,
    reference_name: str,
    current_name: str,
    reference_snapshot_id: str | None = None,
    reference_kind: str | None = None,
    current_kind: str = "dataframe",
    current_snapshot_id: str | None = None,
    run_id: str | None = None,
    model: str | None = None,
    version: int | str | None = None,
    name: str | None = None,
    origin: str = "python",
    notebook_path: str | None = None,
) -> str:
    """Store ``report`` with what it compared and return the new report's id.

    ``reference_name``/``current_name`` say what was compared as people know it (a snapshot
    name, a variable, a file); ``reference_snapshot_id`` links a stored snapshot used as the
    reference (``reference_kind`` then defaults to ``snapshot``, else to the report's own
    ``dataframe``/``profile``). ``run_id`` (an id or name) links the run the check belongs
    to, ``model`` a model version: ``"churn@3"``, ``"churn@champion"``, ``"churn"`` (its
    latest version), or ``model="churn", version=3``. ``name`` labels the report (default
    ``"REFERENCE vs CURRENT"``); ``origin`` says who asked (see :data:`ORIGINS`).

        report_id = record_drift_report(registry, report, reference_name="train",
                                        current_name="batch_0412", run_id=run.id)
    """
    if not isinstance(report, DriftReport):
        raise InvalidInputError(
            f"record_drift_report() stores a DriftReport, not {type(report).__name__}",
            hint="Compute one with jupyter_mlops.drift.deciding.drift_report(reference, current).",
        )
    reference_name = _label("reference_name", reference_name)
    current_name = _label("current_name", current_name)
    label = _label("name", name) if name is not None else f"{reference_name} vs {current_name}"
    if reference_kind is None:
        if reference_snapshot_id is not None:
            reference_kind = "snapshot"
        else:
            reference_kind = "dataframe" if report.reference_source == "frame" else "profile"
    _choice("reference_kind", reference_kind, REFERENCE_KINDS)
    _choice("current_kind", current_kind, CURRENT_KINDS)
    _choice("origin", origin, ORIGINS)
    for what, snapshot in (("reference", reference_snapshot_id), ("current", current_snapshot_id)):
        if (
            snapshot is not None
            and registry.query_one("SELECT 1 FROM snapshots WHERE id = ?", (snapshot,)) is None
        ):
            raise NotFoundError(
                f'No snapshot with id "{snapshot}" (given as the {what} of a drift report)',
                hint="Pass the id of a stored snapshot, e.g. mlops.snapshot(df).id.",
            )
    resolved_run = None
    if run_id is not None:
        from ..tracking.queries.refs import resolve_run

        resolved_run = resolve_run(registry, run_id)
    model_version = _model_version(registry, model, version)
    report_id = new_id()
    columns = report.columns
    payload = json.dumps(report.to_dict(), allow_nan=False, separators=(",", ":"))
    with registry.transaction(f'the drift report "{label}"') as conn:
        conn.execute(
            "INSERT INTO drift_reports (id, name, decision, gate_passed, reference_name,"
            " reference_kind, reference_snapshot_id, current_name, current_kind,"
            " current_snapshot_id, run_id, model_version_id, n_columns, n_drifted,"
            " n_null_drifted, n_review, n_retrain, n_untested, alpha, retrain_alpha,"
            " effect_threshold, correction, critical, max_rows, seed, n_reference, n_current,"
            " n_reference_used, n_current_used, subsampled, summary, report, origin,"
            " notebook_path, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                report_id,
                label,
                report.decision,
                int(report.gate_passed),
                reference_name,
                reference_kind,
                reference_snapshot_id,
                current_name,
                current_kind,
                current_snapshot_id,
                resolved_run,
                None if model_version is None else model_version.id,
                len(columns),
                sum(1 for c in columns if c.drifted),
                sum(1 for c in columns if c.null_drifted),
                sum(1 for c in columns if c.decision == "review"),
                sum(1 for c in columns if c.decision == "retrain"),
                sum(1 for c in columns if c.verdict == "not tested"),
                report.alpha,
                report.retrain_alpha,
                report.effect_threshold,
                report.correction,
                json.dumps(list(report.critical)),
                report.max_rows,
                report.seed,
                report.n_reference,
                report.n_current,
                report.n_reference_used,
                report.n_current_used,
                int(report.subsampled),
                report.summary(),
                payload,
                origin,
                notebook_path,
                time.time(),
            ),
        )
        conn.executemany(
            f"INSERT INTO drift_columns (report_id, seq, column_name, {', '.join(_COLUMN_FIELDS)})"
            f" VALUES (?, ?, ?, {', '.join('?' for _ in _COLUMN_FIELDS)})",
            [
                (report_id, seq, col.column, *(_cell(getattr(col, f)) for f in _COLUMN_FIELDS))
                for seq, col in enumerate(columns)
            ],
        )
    logger.info("drift report %s (%s): %s", report_id, label, report.decision)
    return report_id


def _label(what: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(
            f"A drift report's {what} must be non-empty text, not {value!r}",
            hint="Name the data as people know it: a snapshot name, a variable, a file.",
        )
    return value.strip()


def _choice(what: str, value: object, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise InvalidInputError(
            f"{what} {value!r} is not one of {', '.join(allowed)}",
            hint=f"Use one of: {', '.join(allowed)}.",
        )


def _cell(value: Any) -> Any:
    """A column figure as SQLite keeps it: booleans as 0/1, NaN and infinities as NULL."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _model_version(
    registry: Registry, model: str | None, version: int | str | None
) -> ModelVersion | None:
    if model is None:
        if version is not None:
            raise InvalidInputError(
                f"A model version ({version!r}) was given without the model's name",
                hint='Give model="churn", version=3, or model="churn@3".',
            )
        return None
    from ..models.refs import check_model_name
    from ..models.versions import resolve_version

    if version is None:
        return resolve_version(registry, model)
    if "@" in str(model):
        raise InvalidInputError(
            f'model="{model}" already names a version; version={version!r} is one too many',
            hint='Give either model="churn@3" or model="churn", version=3.',
        )
    return resolve_version(registry, f"{check_model_name(model)}@{version}")


# -- reading ----------------------------------------------------------------------------------

_SELECT = (
    "SELECT drift_reports.*, runs.name AS run_name, models.name AS model_name,"
    " model_versions.version AS model_version,"
    " (SELECT group_concat(column_name, char(31)) FROM ("
    "   SELECT column_name FROM drift_columns WHERE report_id = drift_reports.id"
    "   AND decision != 'monitor'"
    "   ORDER BY CASE decision WHEN 'retrain' THEN 0 ELSE 1 END, p_adjusted, seq)"
    " ) AS flagged"
    " FROM drift_reports"
    " LEFT JOIN runs ON runs.id = drift_reports.run_id"
    " LEFT JOIN model_versions ON model_versions.id = drift_reports.model_version_id"
    " LEFT JOIN models ON models.id = model_versions.model_id"
)


def _record(row: Any) -> DriftReportRecord:
    flagged = row["flagged"]
    return DriftReportRecord(
        id=row["id"],
        name=row["name"],
        decision=row["decision"],
        gate_passed=bool(row["gate_passed"]),
        reference_name=row["reference_name"],
        reference_kind=row["reference_kind"],
        reference_snapshot_id=row["reference_snapshot_id"],
        current_name=row["current_name"],
        current_kind=row["current_kind"],
        current_snapshot_id=row["current_snapshot_id"],
        run_id=row["run_id"],
        run_name=row["run_name"],
        model=row["model_name"],
        version=row["model_version"],
        n_columns=row["n_columns"],
        n_drifted=row["n_drifted"],
        n_null_drifted=row["n_null_drifted"],
        n_review=row["n_review"],
        n_retrain=row["n_retrain"],
        n_untested=row["n_untested"],
        flagged_columns=tuple(flagged.split("\x1f")) if flagged else (),
        critical=tuple(json.loads(row["critical"])),
        alpha=row["alpha"],
        n_reference=row["n_reference"],
        n_current=row["n_current"],
        subsampled=bool(row["subsampled"]),
        summary=row["summary"],
        origin=row["origin"],
        notebook_path=row["notebook_path"],
        created_at=row["created_at"],
    )


def get_drift_report(registry: Registry, ref: str = "last") -> StoredDriftReport:
    """The stored report ``ref`` names: its id, ``"last"`` (the newest), or its name (the
    newest of that name). ``NotFoundError`` names what exists when nothing matches.

        stored = get_drift_report(registry, "a3f09c2e71b4")
        stored.report.column("amount").reason
    """
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInputError(
            f"{ref!r} does not name a drift report", hint="Give its id, its name, or 'last'."
        )
    if ref == "last":
        row = registry.query_one(f"{_SELECT} ORDER BY drift_reports.created_at DESC LIMIT 1")
    else:
        row = registry.query_one(f"{_SELECT} WHERE drift_reports.id = ?", (ref,))
        if row is None:
            row = registry.query_one(
                f"{_SELECT} WHERE drift_reports.name = ?"
                " ORDER BY drift_reports.created_at DESC LIMIT 1",
                (ref,),
            )
    if row is None:
        recent = [r[0] for r in registry.query(
            "SELECT id FROM drift_reports ORDER BY created_at DESC LIMIT 5"
        )]  # fmt: skip
        raise NotFoundError(
            f'No drift report with id or name "{ref}"',
            hint=f"Recent reports: {', '.join(recent)}."
            if recent
            else "No drift report is stored yet; check drift with %mlops drift REF CUR.",
        )
    return StoredDriftReport(_record(row), DriftReport.from_dict(json.loads(row["report"])))


def drift_reports(
    registry: Registry,
    *,
    run: str | None = None,
    model: str | None = None,
    reference: str | None = None,
    decision: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[DriftReportRecord, ...]:
    """Stored reports, newest first, without their JSON: what a list or the panel shows.

    ``run`` (an id or name) keeps the reports made in that run; ``model`` those made for a
    model (``"churn"``: any of its versions; ``"churn@3"`` or ``"churn@champion"``: that
    version); ``reference`` those against a snapshot (its name or id) or a reference of that
    name; ``decision`` those with that decision. ``limit``/``offset`` page through them.

        drift_reports(registry, model="churn", decision="retrain", limit=10)
    """
    conditions: list[str] = []
    params: list[Any] = []
    if run is not None:
        from ..tracking.queries.refs import resolve_run

        conditions.append("drift_reports.run_id = ?")
        params.append(resolve_run(registry, run))
    if model is not None:
        from ..models.refs import check_model_name
        from ..models.versions import model_id, resolve_version

        if "@" in model:
            conditions.append("drift_reports.model_version_id = ?")
            params.append(resolve_version(registry, model).id)
        else:
            model_id(registry, check_model_name(model))  # NotFoundError if unknown
            conditions.append("models.name = ?")
            params.append(model)
    if reference is not None:
        conditions.append(
            "(drift_reports.reference_snapshot_id = ? OR drift_reports.reference_name = ?)"
        )
        params += [reference, reference]
    if decision is not None:
        _choice("decision", decision, DECISIONS)
        conditions.append("drift_reports.decision = ?")
        params.append(decision)
    for what, value in (("limit", limit), ("offset", offset)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInputError(
                f"{what} must be a whole number >= 0, not {value!r}", hint="For example limit=50."
            )
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = registry.query(
        f"{_SELECT}{where} ORDER BY drift_reports.created_at DESC, drift_reports.rowid DESC"
        " LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return tuple(_record(row) for row in rows)


def column_verdicts(
    registry: Registry, report_ids: Sequence[str]
) -> dict[str, tuple[ColumnVerdict, ...]]:
    """The columns of each report, worst decision first (then in the report's order),
    read from the column rows without parsing the reports' JSON.

        column_verdicts(registry, [r.id for r in drift_reports(registry, limit=20)])
    """
    found: dict[str, list[ColumnVerdict]] = {report_id: [] for report_id in report_ids}
    ids = list(found)
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        rows = registry.query_tuples(
            "SELECT report_id, column_name, decision, verdict, reason, test, statistic,"
            " p_adjusted, effect, effect_name FROM drift_columns"
            f" WHERE report_id IN ({', '.join('?' for _ in chunk)}) ORDER BY report_id,"
            " CASE decision WHEN 'retrain' THEN 0 WHEN 'review' THEN 1 ELSE 2 END, seq",
            chunk,
        )
        for report_id, *fields in rows:
            found[report_id].append(ColumnVerdict(*fields))
    return {report_id: tuple(columns) for report_id, columns in found.items()}


def drift_reports_frame(
    registry: Registry,
    *,
    run: str | None = None,
    model: str | None = None,
    reference: str | None = None,
    decision: str | None = None,
    limit: int = 50,
) -> pd.DataFrame:
    """:func:`drift_reports` as a DataFrame, one row per report, indexed by id.

    drift_reports_frame(registry, reference="train")[["created", "decision", "flagged"]]
    """
    import pandas as pd

    found = drift_reports(
        registry, run=run, model=model, reference=reference, decision=decision, limit=limit
    )
    columns = [
        "id", "created", "name", "decision", "flagged", "reference", "current", "n_columns",
        "n_drifted", "n_reference", "n_current", "run_name", "model", "critical_passed", "origin",
    ]  # fmt: skip
    rows = [
        {
            "id": r.id,
            "created": pd.Timestamp(r.created_at, unit="s"),
            "name": r.name,
            "decision": r.decision,
            "flagged": ", ".join(r.flagged_columns),
            "reference": r.reference_name,
            "current": r.current_name,
            "n_columns": r.n_columns,
            "n_drifted": r.n_drifted,
            "n_reference": r.n_reference,
            "n_current": r.n_current,
            "run_name": r.run_name,
            "model": r.model_ref,
            "critical_passed": r.gate_passed,
            "origin": r.origin,
        }
        for r in found
    ]
    return pd.DataFrame(rows, columns=columns).set_index("id")
