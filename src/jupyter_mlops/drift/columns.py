"""One column of a drift check: read each side, pick the test, compute every figure.

A side comes from a DataFrame column (all its values) or from a stored
:class:`~jupyter_mlops.snapshots.profiles.ColumnProfile` (its sorted sample, quantiles and counts);
:class:`ColumnSide` hides the difference. :func:`compare_column` then chooses the test from
the two sides' kinds and returns a :class:`ColumnComparison` with raw p-values; correcting
them across columns and deciding what they mean is :mod:`jupyter_mlops.drift`'s job.

    >>> import pandas as pd
    >>> from jupyter_mlops.snapshots.profiles import column_values
    >>> ref = side_from_values(column_values(pd.Series(["a", "b"] * 50), "c"))
    >>> cur = side_from_values(column_values(pd.Series(["a"] * 60 + ["new"] * 40), "c"))
    >>> figures = compare_column("c", ref, cur)
    >>> figures.test, figures.unseen_share
    ('chi2', 0.4)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..snapshots.column_values import (
    ColumnValues,
    column_values,
    distinct_counts,
    number_label,
    quantiles_of_sorted,
)
from ..snapshots.profiles import DISCRETE_CAP, QUANTILE_LEVELS, ColumnProfile
from .statistics import (
    MIN_EXPECTED,
    chi2_homogeneity,
    jensen_shannon,
    ks_wasserstein,
    null_rate_test,
    pooled_table,
    psi,
)

if TYPE_CHECKING:
    import pandas as pd

DISCRETE_MAX = 5
"""Numeric columns with at most this many distinct values (both sides) are tested as categories."""

DRAW_BINS = 20
"""Shared bins of the reference-vs-current histogram of a numeric column."""

DRAW_CATEGORIES = 30
"""Categories drawn one by one; the rest are drawn as one ``(other)`` bar."""

OTHER_LABEL = "(other)"


@dataclass(frozen=True, eq=False)
class ColumnSide:
    """What the tests need from one side of one column, from a frame or from a profile.

    ``ordered`` holds the sorted usable numbers (all of them, or a profile's sample:
    ``sampled``); ``quantiles`` are exact either way. ``distinct``/``distinct_counts`` are
    set when a numeric column has at most ``DISCRETE_CAP`` distinct values. ``labels`` and
    ``label_counts`` hold categories; ``other_count`` counts those a capped profile dropped.
    """

    kind: str
    dtype: str
    n_rows: int
    null_count: int
    count: int
    note: str = ""
    ordered: np.ndarray | None = None
    quantiles: np.ndarray | None = None
    std: float | None = None
    distinct: np.ndarray | None = None
    distinct_counts: np.ndarray | None = None
    labels: tuple[str, ...] = ()
    label_counts: tuple[int, ...] = ()
    other_count: int = 0
    sampled: bool = False

    @property
    def family(self) -> str:
        """Kinds that compare with each other share a family (categorical and boolean do)."""
        return "labels" if self.kind in ("categorical", "boolean") else self.kind


@dataclass(frozen=True)
class ColumnComparison:
    """The figures of one column before correction across columns and before any decision.

    ``untested`` says why the values were not tested (empty when they were);
    ``schema_change`` marks a column that vanished or changed kind; ``constant_scale`` marks
    a reference without spread, where any real shift is material. The drawing fields are
    described on :class:`~jupyter_mlops.drift.report.ColumnDrift`.
    """

    column: str
    kind: str
    test: str = "none"
    statistic: float | None = None
    p_value: float | None = None
    effect: float | None = None
    effect_name: str = ""
    psi: float | None = None
    null_rate_ref: float | None = None
    null_rate_cur: float | None = None
    null_p: float | None = None
    null_effect: float | None = None
    unseen_share: float | None = None
    n_ref: int = 0
    n_cur: int = 0
    untested: str = ""
    schema_change: bool = False
    constant_scale: bool = False
    note: str = ""
    bins: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()
    ref_shares: tuple[float, ...] = ()
    cur_shares: tuple[float, ...] = ()


def side_from_values(values: ColumnValues) -> ColumnSide:
    """A side holding every value of a frame's column (numbers sorted once, here)."""
    base = _common_fields(values)
    if values.kind in ("numeric", "datetime") and values.numbers is not None and values.count:
        ordered = np.sort(values.numbers)
        uniques, counts = _few_distinct(ordered, DISCRETE_CAP)
        with np.errstate(over="ignore", invalid="ignore"):
            std = float(ordered.std(ddof=1)) if len(ordered) > 1 else 0.0
        return ColumnSide(
            ordered=ordered,
            quantiles=quantiles_of_sorted(ordered, np.asarray(QUANTILE_LEVELS)),
            std=std if math.isfinite(std) else None,
            distinct=uniques,
            distinct_counts=counts,
            **base,
        )
    if values.kind in ("numeric", "datetime", "categorical", "boolean") and values.count == 0:
        base["kind"] = "empty"
    return ColumnSide(labels=values.labels, label_counts=values.label_counts, **base)


