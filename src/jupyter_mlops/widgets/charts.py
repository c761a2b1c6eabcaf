"""Small SVG charts as strings: metric curves, histograms, bar charts.

Pure Python with no plotting library, so a view draws in milliseconds and the
output is the same in JupyterLab, in an exported HTML notebook and in the panel.
Every label is escaped; colours come from the JupyterLab theme when there is one.

    line_chart({"baseline": [(0, 0.9), (1, 0.7)], "tuned": [(0, 0.8), (1, 0.5)]}, title="loss")
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence

from .ticks import axis_ticks

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
# The theme's smallest UI size (about 11px); an exported page has no theme and gets 11px.
_FONT = "font-family:var(--jp-ui-font-family,sans-serif);font-size:var(--jp-ui-font-size0,11px)"
INK = "var(--jp-ui-font-color1,#333)"
_GRID = "var(--jp-border-color2,#ddd)"


def _fmt(value: float, digits: int = 4) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.{max(digits - 2, 2)}g}"
    return f"{value:.{digits}g}"


def svg_opening(width: int, height: int, title: str, left: int) -> list[str]:
    """The ``<svg>`` element's opening and the escaped title, as the first parts of a chart."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" style="{_FONT}">'
    ]
    if title:
        parts.append(
            f'<text x="{left}" y="15" fill="{INK}" font-weight="bold">{html.escape(title)}</text>'
        )
    return parts


def _nothing(parts: list[str], width: int, height: int, words: str) -> str:
    """A chart with nothing to draw: its title and ``words`` in the middle."""
    parts.append(
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
        f'fill="{INK}">{html.escape(words)}</text></svg>'
    )
    return "".join(parts)


def _share_grid(peak: float, left: float, right: float, top: float, plot_h: float) -> list[str]:
    """Horizontal grid lines with labels from 0 to ``peak``."""
    parts = []
    ticks = axis_ticks(0, peak, 4, log=False, outward=False)
    for tick, label in zip(ticks.values, ticks.labels):
        y = top + (1 - tick / peak) * plot_h
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{_GRID}"/><text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" '
            f'fill="{INK}">{label}</text>'
        )
    return parts


