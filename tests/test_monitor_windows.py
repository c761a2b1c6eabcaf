"""Monitoring windows over logged predictions: traffic that shifts in some columns gives
retrain for exactly those columns in the windows after the shift, latency percentiles and
live metrics per version come from the window's own rows, and short windows are listed but
not tested."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.serving.windows import monitor_windows, parse_window

HOUR = 3600.0
START = 1_790_000_000.0 - (1_790_000_000.0 % HOUR)  # on an hour


def training(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.gamma(2.0, 20_000, n),
            "tenure": rng.integers(0, 10, n).astype(float),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
        }
    )


def traffic(hour: int, n: int, *, shifted: bool, seed: int) -> pd.DataFrame:
    rows = training(n, seed)
    if shifted:  # two columns move; the other two do not
        rows["income"] = rows["income"] * 1.6
        rows["plan"] = np.random.default_rng(seed).choice(
            ["basic", "plus", "pro"], n, p=[0.2, 0.3, 0.5]
        )
    rng = np.random.default_rng(seed + 100)
    rows["time"] = START + hour * HOUR + np.sort(rng.uniform(0, HOUR - 1, n))
    rows["version"] = "3"
    rows["latency_ms"] = rng.gamma(2.0, 2.0, n)
    rows["prediction"] = (rows["age"] > 40).astype(int)
    rows["label"] = np.where(rng.random(n) < 0.9, rows["prediction"], 1 - rows["prediction"])
    return rows


def test_shifted_traffic_gives_retrain_for_exactly_the_shifted_columns() -> None:
    logged = pd.concat(
        [
            traffic(0, 800, shifted=False, seed=1),
            traffic(1, 800, shifted=False, seed=2),
            traffic(2, 800, shifted=True, seed=3),
            traffic(3, 800, shifted=True, seed=4),
        ],
        ignore_index=True,
    ).sample(frac=1.0, random_state=0)  # arrival order does not matter

    windows = monitor_windows(
        logged, training(), input_columns=["age", "income", "tenure", "plan"], window="1h"
    )

    assert [w.start for w in windows] == [START + h * HOUR for h in range(4)]
    assert [w.decision for w in windows] == ["monitor", "monitor", "retrain", "retrain"]
    for shifted in windows[2:]:
        assert sorted(shifted.retrain_columns) == ["income", "plan"]
        assert "retrain for income, plan" in shifted.summary() or "retrain for plan, income" in (
            shifted.summary()
        )
    assert all(w.retrain_columns == () for w in windows[:2])


def test_latency_and_live_metrics_are_the_windows_own() -> None:
    from sklearn.metrics import accuracy_score

    first, second = traffic(0, 300, shifted=False, seed=5), traffic(1, 300, shifted=False, seed=6)
    second["latency_ms"] = second["latency_ms"] + 100
    second.loc[second.index[:150], "version"] = "4"
    second.loc[second.index[:20], "label"] = None  # not come back yet

    windows = monitor_windows(
        pd.concat([first, second]), training(), input_columns=["age", "plan"], window=3600
    )

    assert windows[0].latency_p50_ms == pytest.approx(np.percentile(first["latency_ms"], 50))
    assert windows[1].latency_p99_ms == pytest.approx(np.percentile(second["latency_ms"], 99))
    assert windows[1].n_labelled == 280
    version_4 = second.iloc[20:150]
    assert windows[1].metrics["4"]["accuracy"] == pytest.approx(
        accuracy_score(version_4["label"].astype(int), version_4["prediction"])
    )
    assert set(windows[1].metrics) == {"3", "4"} and set(windows[0].metrics) == {"3"}
    # no reference predictions: the second window's outputs are compared with the first's
    assert windows[0].prediction_drift is None and windows[1].prediction_drift is not None


def test_the_shadow_is_compared_with_the_champion_on_the_same_rows() -> None:
    rows = traffic(0, 400, shifted=False, seed=8)
    rng = np.random.default_rng(9)
    rows["challenger_prediction"] = np.where(
        rng.random(400) < 0.98, rows["label"], 1 - rows["label"]
    )

    (window,) = monitor_windows(rows, training(), input_columns=["age"], window="1h")

    assert window.comparison is not None
    assert window.comparison.verdict == "challenger better"
    assert window.comparison.n_pairs == 400


def test_short_windows_are_listed_but_not_tested() -> None:
    rows = traffic(0, 12, shifted=True, seed=10)

    (window,) = monitor_windows(rows, training(), input_columns=["income"], window="1h")

    assert window.decision is None and window.input_drift is None
    assert window.n_predictions == 12 and window.latency_p50_ms is not None
    assert "too few predictions to test for drift (12; the monitor needs 50)" in window.summary()


def test_window_lengths_and_missing_columns_are_checked() -> None:
    assert [parse_window(t) for t in ("90s", "30m", "1h", "1d", "2.5h", 60)] == [
        90, 1800, 3600, 86400, 9000, 60,
    ]  # fmt: skip
    for bad in ("soon", "0h", "-1h", ""):
        with pytest.raises(InvalidInputError) as raised:
            parse_window(bad)
        assert raised.value.hint
    with pytest.raises(InvalidInputError, match="no column latency_ms, income"):
        monitor_windows(
            pd.DataFrame({"time": [1.0], "version": ["1"], "prediction": [0]}),
            training(),
            input_columns=["income"],
        )


def test_a_broken_fairness_rule_makes_its_window_ask_for_review() -> None:
    from fairlearn.metrics import demographic_parity_difference

    fair, biased = traffic(0, 600, shifted=False, seed=12), traffic(1, 600, shifted=False, seed=13)
    for rows, seed in ((fair, 12), (biased, 13)):
        rows["sex"] = np.random.default_rng(seed).choice(["F", "M"], len(rows))
    women = biased["sex"] == "F"
    biased.loc[women, "prediction"] = np.where(
        np.random.default_rng(14).random(int(women.sum())) < 0.8, 0, 1
    )  # women are mostly refused in the second hour
    rule = "demographic_parity_difference(sex) <= 0.1"

    windows = monitor_windows(
        pd.concat([fair, biased]), training(), input_columns=["age", "income"], fairness=[rule]
    )

    assert [w.decision for w in windows] == ["monitor", "review"]
    assert windows[0].fairness_failed == () and windows[1].fairness_failed == (rule,)
    assert (
        demographic_parity_difference(
            biased["label"], biased["prediction"], sensitive_features=biased["sex"]
        )
        > 0.1
        >= demographic_parity_difference(
            fair["label"], fair["prediction"], sensitive_features=fair["sex"]
        )
    )
    assert f"unfair: {rule}" in windows[1].summary()
    unknown = monitor_windows(
        fair, training(), input_columns=["age"], fairness=["min_by(accuracy, region) >= 0.5"]
    )
    (check,) = unknown[0].fairness
    assert check.passed is None and "region" in check.detail


def test_auc_comes_from_the_rows_whose_scores_were_logged() -> None:
    from sklearn.metrics import roc_auc_score

    rows = traffic(0, 400, shifted=False, seed=21)
    rng = np.random.default_rng(22)
    rows["score"] = np.clip(rows["label"] * 0.4 + rng.normal(0.3, 0.2, len(rows)), 0, 1)
    rows.loc[rows.index[::3], "score"] = np.nan  # requests not sampled: no score logged

    (window,) = monitor_windows(rows, training(), input_columns=["age"], window="1h")

    scored = rows[rows["score"].notna()]
    assert window.metrics["3"]["auc"] == pytest.approx(
        roc_auc_score(scored["label"].astype(int), scored["score"])
    )
    assert window.metrics["3"]["accuracy"] == pytest.approx(
        float((rows["label"] == rows["prediction"]).mean())
    )  # over every labelled row, scored or not
