"""A finished scikit-learn search as a sweep: one child run per candidate.

When a ``GridSearchCV``, ``RandomizedSearchCV``, ``HalvingGridSearchCV`` or
``HalvingRandomSearchCV`` (any ``BaseSearchCV``) has been fitted in a cell while a run
is active, its ``cv_results_`` are read after the cell and recorded, under the active
run, as one finished child run per row (per candidate; per candidate and iteration for
the halving searches, with ``iter`` and ``n_resources`` as parameters):

- parameters: the candidate's ``params`` (``C``, ``clf__max_depth``...), with nested
  estimators as their class names;
- metrics: every ``mean_*``, ``std_*`` and ``rank_*`` column of ``cv_results_`` as it
  is (``mean_test_score``, ``std_test_score``, ``rank_test_score``, ``mean_fit_time``,
  and ``mean_test_<scorer>``... for several scorers);
- tags: ``mlops.search`` (the search's class) and ``mlops.candidate`` (its row), and
  ``mlops.best = true`` on the candidate at ``best_index_``.

The active run becomes the sweep's parent: it gets the parameter ``best_params``, the
metric ``best_score`` and the tag ``mlops.search``. Nothing of the search is changed
or called but ``cv_results_``, ``best_index_``, ``best_params_`` and ``best_score_``,
read after the fit; a search already recorded for the run (the variable named again
in a later cell) is not recorded twice.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..capture.cells import plain_param
from ..children import ChildRecord, record_children
from ..unrecorded import UnrecordedRun

if TYPE_CHECKING:
    from ..run import Run

logger = logging.getLogger(__name__)

BEST_TAG = "mlops.best"
SEARCH_TAG = "mlops.search"
CANDIDATE_TAG = "mlops.candidate"

# Columns of cv_results_ that are metrics of a candidate (split*_ columns are left out:
# their mean and std say what a list of runs can sort and filter by).
_METRIC_PREFIXES = ("mean_", "std_", "rank_")
SEARCH_MODULE = "sklearn.model_selection._search"
# Columns of the halving searches that say at which step a row was evaluated.
_STEP_COLUMNS = ("iter", "n_resources")


@dataclass(frozen=True)
class RecordedSearch:
    """What was recorded of one search: its variable, class, the children's ids in
    the order of ``cv_results_`` rows, and the best row (None when the search has none)."""

    variable: str
    search_class: str
    child_ids: tuple[str, ...]
    best_index: int | None


def is_fitted_search(value: object) -> bool:
    """Whether ``value`` is a scikit-learn search (``BaseSearchCV``) that has been fitted.

    scikit-learn is not imported: a search exists only once its module is loaded.
    """
    module = sys.modules.get(SEARCH_MODULE)
    base = getattr(module, "BaseSearchCV", None)
    if base is None or isinstance(value, type) or not isinstance(value, base):
        return False
    return isinstance(getattr(value, "cv_results_", None), Mapping)


def record_searches(
    run: Run, namespace: Mapping[str, Any], names: Iterable[str]
) -> list[RecordedSearch]:
    """Record, as children of ``run``, the fitted searches among the variables ``names``
    of ``namespace`` that ``run`` has not recorded yet (see the module's docstring)."""
    if SEARCH_MODULE not in sys.modules or isinstance(run, UnrecordedRun):
        return []  # without scikit-learn, no search; an unrecorded run has no children
    recorded = []
    for name in sorted(names):
        if name.startswith("_"):
            continue
        value = namespace.get(name)
        if value is None or not is_fitted_search(value):
            continue
        seen = run.autologged
        results = value.cv_results_
        key = (id(value), id(results))
        if key in seen:
            continue
        recorded.append(record_search(run, value, variable=name))
        seen[key] = results  # kept so that its id is not reused while the run lives
    return recorded


def note_searches(run: Run, namespace: Mapping[str, Any], names: Iterable[str]) -> None:
    """Take note of the fitted searches among ``names`` as they are now, without
    recording them: fitted before the cell that is about to run, they are not its."""
    if SEARCH_MODULE not in sys.modules:  # no search can exist: a cell pays nothing more
        return
    for name in names:
        value = namespace.get(name)
        if value is not None and not name.startswith("_") and is_fitted_search(value):
            results = value.cv_results_
            run.autologged.setdefault((id(value), id(results)), results)


def record_search(run: Run, search: Any, *, variable: str = "search") -> RecordedSearch:
    """Record the fitted ``search`` as one child run of ``run`` per ``cv_results_`` row,
    and its best candidate on ``run`` (see the module's docstring)::

        search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1, 10]}).fit(X, y)
        record_search(mlops.active_run(), search, variable="search")
    """
    results: Mapping[str, Any] = search.cv_results_
    candidates = list(results["params"])
    search_class = type(search).__name__
    best_index = _best_index(search)
    splits = getattr(search, "n_splits_", None)
    columns = [key for key in results if key.startswith(_METRIC_PREFIXES)]
    children = []
    for row, params in enumerate(candidates):
        values = {key: plain_param(value) for key, value in params.items()}
        for step_column in _STEP_COLUMNS:
            if step_column in results:
                values[step_column] = _number(results[step_column][row])
        metrics = {key: _number(results[key][row]) for key in columns}
        tags = {SEARCH_TAG: search_class, CANDIDATE_TAG: str(row)}
        if row == best_index:
            tags[BEST_TAG] = "true"
        children.append(
            ChildRecord(
                name=f"{variable}[{row}]",
                params=values,
                metrics=metrics,
                tags=tags,
                duration=_duration(results, row, splits),
            )
        )
    ids = record_children(run, children)
    run.set_tags({SEARCH_TAG: search_class})
    best_params = getattr(search, "best_params_", None)
    if isinstance(best_params, Mapping):
        run.record_params(
            {"best_params": {key: plain_param(value) for key, value in best_params.items()}},
            source="estimator",
        )
    best_score = _number(getattr(search, "best_score_", None))
    if not math.isnan(best_score):
        run.log(best_score=best_score)
    logger.debug("Recorded %d candidate(s) of %s %s", len(ids), search_class, variable)
    return RecordedSearch(variable, search_class, tuple(ids), best_index)


def _best_index(search: Any) -> int | None:
    """The search's best row: ``best_index_`` (absent for a multi-metric search whose
    ``refit`` is off)."""
    index = getattr(search, "best_index_", None)
    try:
        return None if index is None else int(index)
    except (TypeError, ValueError):
        return None


def _number(value: Any) -> float:
    """A cell of ``cv_results_`` as a float (a masked or missing value is NaN)."""
    try:
        if getattr(value, "mask", False) is True:
            return math.nan
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _duration(results: Mapping[str, Any], row: int, splits: Any) -> float | None:
    """The time the candidate's fits and scorings took, from their means and the number
    of splits; None when the search does not say."""
    if not isinstance(splits, int) or "mean_fit_time" not in results:
        return None
    total = float(results["mean_fit_time"][row])
    if "mean_score_time" in results:
        total += float(results["mean_score_time"][row])
    return total * splits if math.isfinite(total) else None
