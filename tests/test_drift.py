"""Tests of drift detection: statistics against scipy, properties, the bench recipe, edge cases."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from jupyter_mlops.drift.deciding import drift_report
from jupyter_mlops.drift.report import DECISIONS, VERDICTS, DriftReport
from jupyter_mlops.drift.statistics import adjust_p_values
from jupyter_mlops.errors import InvalidInputError, NotFoundError
from jupyter_mlops.snapshots.column_values import CATEGORY_CAP
from jupyter_mlops.snapshots.profiles import DataProfile, profile_frame

from .drift_recipe import IN_REPO as IN_REPO_RECIPE
from .drift_recipe import SHARED as SHARED_RECIPE
from .drift_recipe import load_drift_recipe

SEED = 7


def _bench_recipe():
    """The project's bench recipe of injected drift (bench/drift_data.py)."""
    return load_drift_recipe()


@pytest.fixture(scope="module")
def recipe():
    return _bench_recipe()


def _frames(n: int = 4_000, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "x": rng.normal(shift, 1, n),
                "y": rng.exponential(2, n),
                "c": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            }
        )

    return frame(0.0), frame(0.0)


# --- statistics on the report's own columns -------------------------------------------------


def test_drift_report_statistics_equal_scipy_on_the_same_values() -> None:
    rng = np.random.default_rng(SEED)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 3_000), "c": rng.choice(list("abcd"), 3_000)})
    cur = pd.DataFrame(
        {
            "x": rng.normal(0.2, 1.2, 2_500),
            "c": rng.choice(list("abcd"), 2_500, p=[0.4, 0.3, 0.2, 0.1]),
        }
    )
    cur.loc[::10, "x"] = np.nan
    report = drift_report(ref, cur)
    x = report.column("x")
    values = cur["x"].dropna().to_numpy()
    expected = stats.ks_2samp(ref["x"], values)
    assert (x.statistic, x.p_value) == pytest.approx((expected.statistic, expected.pvalue))
    assert x.effect == pytest.approx(
        stats.wasserstein_distance(ref["x"], values) / ref["x"].std(ddof=1)
    )
    c = report.column("c")
    table = pd.crosstab(
        np.r_[np.zeros(len(ref)), np.ones(len(cur))],
        np.r_[ref["c"].to_numpy(), cur["c"].to_numpy()],
    ).to_numpy()
    chi = stats.chi2_contingency(table, correction=False)
    assert (c.statistic, c.p_value) == pytest.approx((chi.statistic, chi.pvalue))
    assert c.effect == pytest.approx(jensenshannon(table[0], table[1], base=2))
    assert x.null_p == pytest.approx(
        stats.chi2_contingency([[0, 3_000], [250, 2_250]], correction=False).pvalue
    )


# --- properties ---------------------------------------------------------------------------------

_numbers = st.lists(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=60
)
_labels = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(_numbers, st.data())
def test_drift_report_identical_samples_never_drift(numbers: list[float], data) -> None:
    labels = data.draw(
        st.lists(st.sampled_from("abcdefg"), min_size=len(numbers), max_size=len(numbers))
    )
    nulls = data.draw(st.lists(st.booleans(), min_size=len(numbers), max_size=len(numbers)))
    frame = pd.DataFrame({"x": numbers, "c": labels})
    frame.loc[nulls, "x"] = np.nan
    report = drift_report(frame, frame.copy())
    assert report.decision == "monitor"
    assert not report.drifted_columns and not report.null_drifted_columns
    assert {c.verdict for c in report.columns} <= {"no drift", "not tested"}


@settings(max_examples=40, deadline=None)
@given(_numbers, _numbers, _labels, _labels, st.randoms(use_true_random=False))
def test_drift_report_verdicts_invariant_to_row_order(xs, ys, cs, ds, random) -> None:
    ref = pd.DataFrame({"v": xs}).assign(c=(cs * 60)[: len(xs)])
    cur = pd.DataFrame({"v": ys}).assign(c=(ds * 60)[: len(ys)])
    shuffled_ref = ref.iloc[random.sample(range(len(ref)), len(ref))]
    shuffled_cur = cur.iloc[random.sample(range(len(cur)), len(cur))]
    first, second = drift_report(ref, cur), drift_report(shuffled_ref, shuffled_cur)
    for a, b in zip(first.columns, second.columns, strict=True):
        assert (a.verdict, a.decision, a.test) == (b.verdict, b.decision, b.test)
        assert a.statistic == pytest.approx(b.statistic)
        assert a.p_value == pytest.approx(b.p_value)


