"""Views of pipelines: an export's steps drawn as a graph, one pipeline run, the list of runs.

    PipelineView(export_notebook("churn.ipynb", "churn-pipeline"))
    PipelineRunView(pipeline_run(registry, "last"))
    PipelineRunsView(pipeline_runs(registry, limit=10))

The graph shows each step as a box, arrows for the order the steps run in, and (for a run)
how each step ended by its colour. Widget and static fallback are the same escaped HTML.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..tracking.formatting import duration, timestamp
from .base import TABLE_STYLE, View, table, text
from .step_graph import STATE_STYLE, StepBox, step_graph_svg

if TYPE_CHECKING:
    from ..export.api import ExportResult
    from ..runner.history import PipelineRunRecord, StepRunRecord
    from ..runner.spec import PipelineSpec

PIPELINE_STYLE = (
    "<style>.mlops-caption{margin:6px 0 2px 0}.mlops-detail{color:var(--jp-ui-font-color2,#666)}"
    ".mlops-pipeline-status{display:inline-block;padding:0 6px;border-radius:3px;font-weight:600;"
    "border:1px solid currentColor}"
    ".mlops-pipeline-ok{color:var(--jp-success-color1,#1a7f37)}"
    ".mlops-pipeline-failed,.mlops-pipeline-gate_failed,.mlops-pipeline-killed,"
    ".mlops-pipeline-crashed{color:var(--jp-error-color1,#c00)}"
    ".mlops-pipeline-drift_stopped{color:var(--jp-warn-color1,#9a6700)}"
    ".mlops-pipeline-running{color:var(--jp-info-color1,#07c)}"
    ".mlops-graph{overflow-x:auto;margin:4px 0}"
    ".mlops-reason{white-space:normal;min-width:200px;max-width:520px}"
    "</style>"
)

STATUS_WORDS = {
    "ok": "passed",
    "failed": "a step failed",
    "gate_failed": "a gate failed",
    "drift_stopped": "a drift check stopped it",
    "killed": "interrupted",
    "crashed": "crashed",
    "running": "running",
}


def status_badge(status: str) -> str:
    words = STATUS_WORDS.get(status, status)
    return (
        f'<span class="mlops-pipeline-status mlops-pipeline-{html.escape(status)}">'
        f"{html.escape(words)}</span>"
    )


def spec_edges(spec: PipelineSpec) -> list[tuple[str, str]]:
    """Every (parent, step) pair: the values passed between steps and the ``after:`` tags."""
    return [(parent, step.name) for step in spec.steps for parent in step.depends_on]


def spec_boxes(spec: PipelineSpec) -> list[StepBox]:
    """The steps of an export, not run yet: a note says what kind of step each one is."""
    boxes = []
    for step in spec.steps:
        if step.gate:
            note = "gate"
        elif step.drift_checks:
            note = "drift: " + ", ".join(c.variable for c in step.drift_checks)
        else:
            note = f"{len(step.cells)} cell{'s' if len(step.cells) != 1 else ''}"
        boxes.append(StepBox(step.name, None, note))
    return boxes


def run_boxes(record: PipelineRunRecord) -> list[StepBox]:
    """The steps of a run, coloured by how each ended, with its duration."""
    return [_run_box(step) for step in record.steps]


def _state(step: StepRunRecord) -> str | None:
    """How the step ended, as the graph colours it; None for a status it does not know."""
    state = step.status
    if step.cached and state == "ok":
        state = "cached"
    return state if state in STATE_STYLE else None


def _outcome(step: StepRunRecord) -> str:
    state = _state(step)
    return STATE_STYLE[state][2] if state is not None else step.status


def _run_box(step: StepRunRecord) -> StepBox:
    state = _state(step)
    if state is None:  # a status written by a newer version: show it, don't fail
        return StepBox(step.name, None, step.status)
    words = _outcome(step)
    if step.duration is not None and state not in ("not_run", "pending", "cached", "reused"):
        words = f"{words} · {duration(step.duration)}"
    return StepBox(step.name, state, words)


def export_html(result: ExportResult) -> str:
    spec = result.spec
    source = spec.source.exported_from_run_id
    caption = (
        f'<div class="mlops-caption"><b>Pipeline {html.escape(spec.name)}</b>: '
        f"{len(spec.steps)} step{'s' if len(spec.steps) != 1 else ''} written to "
        f"<code>{html.escape(str(result.output_dir))}</code> "
        f'<span class="mlops-detail">({html.escape(", ".join(result.targets))}; parity '
        + (
            f"against run <code>{html.escape(source)}</code>"
            if source
            else "not checked: no tracked run"
        )
        + ")</span></div>"
    )
    rows = [
        [
            f"<b>{text(step.name)}</b>",
            text(", ".join(str(c + 1) for c in step.cells)),
            text(", ".join(i.name for i in step.inputs)),
            text(", ".join(step.outputs)),
            text(", ".join(step.depends_on)),
        ]
        for step in spec.steps
    ]
    steps = table(["step", "cells", "reads", "writes", "after"], rows)
    graph = step_graph_svg(spec_boxes(spec), spec_edges(spec))
    return PIPELINE_STYLE + caption + f'<div class="mlops-graph">{graph}</div>' + steps


def parity_html(parity: dict[str, Any] | None) -> str:
    if not parity:
        return ""
    status = parity.get("status", "")
    if status == "not_checked":
        return f'<span class="mlops-detail">parity not checked: {text(parity.get("reason"))}</span>'
    compared = parity.get("compared") or []
    differing = [m for m in compared if not m.get("equal")]
    if status == "ok":
        return (
            f'<span class="mlops-pipeline-ok">parity ok</span>: {len(compared)} metric(s) equal '
            f"notebook run <code>{text(parity.get('reference_run_id'))}</code>'s"
        )
    named = "; ".join(
        f"{text(m['key'])} notebook {text(m.get('notebook'))} vs pipeline {text(m.get('pipeline'))}"
        for m in differing[:5]
    )
    return f'<span class="mlops-pipeline-failed">parity {text(status)}</span>: {named}'


def run_html(record: PipelineRunRecord) -> str:
    edges = [(a, b) for a, b in record.edges if a in _names(record) and b in _names(record)]
    parity = parity_html(record.parity)
    caption = (
        f'<div class="mlops-caption"><b>Pipeline {html.escape(record.pipeline)}</b> '
        f"{status_badge(record.status)} run <code>{html.escape(record.id)}</code>"
        f' <span class="mlops-detail">started {timestamp(record.started_at)}, took '
        f"{duration(record.duration) or 'unfinished'}"
        + (f", from step {html.escape(record.from_step)}" if record.from_step else "")
        + "</span></div>"
    )
    if record.message and record.status != "ok":
        caption += f'<div class="mlops-reason">{text(record.message)}</div>'
    if parity:
        caption += f"<div>{parity}</div>"
    rows = [
        [
            f"<b>{text(step.name)}</b>",
            text(_outcome(step)),
            duration(step.duration) if step.status not in ("not_run", "pending") else "",
            f"<code>{text(step.run_id)}</code>" if step.run_id else "",
            f'<span class="mlops-reason">{text(step.message)}</span>',
        ]
        for step in record.steps
    ]
    steps = table(["step", "outcome", "duration", "step run", "message"], rows,
                  numeric=[False, False, True, False, False])  # fmt: skip
    graph = step_graph_svg(run_boxes(record), edges)
    return PIPELINE_STYLE + caption + f'<div class="mlops-graph">{graph}</div>' + steps


def _names(record: PipelineRunRecord) -> set[str]:
    return {step.name for step in record.steps}


def runs_html(records: Sequence[PipelineRunRecord]) -> str:
    if not records:
        return (
            '<div class="mlops-caption">No pipeline runs recorded yet: export a notebook with '
            "<code>%mlops export</code>, then <code>%mlops pipeline run DIR</code>.</div>"
        )
    rows = []
    for record in records:
        steps = " ".join(
            f'<span class="mlops-pipeline-{html.escape(box.state or "")}" '
            f'title="{html.escape(box.note)}">{html.escape(box.name)}</span>'
            for box in run_boxes(record)
        )
        rows.append(
            [
                f"<code>{text(record.id)}</code>",
                text(record.pipeline),
                status_badge(record.status),
                timestamp(record.started_at),
                duration(record.duration),
                text((record.parity or {}).get("status", "")),
                steps,
            ]
        )
    return PIPELINE_STYLE + table(
        ["run", "pipeline", "status", "started", "duration", "parity", "steps"], rows,
        numeric=[False, False, False, False, True, False, False],
    )  # fmt: skip


class PipelineView(View):
    """An export: what was written, the steps as a graph and what each reads and writes."""

    def __init__(self, result: ExportResult) -> None:
        self.result = result
        super().__init__([widgets.HTML(TABLE_STYLE + self.static_html())])

    def static_html(self) -> str:
        return export_html(self.result)


class PipelineRunView(View):
    """One pipeline run: its outcome, parity, the graph coloured by each step's outcome."""

    def __init__(self, record: PipelineRunRecord) -> None:
        self.record = record
        super().__init__([widgets.HTML(TABLE_STYLE + self.static_html())])

    def static_html(self) -> str:
        return run_html(self.record)


class PipelineRunsView(View):
    """The latest pipeline runs, newest first, with each step's outcome."""

    def __init__(self, records: Sequence[PipelineRunRecord]) -> None:
        self.records = tuple(records)
        super().__init__([widgets.HTML(TABLE_STYLE + self.static_html())])

    def static_html(self) -> str:
        return runs_html(self.records)
