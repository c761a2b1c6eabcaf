"""Views of runs: the runs table, one run in tabs, a comparison of runs."""

from __future__ import annotations

import html
from collections.abc import Mapping

import ipywidgets as widgets

from ..tracking.formatting import (
    DOWNSAMPLED_EXPLANATION,
    children_text,
    downsampled_note,
    duration,
    timestamp,
)
from ..tracking.queries.artifacts import ArtifactPreview
from ..tracking.queries.records import Comparison, RunDetail
from ..tracking.reproductions import ReproductionRecord
from .artifacts import artifacts_html
from .base import TABLE_STYLE, View, table, text
from .charts import line_chart
from .runs_table import RunsTableView, runs_table_html

__all__ = ["ComparisonView", "RunView", "RunsTableView", "run_sections", "runs_table_html"]


# -- one run ---------------------------------------------------------------------------------------


def _downsampled(detail: RunDetail, key: str) -> tuple[str, str]:
    """The note of a chart of ``detail``'s curve ``key`` and its tooltip, when the curve
    is a preview; else nothing."""
    if key not in detail.downsampled:
        return "", ""
    return downsampled_note(len(detail.series[key]), detail.points_logged(key)), (
        DOWNSAMPLED_EXPLANATION
    )


def run_sections(
    detail: RunDetail, previews: Mapping[str, ArtifactPreview] | None = None
) -> list[tuple[str, str]]:
    """(title, html) sections describing one run; shared by the widget and its static form.

    ``previews`` (by artifact name) are shown under the list of artifacts.
    """
    run = detail.run
    overview = table(
        ["field", "value"],
        [
            ["name", text(run.name)],
            ["id", f"<code>{html.escape(run.id)}</code>"],
            ["experiment", text(run.experiment)],
            [
                "status",
                f'<span class="mlops-status-{html.escape(run.status)}">'
                f"{html.escape(run.status)}</span>",
            ],
            ["started", timestamp(run.started_at)],
            ["duration", duration(run.duration)],
            ["notebook", text(run.notebook_path)],
            ["note", text(detail.note)],
            ["previous run", text(run.previous_run_id)],
            ["parent run", text(run.parent_run_id)],
            ["children", text(children_text(run.children) or None)],
            [
                "git",
                text(
                    f"{detail.git_commit[:10]}{' (dirty)' if detail.git_dirty else ''}"
                    if detail.git_commit
                    else None
                ),
            ],
            ["error", text(detail.error)],
            ["depended on", text(closure_text(detail))],
            *[["reproduced", reproduction_html(detail, r)] for r in detail.reproductions],
            *[[f"tag {html.escape(k)}", text(v)] for k, v in detail.tags.items()],
        ],
    )
    params = (
        table(
            ["parameter", "value", "source"],
            [[text(p.key), text(p.value), text(p.source)] for p in detail.params],
        )
        if detail.params
        else "<p>No parameters recorded.</p>"
    )
    metrics = (
        table(
            ["metric", "last", "min", "max", "points"],
            [
                [text(m.key), text(m.last), text(m.min), text(m.max), str(m.count)]
                for m in detail.metrics
            ],
            [False, True, True, True, True],
        )
        if detail.metrics
        else "<p>No metrics logged.</p>"
    )
    charts = []
    for key, points in detail.series.items():
        note, why = _downsampled(detail, key)
        charts.append(line_chart({key: list(points)}, title=key, note=note, note_title=why))
    curves = "".join(charts)
    code = (
        "".join(
            f"<div><small>[{c.execution_count if c.execution_count is not None else ' '}]"
            f'</small><div class="mlops-code">{html.escape(c.source)}</div></div>'
            for c in detail.code
        )
        or "<p>No code recorded.</p>"
    )
    if detail.closure is not None and detail.closure.cells:
        earlier = "".join(
            f"<div><small>[{c.execution_count}]</small>"
            f'<div class="mlops-code">{html.escape(c.source)}</div></div>'
            for c in detail.closure.cells
        )
        code = (
            "<p><b>The earlier cells it depended on</b>, as they ran:</p>"
            f"{earlier}<p><b>Its own cells:</b></p>{code}"
        )
    snapshots = (
        table(
            ["name", "role", "variable", "rows", "columns", "fingerprint", "stored"],
            [
                [
                    text(s.name),
                    text(s.role),
                    text(s.variable),
                    str(s.n_rows),
                    str(s.n_columns),
                    f"<code>{html.escape(s.fingerprint[:16])}</code>",
                    "yes" if s.materialized else "no",
                ]
                for s in detail.snapshots
            ],
        )
        if detail.snapshots
        else "<p>No data snapshots.</p>"
    )
    if detail.environment:
        env = detail.environment
        environment = table(
            ["package", "version"],
            [
                ["python", text(env["python"])],
                ["platform", text(env["platform"])],
                *[[text(k), text(v)] for k, v in env["packages"].items()],
            ],
        )
    else:
        environment = "<p>No environment recorded.</p>"
    return [
        ("Overview", overview),
        ("Parameters", params),
        ("Metrics", metrics + curves),
        ("Code", code),
        ("Data", snapshots),
        ("Artifacts", artifacts_html(detail.artifacts, previews)),
        ("Environment", environment),
    ]