@settings(max_examples=40, deadline=None)
@given(_numbers, _numbers, _labels, _labels)
# a pool too small to stand alone, and two categories of equal size it could join
@example(xs=[0.0] * 13, ys=[0.0] * 13, cs=["a", "b", "c"], ds=["b", "a"])
def test_drift_report_swapping_sides_keeps_symmetric_statistics(xs, ys, cs, ds) -> None:
    ref = pd.DataFrame({"v": xs, "c": (cs * 60)[: len(xs)]})
    cur = pd.DataFrame({"v": ys, "c": (ds * 60)[: len(ys)]})
    forward, backward = drift_report(ref, cur), drift_report(cur, ref)
    for a, b in zip(forward.columns, backward.columns, strict=True):
        assert a.test == b.test
        if a.statistic is not None:
            assert a.statistic == pytest.approx(b.statistic, rel=1e-9, abs=1e-12)
            assert a.p_value == pytest.approx(b.p_value, rel=1e-9, abs=1e-12)
        if a.effect_name == "jensen-shannon":
            assert a.effect == pytest.approx(b.effect, abs=1e-9)


# --- the bench recipe ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_drift_report_on_bench_recipe_flags_exactly_the_injected_columns(recipe, n: int) -> None:
    ref, cur = recipe.make(n, n)
    for reference in (ref, profile_frame(ref)):
        report = drift_report(reference, cur)
        assert set(report.drifted_columns) == {k for k, v in recipe.EXPECTED.items() if v}
        assert report.null_drifted_columns == ("num_3",)
        num_2 = report.column("num_2")
        assert not num_2.drifted and num_2.effect < 0.1
        num_3 = report.column("num_3")
        assert (num_3.drifted, num_3.verdict, num_3.decision) == (
            False,
            "null-rate drift",
            "review",
        )
        assert num_3.null_rate_ref == 0 and num_3.null_rate_cur == pytest.approx(0.1, abs=0.01)
        assert "null rate 0.0% -> 10" in num_3.reason
        assert report.column("cat_1").unseen_share == pytest.approx(0.05, abs=0.01)
        assert report.decision == "retrain"


def test_drift_report_on_bench_recipe_calls_the_tiny_shift_immaterial(recipe) -> None:
    ref, cur = recipe.make(100_000, 100_000)
    num_2 = drift_report(ref, cur).column("num_2")
    assert num_2.p_adjusted <= 0.05
    assert (num_2.verdict, num_2.decision) == ("immaterial", "monitor")
    assert "immaterial" in num_2.reason


# --- decisions, correction, gate ----------------------------------------------------------------


def _counts_frame(a: int, b: int) -> pd.DataFrame:
    return pd.DataFrame({"c": ["a"] * a + ["b"] * b})


@pytest.mark.parametrize(
    ("cur_a", "verdict", "decision"),
    [(25, "drift", "retrain"), (35, "drift", "review"), (45, "no drift", "monitor")],
)
def test_drift_report_decision_follows_adjusted_p(cur_a: int, verdict: str, decision: str) -> None:
    report = drift_report(_counts_frame(50, 50), _counts_frame(cur_a, 100 - cur_a))
    col = report.column("c")
    assert (col.verdict, col.decision, report.decision) == (verdict, decision, decision)
    assert (col.p_adjusted <= 0.01) == (decision == "retrain")


def test_drift_report_effect_threshold_makes_a_change_immaterial() -> None:
    report = drift_report(_counts_frame(50, 50), _counts_frame(25, 75), effect_threshold=0.5)
    assert report.column("c").verdict == "immaterial"
    assert report.decision == "monitor"