def side_from_profile(col: ColumnProfile) -> ColumnSide:
    """A side standing for a stored profile's column: its sample, quantiles and counts."""
    base = _common_fields(col)
    if col.kind in ("numeric", "datetime"):
        distinct = counts = None
        if col.categories:
            pairs = sorted((float(label), count) for label, count in col.categories)
            distinct = np.array([value for value, _ in pairs])
            counts = np.array([count for _, count in pairs], dtype=np.int64)
        return ColumnSide(
            ordered=np.asarray(col.sample, dtype=np.float64),
            quantiles=np.asarray(col.quantiles, dtype=np.float64),
            std=col.std if col.std is not None else (0.0 if col.count == 1 else None),
            distinct=distinct,
            distinct_counts=counts,
            sampled=col.is_sampled,
            **base,
        )
    return ColumnSide(
        labels=tuple(label for label, _ in col.categories),
        label_counts=tuple(count for _, count in col.categories),
        other_count=col.other_count,
        **base,
    )


def _common_fields(source: ColumnValues | ColumnProfile) -> dict[str, Any]:
    names = ("kind", "dtype", "n_rows", "null_count", "count", "note")
    return {name: getattr(source, name) for name in names}


class FrameSides:
    """A frame's columns, read into sides one at a time, when asked.

    Nothing is kept: a side holds a sorted copy of its column, and holding every column's
    at once would double the memory a check needs. Each call reads the column anew.
    """

    def __init__(self, frame: pd.DataFrame, names: list[str]) -> None:
        self._frame = frame
        self._positions = {name: i for i, name in enumerate(names)}

    def get(self, name: str) -> ColumnSide | None:
        """The side of column ``name``, or None when the frame has no such column."""
        if name not in self._positions:
            return None
        series = self._frame.iloc[:, self._positions[name]]
        return side_from_values(column_values(series, name))


def compare_column(
    name: str,
    ref: ColumnSide | None,
    cur: ColumnSide | None,
    discrete_max: int = DISCRETE_MAX,
) -> ColumnComparison:
    """Every figure of one column: value test, effect, PSI, null-rate test, drawing data.

    A column missing on one side, of another kind, unsupported or without values gets
    ``untested`` set to a sentence saying so, never an exception.
    """
    present = ref if ref is not None else cur
    fig: dict[str, Any] = {
        "column": name,
        "kind": present.kind if present is not None else "unsupported",
    }
    if ref is None or cur is None:
        fig["untested"] = (
            "the column is missing from the current data"
            if cur is None
            else "the column is not in the reference"
        )
        fig["schema_change"] = cur is None
        return ColumnComparison(**fig)
    fig["null_rate_ref"] = ref.null_count / ref.n_rows if ref.n_rows else None
    fig["null_rate_cur"] = cur.null_count / cur.n_rows if cur.n_rows else None
    if ref.n_rows and cur.n_rows:
        fig["null_p"], fig["null_effect"] = null_rate_test(
            ref.null_count, ref.n_rows, cur.null_count, cur.n_rows
        )
    fig["n_ref"] = len(ref.ordered) if ref.ordered is not None else ref.count
    fig["n_cur"] = cur.count
    fig.update(_untested(ref, cur))
    if "untested" in fig:
        return ColumnComparison(**fig)
    if ref.family in ("numeric", "datetime"):
        if _discrete(ref, cur, discrete_max):
            _compare_discrete(fig, ref, cur)
        else:
            _compare_continuous(fig, ref, cur)
    else:
        _compare_labels(fig, ref, cur)
    return ColumnComparison(**fig)