def _legend(names: Sequence[str], left: int, height: int, opacity: float = 1.0) -> list[str]:
    """One swatch and name per group along the bottom edge, in palette order."""
    parts = []
    for g, name in enumerate(names):
        x = left + g * 100
        parts.append(
            f'<rect x="{x}" y="{height - 12}" width="10" height="8" '
            f'fill="{PALETTE[g % len(PALETTE)]}" fill-opacity="{opacity:g}"/>'
            f'<text x="{x + 14}" y="{height - 4}" fill="{INK}">{html.escape(name)}</text>'
        )
    return parts


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float | None]]],
    *,
    title: str = "",
    width: int = 420,
    height: int = 220,
    x_label: str = "step",
    note: str = "",
    note_title: str = "",
) -> str:
    """Overlaid curves, one per entry of ``series`` ((x, y) points; ``None``/NaN are gaps).

    ``note`` is written small in the chart's top right corner (what is drawn, such as
    "downsampled: 1,955 of 1,000,000 points"), with ``note_title`` as its tooltip.
    """
    points = [
        (x, y)
        for values in series.values()
        for x, y in values
        if y is not None and math.isfinite(y)
    ]
    left, right, top, bottom = 52, 12, 24 if title else 10, 34
    parts = svg_opening(width, height, title, left)
    if note:
        tooltip = f"<title>{html.escape(note_title)}</title>" if note_title else ""
        parts.append(
            f'<text class="mlops-chart-note" x="{width - right}" y="15" text-anchor="end" '
            f'fill="{INK}" font-style="italic">{html.escape(note)}{tooltip}</text>'
        )
    if not points:
        return _nothing(parts, width, height, "no finite values")
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    whole = all(float(x).is_integer() for x in xs)  # steps: no tick between two of them
    x_axis = axis_ticks(min(xs), max(xs), 5, log=False, whole=whole)
    y_axis = axis_ticks(min(ys), max(ys), 5)  # a log axis when positive values span decades
    if y_axis.log:
        top = max(top, 24)
        parts.append(
            f'<text class="mlops-chart-scale" x="4" y="15" fill="{INK}" font-style="italic">'
            "(log)<title>a log scale: each tick is ten times the one below</title></text>"
        )
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + x_axis.position(x) * plot_w

    def sy(y: float) -> float:
        return top + (1 - y_axis.position(y)) * plot_h

    for tick, label in zip(y_axis.values, y_axis.labels):
        y = sy(tick)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">{label}</text>'
        )
    for tick, label in zip(x_axis.values, x_axis.labels):
        x = sx(tick)
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
            f'fill="{INK}">{label}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle" '
        f'fill="{INK}">{html.escape(x_label)}</text>'
    )
    for index, (label, values) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        segments: list[list[str]] = [[]]
        for x, maybe_y in sorted(values, key=lambda p: p[0]):
            if maybe_y is None or not math.isfinite(maybe_y):
                segments.append([])
                continue
            segments[-1].append(f"{sx(x):.1f},{sy(maybe_y):.1f}")
        for segment in segments:
            if len(segment) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="1.6" '
                    f'points="{" ".join(segment)}"><title>{html.escape(label)}</title>'
                    "</polyline>"
                )
            elif len(segment) == 1:
                cx, cy = segment[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
    if len(series) > 1:
        for index, label in enumerate(series):
            colour = PALETTE[index % len(PALETTE)]
            y = top + 4 + index * 14
            parts.append(
                f'<rect x="{width - right - 110}" y="{y}" width="10" height="3" '
                f'fill="{colour}"/><text x="{width - right - 96}" y="{y + 5}" '
                f'fill="{INK}">{html.escape(label[:18])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    groups: Mapping[str, Sequence[tuple[str, float]]],
    *,
    title: str = "",
    width: int = 420,
    height: int = 200,
    normalise: bool = True,
) -> str:
    """Grouped bars: ``{"reference": [(label, value), ...], "current": [...]}``.

    With ``normalise`` each group's values are shown as shares of its total, so groups of
    different sizes compare (reference vs current histograms, category frequencies).
    """
    labels: list[str] = []
    for values in groups.values():
        for label, _ in values:
            if label not in labels:
                labels.append(label)
    data = {}
    for name, values in groups.items():
        total = sum(v for _, v in values) if normalise else 1.0
        lookup = dict(values)
        data[name] = [(lookup.get(label, 0.0) / total) if total else 0.0 for label in labels]
    peak = max((v for vs in data.values() for v in vs), default=0.0) or 1.0
    left, right, top, bottom = 40, 10, 24 if title else 10, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = svg_opening(width, height, title, left)
    if not labels:
        return _nothing(parts, width, height, "no values")
    slot = plot_w / len(labels)
    bar = slot * 0.8 / max(len(data), 1)
    parts += _share_grid(peak, left, width - right, top, plot_h)
    for g, (name, shares) in enumerate(data.items()):
        colour = PALETTE[g % len(PALETTE)]
        for i, value in enumerate(shares):
            h = value / peak * plot_h
            x = left + i * slot + slot * 0.1 + g * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}" opacity="0.8"><title>'
                f"{html.escape(name)} {html.escape(labels[i])}: {_fmt(value)}</title></rect>"
            )
    step = max(1, math.ceil(len(labels) / max(plot_w // 40, 1)))
    for i in range(0, len(labels), step):
        x = left + (i + 0.5) * slot
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
            f'fill="{INK}">{html.escape(labels[i][:10])}</text>'
        )
    parts += _legend(list(data), left, height)
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    edges: Sequence[float],
    groups: Mapping[str, Sequence[float]],
    *,
    title: str = "",
    width: int = 320,
    height: int = 180,
    open_ends: bool = True,
    tick_format: Callable[[float], str] | None = None,
) -> str:
    """Overlaid histograms on shared bins, on an x axis in the data's own units.

    ``edges`` are the ``k + 1`` bin edges and each group gives ``k`` heights (shares, say).
    Groups are drawn as translucent bars with an outline, so two distributions overlap
    readably. With ``open_ends`` the first and last bins also hold everything beyond them
    (a drift report's bins do), which their tooltips say. ``tick_format`` turns an x value
    into a label (dates, for instance).

        histogram([0, 1, 2, 3], {"reference": [0.2, 0.5, 0.3], "current": [0.1, 0.4, 0.5]})
    """
    shown = tick_format or _fmt
    left, right, top, bottom = 40, 10, 24 if title else 10, 40
    parts = svg_opening(width, height, title, left)
    bins = len(edges) - 1
    usable = [
        (name, [float(v) for v in values]) for name, values in groups.items() if len(values) == bins
    ]
    if bins < 1 or not usable or not all(math.isfinite(e) for e in edges):
        return _nothing(parts, width, height, "no values")
    x0, x1 = float(edges[0]), float(edges[-1])
    if x1 <= x0:  # every value equal: one bar around it
        pad = abs(x0) * 0.05 or 0.5
        x0, x1 = x0 - pad, x1 + pad
        edges = [x0 + (x1 - x0) * i / bins for i in range(bins + 1)]
    peak = max((v for _, values in usable for v in values if math.isfinite(v)), default=0.0)
    peak = peak or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * plot_w

    def sy(y: float) -> float:
        return top + (1 - y / peak) * plot_h

    parts += _share_grid(peak, left, width - right, top, plot_h)
    x_ticks = axis_ticks(x0, x1, 4, log=False, outward=False)
    x_labels = list(x_ticks.labels) if tick_format is None else [shown(t) for t in x_ticks.values]
    x_labels = [  # a label said once: dates of ticks within one day are all the same day
        "" if i and label == x_labels[i - 1] else label for i, label in enumerate(x_labels)
    ]
    for tick, label in zip(x_ticks.values, x_labels):
        x = sx(tick)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 3}" '
            f'stroke="{INK}"/><text x="{x:.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
            f'fill="{INK}">{html.escape(label)}</text>'
        )
    for g, (name, values) in enumerate(usable):
        colour = PALETTE[g % len(PALETTE)]
        outline = []
        for i, value in enumerate(values):
            if not math.isfinite(value):
                continue
            a, b = float(edges[i]), float(edges[i + 1])
            if open_ends and bins > 1 and i == 0:
                where = f"below {shown(b)}"
            elif open_ends and bins > 1 and i == bins - 1:
                where = f"{shown(a)} and above"
            else:
                where = f"{shown(a)} to {shown(b)}"
            y = sy(value)
            parts.append(
                f'<rect x="{sx(a):.1f}" y="{y:.1f}" width="{max(sx(b) - sx(a), 0.5):.1f}" '
                f'height="{top + plot_h - y:.1f}" fill="{colour}" fill-opacity="0.35">'
                f"<title>{html.escape(name)}, {html.escape(where)}: {_fmt(value)}</title></rect>"
            )
            outline.append(f"{sx(a):.1f},{y:.1f} {sx(b):.1f},{y:.1f}")
        if outline:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="1.4" '
                f'points="{" ".join(outline)}"/>'
            )
    parts += _legend([name for name, _ in usable], left, height, opacity=0.6)
    parts.append("</svg>")
    return "".join(parts)
