"""The monitoring view of a served model: its windows over time, drawn.

- a strip of windows, one cell each, coloured by the window's decision (grey: not tested),
  its tooltip the window's line;
- requests and latency p50/p99 per window, and the live metrics of each version;
- a table of the windows, newest first, with the columns a retrain or review names and the
  champion-challenger verdict.

The view is static HTML and SVG (:mod:`.charts`), so a saved or exported notebook keeps it.

    display(MonitorView(report))        # what %mlops monitor shows
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets

from ..serving.monitoring import (
    MonitorReport,
    StoredWindow,
    length_text,
    time_text,
    window_line,
)
from .base import TABLE_STYLE, View
from .charts import INK, line_chart
from .drift import decision_badge

DECISION_COLOURS = {
    "monitor": "var(--jp-success-color1,#4caf50)",
    "review": "var(--jp-warn-color1,#f9a825)",
    "retrain": "var(--jp-error-color1,#d32f2f)",
    None: "var(--jp-layout-color3,#bbb)",
}
STRIP_CELL = 14
MAX_TABLE_ROWS = 48


def monitor_html(report: MonitorReport) -> str:
    """The whole view as HTML."""
    windows = report.windows
    head = (
        f"<h4>Monitoring {html.escape(report.model)}: {len(windows)} window(s) of"
        f" {html.escape(length_text(report.window_seconds))}</h4>"
    )
    if not windows:
        notes = "".join(f"<p>{html.escape(n)}</p>" for n in report.notes)
        return head + (notes or "<p>No prediction is logged yet.</p>")
    decision = report.decision
    parts = [
        head,
        "<p>Newest tested window: "
        + (decision_badge(decision) if decision else "nothing tested yet")
        + f"; {report.computed} window(s) computed now.</p>",
        "<p>Decisions, oldest first: "
        + html.escape(" · ".join(w.decision or "not tested" for w in windows[-60:]))
        + "</p>",
        strip_svg(windows),
        '<div style="display:flex;flex-wrap:wrap;gap:8px">',
        latency_chart(windows),
        metrics_chart(windows),
        "</div>",
        windows_table(windows),
    ]
    parts += [f"<p>{html.escape(note)}</p>" for note in report.notes]
    if report.retrain is not None:
        parts.append(f"<p><b>Retraining:</b> {html.escape(report.retrain.message)}</p>")
    return "".join(parts)


def strip_svg(windows: tuple[StoredWindow, ...]) -> str:
    """One coloured cell per window, oldest on the left, after the word "decisions"."""
    shown = windows[-60:]
    left = 64
    width = left + STRIP_CELL * len(shown) + 2
    cells = [
        f'<text x="0" y="14" font-weight="bold" fill="{INK}" style="font-size:11px">'
        "decisions</text>"
    ]
    for index, window in enumerate(shown):
        colour = DECISION_COLOURS.get(window.decision, DECISION_COLOURS[None])
        cells.append(
            f'<rect class="mlops-monitor-window" data-decision="{window.decision or "untested"}"'
            f' x="{left + index * STRIP_CELL}" y="1" width="{STRIP_CELL - 2}" height="18"'
            f' fill="{colour}"><title>{html.escape(window_line(window))}</title></rect>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img"'
        f' aria-label="decision per window">{"".join(cells)}</svg>'
    )


def latency_chart(windows: tuple[StoredWindow, ...]) -> str:
    """Latency p50 and p99 per window, against the time since the first window."""
    at, x_label = _time_axis(windows)
    return line_chart(
        {
            "p50 ms": [(at(w), w.latency_p50_ms) for w in windows],
            "p99 ms": [(at(w), w.latency_p99_ms) for w in windows],
        },
        title="latency",
        x_label=x_label,
    )


def metrics_chart(windows: tuple[StoredWindow, ...]) -> str:
    """The first live metric of each version per window (accuracy, or RMSE)."""
    at, x_label = _time_axis(windows)
    series: dict[str, list[tuple[float, float | None]]] = {}
    for window in windows:
        for version, values in sorted(window.metrics.items()):
            if values:
                metric, value = next(iter(values.items()))
                series.setdefault(f"v{version} {metric}", []).append((at(window), value))
    return line_chart(series, title="live metrics (labelled rows)", x_label=x_label)


def windows_table(windows: tuple[StoredWindow, ...]) -> str:
    rows = []
    for window in list(reversed(windows))[:MAX_TABLE_ROWS]:
        decision = decision_badge(window.decision) if window.decision else "not tested"
        moved = ", ".join(window.retrain_columns) or ", ".join(window.review_columns)
        if window.fairness_failed:
            moved = "; ".join(filter(None, [moved, "unfair: " + "; ".join(window.fairness_failed)]))
        metrics = "; ".join(
            f"v{version}: " + ", ".join(f"{k} {v:.3f}" for k, v in values.items())
            for version, values in sorted(window.metrics.items())
        )
        comparison = (window.comparison or {}).get("verdict", "")
        latency = (
            ""
            if window.latency_p50_ms is None or window.latency_p99_ms is None
            else f"{window.latency_p50_ms:.1f} / {window.latency_p99_ms:.1f}"
        )
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{cell}</td>"
                for cell in (
                    html.escape(time_text(window.start, window.window_seconds)),
                    str(window.n_predictions),
                    str(window.n_labelled),
                    html.escape(str(window.version or "")),
                    decision,
                    html.escape(moved or window.note),
                    latency,
                    html.escape(metrics),
                    html.escape(str(comparison)),
                )
            )
            + "</tr>"
        )
    header = "".join(
        f"<th>{name}</th>"
        for name in (
            "window (UTC)", "rows", "labelled", "version", "decision", "columns",
            "latency p50 / p99 ms", "live metrics", "challenger",
        )
    )  # fmt: skip
    return f'<table class="mlops-table"><tr>{header}</tr>{"".join(rows)}</table>'


class MonitorView(View):
    """A model's monitoring windows (what :func:`..serving.monitoring.monitor_model` gives)."""

    def __init__(self, report: MonitorReport) -> None:
        self.report = report
        super().__init__([widgets.HTML(TABLE_STYLE + self.static_html())])

    def static_html(self) -> str:
        return monitor_html(self.report)


def _time_axis(windows: tuple[StoredWindow, ...]) -> tuple[Callable[[StoredWindow], float], str]:
    """Where a window goes on the x axis (the time since the first window, in the unit its
    length reads best in) and the axis's label."""
    origin, length = windows[0].start, windows[0].window_seconds
    unit, size = next(
        (u, s) for u, s in (("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1))
        if length >= s
    )  # fmt: skip
    return (
        lambda window: (window.start - origin) / size,
        f"{unit} since {time_text(origin, length)} UTC",
    )
