"""A fitted gradient-boosting model (xgboost, LightGBM) as curves, a best iteration and a
table of feature importances.

When an ``XGBClassifier``/``XGBRegressor``/``XGBRanker`` (any ``xgboost.XGBModel``) or an
``LGBMClassifier``/``LGBMRegressor``/``LGBMRanker`` (any ``lightgbm.LGBMModel``) has been
fitted in a cell while a run is active, after the cell the run gets:

- its parameters, like every fitted estimator (``get_params()``, recorded by the cell's
  capture, not here);
- every evaluation metric of every ``eval_set`` as a curve, one point per boosting round:
  ``validation_0/logloss``, ``valid_1/auc``... (the names the library gives), prefixed by
  the variable when the cell fitted several models (``model/validation_0/logloss``);
- the metrics ``best_iteration`` (the step of the curves, from 0, of the round early
  stopping kept, when it kept one) and ``n_iterations`` (the rounds boosted and evaluated);
- the table artifact ``feature_importance`` (``NAME.feature_importance`` for several):
  each feature and its ``feature_importances_``, highest first.

The model itself is registered as any scikit-learn estimator: ``%mlops register VAR
--name N`` or ``mlops.register_model(model, name=...)``, flavor ``sklearn``. Nothing of
the model is called but ``evals_result()``/``evals_result_``, ``best_iteration(_)``,
``feature_importances_`` and the feature names; the libraries are never imported here,
and a model already recorded for the run (named again in a later cell, not fitted
again) is not recorded twice.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..unrecorded import UnrecordedRun

if TYPE_CHECKING:
    from ..run import Run

logger = logging.getLogger(__name__)

XGBOOST_MODULE = "xgboost.sklearn"
LIGHTGBM_MODULE = "lightgbm.sklearn"
BOOSTING_MODULES = (XGBOOST_MODULE, LIGHTGBM_MODULE)


@dataclass(frozen=True)
class RecordedBooster:
    """What was recorded of one model: its variable, library, the curves (their keys and
    points) and the best iteration (None without early stopping)."""

    variable: str
    library: str
    curves: tuple[tuple[str, int], ...]
    best_iteration: int | None
    importance_table: str | None


def _fitted_state(value: object) -> tuple[str, object] | None:
    """``(library, booster)`` when ``value`` is a fitted xgboost or LightGBM model of the
    scikit-learn interface; the booster object changes with each fit."""
    if isinstance(value, type):
        return None
    xgb = sys.modules.get(XGBOOST_MODULE)
    base = getattr(xgb, "XGBModel", None)
    if base is not None and isinstance(value, base):
        booster = getattr(value, "_Booster", None)
        return ("xgboost", booster) if booster is not None else None
    lgb = sys.modules.get(LIGHTGBM_MODULE)
    base = getattr(lgb, "LGBMModel", None)
    if base is not None and isinstance(value, base):
        booster = getattr(value, "_Booster", None)
        return ("lightgbm", booster) if booster is not None else None
    return None


def _candidates(
    namespace: Mapping[str, Any], names: Iterable[str]
) -> list[tuple[str, Any, str, object]]:
    found = []
    for name in sorted(set(names)):
        if name.startswith("_"):
            continue
        value = namespace.get(name)
        state = None if value is None else _fitted_state(value)
        if state is not None:
            found.append((name, value, *state))
    return found


def note_boosters(run: Run, namespace: Mapping[str, Any], names: Iterable[str]) -> None:
    """Take note of the fitted models among ``names`` as they are before a cell: fitted
    earlier, they are not the cell's."""
    if not any(module in sys.modules for module in BOOSTING_MODULES):
        return
    for _, value, _, booster in _candidates(namespace, names):
        run.autologged.setdefault((id(value), id(booster)), booster)


def record_boosters(
    run: Run, namespace: Mapping[str, Any], names: Iterable[str]
) -> list[RecordedBooster]:
    """Record the models among the variables ``names`` fitted since they were noted (see
    the module's docstring)."""
    if isinstance(run, UnrecordedRun) or not any(m in sys.modules for m in BOOSTING_MODULES):
        return []
    fresh = [
        (name, value, library, booster)
        for name, value, library, booster in _candidates(namespace, names)
        if (id(value), id(booster)) not in run.autologged
    ]
    recorded = []
    for name, value, _library, booster in fresh:
        prefix = f"{name}/" if len(fresh) > 1 else ""
        table = f"{name}.feature_importance" if len(fresh) > 1 else "feature_importance"
        recorded.append(record_booster(run, value, variable=name, prefix=prefix, table=table))
        run.autologged[(id(value), id(booster))] = booster  # kept: its id is not reused
    return recorded


