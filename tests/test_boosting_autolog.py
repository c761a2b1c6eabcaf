"""xgboost and LightGBM models fitted in a run: their evaluation curves, best iteration and
feature importances recorded with no logging call, and the model left as it was."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.tracking.queries.detail import run_detail

from .conftest import run_cell

DATA = """
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
X, y = make_classification(n_samples=600, n_features=6, n_informative=4, random_state=0)
X_train, X_valid, y_train, y_valid = train_test_split(X, y, random_state=0)
"""

LIGHTGBM = """
import inspect
import lightgbm
# LightGBM 4.7 names the validation data eval_X and eval_y; earlier versions eval_set
if "eval_X" in inspect.signature(lightgbm.LGBMClassifier.fit).parameters:
    valid = {"eval_X": (X_valid,), "eval_y": (y_valid,)}
else:
    valid = {"eval_set": [(X_valid, y_valid)]}
model = lightgbm.LGBMClassifier(n_estimators=300, learning_rate=0.2, verbose=-1, random_state=0)
"""
LIGHTGBM_FIT = (
    "model.fit(X_train, y_train, **valid, callbacks=[lightgbm.early_stopping(10, verbose=False)])\n"
)

XGBOOST = """
import xgboost
model = xgboost.XGBClassifier(n_estimators=300, learning_rate=0.2, early_stopping_rounds=10,
                              eval_metric="logloss", random_state=0, n_jobs=1)
"""
XGBOOST_FIT = "model.fit(X_train, y_train, eval_set=[(X_valid, y_valid)], verbose=False)\n"

LIBRARIES = {
    "lightgbm": (LIGHTGBM, LIGHTGBM_FIT, "valid_0/binary_logloss"),
    "xgboost": (XGBOOST, XGBOOST_FIT, "validation_0/logloss"),
}


def stored_table(registry: Any, run_id: str, name: str) -> pd.DataFrame:
    detail = run_detail(registry, run_id, series=False)
    record = next(a for a in detail.artifacts if a.name.startswith(name))
    assert record.kind == "table"
    return pd.read_parquet(io.BytesIO(registry.artifacts.read_bytes(record.sha256)))


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_a_boosted_model_fitted_in_a_run_records_its_curves_best_round_and_importances(
    shell: Any, library: str
) -> None:
    pytest.importorskip(library)
    setup, fit, curve = LIBRARIES[library]
    run_cell(shell, DATA + setup)
    result = run_cell(shell, f"%%mlops run boosted\n{fit}")
    assert result.success, result.error_in_exec
    model = shell.user_ns["model"]
    registry = mlops.init()
    detail = mlops.get_run("boosted", full_series=True)

    history = model.evals_result_ if library == "lightgbm" else model.evals_result()
    dataset, metric = curve.split("/")
    expected = [float(v) for v in history[dataset][metric]]
    assert [value for _, value in detail.series[curve]] == pytest.approx(expected, rel=1e-12)
    assert [step for step, _ in detail.series[curve]] == list(range(len(expected)))

    best = model.best_iteration_ - 1 if library == "lightgbm" else model.best_iteration
    assert detail.run.metrics["best_iteration"] == best
    assert len(expected) > best + 5  # early stopping ran on past the best round
    assert expected[best] == min(expected)  # the round kept is the lowest loss
    assert detail.run.metrics["n_iterations"] == len(expected)

    table = stored_table(registry, detail.run.id, "feature_importance")
    assert len(table) == 6
    assert table["importance"].tolist() == sorted(model.feature_importances_, reverse=True)
    assert table["importance"].is_monotonic_decreasing

    # its parameters, as every fitted estimator's
    params = {p.key: p.value for p in detail.params}
    assert params["model.n_estimators"] == 300 and params["model.learning_rate"] == 0.2


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_autolog_leaves_the_model_as_an_untracked_fit_makes_it(shell: Any, library: str) -> None:
    pytest.importorskip(library)
    setup, fit, _ = LIBRARIES[library]
    run_cell(shell, DATA + setup)
    assert run_cell(shell, f"%%mlops run tracked\n{fit}").success
    tracked = shell.user_ns["model"]
    run_cell(shell, setup + fit)  # the same model, fitted with no run active
    untracked = shell.user_ns["model"]
    X_valid = shell.user_ns["X_valid"]
    np.testing.assert_array_equal(tracked.predict_proba(X_valid), untracked.predict_proba(X_valid))
    assert [r.name for r in mlops.runs().itertuples()] == ["tracked"]


def test_a_model_fitted_before_the_run_is_not_recorded_when_a_run_names_it(shell: Any) -> None:
    pytest.importorskip("lightgbm")
    run_cell(shell, DATA + LIGHTGBM + LIGHTGBM_FIT)
    assert run_cell(shell, "%%mlops run reads\nprobabilities = model.predict_proba(X_valid)\n")
    detail = mlops.get_run("reads")
    assert "valid_0/binary_logloss" not in detail.series
    assert "best_iteration" not in detail.run.metrics
    assert not [a for a in detail.artifacts if a.name.startswith("feature_importance")]

    # fitted again inside a run: recorded, once, even when named again in a later cell
    run_cell(shell, "%mlops start refit")
    run_cell(shell, LIGHTGBM_FIT)
    run_cell(shell, "model.predict(X_valid)")
    run_cell(shell, "%mlops end")
    again = mlops.get_run("refit", full_series=True)
    assert len(again.series["valid_0/binary_logloss"]) == again.run.metrics["n_iterations"]


def test_two_models_of_one_cell_keep_their_curves_apart(shell: Any) -> None:
    pytest.importorskip("lightgbm")
    run_cell(shell, DATA + LIGHTGBM)
    cell = (
        "%%mlops run pair\n"
        "small = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(X_train, y_train, **valid)\n"
        "large = lightgbm.LGBMClassifier(n_estimators=40, verbose=-1).fit(X_train, y_train, **valid)\n"
    )
    assert run_cell(shell, cell).success
    detail = mlops.get_run("pair", full_series=True)
    assert len(detail.series["small/valid_0/binary_logloss"]) == 20
    assert len(detail.series["large/valid_0/binary_logloss"]) == 40
    names = {a.name.split(".")[0] + "." + a.name.split(".")[1] for a in detail.artifacts}
    assert {"small.feature_importance", "large.feature_importance"} <= names