def closure_text(detail: RunDetail) -> str | None:
    """What the run's closure holds, in words; None when none was recorded."""
    closure = detail.closure
    if closure is None:
        return None
    cells, files = len(closure.cells), len(closure.files)
    words = f"{cells} earlier cell{'s' * (cells != 1)}"
    if files:
        words += f", {files} file{'s' * (files != 1)} ({', '.join(f.path for f in closure.files)})"
    if closure.unresolved:
        words += f"; bound by no earlier cell: {', '.join(closure.unresolved)}"
    return words


def reproduction_html(detail: RunDetail, record: ReproductionRecord) -> str:
    """One reproduction of (or by) the run, with its verdict as a badge."""
    badge = {"parity": "finished", "mismatch": "failed", "failed": "failed"}.get(
        record.status, "running"
    )
    if record.original_run_id == detail.run.id:
        other = f"as run {record.run_id[:12]}" if record.run_id else "no run recorded"
    else:
        other = f"of run {record.original_run_id[:12]} (this run is the reproduction)"
    return (
        f'<span class="mlops-status-{badge}">{html.escape(record.status)}</span> '
        f"{timestamp(record.started_at)}, {html.escape(record.environment)} environment,"
        f" {html.escape(other)}: {html.escape(record.summary)}"
    )


class RunView(View):
    """One run in tabs: overview, parameters, metrics with curves, code, data, environment."""

    def __init__(
        self, detail: RunDetail, previews: Mapping[str, ArtifactPreview] | None = None
    ) -> None:
        self.detail = detail
        self.previews = previews
        sections = run_sections(detail, previews)
        tabs = widgets.Tab(children=[widgets.HTML(TABLE_STYLE + body) for _, body in sections])
        for index, (title, _) in enumerate(sections):
            tabs.set_title(index, title)
        header = widgets.HTML(
            f"<b>Run {html.escape(detail.run.name)}</b> "
            f"<code>{html.escape(detail.run.id)}</code> — "
            f"{html.escape(detail.run.status)}"
        )
        super().__init__([header, tabs])

    def static_html(self) -> str:
        return "".join(
            f"<h4>{html.escape(title)}</h4>{body}"
            for title, body in run_sections(self.detail, self.previews)
        )


# -- comparisons -------------------------------------------------------------------------------------


def comparison_sections(comparison: Comparison) -> list[tuple[str, str]]:
    labels = [f"{d.run.name} ({d.run.id[:6]})" for d in comparison.runs]
    param_rows = [[text(key), *[text(v) for v in values]] for key, values, _ in comparison.params]
    param_classes = ["mlops-diff" if differs else "" for _, _, differs in comparison.params]
    params = (
        table(["parameter", *labels], param_rows, row_classes=param_classes)
        if comparison.params
        else "<p>No parameters recorded.</p>"
    )
    metrics = (
        table(
            ["metric", *labels],
            [[text(key), *[text(v) for v in values]] for key, values in comparison.metrics],
            [False, *[True] * len(labels)],
        )
        if comparison.metrics
        else "<p>No metrics.</p>"
    )
    keys = sorted({key for d in comparison.runs for key in d.series})
    charts = []
    for key in keys:
        note, why = _overlay_downsampled(comparison, labels, key)
        overlaid = {
            label: list(d.series[key])
            for label, d in zip(labels, comparison.runs)
            if key in d.series
        }
        charts.append(line_chart(overlaid, title=key, note=note, note_title=why))
    curves = "".join(charts)
    differing = len(comparison.differing_params)
    return [
        (f"Parameters ({differing} differ)", params),
        ("Metrics", metrics),
        ("Curves", curves or "<p>No metric series to overlay.</p>"),
    ]


def _overlay_downsampled(comparison: Comparison, labels: list[str], key: str) -> tuple[str, str]:
    """The note of the overlay of curve ``key`` and its tooltip, when some of its curves
    are previews; else nothing."""
    drawn = [(label, d) for label, d in zip(labels, comparison.runs) if key in d.series]
    previews = [(label, d) for label, d in drawn if key in d.downsampled]
    if not previews:
        return "", ""
    each = "; ".join(
        f"{label}: {downsampled_note(len(d.series[key]), d.points_logged(key))}"
        for label, d in previews
    )
    return f"downsampled: {len(previews)} of {len(drawn)} curves", (
        f"{each}. {DOWNSAMPLED_EXPLANATION}"
    )


class ComparisonView(View):
    """Runs side by side: differing parameters highlighted, metrics, overlaid curves."""

    def __init__(self, comparison: Comparison) -> None:
        self.comparison = comparison
        sections = comparison_sections(comparison)
        tabs = widgets.Tab(children=[widgets.HTML(TABLE_STYLE + body) for _, body in sections])
        for index, (title, _) in enumerate(sections):
            tabs.set_title(index, title)
        super().__init__([tabs])

    def static_html(self) -> str:
        return "".join(
            f"<h4>{html.escape(t)}</h4>{b}" for t, b in comparison_sections(self.comparison)
        )
