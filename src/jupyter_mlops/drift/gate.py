"""Drift checks as gate lines: a gate that stops when the data has moved too far.

A drift line compares current data with a reference (see :mod:`jupyter_mlops.drift.checks`
for the forms each side takes), stores the report, and passes when the report's decision is
below ``fail_on`` and no critical column changed:

=================  ====================================================================
``fail_on``        the line fails when
=================  ====================================================================
``"retrain"``      the decision is retrain (the default: review is a note, not a stop)
``"review"``       the decision is review or retrain
=================  ====================================================================

and in either case when a column named ``critical`` has any decision but monitor.

    mlops.check(["accuracy >= 0.85"], drift=("train", todays_df))
    mlops.check(drift=DriftGate("train", todays_df, critical=["amount"], fail_on="review"))
    mlops.check(drift=mlops.check_drift("train", todays_df))    # a report already made
    mlops.promote("churn@4", alias="champion", drift=("churn@4", "data/today.parquet"))

The line reads ``drift(train, todays_df) < retrain``; its actual value is the decision, its
detail the report's summary, and it points at the stored report (``drift_report_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInputError
from ..gates.records import GateResult
from ..registry.connection import Registry
from .checks import run_drift_check, split_names
from .report import DECISIONS, DriftReport
from .store import StoredDriftReport, get_drift_report, record_drift_report

FAIL_ON = ("retrain", "review")
"""The decisions a drift line can be set to fail from."""


@dataclass(frozen=True, eq=False)
class DriftGate:
    """A drift check that a gate must pass: the two sides, or a report already made.

    ``reference``/``current`` take what :func:`~jupyter_mlops.drift.checks.run_drift_check`
    takes; ``reference_name``/``current_name`` label them (a variable's name, say).
    ``critical`` columns fail the line on any change; ``fail_on`` is ``"retrain"`` (default)
    or ``"review"``; ``columns`` and ``alpha`` are the check's own settings. Give ``report``
    (a :class:`StoredDriftReport` or a :class:`DriftReport`) instead of the two sides to judge
    a report already made; its critical columns were chosen when it was made.

        DriftGate("train", todays_df, critical=["amount"], fail_on="review")
    """

    reference: Any = None
    current: Any = None
    critical: tuple[str, ...] = ()
    fail_on: str = "retrain"
    columns: tuple[str, ...] | None = None
    alpha: float = 0.05
    reference_name: str | None = None
    current_name: str | None = None
    report: StoredDriftReport | DriftReport | None = field(default=None)

    def __post_init__(self) -> None:
        if self.fail_on not in FAIL_ON:
            raise InvalidInputError(
                f"fail_on {self.fail_on!r} is not one of {', '.join(FAIL_ON)}",
                hint='"retrain" stops only on retrain; "review" stops on review too.',
            )
        critical = split_names(self.critical) if self.critical else ()
        object.__setattr__(self, "critical", critical or ())
        object.__setattr__(self, "columns", split_names(self.columns))
        if self.report is not None:
            if not isinstance(self.report, (StoredDriftReport, DriftReport)):
                raise InvalidInputError(
                    f"report= takes a drift report, not {type(self.report).__name__}",
                    hint="Pass what mlops.check_drift() returns, or give reference and current.",
                )
            if self.reference is not None or self.current is not None or self.critical:
                raise InvalidInputError(
                    "A drift gate takes either a report or the data to compare, not both",
                    hint="Critical columns are chosen when the report is made: "
                    "mlops.check_drift(ref, cur, critical=[...]).",
                )
        elif self.reference is None or self.current is None:
            raise InvalidInputError(
                "A drift gate needs both the reference and the current data",
                hint='For example DriftGate("train", todays_df), or drift=("train", todays_df).',
            )


def drift_gates(value: Any) -> tuple[DriftGate, ...]:
    """The drift lines ``drift=`` asks for: a :class:`DriftGate`, a ``(reference, current)``
    pair, a report, or a list of those; ``None`` or ``()`` for none.

        drift_gates(("train", df))      # (DriftGate(reference='train', current=df),)
    """
    if value is None:
        return ()
    if isinstance(value, DriftGate):
        return (value,)
    if isinstance(value, (StoredDriftReport, DriftReport)):
        return (DriftGate(report=value),)
    if isinstance(value, (list, tuple)):
        if not value:
            return ()
        single = (
            isinstance(value, tuple)
            and len(value) == 2
            and not any(
                isinstance(item, (DriftGate, StoredDriftReport, DriftReport, list, tuple))
                for item in value
            )
        )
        if single:
            return (DriftGate(value[0], value[1]),)
        return tuple(gate for item in value for gate in drift_gates(item))
    raise InvalidInputError(
        f"drift= takes a (reference, current) pair, a DriftGate or a drift report, not "
        f"{type(value).__name__}",
        hint='For example drift=("train", todays_df).',
    )


def split_sides(text: str) -> tuple[str, str]:
    """``REF:CUR`` as the magics and the command line write a drift gate.

    The split is at the first colon that does not start a Windows path (``C:\\``).

        split_sides("train:data/today.csv")     # ('train', 'data/today.csv')
    """
    start = 0
    while True:
        colon = text.find(":", start)
        if colon < 0:
            raise InvalidInputError(
                f'--drift "{text}" is not of the form REFERENCE:CURRENT',
                hint="For example --drift train:todays_df (a snapshot and a variable or file).",
            )
        drive = colon == 1 and text[:1].isalpha() and text[2:3] in ("\\", "/")
        if not drive:
            break
        start = colon + 1
    reference, current = text[:colon].strip(), text[colon + 1 :].strip()
    if not reference or not current:
        raise InvalidInputError(
            f'--drift "{text}" leaves a side empty',
            hint="Name both: --drift REFERENCE:CURRENT.",
        )
    return reference, current


def drift_results(
    registry: Registry,
    gates: Sequence[DriftGate],
    *,
    run_id: str | None = None,
    model: str | None = None,
    notebook_path: str | None = None,
) -> list[GateResult]:
    """Make (or take) each gate's report, store it, and judge it as a gate line.

    Reports made here are linked to ``run_id`` and to the model version ``model`` names
    (``churn@4``), and stored with origin ``gate``.
    """
    results = []
    for gate in gates:
        stored = _report_of(registry, gate, run_id, model, notebook_path)
        results.append(judge(stored, gate.fail_on))
    return results


def judge(stored: StoredDriftReport, fail_on: str = "retrain") -> GateResult:
    """The gate line of a stored report: passed when its decision is below ``fail_on`` and no
    critical column changed."""
    report = stored.report
    allowed = DECISIONS[: DECISIONS.index(fail_on)]
    passed = report.decision in allowed and report.gate_passed
    expected = " or ".join(allowed)
    if report.critical:
        expected += f"; critical {', '.join(report.critical)}: monitor"
    record = stored.record
    return GateResult(
        rule=f"drift({record.reference_name}, {record.current_name}) < {fail_on}",
        kind="drift",
        passed=passed,
        actual=report.decision,
        expected=expected,
        detail=f"report {stored.id}: {report.summary()}",
        drift_report_id=stored.id,
    )


def _report_of(
    registry: Registry,
    gate: DriftGate,
    run_id: str | None,
    model: str | None,
    notebook_path: str | None,
) -> StoredDriftReport:
    if isinstance(gate.report, StoredDriftReport):
        return gate.report
    if isinstance(gate.report, DriftReport):
        report_id = record_drift_report(
            registry,
            gate.report,
            reference_name=gate.reference_name or "reference",
            current_name=gate.current_name or "current",
            run_id=run_id,
            model=model,
            origin="gate",
            notebook_path=notebook_path,
        )
        return get_drift_report(registry, report_id)
    return run_drift_check(
        registry,
        gate.reference,
        gate.current,
        reference_name=gate.reference_name,
        current_name=gate.current_name,
        columns=gate.columns,
        alpha=gate.alpha,
        critical=gate.critical,
        run_id=run_id,
        model=model,
        origin="gate",
        notebook_path=notebook_path,
    )
