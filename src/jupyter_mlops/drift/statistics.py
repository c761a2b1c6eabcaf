"""The statistics of drift checks, on plain numpy arrays: no frames, no decisions.

Each function mirrors a scipy routine (named in its docstring) and is tested against it; they
exist because drift checks run on data that is already sorted or counted, where scipy would
sort or count again, and because some scipy paths are far slower than needed at 10^5-10^6 rows.

    >>> import numpy as np
    >>> jensen_shannon(np.array([50, 50]), np.array([50, 50]))
    0.0
    >>> round(psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])), 4)
    0.2747
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

PSI_EPSILON = 1e-4
"""Share given to an empty bin in PSI, so that one empty side does not make PSI infinite."""

MIN_EXPECTED = 5.0
"""Categories expected fewer times than this on either side are pooled before chi-squared."""

_EXACT_KS_MAX = 10_000  # scipy's own limit for its exact two-sample KS distribution


def ks_wasserstein(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> tuple[float, float, float]:
    """Two-sample KS statistic, its two-sided p-value, and the Wasserstein-1 distance.

    Both arrays must be sorted and non-empty. One stable merge gives both empirical CDFs,
    so the statistic and the distance equal ``scipy.stats.ks_2samp`` and
    ``scipy.stats.wasserstein_distance``; see :func:`ks_p_value` for the p-value.
    """
    n1, n2 = len(ref_sorted), len(cur_sorted)
    merged = np.concatenate((ref_sorted, cur_sorted))
    order = np.argsort(merged, kind="stable")  # two sorted runs: a single merge
    values = merged[order]
    steps = merged[:-1]  # reuse: the gaps between consecutive merged values
    np.subtract(values[1:], values[:-1], out=steps)
    from_ref = order < n1
    # n1 * n2 * (F_ref - F_cur) after each merged point, in exact integers, built in place:
    # a reference point adds n2, a current point takes n1
    gap = order
    gap.fill(-n1)
    gap[from_ref] = n2
    np.cumsum(gap, out=gap)
    np.abs(gap, out=gap)
    inner = gap[:-1]
    # the CDFs are only compared where a run of tied values ends
    largest = np.max(inner, where=steps != 0, initial=0)
    statistic = float(largest) / (n1 * n2)
    with np.errstate(over="ignore", invalid="ignore"):
        np.multiply(steps, inner, out=steps)
        distance = float(steps.sum()) / (n1 * n2)
    return statistic, ks_p_value(statistic, n1, n2, ref_sorted, cur_sorted), distance


def ks_p_value(
    statistic: float,
    n1: int,
    n2: int,
    ref_sorted: np.ndarray | None = None,
    cur_sorted: np.ndarray | None = None,
) -> float:
    """Two-sided p-value of a two-sample KS statistic.

    Up to 10,000 values a side it is ``scipy.stats.ks_2samp``'s own (exact where scipy
    computes it exactly; pass the arrays). Larger samples use the asymptotic distribution
    of ``n1 * n2 / (n1 + n2)``: scipy's ``kstwo`` while that effective size is below 10,000,
    beyond it the Kolmogorov limit with Stephens' small-sample correction, which stays within
    0.2 % of ``kstwo`` around the usual significance levels but costs microseconds where
    ``kstwo`` can take a tenth of a second.
    """
    from scipy import special

    if max(n1, n2) <= _EXACT_KS_MAX and ref_sorted is not None and cur_sorted is not None:
        from scipy import stats

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # exact -> asymp fallback notice
            return float(stats.ks_2samp(ref_sorted, cur_sorted, method="auto").pvalue)
    effective = n1 * n2 / (n1 + n2)
    if effective < _EXACT_KS_MAX:
        from scipy import stats

        return float(np.clip(stats.kstwo.sf(statistic, round(effective)), 0.0, 1.0))
    root = math.sqrt(effective)
    return float(np.clip(special.kolmogorov((root + 0.12 + 0.11 / root) * statistic), 0.0, 1.0))


def pooled_table(ref_counts: np.ndarray, cur_counts: np.ndarray) -> np.ndarray:
    """The 2 x K table of a chi-squared homogeneity test, rare categories pooled.

    Categories whose expected count is below :data:`MIN_EXPECTED` on either side are pooled
    into one column; a pool still too small joins the smallest remaining category (the first
    of equals: callers pass the columns in an order both sides agree on). Columns empty on
    both sides are dropped. The result may have a single column (nothing to test).
    """
    table = np.vstack((ref_counts, cur_counts)).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    n_ref, n_cur = table.sum(axis=1)
    total = n_ref + n_cur
    smallest_expected = min(n_ref, n_cur) * table.sum(axis=0) / total
    rare = smallest_expected < MIN_EXPECTED
    if not rare.any():
        return table
    kept = table[:, ~rare]
    pool = table[:, rare].sum(axis=1, keepdims=True)
    if kept.shape[1] and min(n_ref, n_cur) * pool.sum() / total < MIN_EXPECTED:
        target = int(np.argmin(kept.sum(axis=0)))
        kept = kept.copy()
        kept[:, target] += pool[:, 0]
        return kept
    return np.hstack((kept, pool))


def chi2_homogeneity(table: np.ndarray) -> tuple[float, float, int]:
    """Pearson's chi-squared statistic, p-value and degrees of freedom of a 2 x K table."""
    from scipy import special  # scipy.special only: scipy.stats costs far more to import

    dof = table.shape[1] - 1
    if dof < 1:  # a single category: nothing can differ
        return 0.0, 1.0, 0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return statistic, float(special.chdtrc(dof, statistic)), dof


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two count or share vectors."""
    p = np.asarray(p, dtype=np.float64) / np.sum(p)
    q = np.asarray(q, dtype=np.float64) / np.sum(q)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum()
    return float(math.sqrt(max((kl_p + kl_q) / 2, 0.0)))


def psi(ref_shares: np.ndarray, cur_shares: np.ndarray, epsilon: float = PSI_EPSILON) -> float:
    """Population stability index of two share vectors over the same bins."""
    ref = np.maximum(np.asarray(ref_shares, dtype=np.float64), epsilon)
    cur = np.maximum(np.asarray(cur_shares, dtype=np.float64), epsilon)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def null_rate_test(
    nulls_ref: int, rows_ref: int, nulls_cur: int, rows_cur: int
) -> tuple[float, float]:
    """Two-proportion z-test of equal null rates: (two-sided p-value, Cohen's h).

    Equivalent to the chi-squared test of the 2 x 2 table without continuity correction.
    """
    rate_ref, rate_cur = nulls_ref / rows_ref, nulls_cur / rows_cur
    effect = abs(2 * math.asin(math.sqrt(rate_ref)) - 2 * math.asin(math.sqrt(rate_cur)))
    pooled = (nulls_ref + nulls_cur) / (rows_ref + rows_cur)
    if pooled in (0.0, 1.0):
        return 1.0, effect
    spread = math.sqrt(pooled * (1 - pooled) * (1 / rows_ref + 1 / rows_cur))
    z = abs(rate_ref - rate_cur) / spread
    return math.erfc(z / math.sqrt(2)), effect


def adjust_p_values(p_values: Sequence[float], method: str = "bh") -> np.ndarray:
    """Adjusted p-values: Benjamini-Hochberg (``"bh"``), Bonferroni, or ``"none"``."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0 or method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(adjusted, 1.0)
    return result
