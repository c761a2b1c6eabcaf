"""A sweep: a parent run's children, each child's parameters against one metric.

What the sweep view draws (parallel coordinates, a parameter against the metric) and
what ``GET runs/ID/sweep`` sends. Read in four queries through the index on
``runs(parent_run_id, started_at)``, whatever the number of runs in the registry: the
children, their parameters, their metrics' last values and the ``mlops.best`` tags.

Each parameter is an axis: numeric when every child that has it has a number (booleans
excepted), else categorical with its values in the order first seen. The metric is the
one asked for, else ``mean_test_score`` when the children have it (a scikit-learn
search), else the metric most children have. Its best value is the highest, or the
lowest for a metric whose name says lower is better (``loss``, ``error``, ``rank_``,
``time``...), unless ``maximize`` says.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ...errors import NotFoundError
from ...registry.connection import Registry
from ..housekeeping import is_archived
from ..secrets import REDACTED_TYPE
from ..values import decode_param
from .detail import run_detail
from .records import RunRow

_LOWER_IS_BETTER = ("loss", "error", "rank_", "time", "mse", "mae", "rmse", "regret", "cost")
SEARCH_METRIC = "mean_test_score"
# Parameter types whose stored value is already the Python value (bool, list, dict are
# decoded; an int or float stored as text too).
_NATIVE = frozenset(("str", "none", "other", REDACTED_TYPE, "int", "float"))
BEST_TAG = "mlops.best"


@dataclass(frozen=True)
class SweepAxis:
    """One parameter as an axis: ``numeric`` with its range, or categorical with its
    values (as text, in the order first seen)."""

    key: str
    numeric: bool
    low: float | None = None
    high: float | None = None
    categories: tuple[str, ...] = ()
    log_scale: bool = False  # positive numbers spanning more than two decades

    def position(self, value: Any) -> float | None:
        """Where ``value`` sits on the axis, from 0 (bottom) to 1 (top): its category's
        place, or its share of the range (of the logarithms on a log axis). None when
        it has no place: missing, not a number on a numeric axis, not one of the
        categories, not positive on a log axis.

            SweepAxis("C", True, 0.1, 10.0, log_scale=True).position(1.0)   # 0.5
        """
        if value is None:
            return None
        if not self.numeric:
            try:
                index = self.categories.index(category(value))
            except ValueError:
                return None
            return 0.5 if len(self.categories) == 1 else index / (len(self.categories) - 1)
        if type(value) not in (int, float) or not math.isfinite(value):
            return None
        low, high = self.low, self.high
        if low is None or high is None:
            return None
        if self.log_scale:
            if value <= 0:
                return None
            low, high, value = math.log10(low), math.log10(high), math.log10(value)
        return 0.5 if high == low else (value - low) / (high - low)


@dataclass(frozen=True)
class SweepChild:
    """One child of the sweep: its parameters, its value of the metric (None when it
    has none, or NaN), and whether the run that recorded it marked it best."""

    id: str
    name: str
    status: str
    params: dict[str, Any]
    value: float | None
    marked_best: bool = False


@dataclass(frozen=True)
class Sweep:
    """A parent run, its children and the metric they are drawn against."""

    parent: RunRow
    metric: str | None
    maximize: bool
    metrics: tuple[str, ...]  # every metric the children logged, the most common first
    axes: tuple[SweepAxis, ...]
    children: tuple[SweepChild, ...]
    best_id: str | None  # the child with the best value of the metric

    @property
    def best(self) -> SweepChild | None:
        return next((child for child in self.children if child.id == self.best_id), None)


def lower_is_better(metric: str) -> bool:
    """Whether a metric's name says a lower value is better: ``val_loss``, ``rank_test_score``."""
    lowered = metric.lower()
    return any(word in lowered for word in _LOWER_IS_BETTER)


