"""The charts of a sweep as SVG strings: parallel coordinates, and one parameter
against the metric.

Like :mod:`.charts`, pure Python: the same SVG is the widget's and the static HTML
saved in the notebook, so the sweep still shows without a kernel. Each child is one
line (or point) coloured by its value of the metric, from pale (worst) to dark (best);
the best child is drawn last, thick and red, so it is never hidden.

    parallel_coordinates(sweep_data(registry, "grid"))
    param_scatter(sweep_data(registry, "grid"), "C")
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable

from ..tracking.queries.sweep import Sweep, SweepAxis, SweepChild, category
from .charts import INK, svg_opening
from .ticks import axis_ticks

BEST_COLOUR = "#d62728"
_AXIS = "var(--jp-border-color1,#999)"
_NO_VALUE = "#bbbbbb"
# From pale to dark blue: worst to best.
_RAMP = ((0xC6, 0xDB, 0xEF), (0x08, 0x30, 0x6B))


def colour_of(value: float | None, low: float, high: float, maximize: bool) -> str:
    """The colour of a child's line: its place between the worst and the best value."""
    if value is None:
        return _NO_VALUE
    share = 0.5 if high == low else (value - low) / (high - low)
    if not maximize:
        share = 1 - share
    r, g, b = (round(a + (z - a) * share) for a, z in zip(*_RAMP))
    return f"#{r:02x}{g:02x}{b:02x}"


def _scale(axis: SweepAxis) -> Callable[[object], float | None]:
    """The position (0 at the bottom, 1 at the top) of a value on ``axis``."""
    if not axis.numeric:
        count = len(axis.categories)
        where = {label: index for index, label in enumerate(axis.categories)}

        def on_categories(value: object) -> float | None:
            index = where.get(category(value))
            if index is None:
                return None
            return 0.5 if count == 1 else index / (count - 1)

        return on_categories
    low, high = axis.low, axis.high
    if low is None or high is None:
        return lambda value: None
    if axis.log_scale:
        low_log, high_log = math.log10(low), math.log10(high)

        def on_log(value: object) -> float | None:
            if not isinstance(value, (int, float)) or value <= 0:
                return None
            return (math.log10(value) - low_log) / (high_log - low_log)

        return on_log

    def on_line(value: object) -> float | None:
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        return 0.5 if high == low else (value - low) / (high - low)

    return on_line


def _ticks(axis: SweepAxis) -> list[tuple[float, str]]:
    """Labels along an axis: its categories, or round values within its range (powers of
    ten on a log axis), placed where the axis puts them."""
    if not axis.numeric:
        count = len(axis.categories)
        step = max(1, math.ceil(count / 8))  # at most about eight labels
        return [
            (0.5 if count == 1 else index / (count - 1), label[:14])
            for index, label in enumerate(axis.categories)
            if index % step == 0 or index == count - 1
        ]
    if axis.low is None or axis.high is None:
        return []
    ticks = axis_ticks(axis.low, axis.high, 5, log=axis.log_scale, outward=False)
    place = _scale(axis)
    return [
        (share, label)
        for value, label in zip(ticks.values, ticks.labels)
        if (share := place(value)) is not None
    ]


def _metric_axis(sweep: Sweep) -> SweepAxis:
    values = [child.value for child in sweep.children if child.value is not None]
    return SweepAxis(
        sweep.metric or "metric",
        True,
        min(values) if values else None,
        max(values) if values else None,
    )


def _ordered(sweep: Sweep) -> list[SweepChild]:
    """Children in drawing order: without a value first, then worst to best, the best last."""
    sign = 1 if sweep.maximize else -1

    def rank(child: SweepChild) -> tuple[int, float]:
        if child.id == sweep.best_id:
            return (2, 0.0)
        if child.value is None:
            return (0, 0.0)
        return (1, sign * child.value)

    return sorted(sweep.children, key=rank)


