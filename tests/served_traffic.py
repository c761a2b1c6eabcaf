"""A served model with logged traffic, written through the real prediction log: what the
monitor's tests (tests/test_monitoring.py, tests/test_server_monitoring.py, the panel's
browser test) judge window by window."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from jupyter_mlops.models.registering import register
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.serving.feedback import record_feedback
from jupyter_mlops.serving.prediction_log import PredictionLog, PredictionRecord
from jupyter_mlops.snapshots.store import record_snapshot

HOUR = 3600.0
START = 1_790_000_000.0 - (1_790_000_000.0 % HOUR)
AFTER = START + 4 * HOUR + 1  # every window below has ended
FEATURES = ["age", "income", "tenure"]


def customers(n: int, seed: int, *, shifted: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.gamma(2.0, 20_000, n),
            "tenure": rng.integers(0, 10, n).astype(float),
        }
    )
    if shifted:  # two columns move, age does not
        frame["income"] = frame["income"] * 1.6
        frame["tenure"] = frame["tenure"] + 4
    frame["churned"] = ((frame["age"] < 38) ^ (rng.random(n) < 0.1)).astype(int)
    return frame


def log_served_traffic(registry: Registry) -> Registry:
    """Make churn@1 (champion), trained on a recorded snapshot, answered four hours of requests
    of five rows each (sampled inputs), every request labelled; the last two hours moved in
    income and tenure. Returns ``registry``."""
    train = customers(3000, 0)
    snapshot = record_snapshot(registry, train[FEATURES], name="churn-train", role="train")
    # scaled: income is in the tens of thousands, and an unscaled fit depends on the solver's
    # release (the oldest scikit-learn the package allows stops far from the optimum)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        train[FEATURES], train["churned"]
    )
    version = register(registry, model, "churn", snapshot=snapshot.id, alias="champion")
    log = PredictionLog(registry.another_connection(), flush_seconds=0.01).start()
    labels: dict[str, list[int]] = {}
    for hour in range(4):
        traffic = customers(600, 10 + hour, shifted=hour >= 2)
        for number, offset in enumerate(range(0, 600, 5)):
            rows = traffic.iloc[offset : offset + 5]
            request_id = f"h{hour}-{number}"
            log.submit(
                PredictionRecord(
                    request_id,
                    version.id,
                    "served",
                    "churn@champion",
                    5,
                    rows[FEATURES],
                    model.predict(rows[FEATURES]),
                    2.0 + hour,
                    START + hour * HOUR + number * 25,
                )  # fmt: skip
            )
            labels[request_id] = rows["churned"].tolist()
    log.close()
    record_feedback(registry, list(labels), list(labels.values()))
    return registry
