"""``GET drift``: the newest drift reports with their per-column verdicts, and the charts'
data of the newest ones (see :mod:`.payloads` for the conventions)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..registry.connection import Registry
from .payloads import record_json

if TYPE_CHECKING:
    from ..drift.drawing import ColumnDrawing

DRIFT_REPORT_KEYS = (
    "id", "name", "created_at", "decision", "gate_passed", "reference", "current", "run_id",
    "model", "summary", "subsampled", "columns",
)  # fmt: skip

DRAWN_REPORTS = 10
"""The newest reports whose columns carry their charts' data in ``GET drift``."""


def drift_payload(registry: Registry, limit: int = 50) -> dict[str, Any]:
    """``GET drift``: the newest reports with their per-column verdicts, worst first; the
    newest :data:`DRAWN_REPORTS` also with their thresholds and each column's ``chart``
    (its distributions on both sides)."""
    from ..drift.drawing import report_drawings
    from ..drift.store import column_verdicts, drift_reports

    records = drift_reports(registry, limit=limit)
    columns = column_verdicts(registry, [record.id for record in records])
    drawings = report_drawings(registry, [record.id for record in records[:DRAWN_REPORTS]])
    reports = []
    for record in records:
        drawing = drawings.get(record.id)
        charts = {column.column: column for column in drawing.columns} if drawing else {}
        thresholds = (
            {
                "effect_threshold": drawing.effect_threshold,
                "alpha": drawing.alpha,
                "retrain_alpha": drawing.retrain_alpha,
            }
            if drawing
            else {}
        )
        entry = record_json(
            record,
            DRIFT_REPORT_KEYS,
            reference=record.reference_name,
            current=record.current_name,
            model=record.model_ref,
            columns=[
                record_json(column, chart=_chart_json(charts.get(column.column)))
                for column in columns[record.id]
            ],
        )
        reports.append({**entry, **thresholds})
    return {"reports": reports}


def _chart_json(drawing: ColumnDrawing | None) -> dict[str, Any] | None:
    if drawing is None:
        return None
    return {
        "kind": drawing.kind,
        "bins": list(drawing.bins),
        "labels": list(drawing.labels),
        "reference": list(drawing.reference),
        "current": list(drawing.current),
    }
