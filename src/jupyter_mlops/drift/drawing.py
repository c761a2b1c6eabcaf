"""What a view needs to draw stored drift reports: each column's distributions on both sides
and its effect against the report's threshold, read from the reports' JSON in one query.

    drawings = report_drawings(registry, [record.id for record in drift_reports(registry)])
    drawings[report_id].columns[0].bins, drawings[report_id].effect_threshold

The column rows of ``drift_columns`` answer lists and filters; the distributions live only
in the JSON of the whole report, which this reads (no scipy, no pandas).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import MlopsError
from ..registry.connection import Registry
from .report import DriftReport

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ColumnDrawing:
    """One column as drawn: its shares of reference and current data, on ``bins`` (numbers,
    dates as epoch seconds: ``k + 1`` edges, the end bins take the tails) or ``labels``
    (categories), and its effect with how that is measured."""

    column: str
    kind: str
    decision: str
    effect: float | None
    effect_name: str
    p_adjusted: float | None
    bins: tuple[float, ...]
    labels: tuple[str, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]


@dataclass(frozen=True)
class ReportDrawing:
    """A report's thresholds (an effect at or above ``effect_threshold`` is material; an
    adjusted p at or below ``alpha`` significant) and its columns, most severe first."""

    effect_threshold: float
    alpha: float
    retrain_alpha: float
    columns: tuple[ColumnDrawing, ...]


def _drawing(report: DriftReport) -> ReportDrawing:
    return ReportDrawing(
        report.effect_threshold,
        report.alpha,
        report.retrain_alpha,
        tuple(
            ColumnDrawing(
                col.column,
                col.kind,
                col.decision,
                col.effect,
                col.effect_name,
                col.p_adjusted,
                tuple(col.bins),
                tuple(col.labels),
                tuple(col.ref_shares),
                tuple(col.cur_shares),
            )
            for col in report.by_severity()
        ),
    )


def report_drawings(registry: Registry, report_ids: Sequence[str]) -> dict[str, ReportDrawing]:
    """The drawing of each stored report in ``report_ids`` (unknown ids are left out, and so
    is a report whose JSON this version cannot read: its lists still show it).

        report_drawings(registry, ["a3f09c2e71b4"])["a3f09c2e71b4"].columns[0].column
    """
    found: dict[str, ReportDrawing] = {}
    ids = list(dict.fromkeys(report_ids))
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        rows = registry.query_tuples(
            f"SELECT id, report FROM drift_reports WHERE id IN ({', '.join('?' for _ in chunk)})",
            chunk,
        )
        for report_id, text in rows:
            try:
                found[report_id] = _drawing(DriftReport.from_dict(json.loads(text)))
            except (MlopsError, ValueError, TypeError) as exc:
                logger.warning("Drift report %s cannot be drawn: %s", report_id, exc)
    return found
