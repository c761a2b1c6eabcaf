"""Tests of the drift statistics against the scipy routines they mirror."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from jupyter_mlops.drift.statistics import (
    adjust_p_values,
    chi2_homogeneity,
    jensen_shannon,
    ks_p_value,
    ks_wasserstein,
    null_rate_test,
    pooled_table,
    psi,
)


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "shift", "ties"),
    [
        (50, 70, 0.0, False),
        (800, 600, 0.3, False),
        (5_000, 9_000, 0.05, False),
        (2_000, 3_000, 0.0, True),
        (20_000, 15_000, 0.02, False),
        (12_000, 50_000, 0.0, True),
        (10_000, 200_000, 0.01, False),
        (30_000, 40_000, 0.02, False),
        (100_000, 100_000, 0.01, True),
        (60_000, 80_000, 0.03, False),
    ],
)
def test_ks_wasserstein_matches_scipy(n_ref: int, n_cur: int, shift: float, ties: bool) -> None:
    rng = np.random.default_rng(n_ref + n_cur)
    ref = rng.normal(0, 1, n_ref)
    cur = rng.normal(shift, 1, n_cur)
    if ties:
        ref, cur = np.round(ref, 1), np.round(cur, 1)
    statistic, p_value, distance = ks_wasserstein(np.sort(ref), np.sort(cur))
    method = "auto" if max(n_ref, n_cur) <= 10_000 else "asymp"
    expected = stats.ks_2samp(ref, cur, method=method)
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    # beyond an effective size of 10,000 the Kolmogorov limit (Stephens) stands in for kstwo
    approximated = n_ref * n_cur / (n_ref + n_cur) >= 10_000
    assert p_value == pytest.approx(expected.pvalue, rel=1e-2 if approximated else 1e-9, abs=1e-300)
    assert distance == pytest.approx(stats.wasserstein_distance(ref, cur), rel=1e-9)


@pytest.mark.parametrize(
    ("ref_counts", "cur_counts"),
    [
        ([500, 300, 200], [480, 330, 190]),
        ([500, 300, 200, 3, 1], [480, 330, 190, 0, 2]),
        ([50, 50], [35, 65]),
        ([900, 90, 9, 1], [850, 120, 20, 10]),
        ([10, 0, 7], [8, 4, 0]),
    ],
)
def test_chi2_homogeneity_matches_scipy_on_the_pooled_table(ref_counts, cur_counts) -> None:
    table = pooled_table(np.array(ref_counts), np.array(cur_counts))
    assert table.sum() == sum(ref_counts) + sum(cur_counts)
    statistic, p_value, dof = chi2_homogeneity(table)
    expected = stats.chi2_contingency(table, correction=False)
    assert statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-12)
    assert dof == expected.dof


@pytest.mark.parametrize(
    ("ref_counts", "cur_counts", "columns"),
    [
        ([500, 300, 200], [480, 330, 190], 3),  # nothing rare
        ([500, 300, 200, 4, 3, 2], [480, 330, 190, 3, 4, 2], 4),  # three rare ones pooled
        ([500, 300, 200, 3, 1], [480, 330, 190, 0, 2], 3),  # a pool too small joins the smallest
        ([3, 1], [2, 2], 1),  # everything rare: nothing left to test
    ],
)
def test_pooled_table_pools_categories_expected_fewer_than_five(
    ref_counts, cur_counts, columns: int
) -> None:
    table = pooled_table(np.array(ref_counts), np.array(cur_counts))
    assert table.shape == (2, columns)
    if columns > 1:
        expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
        assert expected.min() >= 5


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(0, 1_000), min_size=2, max_size=12).filter(lambda c: sum(c) > 0),
    st.data(),
)
def test_jensen_shannon_matches_scipy(ref_counts: list[int], data) -> None:
    cur_counts = data.draw(
        st.lists(st.integers(0, 1_000), min_size=len(ref_counts), max_size=len(ref_counts)).filter(
            lambda c: sum(c) > 0
        )
    )
    expected = jensenshannon(ref_counts, cur_counts, base=2)
    assert jensen_shannon(np.array(ref_counts), np.array(cur_counts)) == pytest.approx(
        expected, abs=1e-7
    )


def _benjamini_hochberg_by_definition(p: np.ndarray) -> np.ndarray:
    """q of the k-th smallest p: min over j >= k of p_(j) * m / j, at most 1."""
    m = len(p)
    order = np.argsort(p)
    ranked = p[order]
    q = [min(1.0, min(ranked[j - 1] * m / j for j in range(k, m + 1))) for k in range(1, m + 1)]
    adjusted = np.empty(m)
    adjusted[order] = q
    return adjusted


@pytest.mark.parametrize("m", [1, 2, 7, 40])
def test_adjust_p_values_matches_the_definitions(m: int) -> None:
    p = np.random.default_rng(m).random(m) ** 3
    np.testing.assert_allclose(
        adjust_p_values(p, "bh"), _benjamini_hochberg_by_definition(p), rtol=1e-12
    )
    np.testing.assert_allclose(adjust_p_values(p, "bonferroni"), np.minimum(p * m, 1))
    np.testing.assert_array_equal(adjust_p_values(p, "none"), p)


@pytest.mark.skipif(
    not hasattr(stats, "false_discovery_control"), reason="scipy 1.11 brought it; older has not"
)
@pytest.mark.parametrize("m", [1, 2, 7, 40])
def test_adjust_p_values_matches_scipy(m: int) -> None:
    p = np.random.default_rng(m).random(m) ** 3
    np.testing.assert_allclose(
        adjust_p_values(p, "bh"), stats.false_discovery_control(p, method="bh"), rtol=1e-12
    )


@pytest.mark.parametrize(
    ("nulls_ref", "rows_ref", "nulls_cur", "rows_cur"),
    [(0, 1_000, 100, 1_000), (50, 10_000, 60, 9_000), (7, 70, 3, 90), (500, 1_000, 480, 1_000)],
)
def test_null_rate_test_matches_chi2_two_by_two(nulls_ref, rows_ref, nulls_cur, rows_cur) -> None:
    p_value, effect = null_rate_test(nulls_ref, rows_ref, nulls_cur, rows_cur)
    table = [[nulls_ref, rows_ref - nulls_ref], [nulls_cur, rows_cur - nulls_cur]]
    assert p_value == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue)
    h = abs(
        2 * np.arcsin(np.sqrt(nulls_ref / rows_ref)) - 2 * np.arcsin(np.sqrt(nulls_cur / rows_cur))
    )
    assert effect == pytest.approx(h)


def test_null_rate_test_without_any_null_is_p_one() -> None:
    assert null_rate_test(0, 10, 0, 20) == (1.0, 0.0)


def test_psi_known_value_and_empty_bins() -> None:
    ref = np.array([0.5, 0.5])
    cur = np.array([0.25, 0.75])
    assert psi(ref, cur) == pytest.approx(0.25 * np.log(0.5) * -1 + 0.25 * np.log(1.5))
    assert np.isfinite(psi(np.array([1.0, 0.0]), np.array([0.0, 1.0])))


@pytest.mark.parametrize("effective", [10_000, 50_000, 150_000])
@pytest.mark.parametrize("p", [0.2, 0.05, 0.01, 1e-3])
def test_ks_p_value_stays_close_to_kstwo_near_significance_levels(effective: int, p: float) -> None:
    statistic = stats.kstwobign.isf(p) / np.sqrt(effective)
    exact = stats.kstwo.sf(statistic, effective)
    assert ks_p_value(statistic, 2 * effective, 2 * effective) == pytest.approx(exact, rel=5e-3)
