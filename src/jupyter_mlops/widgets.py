"""ipywidgets views of what the core returns: run tables, one run, comparisons.

Each view is a widget that also carries a static HTML rendering, so a notebook
exported to HTML, or opened where widgets do not run, still shows the table and the
curves. Every name and value from the registry is escaped before it is put in HTML.

    RunsTableView(list_runs(registry, limit=50))
    RunView(run_detail(registry, "baseline"))
    ComparisonView(compare(registry, ["baseline", "tuned"]))
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from .queries import Comparison, RunDetail, RunRow, RunsPage
from .svg import line_chart

_TABLE_STYLE = (
    "<style>.mlops-table{border-collapse:collapse;font-size:12px;margin:4px 0}"
    ".mlops-table th,.mlops-table td{padding:3px 8px;border-bottom:1px solid "
    "var(--jp-border-color2,#ddd);text-align:left;white-space:nowrap}"
    ".mlops-table th{font-weight:600}.mlops-table td.num{text-align:right;"
    "font-variant-numeric:tabular-nums}.mlops-diff{background:var(--jp-warn-color3,#fff3cd)}"
    ".mlops-status-failed,.mlops-status-crashed,.mlops-status-killed{color:var(--jp-error-color1,#c00)}"
    ".mlops-status-running{color:var(--jp-info-color1,#07c)}"
    ".mlops-code{font-family:var(--jp-code-font-family,monospace);font-size:12px;"
    "white-space:pre;overflow:auto;background:var(--jp-layout-color2,#f5f5f5);padding:6px;margin:4px 0}"
    "</style>"
)


def _text(value: Any) -> str:
    """A value as escaped text for a table cell."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return html.escape(json.dumps(value)[:80])
    return html.escape(str(value)[:120])