def _untested(ref: ColumnSide, cur: ColumnSide) -> dict[str, Any]:
    if ref.kind == "unsupported" or cur.kind == "unsupported":
        side, other = ("reference", ref) if ref.kind == "unsupported" else ("current", cur)
        return {
            "untested": f"the {side} column cannot be compared: {other.note}",
            "schema_change": cur.kind == "unsupported" and ref.kind != "unsupported",
        }
    if ref.kind == "empty" or cur.kind == "empty":
        if ref.kind == cur.kind:
            return {"untested": "no non-null values on either side"}
        side = "reference" if ref.kind == "empty" else "current data"
        return {"untested": f"the {side} has no non-null values"}
    if ref.family != cur.family:
        return {
            "untested": f"its kind changed from {ref.kind} ({ref.dtype}) to {cur.kind} "
            f"({cur.dtype})",
            "schema_change": True,
        }
    return {}


def _few_distinct(ordered: np.ndarray, cap: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Distinct values and counts of a sorted array when there are at most ``cap``, else None.

    Evenly spaced probes of the sorted array rule out most continuous columns without a
    full pass.
    """
    probes = ordered[np.linspace(0, len(ordered) - 1, 4 * cap + 1).astype(np.intp)]
    if np.count_nonzero(probes[1:] != probes[:-1]) >= cap:
        return None, None
    uniques, counts = distinct_counts(ordered)
    return (uniques, counts) if len(uniques) <= cap else (None, None)


def _discrete(ref: ColumnSide, cur: ColumnSide, limit: int) -> bool:
    if ref.distinct is None or cur.distinct is None:
        return False
    return len(np.union1d(ref.distinct, cur.distinct)) <= limit


def _compare_discrete(fig: dict[str, Any], ref: ColumnSide, cur: ColumnSide) -> None:
    assert ref.distinct is not None and cur.distinct is not None
    assert ref.distinct_counts is not None and cur.distinct_counts is not None
    values = np.union1d(ref.distinct, cur.distinct)
    ref_counts = np.zeros(len(values), dtype=np.int64)
    cur_counts = np.zeros(len(values), dtype=np.int64)
    ref_counts[np.searchsorted(values, ref.distinct)] = ref.distinct_counts
    cur_counts[np.searchsorted(values, cur.distinct)] = cur.distinct_counts
    fig["note"] = f"{len(values)} distinct values, tested as categories"
    fig["n_ref"] = int(ref_counts.sum())
    _compare_counts(fig, tuple(number_label(v) for v in values), ref_counts, cur_counts)


def _compare_labels(fig: dict[str, Any], ref: ColumnSide, cur: ColumnSide) -> None:
    known = {label: i for i, label in enumerate(ref.labels)}
    labels = list(ref.labels)
    ref_counts = np.array(ref.label_counts, dtype=np.int64)
    cur_counts = np.zeros(len(labels), dtype=np.int64)
    unseen_labels, unseen_counts = [], []
    for label, count in zip(cur.labels, cur.label_counts, strict=True):
        if label in known:
            cur_counts[known[label]] = count
        else:
            unseen_labels.append(label)
            unseen_counts.append(count)
    if ref.other_count:
        # a capped profile: values beyond its list may or may not be new, so they share a bucket
        labels.append(OTHER_LABEL)
        ref_counts = np.append(ref_counts, ref.other_count)
        cur_counts = np.append(cur_counts, sum(unseen_counts))
        fig["note"] = (
            "the reference kept only its most frequent categories; unseen share is an upper bound"
        )
    else:
        labels.extend(unseen_labels)
        ref_counts = np.append(ref_counts, np.zeros(len(unseen_labels), dtype=np.int64))
        cur_counts = np.append(cur_counts, np.array(unseen_counts, dtype=np.int64))
    fig["n_ref"] = int(ref_counts.sum())
    _compare_counts(fig, tuple(labels), ref_counts, cur_counts)
    fig["unseen_share"] = sum(unseen_counts) / cur.count


def _compare_counts(
    fig: dict[str, Any], labels: tuple[str, ...], ref_counts: np.ndarray, cur_counts: np.ndarray
) -> None:
    present = (ref_counts + cur_counts) > 0
    ref_shares = ref_counts / ref_counts.sum()
    cur_shares = cur_counts / cur_counts.sum()
    fig["effect_name"] = "jensen-shannon"
    fig["effect"] = jensen_shannon(ref_counts, cur_counts)
    fig["psi"] = psi(ref_shares[present], cur_shares[present])
    fig["unseen_share"] = float(cur_counts[ref_counts == 0].sum() / cur_counts.sum())
    fig.update(_category_drawing(labels, ref_shares, cur_shares))
    if present.sum() == 1:
        only = labels[int(np.argmax(present))]
        fig["note"] = f"constant: every value is {only!r} on both sides"
        fig["effect"] = 0.0
        return
    # columns in the order of their labels, not of either side's first sight of them, so that
    # the pooling (which breaks ties by position) gives the same test with the sides swapped
    by_label = sorted(range(len(labels)), key=lambda i: str(labels[i]))
    table = pooled_table(ref_counts[by_label], cur_counts[by_label])
    if table.shape[1] < 2:
        fig["untested"] = (
            f"too few values for a chi-squared test ({fig['n_ref']} reference, "
            f"{fig['n_cur']} current: every category expected fewer than "
            f"{MIN_EXPECTED:g} times)"
        )
        return
    fig["test"] = "chi2"
    fig["statistic"], fig["p_value"], _ = chi2_homogeneity(table)


def _compare_continuous(fig: dict[str, Any], ref: ColumnSide, cur: ColumnSide) -> None:
    assert ref.ordered is not None and cur.ordered is not None
    assert ref.quantiles is not None and cur.quantiles is not None
    fig["test"] = "ks"
    fig["statistic"], fig["p_value"], distance = ks_wasserstein(ref.ordered, cur.ordered)
    scale, fig["effect_name"] = _scale(ref)
    if scale > 0:
        fig["effect"] = distance / scale
    else:
        fig["constant_scale"] = distance > 0
        fig["effect"] = 0.0 if distance == 0 else None
        fig["note"] = (
            f"the reference is constant ({number_label(ref.quantiles[0])}), so any "
            "significant change is material"
        )
    deciles = np.unique(ref.quantiles[::10])[1:-1]
    fig["psi"] = psi(_shares(ref.ordered, deciles), _shares(cur.ordered, deciles))
    fig.update(_numeric_drawing(ref, cur))


def _scale(ref: ColumnSide) -> tuple[float, str]:
    assert ref.quantiles is not None
    if ref.std:
        return ref.std, "wasserstein/std"
    iqr = float(ref.quantiles[75] - ref.quantiles[25])
    return iqr / 1.349, "wasserstein/iqr"


def _shares(ordered: np.ndarray, inner_edges: np.ndarray) -> np.ndarray:
    """Shares of sorted values in the bins cut at ``inner_edges`` ([e_i, e_i+1), tails open)."""
    cuts = np.searchsorted(ordered, inner_edges, side="left")
    counts = np.diff(np.concatenate(([0], cuts, [len(ordered)])))
    return counts / len(ordered)


def _numeric_drawing(ref: ColumnSide, cur: ColumnSide) -> dict[str, Any]:
    """Shared equal-width bins over both sides' 1st-99th percentiles; end bins take the tails."""
    assert ref.quantiles is not None and cur.quantiles is not None
    assert ref.ordered is not None and cur.ordered is not None
    low = min(ref.quantiles[1], cur.quantiles[1])
    high = max(ref.quantiles[99], cur.quantiles[99])
    if not high > low:
        low = min(ref.quantiles[0], cur.quantiles[0])
        high = max(ref.quantiles[-1], cur.quantiles[-1])
    with np.errstate(over="ignore", invalid="ignore"):
        edges = np.linspace(low, high, DRAW_BINS + 1) if high > low else np.array([low, high])
    if not np.all(np.isfinite(edges)):
        return {}
    return {
        "bins": tuple(edges.tolist()),
        "ref_shares": tuple(_shares(ref.ordered, edges[1:-1]).tolist()),
        "cur_shares": tuple(_shares(cur.ordered, edges[1:-1]).tolist()),
    }


def _category_drawing(
    labels: tuple[str, ...], ref_shares: np.ndarray, cur_shares: np.ndarray
) -> dict[str, Any]:
    order = np.argsort(-(ref_shares + cur_shares), kind="stable")
    shown, rest = order[:DRAW_CATEGORIES], order[DRAW_CATEGORIES:]
    names = [labels[i] for i in shown]
    ref_part, cur_part = ref_shares[shown].tolist(), cur_shares[shown].tolist()
    if len(rest):
        names.append(OTHER_LABEL)
        ref_part.append(float(ref_shares[rest].sum()))
        cur_part.append(float(cur_shares[rest].sum()))
    return {"labels": tuple(names), "ref_shares": tuple(ref_part), "cur_shares": tuple(cur_part)}