@pytest.mark.parametrize("correction", ["bh", "bonferroni", "none"])
def test_drift_report_correction_adjusts_value_and_null_tests(correction: str) -> None:
    ref, cur = _frames()
    cur.loc[:300, "y"] = np.nan
    report = drift_report(ref, cur, correction=correction)
    raw = [c.p_value for c in report.columns]
    adjusted = [c.p_adjusted for c in report.columns]
    np.testing.assert_allclose(adjusted, adjust_p_values(raw, correction))
    np.testing.assert_allclose(
        [c.null_p_adjusted for c in report.columns],
        adjust_p_values([c.null_p for c in report.columns], correction),
    )
    assert report.correction == correction


@pytest.mark.parametrize(
    ("critical", "gate_passed", "failed"),
    [((), True, ()), (["x"], False, ("x",)), (["c"], True, ()), ("y", False, ("y",))],
)
def test_drift_report_gate_fails_on_drift_in_critical_columns(
    critical, gate_passed, failed
) -> None:
    ref, cur = _frames()
    cur["x"] += 1.0
    cur.loc[:800, "y"] = np.nan  # a null-rate change is drift too
    report = drift_report(ref, cur, critical=critical)
    assert (report.gate_passed, report.failed_critical) == (gate_passed, failed)
    assert all(c.critical == (c.column in failed or c.column in critical) for c in report.columns)
    if not gate_passed:
        assert "gate failed on" in report.summary()


def test_drift_report_gate_fails_when_a_critical_column_goes_missing() -> None:
    ref, cur = _frames(500)
    report = drift_report(ref, cur.drop(columns=["x"]), critical=["x"])
    assert (report.gate_passed, report.failed_critical) == (False, ("x",))
    assert report.column("x").verdict == "not tested"


# --- edge cases: a stated verdict or a clear error ----------------------------------------------


def test_drift_report_constant_column_on_both_sides_is_no_drift() -> None:
    report = drift_report(pd.DataFrame({"k": [3.0] * 50}), pd.DataFrame({"k": [3.0] * 70}))
    col = report.column("k")
    assert (col.verdict, col.test, col.effect, col.decision) == ("no drift", "none", 0.0, "monitor")
    assert "constant" in col.reason and "'3'" in col.reason


def test_drift_report_constant_that_changes_value_drifts() -> None:
    col = drift_report(pd.DataFrame({"k": [3] * 200}), pd.DataFrame({"k": [4] * 200})).column("k")
    assert (col.verdict, col.test, col.effect) == ("drift", "chi2", pytest.approx(1.0))


def test_drift_report_constant_reference_without_discrete_path_states_its_scale() -> None:
    ref = pd.DataFrame({"k": [5.0] * 300})
    moved = drift_report(ref, pd.DataFrame({"k": [5.0] * 150 + [6.0] * 150}), discrete_max=0)
    col = moved.column("k")
    assert (col.test, col.verdict, col.effect) == ("ks", "drift", None)
    assert "the reference is constant (5)" in col.reason
    same = drift_report(ref, pd.DataFrame({"k": [5.0] * 100}), discrete_max=0).column("k")
    assert (same.verdict, same.effect) == ("no drift", 0.0)


def test_drift_report_zero_std_in_a_stored_profile_falls_back_to_iqr() -> None:
    rng = np.random.default_rng(SEED)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 2_000)})
    cur = pd.DataFrame({"x": rng.normal(0.5, 1, 2_000)})
    profile = profile_frame(ref)
    zero_std = dataclasses.replace(
        profile, columns=(dataclasses.replace(profile.columns[0], std=0.0),)
    )
    col = drift_report(zero_std, cur).column("x")
    quantiles = profile.columns[0].quantiles
    iqr_scale = (quantiles[75] - quantiles[25]) / 1.349
    assert col.effect_name == "wasserstein/iqr"
    assert col.effect == pytest.approx(stats.wasserstein_distance(ref["x"], cur["x"]) / iqr_scale)


