"""Live metrics of a served version and the champion-challenger comparison, on plain
arrays: each figure checked against scikit-learn (or scipy) on the same rows, the paired
tests against their definitions, and bad input refused with what to do."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.serving.comparison import compare_paired
from jupyter_mlops.serving.label_metrics import metrics_of


def test_binary_classifier_metrics_equal_scikit_learns() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 500)
    scores = np.clip(labels * 0.3 + rng.normal(0.35, 0.25, 500), 0, 1)
    predictions = (scores > 0.5).astype(int)

    got = metrics_of("classifier", labels=labels, predictions=predictions, scores=scores)

    assert got["accuracy"] == pytest.approx(sk.accuracy_score(labels, predictions))
    assert got["f1"] == pytest.approx(sk.f1_score(labels, predictions))
    assert got["auc"] == pytest.approx(sk.roc_auc_score(labels, scores))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.sampled_from("abc")), min_size=1, max_size=60))
def test_multiclass_f1_is_the_unweighted_mean_over_classes(pairs: list[tuple[str, str]]) -> None:
    labels, predictions = zip(*pairs)
    classes = sorted(set(labels) | set(predictions))
    got = metrics_of("classifier", labels=list(labels), predictions=list(predictions))
    if len(classes) > 2:
        expected = sk.f1_score(labels, predictions, average="macro", labels=classes)
    else:
        expected = sk.f1_score(labels, predictions, pos_label=classes[-1], average="binary")
    assert got["f1"] == pytest.approx(expected)
    assert "auc" not in got  # no scores


def test_rows_without_labels_are_left_out_and_regressors_get_rmse_and_mae() -> None:
    labels = [1.0, None, 3.0, float("nan"), 5.0]
    predictions = [1.5, 9.0, 2.0, 9.0, 5.0]

    got = metrics_of("regressor", labels=labels, predictions=predictions)

    known_labels, known_predictions = [1.0, 3.0, 5.0], [1.5, 2.0, 5.0]
    assert got["rmse"] == pytest.approx(
        math.sqrt(sk.mean_squared_error(known_labels, known_predictions))
    )
    assert got["mae"] == pytest.approx(sk.mean_absolute_error(known_labels, known_predictions))
    assert metrics_of("regressor", labels=[None], predictions=[1.0]) == {}


def test_a_better_challenger_on_the_same_rows_is_found_by_mcnemars_test() -> None:
    from scipy.stats import binomtest

    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 400)
    champion = np.where(rng.random(400) < 0.80, labels, 1 - labels)
    challenger = np.where(rng.random(400) < 0.92, labels, 1 - labels)

    result = compare_paired("classifier", labels, champion, challenger)

    only_champion = int(np.sum((champion == labels) & (challenger != labels)))
    only_challenger = int(np.sum((challenger == labels) & (champion != labels)))
    assert (result.champion_only_right, result.challenger_only_right) == (
        only_champion,
        only_challenger,
    )
    expected_p = binomtest(only_challenger, only_champion + only_challenger, 0.5).pvalue
    assert result.p_value == pytest.approx(expected_p)
    assert result.verdict == "challenger better" and result.p_value < 0.05
    assert result.challenger_value == pytest.approx(np.mean(challenger == labels))
    assert "challenger better: accuracy" in result.summary()
    swapped = compare_paired("classifier", labels, challenger, champion)
    assert swapped.verdict == "challenger worse"


def test_equal_versions_give_no_difference_and_few_labels_say_so() -> None:
    rng = np.random.default_rng(11)
    labels = rng.integers(0, 2, 300)
    same = np.where(rng.random(300) < 0.85, labels, 1 - labels)

    assert compare_paired("classifier", labels, same, same).verdict == "no significant difference"
    few = compare_paired("classifier", labels[:10], same[:10], same[:10])
    assert few.verdict == "too few labels" and "needs 30" in few.summary()
    unlabelled = compare_paired("classifier", [None] * 40, same[:40], same[:40])
    assert (unlabelled.n_pairs, unlabelled.verdict) == (0, "too few labels")


def test_regressors_are_compared_by_wilcoxons_test_on_absolute_errors() -> None:
    from scipy.stats import wilcoxon

    rng = np.random.default_rng(5)
    labels = rng.normal(0, 1, 200)
    champion = labels + rng.normal(0, 0.5, 200)
    challenger = labels + rng.normal(0, 0.2, 200)

    result = compare_paired("regressor", labels, champion, challenger)

    differences = np.abs(challenger - labels) - np.abs(champion - labels)
    assert result.p_value == pytest.approx(wilcoxon(differences).pvalue)
    assert (result.test, result.metric, result.verdict) == ("wilcoxon", "mae", "challenger better")
    assert result.champion_value == pytest.approx(sk.mean_absolute_error(labels, champion))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: metrics_of("ranker", labels=[1], predictions=[1]), '"ranker" is not a kind'),
        (lambda: metrics_of("classifier", labels=[1, 0], predictions=[1]), "2 label(s) for 1"),
        (lambda: compare_paired("classifier", [1], [1], [1, 0]), "1 label(s), 1 champion and 2"),
        (lambda: compare_paired("classifier", [1], [1], [1], alpha=5), "alpha must be between"),
    ],
)
def test_bad_input_is_refused_saying_what_to_give(call: object, message: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        call()  # type: ignore[operator]
    assert message in raised.value.message and raised.value.hint
