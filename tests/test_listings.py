"""Registry-wide lists: snapshots, the model versions of a run, each version's latest verdict."""

from __future__ import annotations

import time

import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import GateFailedError, InvalidInputError
from jupyter_mlops.gates.verdicts import latest_gate_verdicts
from jupyter_mlops.models.versions import ModelVersion, VersionRef, versions_of_run
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.snapshots.store import list_snapshots

from .stored_snapshots import store_snapshot


def _frame(rows: int, seed: int) -> pd.DataFrame:
    return pd.DataFrame({"x": [(i * seed) % 97 for i in range(rows)], "y": [seed] * rows})


def _link(registry: Registry, run_id: str, snapshot_id: str, role: str) -> None:
    with registry.transaction("a test link") as conn:
        conn.execute(
            "INSERT INTO run_snapshots (run_id, snapshot_id, role) VALUES (?, ?, ?)",
            (run_id, snapshot_id, role),
        )


def test_list_snapshots_newest_first_with_runs_and_total(registry: Registry) -> None:
    with mlops.start_run("a") as run_a:
        first = store_snapshot(registry, _frame(10, 3), "train", run_id=run_a.id)
    time.sleep(0.01)
    with mlops.start_run("b") as run_b:
        _link(registry, run_b.id, first, "train")  # the same data read again
        second = store_snapshot(registry, _frame(25, 5), "march", run_id=run_b.id, role="input")
    time.sleep(0.01)
    unused = store_snapshot(registry, _frame(7, 11), "april")

    page = list_snapshots(registry)

    assert [s.id for s in page.snapshots] == [unused, second, first]
    assert page.total == 3
    by_id = {s.id: s for s in page.snapshots}
    assert (by_id[first].n_rows, by_id[first].n_columns, by_id[first].n_runs) == (10, 2, 2)
    assert (by_id[second].name, by_id[second].n_runs) == ("march", 1)
    assert by_id[unused].n_runs == 0 and not by_id[unused].materialized


def test_list_snapshots_pages(registry: Registry) -> None:
    ids = []
    for index in range(5):
        ids.append(store_snapshot(registry, _frame(3, index + 1), f"s{index}"))
        time.sleep(0.005)

    page = list_snapshots(registry, limit=2, offset=2)

    assert [s.id for s in page.snapshots] == list(reversed(ids))[2:4]
    assert (page.total, page.limit, page.offset) == (5, 2, 2)


@pytest.mark.parametrize(
    ("limit", "offset", "message"),
    [
        (0, 0, "limit must be a whole number from 1 to 1000"),
        (1001, 0, "limit must be a whole number from 1 to 1000"),
        (True, 0, "limit must be"),
        ("10", 0, "limit must be"),
        (10, -1, "offset must be zero or more"),
    ],
)
def test_list_snapshots_refuses_bad_windows(
    registry: Registry, limit: object, offset: object, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        list_snapshots(registry, limit=limit, offset=offset)  # type: ignore[arg-type]


def _register(name: str, accuracy: float, alias: str | None = None) -> ModelVersion:
    with mlops.start_run(name) as run:
        run.log(accuracy=accuracy)
        return mlops.register_model({"trained": name}, "churn", alias=alias)


def test_versions_of_run_name_model_version_and_aliases(registry: Registry) -> None:
    first = _register("first", 0.8, alias="champion")
    with mlops.start_run("two-models") as run:
        mlops.register_model({"m": 1}, "churn", alias="challenger")
        mlops.register_model({"m": 2}, "fraud")
    mlops.promote("churn@2", alias="staging")

    assert versions_of_run(registry, first.run_id) == (VersionRef("churn", 1, ("champion",)),)
    found = versions_of_run(registry, run.id)
    assert [(v.ref, v.aliases) for v in found] == [
        ("churn@2", ("challenger", "staging")),
        ("fraud@1", ()),
    ]
    assert versions_of_run(registry, "no-such-run") == ()


def test_latest_gate_verdicts_follow_promotions_and_checks_of_the_run(registry: Registry) -> None:
    v1 = _register("first", 0.80)
    v2 = _register("second", 0.90)
    v3 = _register("third", 0.95)
    mlops.check(["accuracy >= 0.85"], run="first", raise_on_failure=False)  # fails, on v1's run
    mlops.check(["accuracy >= 0.85"], run="second", model="churn")  # passes, names the model
    time.sleep(0.01)
    with pytest.raises(GateFailedError):
        mlops.promote("churn@2", alias="champion", gates=["accuracy >= 0.99"])  # later, fails
    mlops.check(["accuracy >= 0.5"], run="first")  # a later check of v1's run passes

    verdicts = latest_gate_verdicts(registry, [v1, v2, v3])

    assert set(verdicts) == {v1.id, v2.id}  # v3 was never evaluated
    assert verdicts[v1.id].passed and verdicts[v1.id].purpose == "check"
    assert [r.rule for r in verdicts[v1.id].results] == ["accuracy >= 0.5"]
    assert not verdicts[v2.id].passed and verdicts[v2.id].purpose == "promote"
    assert latest_gate_verdicts(registry, []) == {}


def test_latest_gate_verdicts_ignore_checks_that_named_another_model(registry: Registry) -> None:
    version = _register("shared", 0.9)
    with mlops.start_run("other"):
        mlops.register_model({"m": 0}, "fraud")
    mlops.check(["accuracy >= 0.95"], run="shared", model="fraud", raise_on_failure=False)

    assert latest_gate_verdicts(registry, [version]) == {}
