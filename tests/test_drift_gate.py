"""The drift gate: drift checks as gate lines in check and promote, stored with their reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.drift.deciding import drift_report
from jupyter_mlops.drift.gate import DriftGate, drift_gates, judge, split_sides
from jupyter_mlops.drift.store import get_drift_report
from jupyter_mlops.errors import GateFailedError, InvalidInputError
from jupyter_mlops.gates import evaluation as gates
from jupyter_mlops.models.registering import register
from jupyter_mlops.models.versions import aliases_of
from jupyter_mlops.registry.connection import Registry

SEED = 5


@pytest.fixture(scope="module")
def batches() -> dict[str, pd.DataFrame]:
    """A reference and three batches: unchanged, a null-rate change only (review), and a
    large shift of ``x`` (retrain)."""
    rng = np.random.default_rng(SEED)
    n = 4_000

    def frame() -> pd.DataFrame:
        return pd.DataFrame(
            {"x": rng.normal(0, 1, n), "y": rng.normal(5, 2, n), "c": rng.choice(list("abc"), n)}
        )

    nulls = frame()
    nulls.loc[rng.random(n) < 0.2, "y"] = np.nan
    shifted = frame()
    shifted["x"] += 0.8
    return {"reference": frame(), "same": frame(), "nulls": nulls, "shifted": shifted}


def lines(evaluation: gates.GateEvaluation) -> list[tuple[str, bool, str]]:
    return [(r.kind, r.passed, r.actual) for r in evaluation.results]


@pytest.mark.parametrize(
    ("batch", "fail_on", "critical", "passed", "decision"),
    [
        ("same", "retrain", (), True, "monitor"),
        ("nulls", "retrain", (), True, "review"),
        ("nulls", "review", (), False, "review"),
        ("nulls", "retrain", ("y",), False, "review"),
        ("nulls", "retrain", ("x",), True, "review"),
        ("shifted", "retrain", (), False, "retrain"),
        ("shifted", "review", ("c",), False, "retrain"),
    ],
)
def test_drift_line_fails_on_its_decision_and_on_critical_columns(
    registry: Registry,
    batches: dict[str, pd.DataFrame],
    batch: str,
    fail_on: str,
    critical: tuple[str, ...],
    passed: bool,
    decision: str,
) -> None:
    gate = DriftGate(
        batches["reference"],
        batches[batch],
        critical=critical,
        fail_on=fail_on,
        reference_name="reference",
        current_name=batch,
    )
    evaluation = mlops.check(drift=gate, raise_on_failure=False)
    assert lines(evaluation) == [("drift", passed, decision)]
    assert evaluation.passed is passed
    result = evaluation.results[0]
    assert result.rule == f"drift(reference, {batch}) < {fail_on}"
    stored = get_drift_report(registry, result.drift_report_id)
    assert stored.decision == decision and stored.record.origin == "gate"
    assert stored.id in result.detail


def test_failed_drift_gate_raises_and_is_stored_with_its_report(
    registry: Registry, batches: dict[str, pd.DataFrame]
) -> None:
    mlops.snapshot(batches["reference"], name="train")
    with pytest.raises(
        GateFailedError, match=r"drift\(train, current\) < retrain \(actual retrain"
    ):
        mlops.check(["n > 1"], values={"n": 2}, drift=("train", batches["shifted"]))
    stored = gates.evaluations(registry, limit=1)[0]
    assert [r.kind for r in stored.results] == ["rule", "drift"]
    report_id = stored.results[1].drift_report_id
    assert stored.inputs["drift"] == [
        {"report_id": report_id, "rule": "drift(train, current) < retrain", "decision": "retrain"}
    ]
    row = registry.query_one(
        "SELECT drift_reports.decision, drift_reports.reference_kind FROM gate_results"
        " JOIN drift_reports ON drift_reports.id = gate_results.drift_report_id"
        " WHERE gate_results.evaluation_id = ?",
        (stored.id,),
    )
    assert tuple(row) == ("retrain", "snapshot")


def test_drift_gate_inside_a_run_links_the_report_to_it(
    registry: Registry, batches: dict[str, pd.DataFrame]
) -> None:
    with mlops.start_run("scoring") as run:
        evaluation = mlops.check(drift=(batches["reference"], batches["same"]))
    report = get_drift_report(registry, evaluation.results[0].drift_report_id)
    assert report.record.run_id == run.id and evaluation.run_id == run.id


def test_reports_already_made_are_judged_not_made_again(
    registry: Registry, batches: dict[str, pd.DataFrame]
) -> None:
    stored = mlops.check_drift(batches["reference"], batches["nulls"], critical=["y"])
    fresh = drift_report(batches["reference"], batches["same"])
    evaluation = mlops.check(drift=[stored, DriftGate(report=fresh)], raise_on_failure=False)
    assert lines(evaluation) == [("drift", False, "review"), ("drift", True, "monitor")]
    assert evaluation.results[0].drift_report_id == stored.id
    made = get_drift_report(registry, evaluation.results[1].drift_report_id)
    assert made.report == fresh and made.record.origin == "gate"
    assert registry.query_one("SELECT COUNT(*) FROM drift_reports")[0] == 2


def test_promote_with_a_drift_gate_links_the_version_and_moves_only_when_it_passes(
    registry: Registry, batches: dict[str, pd.DataFrame]
) -> None:
    mlops.snapshot(batches["reference"], name="train")
    register(registry, {"w": 1}, "churn", snapshot="train", alias="champion")
    register(registry, {"w": 2}, "churn", snapshot="train")
    with pytest.raises(GateFailedError, match="champion still points at version 1"):
        mlops.promote("churn@2", alias="champion", drift=("churn@2", batches["shifted"]))
    assert aliases_of(registry, "churn") == {"champion": 1}
    promotion = mlops.promote("churn@2", alias="champion", drift=("churn@2", batches["same"]))
    assert promotion.moved and aliases_of(registry, "churn") == {"champion": 2}
    reports = registry.query(
        "SELECT model, version, decision FROM drift_reports_view ORDER BY created"
    )
    assert [tuple(r) for r in reports] == [("churn", 2, "retrain"), ("churn", 2, "monitor")]


def test_a_misspelt_rule_is_refused_before_any_drift_report_is_made(
    registry: Registry, batches: dict[str, pd.DataFrame]
) -> None:
    with mlops.start_run("r") as run:
        run.log(accuracy=0.9)
    with pytest.raises(Exception, match="accuracyy"):
        mlops.check(["accuracyy > 0.5"], drift=(batches["reference"], batches["same"]))
    assert registry.query_one("SELECT COUNT(*) FROM drift_reports")[0] == 0


@pytest.mark.parametrize(
    ("value", "count"),
    [
        (None, 0),
        ((), 0),
        (("train", "today.csv"), 1),
        ([("train", "a.csv"), ("train", "b.csv")], 2),
        (DriftGate("train", "today.csv"), 1),
        ((DriftGate("a", "b"), DriftGate("c", "d")), 2),
    ],
)
def test_drift_gates_reads_every_form(value: object, count: int) -> None:
    assert len(drift_gates(value)) == count


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"reference": "train"}, "needs both the reference and the current"),
        ({"reference": "a", "current": "b", "fail_on": "monitor"}, "fail_on 'monitor'"),
        ({"report": "r1"}, "report= takes a drift report"),
        ({"report": None, "current": "x"}, "needs both"),
    ],
)
def test_drift_gate_refuses_what_cannot_be_checked(
    arguments: dict[str, object], match: str
) -> None:
    with pytest.raises(InvalidInputError, match=match):
        DriftGate(**arguments)  # type: ignore[arg-type]


def test_drift_gate_with_a_report_takes_no_critical_columns(
    batches: dict[str, pd.DataFrame],
) -> None:
    report = drift_report(batches["reference"], batches["same"])
    with pytest.raises(InvalidInputError, match="either a report or the data") as caught:
        DriftGate(report=report, critical=["x"])
    assert "check_drift" in (caught.value.hint or "")


def test_drift_gates_refuses_other_things() -> None:
    with pytest.raises(InvalidInputError, match="not int"):
        drift_gates(3)


@pytest.mark.parametrize(
    ("text", "sides"),
    [
        ("train:today", ("train", "today")),
        ("train:data/today.csv", ("train", "data/today.csv")),
        ("churn@champion:batch", ("churn@champion", "batch")),
        (r"C:\data\ref.csv:D:\cur.csv", (r"C:\data\ref.csv", r"D:\cur.csv")),
        (" a : b ", ("a", "b")),
    ],
)
def test_split_sides_reads_ref_colon_cur(text: str, sides: tuple[str, str]) -> None:
    assert split_sides(text) == sides


@pytest.mark.parametrize(("text", "match"), [("train", "REFERENCE:CURRENT"), ("a:", "empty")])
def test_split_sides_refuses_one_sided_text(text: str, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        split_sides(text)


def test_judge_names_critical_columns_in_what_it_expected(
    registry: Registry, batches: dict[str, pd.DataFrame]
) -> None:
    stored = mlops.check_drift(batches["reference"], batches["same"], critical="x,c")
    line = judge(stored, "review")
    assert line.passed and line.expected == "monitor; critical c, x: monitor"