def parallel_coordinates(sweep: Sweep, *, width: int = 760, height: int = 320) -> str:
    """Every child as a line across one vertical axis per parameter and a last axis for
    the metric; the best child in red. Each line's tooltip names the child."""
    metric_axis = _metric_axis(sweep)
    axes = [*sweep.axes, metric_axis]
    left, right, top, bottom = 40, 60, 34, 36
    title = f"{sweep.parent.name}: {len(sweep.children)} runs by {sweep.metric or 'no metric'}"
    parts = svg_opening(width, height, title, 10)
    plot_h = height - top - bottom
    gap = (width - left - right) / max(len(axes) - 1, 1)
    xs = [left + index * gap for index in range(len(axes))]
    scales = [_scale(axis) for axis in axes]

    def y_of(share: float) -> float:
        return top + (1 - share) * plot_h

    for x, axis in zip(xs, axes):
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" stroke="{_AXIS}"/>'
        )
        label = axis.key + (" (log)" if axis.log_scale else "")
        parts.append(
            f'<text x="{x:.1f}" y="{height - 18}" text-anchor="middle" fill="{INK}"'
            f' font-weight="bold">{html.escape(label[:22])}</text>'
        )
        for share, tick in _ticks(axis):
            parts.append(
                f'<text x="{x + 4:.1f}" y="{y_of(share) + 4:.1f}" fill="{INK}">'
                f"{html.escape(tick)}</text>"
            )
    low, high = metric_axis.low or 0.0, metric_axis.high or 0.0
    for child in _ordered(sweep):
        values = [*(child.params.get(axis.key) for axis in sweep.axes), child.value]
        points = []
        for x, scale, value in zip(xs, scales, values):
            where = None if value is None else scale(value)
            if where is not None:
                points.append(f"{x:.1f},{y_of(where):.1f}")
        if not points:
            continue
        best = child.id == sweep.best_id
        colour = BEST_COLOUR if best else colour_of(child.value, low, high, sweep.maximize)
        tip = html.escape(f"{child.name}: {sweep.metric} = {child.value}")
        parts.append(
            f'<polyline class="mlops-sweep-{"best" if best else "run"}" fill="none"'
            f' stroke="{colour}" stroke-width="{3 if best else 1.2}"'
            f' stroke-opacity="{1 if best else 0.7}" points="{" ".join(points)}">'
            f"<title>{tip}</title></polyline>"
        )
    parts.append("</svg>")
    return "".join(parts)


def param_scatter(sweep: Sweep, param: str, *, width: int = 420, height: int = 280) -> str:
    """Each child as a point, ``param`` across and the metric up; the best child in red."""
    axis = next((a for a in sweep.axes if a.key == param), None)
    left, right, top, bottom = 56, 16, 28, 40
    parts = svg_opening(width, height, f"{sweep.metric} by {param}", left)
    metric_axis = _metric_axis(sweep)
    if axis is None or metric_axis.low is None:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{INK}">'
            "nothing to draw</text></svg>"
        )
        return "".join(parts)
    across, up = _scale(axis), _scale(metric_axis)
    plot_w, plot_h = width - left - right, height - top - bottom
    parts.append(
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="{_AXIS}"/>'
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}"'
        f' stroke="{_AXIS}"/>'
    )
    for share, tick in _ticks(axis):
        parts.append(
            f'<text x="{left + share * plot_w:.1f}" y="{top + plot_h + 14}" text-anchor="middle"'
            f' fill="{INK}">{html.escape(tick)}</text>'
        )
    for share, tick in _ticks(metric_axis):
        parts.append(
            f'<text x="{left - 4}" y="{top + (1 - share) * plot_h + 4:.1f}" text-anchor="end"'
            f' fill="{INK}">{html.escape(tick)}</text>'
        )
    label = param + (" (log)" if axis.log_scale else "")
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle" fill="{INK}">'
        f"{html.escape(label)}</text>"
    )
    low, high = metric_axis.low or 0.0, metric_axis.high or 0.0
    for child in _ordered(sweep):
        x_share = across(child.params.get(param)) if param in child.params else None
        y_share = None if child.value is None else up(child.value)
        if x_share is None or y_share is None:
            continue
        best = child.id == sweep.best_id
        colour = BEST_COLOUR if best else colour_of(child.value, low, high, sweep.maximize)
        tip = html.escape(f"{child.name}: {param} = {child.params.get(param)}, {child.value}")
        parts.append(
            f'<circle class="mlops-sweep-{"best" if best else "run"}"'
            f' cx="{left + x_share * plot_w:.1f}" cy="{top + (1 - y_share) * plot_h:.1f}"'
            f' r="{5 if best else 3}" fill="{colour}"><title>{tip}</title></circle>'
        )
    parts.append("</svg>")
    return "".join(parts)
