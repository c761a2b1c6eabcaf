"""scikit-learn searches fitted in a run become a sweep: one child run per candidate with
its parameters and cross-validation scores, the best one marked, with no logging call."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.tracking.queries.listing import list_runs

from .conftest import run_cell

SETUP = """
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
X, y = make_classification(n_samples=300, n_features=8, random_state=0)
grid = {"C": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0], "fit_intercept": [True, False]}
"""

SEARCH = "search = GridSearchCV(LogisticRegression(solver='liblinear'), grid, cv=3).fit(X, y)\n"


def children_of(registry: Registry, parent_id: str) -> dict[int, Any]:
    """The children of a run by their candidate row, each as its detail."""
    page = list_runs(registry, parent=parent_id, limit=1000)
    found = {}
    for row in page.runs:
        detail = run_detail(registry, row.id, series=False)
        found[int(detail.tags["mlops.candidate"])] = detail
    return found


def test_a_grid_search_in_a_run_cell_records_one_child_per_candidate(shell: Any) -> None:
    run_cell(shell, SETUP)
    result = run_cell(shell, "%%mlops run sweep\n" + SEARCH)
    assert result.success
    search = shell.user_ns["search"]
    results = search.cv_results_
    registry = mlops.init()
    parent = run_detail(registry, "sweep")
    children = children_of(registry, parent.run.id)
    assert sorted(children) == list(range(12))
    assert parent.run.children == 12
    for row, child in children.items():
        assert child.run.parent_run_id == parent.run.id
        assert child.run.status == "finished"
        assert child.run.name == f"search[{row}]"
        params = {p.key: p.value for p in child.params}
        assert params == results["params"][row]
        metrics = child.run.metrics
        # the scores are cv_results_' own numbers, exactly
        assert metrics["mean_test_score"] == results["mean_test_score"][row]
        assert metrics["std_test_score"] == results["std_test_score"][row]
        assert metrics["rank_test_score"] == results["rank_test_score"][row]
        assert metrics["mean_fit_time"] == results["mean_fit_time"][row]
    best = [row for row, child in children.items() if child.tags.get("mlops.best") == "true"]
    assert best == [search.best_index_]
    parent_params = {p.key: p.value for p in parent.params}
    assert parent_params["best_params"] == search.best_params_
    assert parent.run.metrics["best_score"] == search.best_score_
    assert parent.tags["mlops.search"] == "GridSearchCV"
    # the search is the user's: its results are those of the same search run untracked
    from sklearn.base import clone

    untracked = clone(search).fit(shell.user_ns["X"], shell.user_ns["y"])
    np.testing.assert_array_equal(
        untracked.cv_results_["mean_test_score"], results["mean_test_score"]
    )


def test_a_search_named_again_later_is_not_recorded_twice(shell: Any) -> None:
    run_cell(shell, SETUP)
    run_cell(shell, "%mlops start span")
    run_cell(shell, SEARCH)
    run_cell(shell, "print(search.best_score_)")
    run_cell(shell, "search.fit(X[:200], y[:200])")  # fitted again: a new set of candidates
    run_cell(shell, "%mlops end")
    registry = mlops.init()
    span = run_detail(registry, "span")
    assert span.run.children == 24
    assert mlops.active_run() is None


def test_a_search_outside_any_run_records_nothing_even_when_a_run_names_it(shell: Any) -> None:
    run_cell(shell, SETUP)
    run_cell(shell, SEARCH)
    registry = mlops.init()
    assert registry.query_tuples("SELECT COUNT(*) FROM runs") == [(0,)]
    # fitted before: not the run's, in a run cell or in a span
    run_cell(shell, "%%mlops run reads-it\nscore = search.best_score_\n")
    run_cell(shell, "%mlops start span")
    run_cell(shell, "print(search.best_params_)")
    run_cell(shell, "%mlops end")
    assert registry.query_tuples("SELECT COUNT(*) FROM runs WHERE parent_run_id IS NOT NULL") == [
        (0,)
    ]
    run_cell(shell, "%%mlops run refits\nsearch.fit(X, y)\n")  # fitted in the run: its own
    assert run_detail(registry, "refits").run.children == 12


@pytest.mark.parametrize("kind", ["random", "halving-grid", "halving-random"])
def test_random_and_halving_searches_record_each_row(shell: Any, kind: str) -> None:
    run_cell(shell, SETUP)
    run_cell(
        shell,
        "from sklearn.experimental import enable_halving_search_cv  # noqa\n"
        "from sklearn.model_selection import RandomizedSearchCV, HalvingGridSearchCV,"
        " HalvingRandomSearchCV\n"
        "from sklearn.tree import DecisionTreeClassifier\n"
        "space = {'max_depth': [1, 2, 3, 4, 5, 6], 'min_samples_leaf': [1, 5, 10]}\n",
    )
    make = {
        "random": "RandomizedSearchCV(DecisionTreeClassifier(random_state=0), space,"
        " n_iter=5, cv=3, random_state=0, scoring=['accuracy', 'f1'], refit='f1')",
        "halving-grid": "HalvingGridSearchCV(DecisionTreeClassifier(random_state=0), space,"
        " cv=3, random_state=0)",
        "halving-random": "HalvingRandomSearchCV(DecisionTreeClassifier(random_state=0),"
        " space, cv=3, random_state=0, n_candidates=9)",
    }[kind]
    assert run_cell(shell, f"%%mlops run {kind}\nfound = {make}.fit(X, y)\n").success
    found = shell.user_ns["found"]
    results = found.cv_results_
    registry = mlops.init()
    parent = run_detail(registry, kind)
    children = children_of(registry, parent.run.id)
    assert len(children) == len(results["params"])
    for row, child in children.items():
        params = {p.key: p.value for p in child.params}
        if kind.startswith("halving"):
            assert params.pop("iter") == results["iter"][row]
            assert params.pop("n_resources") == results["n_resources"][row]
        assert params == results["params"][row]
        if kind == "random":  # several scorers: a mean and a std of each
            assert child.run.metrics["mean_test_f1"] == results["mean_test_f1"][row]
            assert child.run.metrics["std_test_accuracy"] == results["std_test_accuracy"][row]
        else:
            assert child.run.metrics["mean_test_score"] == results["mean_test_score"][row]
    best = [row for row, child in children.items() if child.tags.get("mlops.best") == "true"]
    assert best == [found.best_index_]
