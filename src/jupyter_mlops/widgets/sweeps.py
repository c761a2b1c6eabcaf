"""The sweep view: a parent run's children as parallel coordinates, one parameter against
the metric, and the best child's parameters.

The charts are SVG (:mod:`.sweep_charts`): the widget shows them, and the same SVG is
the static HTML a saved or exported notebook keeps.

    SweepView(sweep_data(registry, "grid", metric="mean_test_score"))
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from ..tracking.queries.sweep import Sweep
from .base import TABLE_STYLE, View, table, text
from .sweep_charts import parallel_coordinates, param_scatter


def best_html(sweep: Sweep) -> str:
    """A line on the best child and a table of its parameters."""
    best = sweep.best
    if best is None:
        return f"<p>No child logged {html.escape(sweep.metric or 'a metric')}.</p>"
    direction = "highest" if sweep.maximize else "lowest"
    marked = " (marked best by the search)" if best.marked_best else ""
    rows = [[text(key), text(value)] for key, value in best.params.items()]
    return (
        f"<p>Best of {len(sweep.children)} by {direction} {html.escape(sweep.metric or '')}:"
        f" <b>{html.escape(best.name)}</b> (<code>{html.escape(best.id)}</code>),"
        f" {text(best.value)}{marked}</p>" + table(["parameter", "value"], rows)
    )


class SweepView(View):
    """Parallel coordinates of every child, and a scatter of the parameter picked."""

    def __init__(self, sweep: Sweep, *, param: str | None = None) -> None:
        self.sweep = sweep
        keys = [axis.key for axis in sweep.axes]
        self.param = widgets.Dropdown(
            options=keys,
            value=param if param in keys else (keys[0] if keys else None),
            description="Parameter",
            layout=widgets.Layout(width="300px"),
        )
        self.scatter = widgets.HTML()
        self.param.observe(lambda _: self._render(), names="value")
        super().__init__(
            [
                widgets.HTML(parallel_coordinates(sweep)),
                self.param,
                self.scatter,
                widgets.HTML(TABLE_STYLE + best_html(sweep)),
            ]
        )
        self._render()

    def _render(self) -> None:
        self.scatter.value = param_scatter(self.sweep, self.param.value) if self.param.value else ""

    def static_html(self) -> str:
        scatter = param_scatter(self.sweep, self.param.value) if self.param.value else ""
        return (
            f'<div class="mlops-sweep">{parallel_coordinates(self.sweep)}<br>{scatter}'
            f"{best_html(self.sweep)}</div>"
        )
