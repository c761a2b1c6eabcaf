"""Reading runs: resolving references, filters, sorting, pages, frames and comparisons."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import ExpressionError, InvalidInputError, NotFoundError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.queries.comparison import compare
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.tracking.queries.listing import best_run, experiments, list_runs
from jupyter_mlops.tracking.queries.records import RunsPage
from jupyter_mlops.tracking.queries.refs import resolve_run


@pytest.fixture
def populated(registry: Registry) -> Registry:
    """Six runs over two experiments with params lr/depth and metrics acc/loss."""
    table = [
        ("a1", "churn", 0.1, 3, 0.80, 0.50),
        ("a2", "churn", 0.05, 5, 0.91, 0.30),
        ("a3", "churn", 0.01, 7, 0.88, None),
        ("b1", "fraud", 0.1, 3, 0.70, 0.60),
        ("b2", "fraud", 0.2, 9, math.nan, 0.40),
        ("b3", "fraud", 0.3, 2, 0.95, 0.20),
    ]
    for name, experiment, lr, depth, acc, loss in table:
        with mlops.start_run(name, experiment=experiment) as run:
            run.log_params(lr=lr, depth=depth, optimizer="adam" if depth > 4 else "sgd")
            run.log(acc=acc)
            if loss is not None:
                for step in range(3):
                    run.log(loss=loss + (2 - step) * 0.1, step=step)
    return registry


def names(page: RunsPage) -> list[str]:
    return [r.name for r in page.runs]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("acc > 0.85", {"a2", "a3", "b3"}),
        ("metrics.acc > 0.85 and params.lr < 0.1", {"a2", "a3"}),
        ("lr = 0.1", {"a1", "b1"}),
        ("depth >= 7 or loss < 0.3", {"a3", "b2", "b3"}),
        ("not (experiment == 'churn')", {"b1", "b2", "b3"}),
        ("optimizer in ('adam',)", {"a2", "a3", "b2"}),
        ("loss == None", {"a3"}),
        ("loss != None and acc > 0.9", {"a2", "b3"}),
        ("acc / lr > 15", {"a2", "a3"}),
        ("status = 'finished' and name != 'a1'", {"a2", "a3", "b1", "b2", "b3"}),
        ("-lr < -0.15", {"b2", "b3"}),
    ],
)
def test_where_filters(populated: Registry, where: str, expected: set[str]) -> None:
    assert set(names(list_runs(populated, where=where))) == expected


def test_sorting_by_metric_puts_missing_values_last(populated: Registry) -> None:
    assert names(list_runs(populated, sort="-acc")) == ["b3", "a2", "a3", "a1", "b1", "b2"]
    assert names(list_runs(populated, sort="acc"))[:2] == ["b1", "a1"]
    assert names(list_runs(populated, sort=["params.depth", "-name"]))[:2] == ["b3", "b1"]


def test_pages_are_stable_and_count_the_total(populated: Registry) -> None:
    first = list_runs(populated, sort="name", limit=4)
    second = list_runs(populated, sort="name", limit=4, offset=4)
    assert names(first) + names(second) == ["a1", "a2", "a3", "b1", "b2", "b3"]
    assert first.total == second.total == 6
    assert first.metric_keys == ("acc", "loss")
    filtered = list_runs(populated, experiment="fraud", limit=1)
    assert filtered.total == 3 and len(filtered.runs) == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"where": "accuracy > 0.5"}, ExpressionError, 'Unknown column "accuracy".*'),
        ({"where": "metrics.lr > 0"}, ExpressionError, 'Unknown metric "metrics.lr"'),
        ({"where": "acc >"}, ExpressionError, "Cannot parse"),
        ({"where": "acc > 0.5; DELETE FROM runs"}, ExpressionError, "not allowed"),
        ({"where": "name = 'x' OR 1=1 --"}, ExpressionError, "Cannot parse"),
        ({"sort": "-nope"}, ExpressionError, 'Unknown column "nope"'),
        ({"sort": "-"}, InvalidInputError, "not a sort key"),
        ({"sort": "acc + 1"}, InvalidInputError, "not a sort key"),
        ({"limit": 0}, InvalidInputError, "positive integer"),
        ({"offset": -1}, InvalidInputError, "zero or more"),
        ({"experiment": "nope"}, NotFoundError, 'No experiment named "nope"'),
    ],
)
def test_bad_queries_get_clear_errors_and_change_nothing(
    populated: Registry, kwargs: dict, error: type[Exception], message: str
) -> None:
    before = populated.query_one("SELECT COUNT(*) FROM runs")[0]
    with pytest.raises(error, match=message):
        list_runs(populated, **kwargs)
    assert populated.query_one("SELECT COUNT(*) FROM runs")[0] == before


def test_unknown_name_suggests_close_ones(populated: Registry) -> None:
    with pytest.raises(ExpressionError) as caught:
        list_runs(populated, where="acuracy > 0.5")
    assert "acc" in (caught.value.hint or "")


def test_a_name_that_is_both_metric_and_param_must_be_qualified(populated: Registry) -> None:
    with mlops.start_run("both") as run:
        run.log_params(acc=1)
        run.log(acc=0.5)
    with pytest.raises(ExpressionError, match="both a metric and a parameter"):
        list_runs(populated, where="acc > 0")
    assert names(list_runs(populated, where="params.acc == 1")) == ["both"]


def test_string_values_are_bound_not_spliced(populated: Registry) -> None:
    hostile = "x'); DROP TABLE runs; --"
    before = list_runs(populated).total
    assert list_runs(populated, where=f"name == {hostile!r}").total == 0
    assert list_runs(populated).total == before > 0


def test_resolve_run_by_id_prefix_name_and_last(populated: Registry) -> None:
    run_id = list_runs(populated, where="name == 'a2'").runs[0].id
    assert resolve_run(populated, run_id) == run_id
    assert resolve_run(populated, run_id[:6]) == run_id
    assert resolve_run(populated, "a2") == run_id
    assert resolve_run(populated, "last") == list_runs(populated, limit=1).runs[0].id
    with pytest.raises(NotFoundError, match='No run with id or name "zzz"'):
        resolve_run(populated, "zzz")
    with pytest.raises(InvalidInputError):
        resolve_run(populated, " ")


def test_runs_frame_has_one_row_per_run_with_typed_columns(populated: Registry) -> None:
    frame = mlops.runs(sort="name")
    assert list(frame["name"]) == ["a1", "a2", "a3", "b1", "b2", "b3"]
    assert {
        "params.lr",
        "params.depth",
        "params.optimizer",
        "metrics.acc",
        "metrics.loss",
        "duration",
        "started_at",
    } <= set(frame.columns)
    assert frame["metrics.acc"].dtype == "float64"
    assert math.isnan(frame.loc[frame["name"] == "b2", "metrics.acc"].item())
    assert frame.loc[frame["name"] == "a2", "metrics.loss"].item() == pytest.approx(0.30)
    assert isinstance(frame["started_at"].dtype, pd.DatetimeTZDtype)
    assert mlops.runs(experiment="fraud", where="acc > 0.8")["name"].tolist() == ["b3"]


def test_a_filter_that_keeps_no_run_still_gives_the_columns_it_reads(populated: Registry) -> None:
    frame = mlops.runs(where="acc > 2 and params.depth <= 6", sort="-loss")
    assert frame.empty
    assert {"metrics.acc", "params.depth", "metrics.loss"} <= set(frame.columns)
    assert ((frame["metrics.acc"] > 2) & (frame["params.depth"] <= 6)).all()  # reads, empty


def test_empty_registry_gives_an_empty_frame(registry: Registry) -> None:
    frame = mlops.runs()
    assert frame.empty and "run_id" in frame.columns


def test_best_run_uses_the_last_value(populated: Registry) -> None:
    assert best_run(populated, "acc").name == "b3"
    assert best_run(populated, "loss", maximize=False).name == "b3"
    assert best_run(populated, "acc", experiment="churn").name == "a2"
    with pytest.raises(NotFoundError, match='No run has logged "f1"'):
        best_run(populated, "f1")


def test_run_detail_has_series_for_curves(populated: Registry) -> None:
    detail = run_detail(populated, "a1")
    assert detail.series["loss"] == (
        (0, pytest.approx(0.7)),
        (1, pytest.approx(0.6)),
        (2, pytest.approx(0.5)),
    )
    assert "acc" not in detail.series  # a single point is not a curve
    assert {p.key for p in detail.params} == {"lr", "depth", "optimizer"}


def test_compare_marks_differing_params(populated: Registry) -> None:
    comparison = compare(populated, ["a1", "b1", "b3"])
    by_key = {key: (values, differs) for key, values, differs in comparison.params}
    assert by_key["lr"] == ((0.1, 0.1, 0.3), True)
    assert by_key["optimizer"] == (("sgd", "sgd", "sgd"), False)
    assert comparison.differing_params == ("depth", "lr")
    assert dict(comparison.metrics)["acc"] == (0.8, 0.7, 0.95)
    with pytest.raises(InvalidInputError, match="at least two"):
        compare(populated, ["a1"])


def test_experiments_count_their_runs(populated: Registry) -> None:
    assert {e.name: e.runs for e in experiments(populated)} == {
        "churn": 3,
        "fraud": 3,
    }