def _when(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return _dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.2f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    numeric: Sequence[bool] | None = None,
    row_classes: Sequence[str] | None = None,
) -> str:
    numeric = numeric or [False] * len(headers)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        cls = f' class="{row_classes[index]}"' if row_classes and row_classes[index] else ""
        cells = "".join(
            f'<td class="num">{c}</td>' if n else f"<td>{c}</td>" for c, n in zip(row, numeric)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f'<table class="mlops-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


class _View(widgets.VBox):
    """A VBox that also offers static HTML, for frontends without a widget manager."""

    def static_html(self) -> str:
        """The view as HTML without widgets; each view renders its own."""
        return ""

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/html"] = _TABLE_STYLE + self.static_html()
        return bundle


# -- runs ----------------------------------------------------------------------------------------

_FIXED_COLUMNS = ("status", "name", "id", "experiment", "started", "duration")


def _sort_value(run: RunRow, key: str) -> tuple[int, Any]:
    if key == "status":
        value: Any = run.status
    elif key == "name":
        value = run.name
    elif key == "id":
        value = run.id
    elif key == "experiment":
        value = run.experiment
    elif key == "started":
        value = run.started_at
    elif key == "duration":
        value = run.duration
    elif key.startswith("metrics."):
        value = run.metrics.get(key[8:])
    else:
        value = run.params.get(key[7:])
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (1, 0)
    if isinstance(value, (int, float)):
        return (0, value)
    return (0, str(value))


def runs_table_html(
    runs: Sequence[RunRow], param_keys: Sequence[str], metric_keys: Sequence[str]
) -> str:
    headers = [*_FIXED_COLUMNS, *param_keys, *metric_keys]
    numeric = [False] * 5 + [True] + [False] * len(param_keys) + [True] * len(metric_keys)
    rows = []
    for run in runs:
        rows.append(
            [
                f'<span class="mlops-status-{html.escape(run.status)}">{html.escape(run.status)}</span>',
                _text(run.name),
                f"<code>{html.escape(run.id)}</code>",
                _text(run.experiment),
                _when(run.started_at),
                _duration(run.duration),
                *[_text(run.params.get(k)) for k in param_keys],
                *[_text(run.metrics.get(k)) for k in metric_keys],
            ]
        )
    return _table(headers, rows, numeric)


class RunsTableView(_View):
    """Runs as a table, with a sort picker (any field, parameter or metric) and direction."""

    def __init__(self, page: RunsPage, *, title: str = "") -> None:
        self.page = page
        self.title = title
        options = [
            *_FIXED_COLUMNS,
            *[f"params.{k}" for k in page.param_keys],
            *[f"metrics.{k}" for k in page.metric_keys],
        ]
        self.sort_by = widgets.Dropdown(
            options=options,
            value="started",
            description="Sort by",
            layout=widgets.Layout(width="260px"),
        )
        self.descending = widgets.ToggleButton(
            value=True,
            description="descending",
            icon="sort-amount-desc",
            layout=widgets.Layout(width="120px"),
        )
        self.table = widgets.HTML()
        self.summary = widgets.HTML()
        self.sort_by.observe(lambda _: self._render(), names="value")
        self.descending.observe(lambda _: self._render(), names="value")
        super().__init__([widgets.HBox([self.sort_by, self.descending]), self.table, self.summary])
        self._render()

    def sorted_runs(self) -> list[RunRow]:
        key = self.sort_by.value
        present = [r for r in self.page.runs if _sort_value(r, key)[0] == 0]
        missing = [r for r in self.page.runs if _sort_value(r, key)[0] == 1]
        try:
            present.sort(key=lambda r: _sort_value(r, key)[1], reverse=self.descending.value)
        except TypeError:  # mixed types in one parameter: compare as text
            present.sort(key=lambda r: str(_sort_value(r, key)[1]), reverse=self.descending.value)
        return present + missing

    def _render(self) -> None:
        self.table.value = _TABLE_STYLE + runs_table_html(
            self.sorted_runs(), self.page.param_keys, self.page.metric_keys
        )
        shown = len(self.page.runs)
        self.summary.value = (
            f"<small>{shown} of {self.page.total} run(s)"
            f"{' — use --limit to see more' if shown < self.page.total else ''}"
            "</small>"
        )

    def static_html(self) -> str:
        if not self.page.runs:
            return "<p>No runs match.</p>"
        return runs_table_html(self.sorted_runs(), self.page.param_keys, self.page.metric_keys)


# -- one run ---------------------------------------------------------------------------------------


def run_sections(detail: RunDetail) -> list[tuple[str, str]]:
    """(title, html) sections describing one run; shared by the widget and its static form."""
    run = detail.run
    overview = _table(
        ["field", "value"],
        [
            ["name", _text(run.name)],
            ["id", f"<code>{html.escape(run.id)}</code>"],
            ["experiment", _text(run.experiment)],
            [
                "status",
                f'<span class="mlops-status-{html.escape(run.status)}">'
                f"{html.escape(run.status)}</span>",
            ],
            ["started", _when(run.started_at)],
            ["duration", _duration(run.duration)],
            ["notebook", _text(run.notebook_path)],
            ["previous run", _text(run.previous_run_id)],
            [
                "git",
                _text(
                    f"{detail.git_commit[:10]}{' (dirty)' if detail.git_dirty else ''}"
                    if detail.git_commit
                    else None
                ),
            ],
            ["error", _text(detail.error)],
            *[[f"tag {html.escape(k)}", _text(v)] for k, v in detail.tags.items()],
        ],
    )
    params = (
        _table(
            ["parameter", "value", "source"],
            [[_text(p.key), _text(p.value), _text(p.source)] for p in detail.params],
        )
        if detail.params
        else "<p>No parameters recorded.</p>"
    )
    metrics = (
        _table(
            ["metric", "last", "min", "max", "points"],
            [
                [_text(m.key), _text(m.last), _text(m.min), _text(m.max), str(m.count)]
                for m in detail.metrics
            ],
            [False, True, True, True, True],
        )
        if detail.metrics
        else "<p>No metrics logged.</p>"
    )
    curves = "".join(
        line_chart({key: list(points)}, title=key) for key, points in detail.series.items()
    )
    code = (
        "".join(
            f"<div><small>[{c.execution_count if c.execution_count is not None else ' '}]"
            f'</small><div class="mlops-code">{html.escape(c.source)}</div></div>'
            for c in detail.code
        )
        or "<p>No code recorded.</p>"
    )
    snapshots = (
        _table(
            ["name", "role", "variable", "rows", "columns", "fingerprint", "stored"],
            [
                [
                    _text(s.name),
                    _text(s.role),
                    _text(s.variable),
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
        environment = _table(
            ["package", "version"],
            [
                ["python", _text(env["python"])],
                ["platform", _text(env["platform"])],
                *[[_text(k), _text(v)] for k, v in env["packages"].items()],
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
        ("Environment", environment),
    ]


class RunView(_View):
    """One run in tabs: overview, parameters, metrics with curves, code, data, environment."""

    def __init__(self, detail: RunDetail) -> None:
        self.detail = detail
        sections = run_sections(detail)
        tabs = widgets.Tab(children=[widgets.HTML(_TABLE_STYLE + body) for _, body in sections])
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
            f"<h4>{html.escape(title)}</h4>{body}" for title, body in run_sections(self.detail)
        )


# -- comparisons -------------------------------------------------------------------------------------


def comparison_sections(comparison: Comparison) -> list[tuple[str, str]]:
    labels = [f"{d.run.name} ({d.run.id[:6]})" for d in comparison.runs]
    param_rows = [[_text(key), *[_text(v) for v in values]] for key, values, _ in comparison.params]
    param_classes = ["mlops-diff" if differs else "" for _, _, differs in comparison.params]
    params = (
        _table(["parameter", *labels], param_rows, row_classes=param_classes)
        if comparison.params
        else "<p>No parameters recorded.</p>"
    )
    metrics = (
        _table(
            ["metric", *labels],
            [[_text(key), *[_text(v) for v in values]] for key, values in comparison.metrics],
            [False, *[True] * len(labels)],
        )
        if comparison.metrics
        else "<p>No metrics.</p>"
    )
    keys = sorted({key for d in comparison.runs for key in d.series})
    curves = "".join(
        line_chart(
            {
                label: list(d.series[key])
                for label, d in zip(labels, comparison.runs)
                if key in d.series
            },
            title=key,
        )
        for key in keys
    )
    differing = len(comparison.differing_params)
    return [
        (f"Parameters ({differing} differ)", params),
        ("Metrics", metrics),
        ("Curves", curves or "<p>No metric series to overlay.</p>"),
    ]


class ComparisonView(_View):
    """Runs side by side: differing parameters highlighted, metrics, overlaid curves."""

    def __init__(self, comparison: Comparison) -> None:
        self.comparison = comparison
        sections = comparison_sections(comparison)
        tabs = widgets.Tab(children=[widgets.HTML(_TABLE_STYLE + body) for _, body in sections])
        for index, (title, _) in enumerate(sections):
            tabs.set_title(index, title)
        super().__init__([tabs])

    def static_html(self) -> str:
        return "".join(
            f"<h4>{html.escape(t)}</h4>{b}" for t, b in comparison_sections(self.comparison)
        )


def message(text: str, *, level: str = "info") -> widgets.HTML:
    """A one-line note in the notebook, escaped."""
    colour = {
        "info": "var(--jp-ui-font-color1)",
        "warning": "var(--jp-warn-color1,#a60)",
        "error": "var(--jp-error-color1,#c00)",
    }[level]
    return widgets.HTML(f'<span style="color:{colour}">{html.escape(text)}</span>')
