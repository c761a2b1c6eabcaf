"""How well a served version did on the requests whose labels came back: accuracy, F1 and
AUC for a classifier, RMSE and MAE for a regressor, on plain arrays (numpy and scipy, no
scikit-learn: a serving process imports only the core).

    metrics_of("classifier", labels=[0, 1, 1, 0], predictions=[0, 1, 0, 0],
               scores=[0.1, 0.9, 0.4, 0.2])
    # {'accuracy': 0.75, 'f1': 0.666..., 'auc': 1.0}

F1 is of the positive class when there are two classes (the greater label, as scikit-learn
takes ``pos_label=1`` for 0/1), the unweighted mean over the classes when there are more.
AUC needs a score per row (the probability of the positive class) and both classes among
the labels; it is left out otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInputError

KINDS = ("classifier", "regressor")
CLASSIFIER_METRICS = ("accuracy", "f1", "auc")
REGRESSOR_METRICS = ("rmse", "mae")
# Which way is better, for comparisons and for drawing.
HIGHER_IS_BETTER = {"accuracy": True, "f1": True, "auc": True, "rmse": False, "mae": False}


def metrics_of(
    kind: str,
    *,
    labels: Sequence[Any] | np.ndarray,
    predictions: Sequence[Any] | np.ndarray,
    scores: Sequence[float] | np.ndarray | None = None,
) -> dict[str, float]:
    """The live metrics of ``kind`` ("classifier" or "regressor") for these rows (rows
    with no label are left out: labels arrive later than predictions, or never)."""
    if kind not in KINDS:
        raise InvalidInputError(
            f'"{kind}" is not a kind of model live metrics are kept for',
            hint=f"Use one of: {', '.join(KINDS)}.",
        )
    truth, predicted = np.asarray(labels, dtype=object), np.asarray(predictions, dtype=object)
    if truth.shape != predicted.shape:
        raise InvalidInputError(
            f"{len(truth)} label(s) for {len(predicted)} prediction(s)",
            hint="Give one label per prediction (None where there is none yet).",
        )
    known = np.array([not is_missing(value) for value in truth], dtype=bool)
    if kind == "regressor":
        return regression_metrics(truth[known].astype(float), predicted[known].astype(float))
    score_values = None if scores is None else np.asarray(scores, dtype=float)[known]
    return classification_metrics(truth[known], predicted[known], score_values)


def classification_metrics(
    labels: np.ndarray, predictions: np.ndarray, scores: np.ndarray | None = None
) -> dict[str, float]:
    """Accuracy, F1 and (with ``scores``, both classes present) AUC; {} for no rows."""
    if len(labels) == 0:
        return {}
    truth, predicted = comparable_labels(labels), comparable_labels(predictions)
    values = {"accuracy": float(np.mean(truth == predicted))}
    classes = sorted(set(truth.tolist()) | set(predicted.tolist()))
    if len(classes) <= 2:
        values["f1"] = _f1(truth, predicted, classes[-1])
    else:
        values["f1"] = float(np.mean([_f1(truth, predicted, c) for c in classes]))
    label_classes = sorted(set(truth.tolist()))
    if scores is not None and len(label_classes) == 2:
        values["auc"] = binary_auc(truth == label_classes[-1], scores)
    return values


def regression_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """RMSE and MAE; {} for no rows."""
    if len(labels) == 0:
        return {}
    errors = predictions - labels
    return {
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "mae": float(np.mean(np.abs(errors))),
    }


def binary_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """The area under the ROC curve: the chance that a positive row scores above a
    negative one (ties count half), from the ranks of the scores (Mann-Whitney U)."""
    from scipy.stats import rankdata

    positive = np.asarray(positive, dtype=bool)
    n_positive = int(positive.sum())
    n_negative = len(positive) - n_positive
    ranks = rankdata(np.asarray(scores, dtype=float))
    u = ranks[positive].sum() - n_positive * (n_positive + 1) / 2
    return float(u / (n_positive * n_negative))


def _f1(truth: np.ndarray, predicted: np.ndarray, positive: Any) -> float:
    says, is_ = predicted == positive, truth == positive
    true_positive = float(np.sum(says & is_))
    wrong = float(np.sum(says & ~is_) + np.sum(~says & is_))  # false positives and negatives
    denominator = 2 * true_positive + wrong
    return 0.0 if denominator == 0 else 2 * true_positive / denominator


def comparable_labels(values: np.ndarray) -> np.ndarray:
    """Labels (or predicted classes) as one type: 1 and 1.0 and True are the same class; "1" stays a string."""
    if all(isinstance(v, (bool, int, float, np.number, np.bool_)) for v in values.tolist()):
        return np.asarray(values, dtype=float)
    return np.asarray([str(v) for v in values.tolist()], dtype=object)


def is_missing(value: Any) -> bool:
    """No label (yet): None or NaN."""
    return value is None or (isinstance(value, float) and value != value)
