"""Ground truth for served requests (``mlops.feedback``, ``jupyter mlops feedback``) and the
live metrics per version it gives (``mlops.live_metrics``, ``jupyter mlops live``)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.errors import InvalidInputError, NotFoundError
from jupyter_mlops.models.registering import register
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.serving.prediction_log import PredictionLog, PredictionRecord

from .conftest import cli_runner


def log_predictions(
    registry: Registry, records: list[tuple[str, int, str, list[object], float]]
) -> None:
    """(request_id, version id, role, outputs, served_at) written through the prediction log."""
    log = PredictionLog(registry.another_connection(), flush_seconds=0.01).start()
    for request_id, version_id, role, outputs, served_at in records:
        log.submit(
            PredictionRecord(
                request_id,
                version_id,
                role,
                "cancer@champion",
                len(outputs),
                None,
                np.array(outputs),
                1.0 + len(outputs),
                served_at,
            )  # fmt: skip
        )
    log.close()


@pytest.fixture
def served(registry: Registry) -> Registry:
    """cancer@1 answered r1..r4 (r4 has three rows); cancer@2 scored them in its shadow."""
    features = pd.DataFrame({"x": [0.0, 1.0]})
    for _ in range(2):
        register(registry, DummyClassifier().fit(features, [0, 1]), "cancer")
    now = time.time()
    log_predictions(
        registry,
        [
            ("r1", 1, "served", [1], now - 7200),
            ("r1", 2, "shadow", [1], now - 7200),
            ("r2", 1, "served", [0], now),
            ("r2", 2, "shadow", [1], now),
            ("r3", 1, "served", [1], now),
            ("r3", 2, "shadow", [1], now),
            ("r4", 1, "served", [1, 0, 0], now),
            ("r4", 2, "shadow", [1, 1, 0], now),
        ],
    )
    return registry


def test_feedback_gives_accuracy_per_version_served_and_shadow(served: Registry) -> None:
    assert mlops.feedback(["r1", "r2", "r3"], [1, 1, 1]) == 3
    assert mlops.feedback("r4", [1, 1, 0]) == 1

    metrics = mlops.live_metrics("cancer").set_index(["version", "role"])

    assert metrics.loc[(1, "served"), "requests"] == 4 and metrics.loc[(1, "served"), "rows"] == 6
    assert metrics.loc[(1, "served"), "labelled_rows"] == 6
    assert metrics.loc[(1, "served"), "accuracy"] == pytest.approx(4 / 6)  # r2 and r4's middle row
    assert metrics.loc[(2, "shadow"), "accuracy"] == pytest.approx(1.0)
    assert list(metrics.index) == [(2, "shadow"), (1, "served")]


def test_a_later_label_replaces_the_earlier_one(served: Registry) -> None:
    mlops.feedback(["r2"], [1])
    mlops.feedback(["r2"], [0])

    metrics = mlops.live_metrics("cancer").set_index(["version", "role"])

    assert metrics.loc[(1, "served"), "labelled_rows"] == 1
    assert metrics.loc[(1, "served"), "accuracy"] == 1.0


def test_live_metrics_without_labels_count_requests_and_latency(served: Registry) -> None:
    metrics = mlops.live_metrics("cancer", since=pd.Timestamp.now(tz="UTC") - pd.Timedelta("1h"))
    row = metrics.set_index(["version", "role"]).loc[(1, "served")]

    assert row["requests"] == 3  # r1 is two hours old
    assert row["labelled_rows"] == 0 and math.isnan(row["accuracy"])
    assert row["latency_p50_ms"] == 2.0 and row["latency_p99_ms"] == pytest.approx(3.96)


@pytest.mark.parametrize(
    ("ids", "labels", "error", "message"),
    [
        (["r1", "nope"], [1, 0], NotFoundError, 'No prediction was logged for request "nope"'),
        (["r4"], [[1, 0]], InvalidInputError, 'Request "r4" had 3 rows, 2 labels were given'),
        (["r1", "r2"], [1], InvalidInputError, "2 request ids and 1 labels were given"),
        (["r1"], [{"a": 1}], InvalidInputError, "A label must be a number, text or a boolean"),
    ],
)
def test_feedback_refuses_what_does_not_fit_and_writes_nothing(
    served, ids, labels, error, message
) -> None:
    with pytest.raises(error, match=message):
        mlops.feedback(ids, labels)

    assert served.query_one("SELECT COUNT(*) FROM prediction_labels")[0] == 0


def test_numeric_outputs_get_mae_and_rmse(registry: Registry) -> None:
    register(registry, DummyClassifier().fit(pd.DataFrame({"x": [0.0, 1.0]}), [0, 1]), "price")
    log_predictions(registry, [("p1", 1, "served", [10.5, 20.0], time.time())])

    mlops.feedback("p1", [10.0, 22.0])
    row = mlops.live_metrics("price").iloc[0]

    assert row["mae"] == pytest.approx(1.25)
    assert row["rmse"] == pytest.approx(math.sqrt((0.25 + 4.0) / 2))
    assert row["accuracy"] == 0.0


def test_cli_feedback_from_a_file_then_live(served: Registry, tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"request_id": ["r1", "r2", "r4", "r4", "r4"], "label": [1, 1, 1, 1, 0]}).to_csv(
        labels, index=False
    )
    runner = cli_runner()

    recorded = runner.invoke(main, ["feedback", str(labels), "--registry", str(served.path)])
    shown = runner.invoke(main, ["live", "cancer", "--registry", str(served.path)])

    assert recorded.exit_code == 0, recorded.output + recorded.stderr
    assert "Recorded the labels of 3 requests (5 rows)." in recorded.output
    assert shown.exit_code == 0, shown.stderr
    lines = shown.output.splitlines()
    assert lines[0].split()[:6] == ["version", "role", "requests", "rows", "labelled", "accuracy"]
    served_line = next(line for line in lines if line.startswith("cancer@1"))
    assert served_line.split()[1:6] == ["served", "4", "6", "5", "0.6"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["live", "cancer", "--since", "soon"], '"soon" is not a duration'),
        (["live", "nothing"], 'No model named "nothing"'),
        (["feedback", "missing.csv"], "missing.csv is not a file"),
    ],
)
def test_cli_feedback_and_live_say_what_is_wrong(served: Registry, arguments, message) -> None:
    result = cli_runner().invoke(main, [*arguments, "--registry", str(served.path)])

    assert result.exit_code == 1
    assert message in result.stderr


def test_live_f1_and_the_shadow_compared_on_the_same_labelled_rows(served: Registry) -> None:
    from sklearn.metrics import f1_score

    from jupyter_mlops.serving.live_metrics import compare_live

    mlops.feedback(["r1", "r2", "r3"], [1, 1, 1])
    mlops.feedback("r4", [1, 1, 0])

    metrics = mlops.live_metrics("cancer").set_index(["version", "role"])
    # served outputs r1..r4: 1, 0, 1, [1, 0, 0]; labels: 1, 1, 1, [1, 1, 0]
    assert metrics.loc[(1, "served"), "f1"] == pytest.approx(
        f1_score([1, 1, 1, 1, 1, 0], [1, 0, 1, 1, 0, 0])
    )
    comparison = compare_live(served, "cancer")
    assert comparison is not None
    assert (comparison.n_pairs, comparison.champion_only_right, comparison.challenger_only_right) == (
        6, 0, 2,
    )  # fmt: skip
    assert comparison.verdict == "too few labels"  # 6 pairs; the test needs 30
    result = cli_runner().invoke(main, ["live", "cancer", "--registry", str(served.path)])
    assert result.exit_code == 0, result.output
    assert "champion against the shadow: too few labels: 6 row(s)" in result.output


def test_sampled_requests_of_a_binary_classifier_give_a_live_auc(registry: Registry) -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, target = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(features.iloc[:300], target.iloc[:300])
    version = register(registry, model, "cancer")
    live, truth = features.iloc[300:420], target.iloc[300:420]
    log = PredictionLog(registry.another_connection(), flush_seconds=0.01).start()
    for number, start in enumerate(range(0, 120, 10)):
        rows = live.iloc[start : start + 10]
        sampled = number % 2 == 0  # the others' inputs are not kept, so neither are scores
        log.submit(
            PredictionRecord(
                f"q{number}",
                version.id,
                "served",
                "cancer@1",
                10,
                rows if sampled else None,
                model.predict(rows),
                1.0,
                time.time(),
                model=model if sampled else None,
            )  # fmt: skip
        )
    log.close()
    mlops.feedback(
        [f"q{n}" for n in range(12)], [truth.iloc[s : s + 10].tolist() for s in range(0, 120, 10)]
    )

    metrics = mlops.live_metrics("cancer").set_index(["version", "role"])

    kept = [start for number, start in enumerate(range(0, 120, 10)) if number % 2 == 0]
    rows = pd.concat([live.iloc[s : s + 10] for s in kept])
    labels = pd.concat([truth.iloc[s : s + 10] for s in kept])
    assert metrics.loc[(1, "served"), "auc"] == pytest.approx(
        roc_auc_score(labels, model.predict_proba(rows)[:, 1])
    )
    logged = mlops.predictions("cancer")
    assert logged["scores"].notna().sum() == 6  # the sampled requests only