def test_drift_report_all_null_current_column_is_a_null_rate_drift() -> None:
    ref = pd.DataFrame({"x": np.arange(500.0)})
    cur = pd.DataFrame({"x": [np.nan] * 400})
    col = drift_report(ref, cur).column("x")
    assert (col.verdict, col.decision, col.test) == ("null-rate drift", "review", "none")
    assert "the current data has no non-null values" in col.reason
    assert (col.null_rate_ref, col.null_rate_cur) == (0.0, 1.0)


def test_drift_report_all_null_on_both_sides_is_not_tested() -> None:
    frame = pd.DataFrame({"x": [None] * 30, "y": range(30)})
    col = drift_report(frame, frame).column("x")
    assert (col.verdict, col.decision) == ("not tested", "monitor")
    assert "no non-null values on either side" in col.reason


@pytest.mark.parametrize(
    ("ref", "cur", "column", "decision", "words"),
    [
        (
            {"a": [1.0] * 20, "b": [2.0] * 20},
            {"a": [1.0] * 20},
            "b",
            "review",
            "missing from the current",
        ),
        (
            {"a": [1.0] * 20},
            {"a": [1.0] * 20, "n": [1] * 20},
            "n",
            "monitor",
            "not in the reference",
        ),
        (
            {"a": np.arange(20.0)},
            {"a": [str(i) for i in range(20)]},
            "a",
            "review",
            "kind changed from numeric",
        ),
        (
            {"a": ["x"] * 20},
            {"a": pd.Series([1, "x"] * 10, dtype=object)},
            "a",
            "review",
            "mixed value types (int, str)",
        ),
        (
            {"a": pd.Series([1, "x"] * 10, dtype=object)},
            {"a": ["x"] * 20},
            "a",
            "monitor",
            "reference column cannot be compared",
        ),
    ],
    ids=[
        "missing-in-current",
        "new-in-current",
        "kind-changed",
        "mixed-types-current",
        "mixed-types-reference",
    ],
)
def test_drift_report_schema_problems_get_a_stated_verdict(
    ref, cur, column, decision, words
) -> None:
    col = drift_report(pd.DataFrame(ref), pd.DataFrame(cur)).column(column)
    assert (col.verdict, col.decision, col.test) == ("not tested", decision, "none")
    assert words in col.reason


def test_drift_report_counts_unseen_categories() -> None:
    ref = pd.DataFrame({"c": ["a", "b"] * 500})
    cur = pd.DataFrame({"c": ["a", "b"] * 450 + ["new"] * 60 + ["newer"] * 40})
    col = drift_report(ref, cur).column("c")
    assert col.unseen_share == pytest.approx(0.1)
    assert set(col.labels) == {"a", "b", "new", "newer"}
    assert col.verdict == "drift"


def test_drift_report_capped_profile_pools_unknown_categories() -> None:
    labels = [f"id{i:05d}" for i in range(CATEGORY_CAP + 500)]
    ref = pd.DataFrame({"c": labels * 2})
    cur = pd.DataFrame({"c": labels[:600] * 2})
    col = drift_report(profile_frame(ref), cur).column("c")
    assert "unseen share is an upper bound" in col.reason
    assert col.test == "chi2"
    assert col.unseen_share == 0.0


@pytest.mark.parametrize("tz", [None, "UTC", "America/New_York"])
def test_drift_report_tests_datetimes_as_epoch_seconds(tz: str | None) -> None:
    rng = np.random.default_rng(SEED)
    start = pd.Timestamp("2024-01-01", tz=tz)
    ref = pd.DataFrame({"t": start + pd.to_timedelta(rng.uniform(0, 90, 3_000), unit="D")})
    same = pd.DataFrame({"t": start + pd.to_timedelta(rng.uniform(0, 90, 3_000), unit="D")})
    later = pd.DataFrame({"t": start + pd.to_timedelta(rng.uniform(30, 120, 3_000), unit="D")})
    unmoved = drift_report(ref, same).column("t")
    assert (unmoved.drifted, unmoved.decision) == (False, "monitor")
    moved = drift_report(ref, later).column("t")
    assert (moved.kind, moved.test, moved.verdict) == ("datetime", "ks", "drift")
    assert moved.statistic == pytest.approx(
        stats.ks_2samp(
            ref["t"].map(pd.Timestamp.timestamp), later["t"].map(pd.Timestamp.timestamp)
        ).statistic
    )


