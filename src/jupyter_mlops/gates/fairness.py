"""Fairness metrics of a binary classifier, per group of a sensitive column, computed with
fairlearn on plain arrays: the rows of a promotion's evaluation data, or a window of
logged predictions and their labels.

    found = fairness_value("demographic_parity_difference", sensitive=df["sex"],
                           predictions=df["predicted"])
    found.value            # the largest difference in selection rate between two groups
    found.table.to_text()  # each group's selection rate and row count

    fairness_value("min_by", sensitive=df["age_band"], predictions=df["predicted"],
                   labels=df["churned"], metric="accuracy").value   # the worst group's accuracy

The functions (:mod:`.fairness_functions`) are fairlearn's of the same name; ``min_by``,
``max_by``, ``difference_by`` and ``ratio_by`` take one of :data:`GROUP_METRICS` and
aggregate it over the groups with fairlearn's ``MetricFrame``. Predictions and labels are
made 0/1 first: ``positive`` names the positive class (by default ``True`` or ``1``).
Rows without a label are left out of what needs labels (a live window whose feedback has
not come yet); a missing sensitive value is a group of its own, ``(missing)``. A value
undefined for a group (a true positive rate where no label is positive) is NaN, shown
as n/a, and fails the comparisons it is in.

fairlearn is the optional extra ``fairness`` (``pip install 'jupyter-mlops[fairness]'``);
it is imported only when a metric is computed, so the core imports without it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidInputError
from .fairness_functions import AGGREGATES, DISPARITIES, FUNCTIONS, GROUP_METRICS
from .groups import GroupTable

MISSING_GROUP = "(missing)"
INSTALL_HINT = "Install the fairness extra: pip install 'jupyter-mlops[fairness]'."


@dataclass(frozen=True)
class FairnessValue:
    """A fairness metric's value and the per-group values behind it."""

    value: float
    table: GroupTable
    left_out: int = 0  # rows without a label, left out

    @property
    def note(self) -> str:
        if not self.left_out:
            return ""
        return f"{self.left_out} row(s) without a label left out of {self.table.of}"


def needs_labels(function: str, metric: str | None = None) -> bool:
    """Whether ``function`` (with ``metric`` for the ``*_by`` functions) reads the labels."""
    if function in DISPARITIES:
        return DISPARITIES[function].needs_labels
    return GROUP_METRICS.get(metric or "", False)


def fairness_value(
    function: str,
    *,
    sensitive: Any,
    predictions: Any,
    labels: Any = None,
    metric: str | None = None,
    positive: Any = None,
    column: str | None = None,
    of: str | None = None,
) -> FairnessValue:
    """``function`` (one of :data:`FUNCTIONS`) of binary ``predictions`` across the groups
    of ``sensitive``; ``labels`` for the functions that compare errors. Arrays, lists or
    Series of the same length. ``column`` names the groups in the table (default: the
    Series' name), ``of`` names the value (default: the call as a rule writes it).

    >>> fairness_value("demographic_parity_difference", sensitive=["a", "a", "b", "b"],
    ...                predictions=[1, 1, 1, 0]).value
    0.5
    """
    if function not in FUNCTIONS:
        raise InvalidInputError(
            f'Unknown fairness function "{function}"',
            hint=f"Functions: {', '.join(FUNCTIONS)}.",
        )
    if function in AGGREGATES and metric not in GROUP_METRICS:
        raise InvalidInputError(
            f'{function} needs one of the metrics per group, got "{metric}"',
            hint=f"Metrics: {', '.join(GROUP_METRICS)}.",
        )
    column = column or str(getattr(sensitive, "name", None) or "group")
    of = of or (f"{function}({metric}, {column})" if metric else f"{function}({column})")
    groups = _groups(sensitive)
    predicted = as_binary(predictions, positive, "predictions", len(groups))
    true: np.ndarray | None = None
    left_out = 0
    if needs_labels(function, metric):
        if labels is None:
            raise InvalidInputError(
                f"{of} compares the predictions with the true labels, and none were given",
                hint="Give the labels (label='COLUMN' in check and promote, --label on the"
                " command line).",
            )
        true, known = _labels(labels, positive, len(groups))
        left_out = int((~known).sum())
        if left_out == len(groups):
            raise InvalidInputError(
                f"{of} compares the predictions with the true labels, and none of the"
                f" {len(groups)} rows has one",
                hint="Wait for the labels to come back, or use a rule that needs none, such"
                " as demographic_parity_difference.",
            )
        groups, predicted, true = groups[known], predicted[known], true[known]
    _require_groups(groups, column, of)
    fairlearn_metrics = _fairlearn()
    # Every metric here depends only on how many rows of each group have each (label,
    # prediction): fairlearn is given those combinations once each, weighted by their
    # rows, which gives its values on every row (a million rows: a few distinct ones).
    combos = (
        pd.DataFrame(
            {"group": groups, "true": predicted if true is None else true, "predicted": predicted}
        )  # fmt: skip
        .value_counts()
        .reset_index(name="rows")
    )
    weights = combos["rows"].to_numpy()
    sensitive_features = pd.Series(combos["group"].to_numpy(), name=column)
    with warnings.catch_warnings():
        # undefined rates (no positive label in a group) come back as NaN, shown as n/a
        warnings.simplefilter("ignore")
        if function in DISPARITIES:
            disparity = DISPARITIES[function]
            rates = disparity.rates
            compute = getattr(fairlearn_metrics, disparity.fairlearn_name or function)
            value = float(
                compute(
                    combos["true"],
                    combos["predicted"],
                    sensitive_features=sensitive_features,
                    sample_weight=weights,
                )
            )
        else:
            rates = (str(metric),)
        frame = fairlearn_metrics.MetricFrame(
            metrics={rate: _metric(rate, fairlearn_metrics) for rate in rates},
            y_true=combos["true"],
            y_pred=combos["predicted"],
            sensitive_features=sensitive_features,
            sample_params={rate: {"sample_weight": weights} for rate in rates},
        )
        by_group = frame.by_group
        if function in AGGREGATES:
            value = float(getattr(frame, AGGREGATES[function])()[str(metric)])
    counts = combos.groupby("group")["rows"].sum()
    table = GroupTable(
        of,
        column,
        tuple(rates),
        tuple(str(g) for g in by_group.index),
        tuple(int(counts[g]) for g in by_group.index),
        tuple(tuple(_plain(by_group.loc[g, rate]) for rate in rates) for g in by_group.index),
    )
    return FairnessValue(value, table, left_out)


