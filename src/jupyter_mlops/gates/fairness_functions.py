"""The functions fairness rules may call, and what each computes (names only: the
computing is :mod:`.fairness`'s, which imports pandas and fairlearn when it runs).

    demographic_parity_difference(sex) <= 0.05       # a disparity, fairlearn's function
    min_by(accuracy, age_band) >= 0.8                # a metric per group, aggregated
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Disparity:
    """A fairlearn disparity metric and the per-group rates it compares."""

    needs_labels: bool
    rates: tuple[str, ...]
    meaning: str
    fairlearn_name: str = ""  # when fairlearn's function has another name (older releases)


DISPARITIES: dict[str, Disparity] = {
    "demographic_parity_difference": Disparity(
        False, ("selection_rate",), "largest difference in selection rate between groups"
    ),
    "demographic_parity_ratio": Disparity(
        False, ("selection_rate",), "smallest selection rate over the largest"
    ),
    "equalized_odds_difference": Disparity(
        True,
        ("true_positive_rate", "false_positive_rate"),
        "the larger of the differences in true and false positive rate between groups",
    ),
    "equalized_odds_ratio": Disparity(
        True,
        ("true_positive_rate", "false_positive_rate"),
        "the smaller of the ratios of true and false positive rates between groups",
    ),
    "equal_opportunity_difference": Disparity(
        True,
        ("true_positive_rate",),
        "largest difference in true positive rate between groups",
        "true_positive_rate_difference",
    ),
    "equal_opportunity_ratio": Disparity(
        True,
        ("true_positive_rate",),
        "smallest true positive rate over the largest",
        "true_positive_rate_ratio",
    ),
}

# metric -> whether it needs labels
GROUP_METRICS: dict[str, bool] = {
    "accuracy": True,
    "balanced_accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "true_positive_rate": True,
    "false_positive_rate": True,
    "true_negative_rate": True,
    "false_negative_rate": True,
    "selection_rate": False,
    "count": False,
}

# function -> the MetricFrame method that aggregates a metric over the groups
AGGREGATES: dict[str, str] = {
    "min_by": "group_min",
    "max_by": "group_max",
    "difference_by": "difference",
    "ratio_by": "ratio",
}

FUNCTIONS = (*DISPARITIES, *AGGREGATES)
