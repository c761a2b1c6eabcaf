"""What views draw of stored drift reports (drift/drawing.py), and the drift route's JSON
that carries it to the panel: each column's distributions and the report's thresholds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.drift.drawing import report_drawings
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.server.drift_payloads import DRAWN_REPORTS, drift_payload


@pytest.fixture
def reports(registry: Registry) -> list[str]:
    """Two stored reports against the snapshot "train": one shifted, one not."""
    rng = np.random.default_rng(11)
    reference = pd.DataFrame(
        {"amount": rng.normal(100, 10, 1500), "plan": rng.choice(["a", "b", "c"], 1500)}
    )
    mlops.snapshot(reference, name="train")
    shifted = reference.assign(amount=reference["amount"] + 8)
    quiet = mlops.check_drift("train", reference.sample(frac=1.0, random_state=2), name="quiet")
    moved = mlops.check_drift("train", shifted, name="moved")
    return [moved.id, quiet.id]


def test_report_drawings_give_each_columns_distributions_most_severe_first(
    registry: Registry, reports: list[str]
):
    drawings = report_drawings(registry, [*reports, "no-such-report"])

    assert set(drawings) == set(reports)
    moved = drawings[reports[0]]
    assert (moved.effect_threshold, moved.alpha) == (0.1, 0.05)
    assert [c.column for c in moved.columns] == ["amount", "plan"]
    amount, plan = moved.columns
    assert amount.decision == "retrain" and amount.kind == "numeric"
    assert len(amount.bins) == len(amount.reference) + 1 == len(amount.current) + 1
    assert sum(amount.reference) == pytest.approx(1) and sum(amount.current) == pytest.approx(1)
    # The shift moves the current data's mass to the right of the reference's.
    middle = len(amount.reference) // 2
    assert sum(amount.current[middle:]) > sum(amount.reference[middle:]) + 0.2
    assert plan.labels and sorted(plan.labels) == ["a", "b", "c"] and not plan.bins


def test_a_report_that_cannot_be_read_is_left_out_of_the_drawings(
    registry: Registry, reports: list[str]
):
    with registry.transaction() as db:
        db.execute(
            "UPDATE drift_reports SET report = ? WHERE id = ?",
            (json.dumps({"format": "something else"}), reports[1]),
        )

    assert set(report_drawings(registry, reports)) == {reports[0]}


def test_the_drift_payload_carries_charts_and_thresholds(registry: Registry, reports: list[str]):
    payload = json.loads(json.dumps(drift_payload(registry), allow_nan=False))

    moved = payload["reports"][0]
    assert moved["id"] == reports[0]
    assert moved["effect_threshold"] == 0.1 and moved["alpha"] == 0.05
    by_name = {column["column"]: column for column in moved["columns"]}
    assert by_name["amount"]["decision"] == "retrain"
    chart = by_name["amount"]["chart"]
    assert chart["kind"] == "numeric" and len(chart["bins"]) == len(chart["reference"]) + 1
    assert set(by_name["plan"]["chart"]["labels"]) == {"a", "b", "c"}


def test_only_the_newest_reports_carry_their_charts(registry: Registry):
    reference = pd.DataFrame({"x": np.arange(200.0)})
    mlops.snapshot(reference, name="ref")
    for index in range(DRAWN_REPORTS + 2):
        mlops.check_drift("ref", reference + index, name=f"day {index}")

    reports = drift_payload(registry)["reports"]

    charted = [all(c["chart"] for c in r["columns"]) for r in reports]
    assert charted == [True] * DRAWN_REPORTS + [False] * 2
    assert "effect_threshold" not in reports[-1]
