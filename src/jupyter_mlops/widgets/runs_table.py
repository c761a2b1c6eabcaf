"""The runs table: the order the list was asked for, the columns that tell the runs apart
(:mod:`jupyter_mlops.tracking.queries.columns`), estimator parameters folded under their
estimator, and a column chooser remembered per experiment.

Sort names are those of every face (``-metrics.auc``, ``params.lr``, ``started_at``):
the picker opens on the order ``%mlops runs --sort`` gave the list.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Collection, Sequence
from typing import Any

import ipywidgets as widgets

from ..tracking.formatting import children_text, duration, timestamp, value_text
from ..tracking.queries.columns import TableColumns, apply_choice, default_columns, param_cells
from ..tracking.queries.records import RunRow, RunsPage
from .base import TABLE_STYLE, View, table, text

# The run fields of the table: (column title, sort name).
FIXED_COLUMNS = (
    ("status", "status"),
    ("name", "name"),
    ("id", "id"),
    ("experiment", "experiment"),
    ("started", "started_at"),
    ("duration", "duration"),
)
_FIELD_SORTS = tuple(sort for _, sort in FIXED_COLUMNS)


def sort_value(run: RunRow, key: str) -> tuple[int, Any]:
    """(0, value) of ``run`` for the sort name ``key``; (1, 0) when it has none."""
    if key in ("started_at", "started"):
        value: Any = run.started_at
    elif key == "duration":
        value = run.duration
    elif key in ("status", "name", "id", "experiment"):
        value = getattr(run, key)
    elif key.startswith("metrics."):
        value = run.metrics.get(key[8:])
    elif key.startswith("params."):
        value = run.params.get(key[7:])
    else:
        value = None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (1, 0)
    if isinstance(value, (int, float)):
        return (0, value)
    return (0, str(value))


def _param_cell(run: RunRow, title: str, keys: tuple[str, ...], columns: TableColumns) -> str:
    if keys == (title,):
        return text(run.params.get(title))
    group = columns.group_of(keys[0]) if keys else None
    if group is None:
        return ""
    return html.escape(
        ", ".join(f"{group.label(k)}={value_text(run.params[k])}" for k in keys if k in run.params)
    )


def runs_table_html(
    runs: Sequence[RunRow], columns: TableColumns, expanded: Collection[str] = ()
) -> str:
    """The runs as an HTML table: run fields, parameters (groups folded unless
    ``expanded``), metrics."""
    with_children = any(run.children for run in runs)
    fixed = [title for title, _ in FIXED_COLUMNS]
    if with_children:  # a sweep's trials, a pipeline's steps: counted on its line
        fixed.insert(2, "children")
    params = param_cells(columns, expanded)
    headers = [*fixed, *(title for title, _ in params), *columns.metrics]
    numeric = (
        [False] * (len(fixed) - 1) + [True] + [False] * len(params) + [True] * len(columns.metrics)
    )
    rows = []
    for run in runs:
        rows.append(
            [
                f'<span class="mlops-status-{html.escape(run.status)}">{html.escape(run.status)}</span>',
                text(run.name),
                *([text(children_text(run.children))] if with_children else []),
                f"<code>{html.escape(run.id)}</code>",
                text(run.experiment),
                timestamp(run.started_at),
                duration(run.duration),
                *[_param_cell(run, title, keys, columns) for title, keys in params],
                *[text(run.metrics.get(k)) for k in columns.metrics],
            ]
        )
    return table(headers, rows, numeric)


def sort_options(columns: TableColumns) -> list[str]:
    """Every sort name of the picker: run fields, then metrics, then parameters."""
    return [
        *_FIELD_SORTS,
        *(f"metrics.{k}" for k in columns.all_metrics),
        *(f"params.{k}" for k in columns.all_params),
    ]


class RunsTableView(View):
    """Runs as a table, with a sort picker (any field, parameter or metric) and direction,
    a column chooser and a button per estimator to unfold its parameters.

    ``columns`` are the columns to show (default: the parameters that differ and every
    metric); ``on_choose(names)`` is called with the chosen column names (None: back to
    the default) so the choice can be remembered for the experiment.
    """

    def __init__(
        self,
        page: RunsPage,
        *,
        title: str = "",
        columns: TableColumns | None = None,
        on_choose: Callable[[list[str] | None], object] | None = None,
    ) -> None:
        self.page = page
        self.title = title
        self.default = default_columns(page.runs, page.param_keys, page.metric_keys)
        self.columns = columns or self.default
        self.on_choose = on_choose
        self.expanded: set[str] = set()
        first = page.sort.split(",")[0].strip() or "-started_at"
        descending = first.startswith("-")
        key = first.lstrip("-+")
        options = sort_options(self.columns)
        if key not in options:
            options.append(key)
        self.sort_by = widgets.Dropdown(
            options=options,
            value=key,
            description="Sort by",
            layout=widgets.Layout(width="260px"),
        )
        self.descending = widgets.ToggleButton(
            value=descending,
            description="descending",
            icon="sort-amount-desc",
            layout=widgets.Layout(width="120px"),
        )
        self.chooser = widgets.SelectMultiple(
            options=list(self.columns.all_names),
            value=list(self.columns.names),
            description="Columns",
            rows=min(8, max(2, len(self.columns.all_names))),
            layout=widgets.Layout(width="340px"),
        )
        self.reset = widgets.Button(
            description="default columns",
            tooltip="Show the parameters that differ and every metric",
            layout=widgets.Layout(width="140px"),
        )
        self.groups = widgets.HBox()
        self.table = widgets.HTML()
        self.summary = widgets.HTML()
        self.sort_by.observe(lambda _: self._render(), names="value")
        self.descending.observe(lambda _: self._render(), names="value")
        self._syncing = False  # the chooser is being set to match the columns
        self.chooser.observe(self._chosen, names="value")
        self.reset.on_click(lambda _: self.choose(None))
        header = widgets.HBox([self.sort_by, self.descending])
        choosing = widgets.HBox([self.chooser, self.reset])
        super().__init__([header, choosing, self.groups, self.table, self.summary])
        self._render()

    def choose(self, names: list[str] | None) -> None:
        """Show the columns ``names`` (None: the default ones) and remember the choice."""
        chosen = apply_choice(self.default, names) if names else self.default
        if chosen == self.columns:
            return
        self.columns = chosen
        if self.on_choose is not None:
            self.on_choose(names or None)
        if list(self.chooser.value) != list(chosen.names):
            self._syncing = True
            try:
                self.chooser.value = list(chosen.names)
            finally:
                self._syncing = False
        self._render()

    def _chosen(self, change: dict[str, Any]) -> None:
        if not self._syncing:
            self.choose(list(change["new"]))

    def toggle_group(self, name: str) -> None:
        """Fold or unfold the parameters of estimator ``name``."""
        self.expanded ^= {name}
        self._render()

    def sorted_runs(self) -> list[RunRow]:
        key = self.sort_by.value
        if key == self.page.sort.lstrip(
            "-+"
        ) and self.descending.value == self.page.sort.startswith("-"):
            return list(self.page.runs)  # in the order the registry sorted them
        present = [r for r in self.page.runs if sort_value(r, key)[0] == 0]
        missing = [r for r in self.page.runs if sort_value(r, key)[0] == 1]
        try:
            present.sort(key=lambda r: sort_value(r, key)[1], reverse=self.descending.value)
        except TypeError:  # mixed types in one parameter: compare as text
            present.sort(key=lambda r: str(sort_value(r, key)[1]), reverse=self.descending.value)
        return present + missing

    def _group_buttons(self) -> list[widgets.Widget]:
        buttons = []
        for group in self.columns.groups:
            if not group.shown:
                continue
            unfolded = group.name in self.expanded
            button = widgets.Button(
                description=f"{'▾' if unfolded else '▸'} {group.name} ({group.total})",
                tooltip=f"{'Fold' if unfolded else 'Unfold'} the parameters of {group.name}",
                layout=widgets.Layout(width="auto"),
            )
            button.on_click(lambda _, name=group.name: self.toggle_group(name))
            buttons.append(button)
        return buttons

    def _render(self) -> None:
        self.groups.children = self._group_buttons()
        self.table.value = TABLE_STYLE + runs_table_html(
            self.sorted_runs(), self.columns, self.expanded
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
        return runs_table_html(self.sorted_runs(), self.columns, self.expanded)