def test_drift_report_booleans_and_low_cardinality_numbers_are_tested_as_categories() -> None:
    rng = np.random.default_rng(SEED)
    ref = pd.DataFrame({"flag": rng.random(2_000) < 0.2, "stars": rng.integers(1, 6, 2_000)})
    cur = pd.DataFrame({"flag": rng.random(2_000) < 0.5, "stars": rng.integers(1, 6, 2_000)})
    report = drift_report(ref, cur)
    assert report.column("flag").test == "chi2" and report.column("flag").verdict == "drift"
    stars = report.column("stars")
    assert (stars.test, stars.effect_name) == ("chi2", "jensen-shannon")
    assert sorted(stars.labels) == ["1", "2", "3", "4", "5"]
    assert "tested as categories" in stars.reason


@pytest.mark.parametrize(
    ("make_ref", "make_cur", "error", "message"),
    [
        (
            lambda: pd.DataFrame({"x": []}),
            lambda: pd.DataFrame({"x": [1]}),
            InvalidInputError,
            "reference data has no rows",
        ),
        (
            lambda: pd.DataFrame({"x": [1]}),
            lambda: pd.DataFrame({"x": []}),
            InvalidInputError,
            "current data has no rows",
        ),
        (
            lambda: profile_frame(pd.DataFrame({"x": []})),
            lambda: pd.DataFrame({"x": [1]}),
            InvalidInputError,
            "reference profile has no rows",
        ),
        (
            lambda: {"x": [1]},
            lambda: pd.DataFrame({"x": [1]}),
            InvalidInputError,
            "must be a DataFrame or a DataProfile, not dict",
        ),
        (
            lambda: pd.DataFrame({"x": [1]}),
            lambda: [1, 2],
            InvalidInputError,
            "current data as a pandas DataFrame, not list",
        ),
    ],
)
def test_drift_report_rejects_unusable_inputs(make_ref, make_cur, error, message) -> None:
    with pytest.raises(error, match=message):
        drift_report(make_ref(), make_cur())


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"alpha": 0}, InvalidInputError, "alpha must be between 0 and 1"),
        ({"alpha": 1.5}, InvalidInputError, "alpha must be between 0 and 1"),
        (
            {"retrain_alpha": 0.1},
            InvalidInputError,
            "retrain_alpha must be above 0 and at most alpha",
        ),
        ({"effect_threshold": -1}, InvalidInputError, "effect_threshold must be a number >= 0"),
        ({"correction": "holm"}, InvalidInputError, "correction 'holm' is unknown"),
        ({"max_rows": 0}, InvalidInputError, "max_rows must be an integer >= 1"),
        ({"critical": ["nope"]}, InvalidInputError, "Critical column 'nope' is not among"),
        ({"columns": ["x", "nope"]}, NotFoundError, "'nope' is in neither the reference nor"),
    ],
)
def test_drift_report_rejects_bad_options(options, error, message) -> None:
    ref, cur = _frames(200)
    with pytest.raises(error, match=message):
        drift_report(ref, cur, **options)


def test_drift_report_columns_limits_the_comparison() -> None:
    ref, cur = _frames(500)
    report = drift_report(ref, cur, columns=["c", "x"])
    assert [c.column for c in report.columns] == ["c", "x"]


def test_drift_report_subsamples_large_sides_with_a_fixed_seed() -> None:
    ref, cur = _frames(5_000)
    report = drift_report(ref, cur, max_rows=1_000)
    assert report.subsampled
    assert (report.n_current, report.n_current_used, report.n_reference_used) == (
        5_000,
        1_000,
        1_000,
    )
    assert report.column("x").n_cur == 1_000
    assert drift_report(ref, cur, max_rows=1_000) == report
    assert drift_report(ref, cur, max_rows=1_000, seed=1) != report
    assert "subsampled to 1,000 / 1,000 rows" in report.summary()
    assert not drift_report(ref, cur).subsampled


# --- profiles as reference ----------------------------------------------------------------------