def as_binary(values: Any, positive: Any, what: str, length: int | None = None) -> np.ndarray:
    """``values`` as 0/1: 1 where a value is ``positive`` (by default ``True``/``1``)."""
    array = _array(values, what, length)
    missing = pd.isna(array)
    if missing.any():
        raise InvalidInputError(
            f"The {what} have {int(missing.sum())} missing value(s) of {len(array)}",
            hint=f"Every row must have its {what}; drop the rows without before checking.",
        )
    return _positive(array, positive, what)


def _labels(labels: Any, positive: Any, length: int) -> tuple[np.ndarray, np.ndarray]:
    """The labels as 0/1 and which rows have one."""
    array = _array(labels, "labels", length)
    known = ~np.asarray(pd.isna(array), dtype=bool)
    binary = np.zeros(len(array), dtype=np.int64)
    binary[known] = _positive(array[known], positive, "labels")
    return binary, known


def _positive(array: np.ndarray, positive: Any, what: str) -> np.ndarray:
    distinct = pd.unique(pd.Series(array))
    if positive is None:
        if not all(_is_zero_or_one(v) for v in distinct):
            shown = ", ".join(repr(v) for v in list(distinct)[:5])
            raise InvalidInputError(
                f"The {what} are not 0/1 or True/False (values: {shown})",
                hint="Give predicted classes, not scores (e.g. proba >= 0.5), and for classes"
                " other than 0/1 say which is positive: positive=... (--positive).",
            )
        return (array.astype(float) == 1.0).astype(np.int64)
    if len(distinct) > 2:
        shown = ", ".join(repr(v) for v in list(distinct)[:5])
        raise InvalidInputError(
            f"The {what} have {len(distinct)} classes ({shown}...); fairness rules are for"
            " binary classifiers",
            hint="Turn them into the positive class and the rest, e.g. df['y'] == 'churn'.",
        )
    return (array == positive).astype(np.int64)


def _is_zero_or_one(value: Any) -> bool:
    try:
        return float(value) in (0.0, 1.0)
    except (TypeError, ValueError):
        return False


def _array(values: Any, what: str, length: int | None) -> np.ndarray:
    array = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    if array.ndim != 1:
        raise InvalidInputError(f"The {what} must be one value per row, got shape {array.shape}")
    if length is not None and len(array) != length:
        raise InvalidInputError(
            f"The {what} have {len(array)} rows and the sensitive column {length}",
            hint="Give the predictions, labels and groups of the same rows.",
        )
    return array


def _groups(sensitive: Any) -> np.ndarray:
    array = _array(sensitive, "sensitive column", None)
    missing = np.asarray(pd.isna(array), dtype=bool)
    labels = np.array([str(v) for v in array], dtype=object)
    labels[missing] = MISSING_GROUP
    return labels


def _require_groups(groups: np.ndarray, column: str, of: str) -> None:
    distinct = pd.unique(pd.Series(groups))
    if len(distinct) < 2:
        found = f'one group ("{distinct[0]}")' if len(distinct) else "no rows"
        raise InvalidInputError(
            f'Column "{column}" has {found} in the {len(groups)} rows {of} is computed on;'
            " comparing groups needs two or more",
            hint="Check that the data holds rows of every group (and, for rules that need"
            " them, labels), or compare by another column.",
        )


def _metric(name: str, fairlearn_metrics: Any) -> Callable[..., float]:
    """``metric(y_true, y_pred, sample_weight=...)``: fairlearn's rates, scikit-learn's scores."""
    if name == "count":  # rows, which the weights are
        return lambda t, p, sample_weight: float(np.sum(sample_weight))
    if hasattr(fairlearn_metrics, name):
        return getattr(fairlearn_metrics, name)
    from sklearn import metrics as sk

    scores: dict[str, Callable[..., float]] = {
        "accuracy": sk.accuracy_score,
        "balanced_accuracy": sk.balanced_accuracy_score,
        "precision": partial(sk.precision_score, zero_division=np.nan),
        "recall": partial(sk.recall_score, zero_division=np.nan),
        "f1": partial(sk.f1_score, zero_division=np.nan),
    }
    return scores[name]


def _fairlearn() -> Any:
    try:
        from fairlearn import metrics
    except ImportError as exc:
        raise InvalidInputError(
            "Fairness rules are computed with fairlearn, which is not installed",
            hint=INSTALL_HINT,
        ) from exc
    return metrics


def _plain(value: Any) -> float | None:
    number = float(value)
    return None if np.isnan(number) else number
