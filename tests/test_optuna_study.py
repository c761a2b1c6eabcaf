"""Optuna studies as sweeps: each finished trial a child run of the study's run, with its
parameters, value, state and intermediate values, the best trial marked."""

from __future__ import annotations

from typing import Any

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import NoActiveRunError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.tracking.queries.listing import list_runs

from .conftest import run_cell

optuna = pytest.importorskip("optuna")

OBJECTIVE = """
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)

def objective(trial):
    x = trial.suggest_float("x", -3.0, 3.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    for step in range(3):
        trial.report((x - 1) ** 2 + step, step)
    if trial.number == 4:
        raise optuna.TrialPruned()
    return (x - 1) ** 2 + (0.5 if kind == "a" else 0.0)
"""


def trials_of(registry: Registry, parent: str) -> dict[int, Any]:
    page = list_runs(registry, parent=parent, limit=1000)
    details = [run_detail(registry, run.id) for run in page.runs]
    return {int(detail.tags["mlops.trial"]): detail for detail in details}


def check_study(registry: Registry, parent_name: str, study: Any) -> None:
    parent = run_detail(registry, parent_name)
    trials = trials_of(registry, parent.run.id)
    assert sorted(trials) == [trial.number for trial in study.trials]
    for trial in study.trials:
        child = trials[trial.number]
        assert child.run.name == f"trial-{trial.number}"
        assert {p.key: p.value for p in child.params} == trial.params
        assert child.tags["mlops.trial_state"] == trial.state.name
        assert child.run.status == ("finished" if trial.state.name == "COMPLETE" else "killed")
        # a pruned trial's value is its last intermediate value, as Optuna keeps it
        assert child.run.metrics["value"] == trial.value
        assert child.series["intermediate"] == tuple(sorted(trial.intermediate_values.items()))
    best = [number for number, child in trials.items() if child.tags.get("mlops.best")]
    assert best == [study.best_trial.number]
    assert parent.run.metrics["best_value"] == study.best_value
    assert {p.key: p.value for p in parent.params}["best_params"] == study.best_params


def test_the_callback_records_each_trial_as_it_ends(registry: Registry) -> None:
    namespace: dict[str, Any] = {}
    exec(OBJECTIVE, namespace)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=3))
    seen_during: list[int] = []

    def children_so_far(study: Any, trial: Any) -> None:
        parent = mlops.active_run()
        assert parent is not None
        seen_during.append(run_detail(registry, parent.id).run.children)

    with mlops.start_run("tuning"):
        study.optimize(
            namespace["objective"],
            n_trials=8,
            callbacks=[mlops.optuna_callback(), children_so_far],
        )
    assert seen_during == list(range(1, 9))  # each trial recorded when it ended
    check_study(registry, "tuning", study)


def test_the_callback_needs_a_run(registry: Registry) -> None:
    with pytest.raises(NoActiveRunError):
        mlops.optuna_callback()


def test_a_study_in_a_notebook_run_is_recorded_with_no_code(shell: Any) -> None:
    run_cell(shell, OBJECTIVE)
    run_cell(shell, "%mlops start tuning")
    run_cell(
        shell,
        "study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=5))\n"
        "study.optimize(objective, n_trials=6)",
    )
    run_cell(shell, "study.optimize(objective, n_trials=4)")  # more trials: only the new ones
    run_cell(shell, "print(study.best_value)")
    run_cell(shell, "%mlops end")
    registry = mlops.init()
    study = shell.user_ns["study"]
    assert len(study.trials) == 10
    check_study(registry, "tuning", study)
    assert run_detail(registry, "tuning").run.children == 10


def test_trials_run_before_the_run_are_not_its_own(shell: Any) -> None:
    run_cell(shell, OBJECTIVE)
    run_cell(shell, "study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=9))")
    run_cell(shell, "study.optimize(objective, n_trials=5)")  # no run active
    run_cell(shell, "%%mlops run more\nstudy.optimize(objective, n_trials=3)\n")
    registry = mlops.init()
    parent = run_detail(registry, "more")
    numbers = sorted(
        int(child.tags["mlops.trial"]) for child in trials_of(registry, parent.run.id).values()
    )
    assert numbers == [5, 6, 7]