def test_drift_report_from_small_profile_equals_drift_from_the_frame() -> None:
    ref, cur = _frames(3_000)
    ref.loc[::7, "y"] = np.nan
    cur["x"] += 0.2
    from_frame = drift_report(ref, cur)
    from_profile = drift_report(profile_frame(ref), cur)
    assert from_profile.reference_source == "profile"
    for a, b in zip(from_frame.columns, from_profile.columns, strict=True):
        assert (a.verdict, a.decision, a.test) == (b.verdict, b.decision, b.test)
        assert a.statistic == pytest.approx(b.statistic) and a.p_value == pytest.approx(b.p_value)
        assert a.effect == pytest.approx(b.effect) and a.psi == pytest.approx(b.psi)
        assert a.null_p == pytest.approx(b.null_p)


def test_drift_report_from_large_profile_agrees_with_drift_from_the_frame(recipe) -> None:
    ref, cur = recipe.make(50_000, 50_000, seed=3)
    from_frame = drift_report(ref, cur)
    from_profile = drift_report(_through_json(profile_frame(ref)), cur)
    for a, b in zip(from_frame.columns, from_profile.columns, strict=True):
        # at 50,000 rows the frame finds num_2's tiny shift significant (immaterial), the
        # 10,000-value sample may not: both say it did not drift
        assert (a.drifted, a.null_drifted, a.decision) == (b.drifted, b.null_drifted, b.decision)
        if a.effect is not None:
            assert b.effect == pytest.approx(a.effect, abs=0.02)


def _through_json(profile: DataProfile) -> DataProfile:
    """A profile as storage hands it back."""
    return DataProfile.from_dict(json.loads(json.dumps(profile.to_dict())))


# --- the report as a value ----------------------------------------------------------------------


def test_drift_report_round_trips_through_json_exactly(recipe) -> None:
    ref, cur = recipe.make(5_000, 5_000)
    report = drift_report(ref, cur, critical=["num_0"], correction="bonferroni")
    text = json.dumps(report.to_dict(), allow_nan=False)
    assert DriftReport.from_dict(json.loads(text)) == report


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "not a jupyter-mlops drift report"),
        ({"format": "jupyter-mlops/drift-report", "version": 2}, "version 2 is not supported"),
        ({"format": "jupyter-mlops/drift-report", "version": 1, "decision": "monitor"}, "damaged"),
    ],
)
def test_drift_report_from_dict_rejects_bad_input(data, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        DriftReport.from_dict(data)


def test_drift_report_values_are_from_the_documented_sets(recipe) -> None:
    ref, cur = recipe.make(3_000, 3_000)
    report = drift_report(ref, cur)
    assert report.decision in DECISIONS
    for col in report.columns:
        assert col.verdict in VERDICTS and col.decision in DECISIONS
        if col.bins:
            assert list(col.bins) == sorted(col.bins) and len(col.ref_shares) == len(col.bins) - 1
        assert sum(col.ref_shares) == pytest.approx(1) and sum(col.cur_shares) == pytest.approx(1)


def test_drift_report_to_frame_and_column_lookup() -> None:
    ref, cur = _frames(500)
    report = drift_report(ref, cur)
    table = report.to_frame()
    assert list(table.index) == ["x", "y", "c"]
    assert {"p_adjusted", "effect", "verdict", "decision", "reason"} <= set(table.columns)
    with pytest.raises(NotFoundError, match='Column "z" is not in this drift report'):
        report.column("z")


@pytest.mark.parametrize(
    "module",
    [
        "jupyter_mlops.snapshots.profiles",
        "jupyter_mlops.drift.report",
        "jupyter_mlops.drift.columns",
        "jupyter_mlops.drift.statistics",
    ],
)
def test_drift_modules_import_without_scipy_pandas_or_jupyter(
    module: str, python_env: dict[str, str]
) -> None:
    code = (
        f"import sys, {module}\n"
        "heavy = {'scipy', 'pandas', 'IPython', 'ipywidgets', 'tornado', 'nbconvert'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=python_env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(
    not SHARED_RECIPE.exists(), reason="no shared/ beside this clone to compare the copy with"
)
def test_the_recipe_in_bench_is_the_shared_recipe():
    assert IN_REPO_RECIPE.read_bytes() == SHARED_RECIPE.read_bytes()


def _through_csv(frame: pd.DataFrame, tmp_path: Path, name: str) -> pd.DataFrame:
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return pd.read_csv(path)


@pytest.mark.parametrize(
    "stamps",
    [
        lambda t: t,  # 2024-01-05 13:24:10
        lambda t: t.dt.tz_localize("UTC"),  # 2024-01-05 13:24:10+00:00
        lambda t: t.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        lambda t: t.dt.strftime("%Y-%m-%d"),  # dates alone
    ],
    ids=["space", "offset", "t-and-z", "date"],
)
def test_iso_timestamps_read_from_a_csv_are_tested_as_datetimes(
    tmp_path: Path, stamps: Any
) -> None:
    rng = np.random.default_rng(4)
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90 * 86400, 2_000), "s")
    ref = pd.DataFrame({"when": stamps(pd.Series(start)), "x": rng.normal(size=2_000)})
    cur = ref.assign(when=stamps(pd.Series(start + pd.Timedelta(days=120))))
    read_ref, read_cur = _through_csv(ref, tmp_path, "ref"), _through_csv(cur, tmp_path, "cur")
    assert not pd.api.types.is_datetime64_any_dtype(read_ref["when"])  # text in the frame

    report = drift_report(read_ref, read_cur)
    when = report.column("when")
    assert (when.test, when.verdict, when.decision) == ("ks", "drift", "retrain")
    assert report.decision == "retrain"
    unchanged = drift_report(read_ref, _through_csv(ref, tmp_path, "same")).column("when")
    assert (unchanged.test, unchanged.decision) == ("ks", "monitor")


