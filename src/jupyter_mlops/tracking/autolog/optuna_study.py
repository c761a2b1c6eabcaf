"""An Optuna study as a sweep: one child run per finished trial.

Each trial that has finished (complete, pruned or failed) becomes a child run of the
run that was active, named ``trial-N`` (its number), with:

- parameters: the trial's ``params``;
- metrics: ``value`` (one objective), or ``values_0``, ``values_1``... (several; the
  study's ``metric_names`` when it has them), and the trial's intermediate values as the
  curve ``intermediate``;
- status: finished (complete), killed (pruned), failed (failed); tags
  ``mlops.optuna_study`` (the study's name), ``mlops.trial`` and ``mlops.trial_state``;
- ``mlops.best = true`` on the best trial (every trial of the Pareto front for several
  objectives), moved as the study finds better ones.

The parent gets ``best_params``, the metric ``best_value`` and the tag ``mlops.optuna_study``.
Two ways in, the same records: in a notebook, a study the cell names is read after the
cell, with no code change; anywhere, ``mlops.optuna_callback()`` records each trial as it
ends::

    with mlops.start_run("tuning"):
        study.optimize(objective, n_trials=50, callbacks=[mlops.optuna_callback()])

A trial already recorded for the run is not recorded again. Optuna is never imported
here: a study exists only once Optuna is loaded.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ...errors import MlopsError
from ..capture.cells import plain_param
from ..children import ChildRecord, mark_best, record_children
from ..unrecorded import UnrecordedRun

if TYPE_CHECKING:
    from ..run import Run

logger = logging.getLogger(__name__)

STUDY_TAG = "mlops.optuna_study"
TRIAL_TAG = "mlops.trial"
STATE_TAG = "mlops.trial_state"
BEST_TAG = "mlops.best"
STUDY_MODULE = "optuna.study.study"
_STATUS = {"COMPLETE": "finished", "PRUNED": "killed", "FAIL": "failed"}


def is_study(value: object) -> bool:
    """Whether ``value`` is an ``optuna.Study`` (without importing Optuna)."""
    module = sys.modules.get(STUDY_MODULE)
    study = getattr(module, "Study", None)
    return study is not None and isinstance(value, study)


def record_studies(run: Run, namespace: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """Record the new finished trials of the studies among the variables ``names``."""
    recorded: list[str] = []
    if STUDY_MODULE not in sys.modules:
        return recorded
    for name in sorted(names):
        value = namespace.get(name)
        if not name.startswith("_") and value is not None and is_study(value):
            recorded += record_trials(run, value)
    return recorded


def note_studies(run: Run, namespace: Mapping[str, Any], names: Iterable[str]) -> None:
    """Take note of the trials the studies among ``names`` have finished so far, without
    recording them: run before the cell that is about to run, they are not its."""
    if STUDY_MODULE not in sys.modules:  # no study can exist: a cell pays nothing more
        return
    for name in names:
        value = namespace.get(name)
        if value is not None and not name.startswith("_") and is_study(value):
            children_of = _entry(run, value)
            for trial in value.get_trials(deepcopy=False):
                if trial.state.name in _STATUS:
                    children_of.setdefault(trial.number, "")  # "": not recorded here


def _entry(run: Run, study: Any) -> dict[int, str]:
    """The trials of ``study`` recorded (or passed over) for ``run``: number -> child id."""
    key = ("optuna", id(study))
    entry = run.autologged.get(key)
    if entry is None:
        entry = run.autologged[key] = (study, {})  # the study is kept: its id stays its own
    return entry[1]  # type: ignore[index]


def record_trials(run: Run, study: Any) -> list[str]:
    """Record the finished trials of ``study`` not yet recorded for ``run`` as its
    children, move the best mark, and note the best on ``run``; return the new ids."""
    if isinstance(run, UnrecordedRun):
        return []
    children_of = _entry(run, study)
    finished = [
        trial
        for trial in study.get_trials(deepcopy=False)
        if trial.state.name in _STATUS and trial.number not in children_of
    ]
    names = _objective_names(study)
    records = [_child(trial, names, study.study_name) for trial in finished]
    ids = record_children(run, records, param_source="explicit")
    children_of.update(zip((trial.number for trial in finished), ids))
    if ids:
        _note_best(run, study, children_of)
    return ids


def _objective_names(study: Any) -> list[str]:
    count = len(study.directions)
    given = getattr(study, "metric_names", None)
    if given and len(given) == count:
        return [str(name) for name in given]
    return ["value"] if count == 1 else [f"values_{index}" for index in range(count)]


def _child(trial: Any, names: list[str], study_name: str) -> ChildRecord:
    values = trial.values or []
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    intermediate = sorted(trial.intermediate_values.items())
    return ChildRecord(
        name=f"trial-{trial.number}",
        params={key: plain_param(value) for key, value in trial.params.items()},
        metrics=dict(zip(names, values)),
        series={"intermediate": intermediate} if intermediate else {},
        tags={STUDY_TAG: study_name, TRIAL_TAG: str(trial.number), STATE_TAG: trial.state.name},
        status=_STATUS[trial.state.name],
        duration=duration,
    )


def _note_best(run: Run, study: Any, children_of: dict[int, str]) -> None:
    try:
        best = [study.best_trial] if len(study.directions) == 1 else list(study.best_trials)
    except ValueError:  # no trial has completed yet
        return
    marked = [children_of.get(trial.number) for trial in best]
    mark_best(run, [child_id for child_id in marked if child_id])
    run.set_tags({STUDY_TAG: study.study_name})
    if len(best) == 1:
        run.record_params(
            {"best_params": {k: plain_param(v) for k, v in best[0].params.items()}},
            source="explicit",
        )
        run.log(best_value=float(best[0].value))


class OptunaCallback:
    """Records each trial of a study as a child of ``run`` as the trial ends: pass it to
    ``study.optimize(..., callbacks=[...])``. A failure to record is logged as a warning,
    never raised into the optimization."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def __call__(self, study: Any, trial: Any) -> None:
        try:
            record_trials(self.run, study)
        except MlopsError as exc:
            logger.warning(
                "jupyter-mlops: trial %s of study %s was not recorded: %s",
                getattr(trial, "number", "?"),
                getattr(study, "study_name", "?"),
                exc.message,
            )