def sweep_data(
    registry: Registry, ref: str, *, metric: str | None = None, maximize: bool | None = None
) -> Sweep:
    """The sweep of the run ``ref`` (id, prefix, name or ``last``) against ``metric``::

    sweep = sweep_data(registry, "grid", metric="mean_test_score")
    sweep.best.params        # {'C': 10.0, 'l1_ratio': 0.0}
    """
    with registry.reading():
        parent = run_detail(registry, ref, series=False).run
        # Archived children are left out, unless the parent itself is archived (then its
        # children are shown as they were archived with it).
        shown = "" if is_archived(registry, parent.id) else " AND archived_at IS NULL"
        children = registry.query_tuples(
            f"SELECT id, name, status FROM runs WHERE parent_run_id = ?{shown}"
            " ORDER BY started_at, rowid",
            (parent.id,),
        )
        inside = f"(SELECT id FROM runs WHERE parent_run_id = ?{shown})"
        params = registry.query_tuples(
            f"SELECT run_id, key, value, type FROM params WHERE run_id IN {inside}", (parent.id,)
        )
        metrics = registry.query_tuples(
            f"SELECT run_id, key, last FROM metric_summaries WHERE run_id IN {inside}",
            (parent.id,),
        )
        marked = {
            row[0]
            for row in registry.query_tuples(
                f"SELECT run_id FROM tags WHERE key = ? AND value = 'true' AND run_id IN {inside}",
                (BEST_TAG, parent.id),
            )
        }
    if not children:
        raise NotFoundError(
            f'Run "{parent.name}" ({parent.id}) has no child runs to draw as a sweep',
            hint="A sweep is a run whose loop started runs (with mlops.start_run inside it), "
            "or that fitted a scikit-learn search; %mlops runs shows the runs with children.",
        )
    params_of: dict[str, dict[str, Any]] = {}
    for run_id, key, value, type_name in params:
        if type_name not in _NATIVE or (type_name in ("int", "float") and isinstance(value, str)):
            value = decode_param(value, type_name)
        params_of.setdefault(run_id, {})[key] = value
    counts = Counter(key for _, key, _ in metrics)
    metric_keys = tuple(sorted(counts, key=lambda key: (-counts[key], key)))
    chosen = metric or _default_metric(metric_keys)
    if metric is not None and metric not in counts:
        raise NotFoundError(
            f'No child of run "{parent.name}" logged the metric "{metric}"',
            hint=f"Its children logged: {', '.join(metric_keys) or 'no metric'}.",
        )
    values = {run_id: last for run_id, key, last in metrics if key == chosen}
    maximize = (not lower_is_better(chosen)) if maximize is None and chosen else bool(maximize)
    rows = tuple(
        SweepChild(
            run_id,
            name,
            status,
            params_of.get(run_id, {}),
            _finite(values.get(run_id)),
            run_id in marked,
        )
        for run_id, name, status in children
    )
    return Sweep(
        parent=parent,
        metric=chosen,
        maximize=maximize,
        metrics=metric_keys,
        axes=_axes(rows),
        children=rows,
        best_id=_best(rows, maximize),
    )


def _default_metric(keys: tuple[str, ...]) -> str | None:
    if SEARCH_METRIC in keys:
        return SEARCH_METRIC
    return keys[0] if keys else None


def _finite(value: Any) -> float | None:
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _best(children: tuple[SweepChild, ...], maximize: bool) -> str | None:
    valued = [child for child in children if child.value is not None]
    if not valued:
        return None
    pick = max if maximize else min
    return pick(valued, key=lambda child: child.value).id  # type: ignore[arg-type,return-value]


def _axes(children: tuple[SweepChild, ...]) -> tuple[SweepAxis, ...]:
    """An axis per parameter the children have, in the order they first appear; a
    parameter with one value for every child says nothing about the sweep and is left
    out, unless every parameter is like that."""
    by_key: dict[str, list[Any]] = {}
    for child in children:
        for key, value in child.params.items():
            present = by_key.get(key)
            if present is None:
                by_key[key] = [value]
            else:
                present.append(value)
    axes = []
    for key, present in by_key.items():
        if all(type(value) in (int, float) for value in present):
            finite = [float(value) for value in present if math.isfinite(value)]
            low = min(finite) if finite else None
            high = max(finite) if finite else None
            log_scale = bool(finite) and low is not None and low > 0 and high / low > 100  # type: ignore[operator]
            axes.append(SweepAxis(key, True, low, high, log_scale=log_scale))
        else:
            seen: dict[str, None] = {}
            for value in present:
                seen.setdefault(category(value), None)
            axes.append(SweepAxis(key, False, categories=tuple(seen)))
    telling = [axis for axis in axes if _varies(axis)]
    return tuple(telling or axes)


def _varies(axis: SweepAxis) -> bool:
    if axis.numeric:
        return axis.low is not None and axis.low != axis.high
    return len(axis.categories) > 1


def category(value: Any) -> str:
    """A parameter's value as the label of a categorical axis."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)