@pytest.mark.parametrize(
    "values",
    [
        ["2024-01-05", "2024-02-30"],  # not a day of the calendar
        ["2024-01-05", "soon"],  # text after dates
        ["2024-01", "2024-02"],  # months: read as labels
        ["20240105", "20240106"],  # digits without separators
    ],
)
def test_text_that_is_not_all_iso_dates_stays_categories(values: list[str]) -> None:
    frame = pd.DataFrame({"when": values * 50})
    column = drift_report(frame, frame).column("when")
    assert column.test in ("chi2", "none") and column.effect_name == "jensen-shannon"


def test_a_share_of_unseen_categories_above_the_threshold_asks_for_review() -> None:
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"plan": rng.choice(["a", "b", "c"], 3_000)})
    few_new = pd.DataFrame({"plan": np.r_[rng.choice(["a", "b", "c"], 2_980), ["z"] * 20]})
    all_new = pd.DataFrame({"plan": ["y", "z"] * 3})  # too few rows for a test

    lenient = drift_report(ref, few_new).column("plan")  # 0.7 % unseen: significant, small
    assert (lenient.verdict, lenient.decision) == ("immaterial", "monitor")
    untested = drift_report(ref.head(6), all_new).column("plan")
    assert (untested.verdict, untested.decision) == ("unseen categories", "review")
    assert "100.0% of the current values are categories the reference never had" in (
        untested.reason
    )
    strict = drift_report(ref, few_new, unseen_threshold=0.005).column("plan")
    assert (strict.verdict, strict.decision) == ("drift", "retrain")
    assert "(more than 0.5%)" in strict.reason
    assert drift_report(ref.head(6), all_new, unseen_threshold=1).column("plan").decision == (
        "monitor"
    )


@pytest.mark.parametrize("bad", [-0.1, 1.5, "10%", True])
def test_an_unseen_threshold_that_is_not_a_share_is_refused(bad: Any) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(InvalidInputError, match="unseen_threshold must be a share"):
        drift_report(frame, frame, unseen_threshold=bad)


def test_a_stored_report_without_the_unseen_threshold_reads_with_its_default() -> None:
    frame = pd.DataFrame({"x": np.arange(20.0)})
    stored = drift_report(frame, frame, unseen_threshold=0.3).to_dict()
    assert DriftReport.from_dict(stored).unseen_threshold == 0.3
    del stored["unseen_threshold"]
    assert DriftReport.from_dict(stored).unseen_threshold == 0.1