def record_booster(
    run: Run, model: Any, *, variable: str = "model", prefix: str = "", table: str | None = None
) -> RecordedBooster:
    """Record the fitted ``model``'s evaluation curves, best iteration and feature
    importances on ``run`` (see the module's docstring)::

        model = lightgbm.LGBMClassifier(n_estimators=200).fit(X, y, eval_set=[(Xv, yv)])
        record_booster(mlops.active_run(), model)
    """
    state = _fitted_state(model)
    library = state[0] if state else type(model).__module__.split(".")[0]
    curves = []
    for dataset, metrics in _evaluations(model).items():
        for metric, values in metrics.items():
            key = f"{prefix}{dataset}/{metric}"
            points = 0
            for step, value in enumerate(values):
                number = _number(value)
                if number is not None:
                    run.log({key: number}, step=step)
                    points += 1
            curves.append((key, points))
    best = _best_iteration(model)
    summary: dict[str, float] = {}
    if best is not None:
        summary[f"{prefix}best_iteration"] = float(best)
    # the rounds evaluated (LightGBM's booster says only those early stopping kept)
    rounds = max((points for _, points in curves), default=None) or _rounds(model)
    if rounds is not None:
        summary[f"{prefix}n_iterations"] = float(rounds)
    if summary:
        run.log(summary)
    stored = None
    importances = _importances(model)
    if importances is not None and table is not None:
        record = run.log_table(importances, table)
        stored = None if record is None else table
    logger.debug("Recorded %s %s: %d curve(s)", library, variable, len(curves))
    return RecordedBooster(variable, library, tuple(curves), best, stored)


def _evaluations(model: Any) -> Mapping[str, Mapping[str, Any]]:
    """``{dataset: {metric: [value per round]}}`` as the library keeps it."""
    try:
        found = model.evals_result() if hasattr(model, "evals_result") else None
    except Exception:  # xgboost raises when fitted without an eval_set
        found = None
    if not found:
        found = getattr(model, "evals_result_", None)
    return found if isinstance(found, Mapping) else {}


def _best_iteration(model: Any) -> int | None:
    """The step of the curves (counted from 0) of the round early stopping kept: xgboost's
    ``best_iteration`` counts from 0, LightGBM's ``best_iteration_`` from 1 (0: none)."""
    lightgbm = getattr(model, "best_iteration_", None) if _is_lightgbm(model) else None
    if isinstance(lightgbm, int) and not isinstance(lightgbm, bool):
        return lightgbm - 1 if lightgbm > 0 else None
    try:
        xgboost = model.best_iteration  # raises without early stopping
    except Exception:
        return None
    if isinstance(xgboost, int) and not isinstance(xgboost, bool) and xgboost >= 0:
        return xgboost
    return None


def _is_lightgbm(model: Any) -> bool:
    state = _fitted_state(model)
    return state is not None and state[0] == "lightgbm"


def _rounds(model: Any) -> int | None:
    booster = getattr(model, "_Booster", None)
    for method in ("num_boosted_rounds", "current_iteration"):  # xgboost, LightGBM
        call = getattr(booster, method, None)
        if callable(call):
            try:
                return int(call())
            except Exception:
                return None
    return None


def _importances(model: Any) -> Any:
    """The features and their importances as a DataFrame, highest first; None when the
    model does not say."""
    try:
        values = model.feature_importances_
    except Exception:
        return None
    import pandas as pd

    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(model, "feature_name_", None)  # LightGBM's own names
    if names is None or len(names) != len(values):
        names = [f"f{index}" for index in range(len(values))]
    frame = pd.DataFrame({"feature": [str(n) for n in names], "importance": list(values)})
    kind = getattr(model, "importance_type", None)
    if isinstance(kind, str):
        frame["importance_type"] = kind
    return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def _number(value: Any) -> float | None:
    """A point of a curve as a float (NaN kept: the registry stores it as such)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
