"""The drift view: what to do, which columns drifted and why, and how each one changed.

    DriftView(run_drift_check(registry, "train", todays_df))      # a stored report
    DriftView(drift_report(train_df, todays_df))                   # or one just computed

It shows the decision in words and colour, the columns sorted by severity with their test,
statistic, adjusted p, effect (and how it is measured), PSI, null rates, verdict and reason,
then one chart per column: reference and current overlaid, on the report's shared bins for
numbers, as bars for categories. The widget and the static fallback are the same escaped HTML,
so a notebook saved as HTML keeps the whole report.
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from ..drift.report import ColumnDrift, DriftReport
from ..drift.store import DriftReportRecord, StoredDriftReport
from ..errors import InvalidInputError
from ..tracking.formatting import figure, percent, timestamp
from .base import TABLE_STYLE, View, table, text
from .charts import bar_chart, histogram
from .styles import WARN, badge_style

MAX_CHARTS = 60
"""Charts drawn per report, most severe columns first; the stored report keeps every column."""

DECISION_WORDS = {
    "monitor": "Monitor: no column changed materially. Keep watching new data.",
    "review": "Review: some columns changed. Have a person look before relying on the model.",
    "retrain": "Retrain: the data changed significantly and materially. Retrain on recent data.",
}


DRIFT_STYLE = (
    "<style>.mlops-drift-decision{display:inline-block;padding:4px 10px;margin:4px 0;"
    "border-radius:4px;font-weight:600;border:1px solid currentColor}"
    + "".join(
        f".mlops-drift-{decision}{{{badge_style(decision)}}}"
        for decision in ("monitor", "review", "retrain")
    )
    + ".mlops-badge{display:inline-block;padding:0 5px;border-radius:8px;font-weight:600;"
    "font-size:var(--jp-ui-font-size0,11px)}"
    ".mlops-caption{margin:6px 0 2px 0}.mlops-detail{color:var(--jp-ui-font-color2,#666)}"
    f".mlops-drift-note{{border-left:3px solid {WARN};padding-left:6px;margin:2px 0}}"
    ".mlops-drift-charts{display:flex;flex-wrap:wrap;gap:4px 12px;margin-top:6px}"
    ".mlops-drift-charts details{min-width:330px}"
    ".mlops-drift-charts summary{cursor:pointer;font-size:12px}"
    ".mlops-reason{white-space:normal;min-width:260px;max-width:520px}"
    "</style>"
)


def decision_badge(decision: str) -> str:
    return f'<span class="mlops-badge mlops-drift-{html.escape(decision)}">{html.escape(decision)}</span>'


def decision_html(decision: str) -> str:
    """The decision in words and colour: the first thing the view shows."""
    words = DECISION_WORDS.get(decision, decision)
    return f'<div class="mlops-drift-decision mlops-drift-{html.escape(decision)}">{html.escape(words)}</div>'


def caption_html(report: DriftReport, record: DriftReportRecord | None) -> str:
    """What was compared with what, how much drifted, the critical columns, and the links."""
    reference = record.reference_name if record else "reference"
    current = record.current_name if record else "current"
    kind = f" ({html.escape(record.reference_kind)})" if record else ""
    parts = [
        f"<b>{html.escape(reference)}</b>{kind}, {report.n_reference:,} rows → "
        f"<b>{html.escape(current)}</b>, {report.n_current:,} rows",
        f"{len(report.drifted_columns)} of {len(report.columns)} columns drifted",
    ]
    if report.null_drifted_columns:
        parts.append(f"null rate changed in {len(report.null_drifted_columns)}")
    if report.critical:
        failed = report.failed_critical
        parts.append(
            "critical columns unchanged"
            if not failed
            else f"critical columns changed: {html.escape(', '.join(failed))}"
        )
    parts.append(
        f"α {report.alpha:g} ({html.escape(report.correction)}), effect ≥ "
        f"{report.effect_threshold:g}, retrain at p ≤ {report.retrain_alpha:g}"
    )
    if record is not None:
        if record.run_id:
            parts.append(f"run {text(record.run_name)} <code>{html.escape(record.run_id)}</code>")
        if record.model_ref:
            parts.append(f"model <b>{html.escape(record.model_ref)}</b>")
        parts.append(
            f"report <code>{html.escape(record.id)}</code> · {timestamp(record.created_at)}"
        )
    return f'<div class="mlops-caption">{" · ".join(parts)}</div>'


def notes_html(report: DriftReport) -> str:
    notes = []
    if report.subsampled:
        notes.append(
            f"Subsampled to {report.n_reference_used:,} reference and {report.n_current_used:,} "
            f"current rows (at most {report.max_rows:,} a side, seed {report.seed}); the tests ran "
            "on the sample."
        )
    if report.reference_source == "profile":
        notes.append(
            "The reference is a stored profile: numbers are tested against its sample, "
            "categories against its counts."
        )
    return "".join(f'<div class="mlops-drift-note">{html.escape(n)}</div>' for n in notes)


def columns_table_html(columns: Sequence[ColumnDrift]) -> str:
    """The columns in the order given (most severe first), with every figure behind each
    verdict."""
    rows = []
    for col in columns:
        name = html.escape(col.column) + (
            ' <span class="mlops-detail" title="critical column">★ critical</span>'
            if col.critical
            else ""
        )
        effect = (
            f'{figure(col.effect)} <span class="mlops-detail">{html.escape(col.effect_name)}</span>'
            if col.effect_name
            else figure(col.effect)
        )
        nulls = (
            f"{percent(col.null_rate_ref)} → {percent(col.null_rate_cur)}"
            if col.null_rate_ref or col.null_rate_cur
            else ""
        )
        rows.append(
            [
                name,
                text(col.kind),
                decision_badge(col.decision),
                text(col.verdict),
                text(col.test),
                figure(col.statistic),
                figure(col.p_adjusted),
                effect,
                figure(col.psi),
                nulls,
                percent(col.unseen_share) if col.unseen_share else "",
                f'<div class="mlops-detail mlops-reason">{html.escape(col.reason)}</div>',
            ]
        )
    headers = [
        "column", "kind", "decision", "verdict", "test", "statistic", "p adjusted", "effect",
        "PSI", "nulls ref → cur", "unseen", "reason",
    ]  # fmt: skip
    numeric = [False, False, False, False, False, True, True, True, True, True, True, False]
    return table(headers, rows, numeric)


def _date_label(seconds: float) -> str:
    try:
        return _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):
        return f"{seconds:.3g}"


def column_chart(col: ColumnDrift) -> str:
    """Reference against current for one column: a histogram on the shared bins, or bars."""
    if col.bins and len(col.bins) == len(col.ref_shares) + 1:
        tick: Callable[[float], str] | None = _date_label if col.kind == "datetime" else None
        return histogram(
            col.bins,
            {"reference": col.ref_shares, "current": col.cur_shares},
            tick_format=tick,
        )
    if col.labels and len(col.labels) == len(col.ref_shares):
        return bar_chart(
            {
                "reference": list(zip(col.labels, col.ref_shares)),
                "current": list(zip(col.labels, col.cur_shares)),
            },
            width=320,
            height=180,
            normalise=False,
        )
    return ""


def charts_html(ordered: Sequence[ColumnDrift], limit: int = MAX_CHARTS) -> str:
    """One folding chart per column in the order given (most severe first); the flagged ones
    open."""
    parts = []
    for col in ordered[:limit]:
        chart = column_chart(col)
        body = chart or (
            f'<div class="mlops-detail" style="width:320px">No chart: {html.escape(col.reason)}</div>'
        )
        opened = " open" if col.decision != "monitor" or len(ordered) <= 6 else ""
        parts.append(
            f"<details{opened}><summary><b>{html.escape(col.column)}</b> "
            f"{decision_badge(col.decision)} {html.escape(col.verdict)}</summary>{body}</details>"
        )
    more = ""
    if len(ordered) > limit:
        more = (
            f'<div class="mlops-detail">Charts of the {limit} most severe of {len(ordered)} '
            "columns; the stored report keeps every column.</div>"
        )
    return f'<div class="mlops-drift-charts">{"".join(parts)}</div>{more}'


def drift_html(report: DriftReport, record: DriftReportRecord | None = None) -> str:
    """The whole view as HTML: decision, caption, notes, table and charts."""
    if not report.columns:
        return decision_html(report.decision) + "<p>No columns were compared.</p>"
    return (
        DRIFT_STYLE
        + decision_html(report.decision)
        + caption_html(report, record)
        + notes_html(report)
        + columns_table_html(report.by_severity())
        + charts_html(report.by_severity())
    )


class DriftView(View):
    """A drift report: a stored one (with what it compared and its links) or one just computed."""

    def __init__(self, report: StoredDriftReport | DriftReport) -> None:
        self.record: DriftReportRecord | None
        if isinstance(report, StoredDriftReport):
            self.report, self.record = report.report, report.record
        elif isinstance(report, DriftReport):
            self.report, self.record = report, None
        else:
            raise InvalidInputError(
                f"DriftView shows a drift report, not {type(report).__name__}",
                hint="Pass what mlops.check_drift() or drift_report() returns.",
            )
        super().__init__([widgets.HTML(TABLE_STYLE + self.static_html())])

    def static_html(self) -> str:
        return drift_html(self.report, self.record)


def drift_report_bundle(report: StoredDriftReport) -> dict[str, Any]:
    """A stored report's display bundle: the drift view's static form, its ``repr`` first.

    The extension registers it with IPython's display formatter, so that a report a
    cell returns shows as the drift view without the core importing a widget. The view
    has nothing to interact with, so the static form is the whole of it, and it survives
    an export to HTML whether or not the notebook saved widget state.
    """
    from .static import static_bundle

    bundle: dict[str, Any] = static_bundle(drift_html(report.report, report.record))
    bundle["text/plain"] = f"{report!r}\n{bundle['text/plain']}"
    return bundle
