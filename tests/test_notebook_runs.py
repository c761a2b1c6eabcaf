"""Runs looked up by where they were recorded: a notebook's latest run, the run that fitted a
variable, and the counts ``status`` reports, on a real registry file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import NotFoundError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.contents import RecordCounts, count_records
from jupyter_mlops.tracking.queries.notebook_runs import (
    latest_notebook_run,
    notebook_run,
    run_that_fitted,
)


def record(name: str, notebook: str | None, *, status: str = "finished", **params: object) -> str:
    run = mlops.start_run(name, experiment="nb", kind="notebook", notebook_path=notebook)
    if params:
        run.record_params(params, source="estimator")
    run.end(status)
    return run.id


def test_latest_notebook_run_prefers_a_finished_run_of_the_same_file(
    registry: Registry, tmp_path: Path
) -> None:
    notebook = tmp_path / "work" / "train.ipynb"
    finished = record("good", str(notebook))
    record("broken", str(notebook), status="failed")  # later, but failed
    record("elsewhere", str(tmp_path / "other" / "train.ipynb"))  # same name, other file

    found = latest_notebook_run(registry, notebook)

    assert found is not None and (found.id, found.name, found.experiment) == (
        finished,
        "good",
        "nb",
    )


def test_latest_notebook_run_matches_a_relative_path_from_a_base_and_falls_back_to_failed(
    registry: Registry, tmp_path: Path
) -> None:
    failed = record("only", "work/train.ipynb", status="failed")
    notebook = tmp_path / "work" / "train.ipynb"

    assert latest_notebook_run(registry, notebook) is None  # relative, and no base given
    found = latest_notebook_run(registry, notebook, bases=(tmp_path,))
    assert found is not None and (found.id, found.status) == (failed, "failed")


def test_run_that_fitted_needs_the_variable_its_class_and_the_notebook(registry: Registry) -> None:
    older = record("first", "a.ipynb", **{"model.estimator": "Tree"})
    newer = record("second", "a.ipynb", **{"model.estimator": "Tree"})
    record("forest", "a.ipynb", **{"model.estimator": "Forest"})
    record("other notebook", "b.ipynb", **{"model.estimator": "Tree"})

    found = run_that_fitted(registry, "model", "Tree", notebook_path="a.ipynb")

    assert found is not None and found.id == newer != older
    assert run_that_fitted(registry, "clf", "Tree", notebook_path="a.ipynb") is None
    assert run_that_fitted(registry, "model", "Tree", notebook_path=None) is None


def test_notebook_run_resolves_a_reference_or_says_what_is_missing(registry: Registry) -> None:
    run_id = record("named", "a.ipynb")
    assert notebook_run(registry, "named").id == notebook_run(registry, run_id[:6]).id == run_id
    with pytest.raises(NotFoundError, match='No run with id or name "nope"'):
        notebook_run(registry, "nope")


def test_count_records_counts_experiments_runs_and_snapshots(registry: Registry) -> None:
    assert count_records(registry) == RecordCounts(experiments=0, runs=0, snapshots=0)
    record("a", None)
    with mlops.start_run("b", experiment="other"):
        mlops.snapshot(pd.DataFrame({"x": [1, 2, 3]}), name="train")
    assert count_records(registry) == RecordCounts(experiments=2, runs=2, snapshots=1)
