"""Champion against challenger on the same requests: the shadow scores every row the
champion answers, so once labels come back the two are compared row by row (a paired
test, far more sensitive than comparing two accuracies).

- classifiers: McNemar's exact test on the rows where exactly one of the two was right
  (a two-sided binomial test of those rows splitting evenly);
- regressors: Wilcoxon's signed-rank test on the differences of the absolute errors.

The verdict is ``challenger better`` or ``challenger worse`` when the p-value is below
``alpha``, ``no significant difference`` otherwise, and ``too few labels`` below
``min_pairs`` labelled rows scored by both.

    c = compare_paired("classifier", labels, champion, challenger)
    c.verdict, c.p_value        # ('challenger better', 0.0008)
    c.summary()                 # 'challenger better: accuracy 0.91 against 0.84 on 400 ...'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from .label_metrics import KINDS, comparable_labels, is_missing

VERDICTS = ("challenger better", "challenger worse", "no significant difference", "too few labels")
MIN_PAIRS = 30


@dataclass(frozen=True)
class VersionComparison:
    """The paired comparison of two versions on the same labelled rows."""

    kind: str
    metric: str  # accuracy (classifiers) or mae (regressors), on the paired rows
    champion_value: float | None
    challenger_value: float | None
    n_pairs: int
    test: str  # "mcnemar" or "wilcoxon"
    p_value: float | None
    alpha: float
    verdict: str
    champion_only_right: int | None = None  # classifiers: the discordant rows
    challenger_only_right: int | None = None

    def summary(self) -> str:
        if self.verdict == "too few labels":
            return (
                f"too few labels: {self.n_pairs} row(s) scored by both versions have a label;"
                f" the comparison needs {MIN_PAIRS}"
            )
        return (
            f"{self.verdict}: {self.metric} {_figure(self.challenger_value)} against"
            f" {_figure(self.champion_value)} on {self.n_pairs} labelled row(s)"
            f" ({self.test} p = {_figure(self.p_value)}, alpha {self.alpha})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in self.__dataclass_fields__}


def compare_paired(
    kind: str,
    labels: Sequence[Any] | np.ndarray,
    champion: Sequence[Any] | np.ndarray,
    challenger: Sequence[Any] | np.ndarray,
    *,
    alpha: float = 0.05,
    min_pairs: int = MIN_PAIRS,
) -> VersionComparison:
    """Compare the two versions' predictions for the same rows against ``labels`` (rows
    with no label, or not scored by both, are left out)."""
    if kind not in KINDS:
        raise InvalidInputError(
            f'"{kind}" is not a kind of model versions can be compared for',
            hint=f"Use one of: {', '.join(KINDS)}.",
        )
    if not 0 < alpha < 1:
        raise InvalidInputError(f"alpha must be between 0 and 1, not {alpha}", hint="Use 0.05.")
    truth = np.asarray(labels, dtype=object)
    first, second = np.asarray(champion, dtype=object), np.asarray(challenger, dtype=object)
    if not len(truth) == len(first) == len(second):
        raise InvalidInputError(
            f"{len(truth)} label(s), {len(first)} champion and {len(second)} challenger"
            " prediction(s)",
            hint="Give the two versions' predictions for the same rows as the labels.",
        )
    paired = np.array(
        [
            not (is_missing(t) or is_missing(a) or is_missing(b))
            for t, a, b in zip(truth, first, second)
        ],
        dtype=bool,
    )
    truth, first, second = truth[paired], first[paired], second[paired]
    if kind == "classifier":
        return _mcnemar(truth, first, second, alpha, min_pairs)
    return _wilcoxon(truth, first, second, alpha, min_pairs)


def _mcnemar(
    truth: np.ndarray, first: np.ndarray, second: np.ndarray, alpha: float, min_pairs: int
) -> VersionComparison:
    from scipy.stats import binomtest

    n = len(truth)
    if n == 0:
        return VersionComparison("classifier", "accuracy", None, None, 0, "mcnemar", None, alpha,
                                 "too few labels")  # fmt: skip
    truth = comparable_labels(truth)
    first_right = comparable_labels(first) == truth
    second_right = comparable_labels(second) == truth
    only_first = int(np.sum(first_right & ~second_right))
    only_second = int(np.sum(second_right & ~first_right))
    discordant = only_first + only_second
    p_value = 1.0 if discordant == 0 else float(binomtest(only_second, discordant, 0.5).pvalue)
    verdict = _verdict(n, min_pairs, p_value, alpha, only_second > only_first)
    return VersionComparison(
        "classifier",
        "accuracy",
        float(np.mean(first_right)),
        float(np.mean(second_right)),
        n,
        "mcnemar",
        p_value,
        alpha,
        verdict,
        champion_only_right=only_first,
        challenger_only_right=only_second,
    )


def _wilcoxon(
    truth: np.ndarray, first: np.ndarray, second: np.ndarray, alpha: float, min_pairs: int
) -> VersionComparison:
    from scipy.stats import wilcoxon

    n = len(truth)
    if n == 0:
        return VersionComparison("regressor", "mae", None, None, 0, "wilcoxon", None, alpha,
                                 "too few labels")  # fmt: skip
    truth = truth.astype(float)
    first_error = np.abs(first.astype(float) - truth)
    second_error = np.abs(second.astype(float) - truth)
    differences = second_error - first_error
    if not np.any(differences):
        p_value = 1.0
    else:
        p_value = float(wilcoxon(differences, zero_method="wilcox").pvalue)
    better = float(np.median(differences)) < 0 if np.median(differences) else differences.mean() < 0
    verdict = _verdict(n, min_pairs, p_value, alpha, bool(better))
    return VersionComparison(
        "regressor",
        "mae",
        float(first_error.mean()),
        float(second_error.mean()),
        n,
        "wilcoxon",
        p_value,
        alpha,
        verdict,
    )


def _verdict(n: int, min_pairs: int, p_value: float, alpha: float, challenger_ahead: bool) -> str:
    if n < min_pairs:
        return "too few labels"
    if p_value >= alpha:
        return "no significant difference"
    return "challenger better" if challenger_ahead else "challenger worse"


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
