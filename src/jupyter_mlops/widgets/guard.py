"""Views of gates and models: a pass/fail table of an evaluation, the registered models,
the history of a model's aliases.

    GateView(check(registry, ["accuracy >= 0.85"], raise_on_failure=False))
    ModelsView(list_models(registry))
    AliasHistoryView("churn", alias_history(registry, "churn"))

Each renders the same escaped HTML as a widget and as the static fallback, so a notebook
saved as HTML keeps the verdicts.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as widgets

from ..gates.evaluation import GateEvaluation, GateResult
from ..gates.groups import GroupTable
from ..models.aliases import AliasMove
from ..models.versions import ModelVersion, RegisteredModel
from ..tracking.formatting import timestamp
from .base import TABLE_STYLE, View, table, text
from .styles import ERROR, INFO, badge_style, tint

GUARD_STYLE = (
    "<style>.mlops-verdict{display:inline-block;padding:0 6px;border-radius:3px;font-weight:600}"
    f".mlops-verdict-passed{{{badge_style('passed')}}}"
    f".mlops-verdict-failed{{{badge_style('failed')}}}"
    f"tr.mlops-row-failed td{{background:{tint(ERROR, 14)}}}"
    ".mlops-alias{display:inline-block;padding:0 5px;margin-right:3px;border-radius:3px;"
    f"background:{tint(INFO)};font-size:11px}}"
    ".mlops-caption{margin:6px 0 2px 0}.mlops-detail{color:var(--jp-ui-font-color2,#666)}"
    "</style>"
)

MAX_METRIC_COLUMNS = 8


def verdict_badge(passed: bool) -> str:
    word = "passed" if passed else "failed"
    return (
        f'<span class="mlops-verdict mlops-verdict-{word}">{"✓" if passed else "✗"} {word}</span>'
    )


def _actual(result: GateResult) -> str:
    shown = text(result.actual)
    if isinstance(result.actual, list):
        shown = html.escape(", ".join(str(v) for v in result.actual)[:120])
    return (
        shown
        if result.exact
        else f'<span title="an estimate from the snapshot\'s profile">≈ {shown}</span>'
    )


def gate_table_html(results: Sequence[GateResult]) -> str:
    """The pass/fail table: rule, actual, expected, verdict, detail; under it the value of
    each group behind each fairness rule."""
    rows = [
        [
            f"<code>{html.escape(r.rule)}</code>",
            _actual(r),
            text(r.expected),
            verdict_badge(r.passed),
            f'<span class="mlops-detail">{text(r.detail)}</span>',
        ]
        for r in results
    ]
    classes = ["" if r.passed else "mlops-row-failed" for r in results]
    return table(
        ["rule", "actual", "expected", "verdict", "detail"],
        rows,
        [False, True, False, False, False],
        classes,
    ) + "".join(group_table_html(t) for r in results for t in r.groups)


def group_table_html(groups: GroupTable) -> str:
    """The value of each group behind a fairness rule's number: rows and metrics per group."""
    caption = (
        f'<div class="mlops-caption"><code>{html.escape(groups.of)}</code> by'
        f" {html.escape(groups.column)}</div>"
    )
    rows = [
        [
            html.escape(str(group)),
            f"{count:,}",
            *("n/a" if v is None else f"{v:.4g}" for v in values),
        ]
        for group, count, values in zip(groups.groups, groups.counts, groups.values)
    ]
    headers = [groups.column, "rows", *groups.metrics]
    return caption + table(headers, rows, [False, True, *[True] * len(groups.metrics)])


def gate_caption_html(evaluation: GateEvaluation) -> str:
    parts = [f"<b>Gate {verdict_badge(evaluation.passed)}</b>"]
    failed = len(evaluation.failed)
    total = len(evaluation.results)
    parts.append(f"{total - failed} of {total} passed")
    if evaluation.model and evaluation.version is not None:
        target = f" → {html.escape(evaluation.alias)}" if evaluation.alias else ""
        parts.append(f"model <b>{html.escape(evaluation.model)}@{evaluation.version}</b>{target}")
    if evaluation.run_id:
        name = html.escape(evaluation.run_name or "")
        parts.append(f"run {name} <code>{html.escape(evaluation.run_id)}</code>")
    if evaluation.data is not None:
        data = evaluation.data
        label = html.escape(data.name or data.kind)
        parts.append(f"data {label} ({data.n_rows:,} rows)")
    parts.append(f"evaluation <code>{html.escape(evaluation.id)}</code>")
    return f'<div class="mlops-caption">{" · ".join(parts)}</div>'


