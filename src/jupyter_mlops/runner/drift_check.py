"""A pipeline's ``drift:VAR`` checks: the current data against its reference profile.

Right after the cell tagged ``drift:VAR`` runs, the step compares ``VAR`` with the
profile of its reference snapshot using :func:`jupyter_mlops.drift.deciding.drift_report`. The
reference is, in this order:

1. the profile written into the pipeline directory at export time
   (``references/VAR.json``), so the check is the same wherever the pipeline runs;
2. the snapshot the tag names (``drift:VAR=SNAPSHOT``, a name or an id) in the registry;
3. the snapshot of ``VAR`` recorded by the notebook run the pipeline was exported from.

The report is stored with the step's run and summarised in the step's result; when its
decision reaches the check's ``stop_on`` (``retrain`` unless the spec or the run says
otherwise) the step stops as a failed gate and nothing downstream runs.

    outcome = run_drift_check(context, spec, frame)
    outcome.decision, outcome.stop          # ("retrain", True)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, MlopsError, NotFoundError, PipelineError
from .spec import DRIFT_STOP_RULES, DriftCheckSpec

if TYPE_CHECKING:
    from ..drift.report import DriftReport
    from ..registry.connection import Registry
    from ..snapshots.profiles import DataProfile
    from .step_api import StepContext

logger = logging.getLogger(__name__)

REFERENCES_DIRNAME = "references"
REFERENCE_FORMAT = "jupyter-mlops/drift-reference"
_STOPS_AT = {"review": ("review", "retrain"), "retrain": ("retrain",), "never": ()}


@dataclass(frozen=True)
class Reference:
    """The profile a check compares with, and where it came from."""

    profile: DataProfile
    snapshot_id: str | None
    name: str
    source: str  # "pipeline directory" | "registry"

    def describe(self) -> str:
        shown = f'snapshot "{self.name}"' + (f" ({self.snapshot_id})" if self.snapshot_id else "")
        return f"{shown}, from the {self.source}"


@dataclass(frozen=True)
class DriftOutcome:
    """What one drift check decided, and whether the pipeline stops."""

    variable: str
    decision: str
    stop: bool
    stop_on: str
    summary: str
    reference: str
    stored_as: str
    report: DriftReport

    def to_dict(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "decision": self.decision,
            "stop": self.stop,
            "stop_on": self.stop_on,
            "summary": self.summary,
            "reference": self.reference,
            "stored_as": self.stored_as,
            "drifted_columns": list(self.report.drifted_columns),
        }


def reference_document(snapshot: Any, snapshot_id: str | None) -> dict[str, Any]:
    """What the exporter writes to ``references/VAR.json`` for a stored snapshot."""
    return {
        "format": REFERENCE_FORMAT,
        "snapshot_id": snapshot_id,
        "name": snapshot.name,
        "fingerprint": snapshot.fingerprint,
        "fingerprint_scheme": snapshot.fingerprint_scheme,
        "n_rows": snapshot.n_rows,
        "profile": snapshot.profile.to_dict(),
    }


def find_reference_snapshot(
    registry: Registry, check: DriftCheckSpec, exported_from_run_id: str | None
) -> str | None:
    """The id of the snapshot ``check`` compares with, in ``registry``, or None."""
    from ..snapshots.store import resolve_snapshot

    if check.reference:
        try:
            return resolve_snapshot(registry, check.reference)
        except NotFoundError:
            return None
    if not exported_from_run_id:
        return None
    row = registry.query_one(
        "SELECT snapshots.id FROM run_snapshots JOIN snapshots"
        " ON snapshots.id = run_snapshots.snapshot_id WHERE run_snapshots.run_id = ?"
        " AND (run_snapshots.variable = ? OR (run_snapshots.variable IS NULL"
        " AND snapshots.name = ?)) ORDER BY snapshots.created_at DESC LIMIT 1",
        (exported_from_run_id, check.variable, check.variable),
    )
    return None if row is None else str(row[0])


def load_reference(
    context: StepContext, check: DriftCheckSpec, exported_from_run_id: str | None
) -> Reference:
    """The reference profile of ``check`` (see the module docstring for the order)."""
    from ..snapshots.profiles import DataProfile

    if check.reference_file:
        path = context.pipeline_dir / check.reference_file
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != REFERENCE_FORMAT:
                raise InvalidInputError(
                    f"{path} is not a drift reference written by jupyter-mlops",
                    hint="Export the notebook again to re-create it.",
                )
            return Reference(
                DataProfile.from_dict(data["profile"]),
                data.get("snapshot_id"),
                str(data.get("name") or check.variable),
                "pipeline directory",
            )
    if context.registry is not None:
        from ..snapshots.store import load_snapshot

        snapshot_id = find_reference_snapshot(context.registry, check, exported_from_run_id)
        if snapshot_id is not None:
            snapshot = load_snapshot(context.registry, snapshot_id)
            return Reference(snapshot.profile, snapshot_id, snapshot.name, "registry")
    wanted = (
        f'the snapshot "{check.reference}"'
        if check.reference
        else f'a snapshot of "{check.variable}" recorded by the notebook run'
        + (f" {exported_from_run_id}" if exported_from_run_id else "")
    )
    raise PipelineError(
        f'Drift check on "{check.variable}" (step "{check.step}") has no reference: {wanted}'
        " is neither in the pipeline directory nor in the registry",
        step=check.step,
        hint=f"Snapshot the reference data in the notebook (%mlops snapshot {check.variable})"
        f" and export again, or name a stored snapshot in the tag: drift:{check.variable}=NAME.",
    )


def run_drift_check(context: StepContext, check: DriftCheckSpec, value: Any) -> DriftOutcome:
    """Compare ``value`` with the reference of ``check``, store the report, decide."""
    import pandas as pd

    from ..drift.deciding import drift_report

    if isinstance(value, pd.Series):
        value = value.to_frame()
    if not isinstance(value, pd.DataFrame):
        raise PipelineError(
            f'Drift check on "{check.variable}": it is a {type(value).__name__}, not a DataFrame',
            step=check.step,
            hint="Tag drift:VAR on the cell that makes the DataFrame VAR.",
        )
    stop_on = context.drift_stop_on or check.stop_on
    if stop_on not in DRIFT_STOP_RULES:
        raise InvalidInputError(
            f'"{stop_on}" is not a drift stop rule',
            hint=f"Use one of: {', '.join(DRIFT_STOP_RULES)}.",
        )
    exported_from = _exported_from(context)
    reference = load_reference(context, check, exported_from)
    report = drift_report(reference.profile, value)
    stored_as = store_drift_report(context, check, report, reference)
    outcome = DriftOutcome(
        variable=check.variable,
        decision=report.decision,
        stop=report.decision in _STOPS_AT[stop_on],
        stop_on=stop_on,
        summary=report.summary(),
        reference=reference.describe(),
        stored_as=stored_as,
        report=report,
    )
    print(f"drift check on {check.variable}: {report.summary()}", flush=True)
    return outcome


def store_drift_report(
    context: StepContext, check: DriftCheckSpec, report: DriftReport, reference: Reference
) -> str:
    """Store ``report`` in the registry's drift reports, linked to the step's run; return
    where, in words. The step's run also gets the tags ``drift.VAR.decision`` and
    ``drift.VAR.report`` (the report's id). A detached step (no registry) writes the
    report as JSON into the working directory instead."""
    if context.registry is None or context.run is None:
        document = {"report": report.to_dict(), "variable": check.variable, "step": check.step}
        target = Path.cwd() / f"drift-{check.step}-{check.variable}.json"
        target.write_text(json.dumps(document, allow_nan=False), encoding="utf-8")
        return str(target)
    from ..drift.store import record_drift_report

    registry, run = context.registry, context.run
    snapshot_id = reference.snapshot_id
    if (
        snapshot_id is not None
        and registry.query_one("SELECT 1 FROM snapshots WHERE id = ?", (snapshot_id,)) is None
    ):
        snapshot_id = None  # a reference bundled from another registry: stored as a profile
    try:
        report_id = record_drift_report(
            registry,
            report,
            reference_name=reference.name,
            current_name=check.variable,
            reference_snapshot_id=snapshot_id,
            reference_kind="snapshot" if snapshot_id else "profile",
            current_kind="dataframe",
            run_id=run.id,
            name=f"{context.pipeline}.{check.step}: {reference.name} vs {check.variable}",
            origin="pipeline",
        )
        run.set_tags({f"drift.{check.variable}.decision": report.decision,
                      f"drift.{check.variable}.report": report_id})  # fmt: skip
        run.flush()
    except MlopsError as exc:
        logger.warning("The drift report on %s was not stored: %s", check.variable, exc)
        return "not stored: " + exc.message
    return f"drift report {report_id}"


def _exported_from(context: StepContext) -> str | None:
    from .spec import PipelineSpec

    try:
        return PipelineSpec.load(context.pipeline_dir).source.exported_from_run_id
    except MlopsError:
        return None