class GateView(View):
    """One gate evaluation: its verdict, what it was about, and every rule's line.

    ``GateView.of_results(error.results, caption=...)`` shows the lines a
    :class:`~jupyter_mlops.errors.GateFailedError` carries.
    """

    def __init__(
        self,
        evaluation: GateEvaluation | None = None,
        *,
        results: Sequence[GateResult] = (),
        caption: str = "",
    ) -> None:
        self.evaluation = evaluation
        if evaluation is not None:
            self.results = tuple(evaluation.results)
            self.caption = gate_caption_html(evaluation)
        else:
            self.results = tuple(results)
            passed = all(r.passed for r in self.results)
            about = f" · {html.escape(caption)}" if caption else ""
            self.caption = (
                f'<div class="mlops-caption"><b>Gate {verdict_badge(passed)}</b>{about}</div>'
            )
        super().__init__([widgets.HTML(TABLE_STYLE + self.static_html())])

    @classmethod
    def of_results(cls, results: Sequence[GateResult], *, caption: str = "") -> GateView:
        return cls(results=results, caption=caption)

    def static_html(self) -> str:
        return GUARD_STYLE + self.caption + gate_table_html(self.results)


def _aliases_html(aliases: Sequence[str]) -> str:
    return "".join(f'<span class="mlops-alias">{html.escape(a)}</span>' for a in aliases)


def _run_html(version: ModelVersion) -> str:
    if version.run_id is None:
        return ""
    return f"{text(version.run_name)} <code>{html.escape(version.run_id[:8])}</code>"


def models_table_html(model: RegisteredModel) -> str:
    """One model's versions, newest first, with the metrics their runs recorded."""
    keys = sorted({k for v in model.versions for k in v.metrics})[:MAX_METRIC_COLUMNS]
    headers = ["version", "aliases", "flavor", "class", "run", "training data", "registered", *keys]
    numeric = [True, False, False, False, False, False, False, *[True] * len(keys)]
    rows = [
        [
            str(v.version),
            _aliases_html(v.aliases),
            text(v.flavor),
            text(v.class_name),
            _run_html(v),
            text(v.snapshot_name),
            timestamp(v.created_at),
            *[text(v.metrics.get(k)) for k in keys],
        ]
        for v in model.versions
    ]
    return table(headers, rows, numeric)


def model_caption_html(model: RegisteredModel) -> str:
    aliases = (
        ", ".join(f"{html.escape(a)} → v{v}" for a, v in model.aliases.items()) or "no aliases"
    )
    described = f" — {text(model.description)}" if model.description else ""
    return (
        f'<div class="mlops-caption"><b>{html.escape(model.name)}</b>{described} · '
        f"{len(model.versions)} version(s) · {aliases}</div>"
    )


class ModelsView(View):
    """Registered models: each with its versions, aliases, runs and their metrics."""

    def __init__(self, models: Sequence[RegisteredModel]) -> None:
        self.models = tuple(models)
        super().__init__([widgets.HTML(TABLE_STYLE + self.static_html())])

    def static_html(self) -> str:
        if not self.models:
            return "<p>No models registered yet. Register one with %mlops register VAR --name NAME.</p>"
        return GUARD_STYLE + "".join(
            model_caption_html(m) + models_table_html(m) for m in self.models
        )


def _version_html(version: int | None) -> str:
    return "—" if version is None else f"v{version}"


def alias_history_html(model: str, moves: Sequence[AliasMove]) -> str:
    """Every move of a model's aliases, oldest first: when, which alias, from and to which
    version, why, and the gate evaluation that allowed it."""
    if not moves:
        return (
            f"<p>No alias of {html.escape(model)} has been set yet. Point one at a version with"
            f" %mlops promote {html.escape(model)}@VERSION --alias NAME.</p>"
        )
    caption = (
        f'<div class="mlops-caption"><b>{html.escape(model)}</b> · {len(moves)} alias move(s),'
        " oldest first</div>"
    )
    rows = [
        [
            timestamp(m.moved_at),
            _aliases_html([m.alias]),
            _version_html(m.from_version),
            _version_html(m.to_version),
            text(m.reason),
            f"<code>{html.escape(m.evaluation_id)}</code>" if m.evaluation_id else "",
        ]
        for m in moves
    ]
    headers = ["moved", "alias", "from", "to", "why", "gate evaluation"]
    return caption + table(headers, rows, [False, False, True, True, False, False])


class AliasHistoryView(View):
    """The history of a model's aliases: every register, promote and remove, oldest first."""

    def __init__(self, model: str, moves: Sequence[AliasMove]) -> None:
        self.model = model
        self.moves = tuple(moves)
        super().__init__([widgets.HTML(TABLE_STYLE + self.static_html())])

    def static_html(self) -> str:
        return GUARD_STYLE + alias_history_html(self.model, self.moves)
