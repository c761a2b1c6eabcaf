"""What autolog records after a cell of a run: the searches and studies it named.

Only what the cell itself produced is recorded: before the cell runs,
:func:`note_before_cell` takes note of the results the named objects already hold (a
search fitted before the run, the trials a study ran earlier), and those are skipped.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .boosting import BOOSTING_MODULES, note_boosters, record_boosters
from .optuna_study import STUDY_MODULE, note_studies, record_studies
from .sklearn_search import SEARCH_MODULE, note_searches, record_searches

if TYPE_CHECKING:
    from ..run import Run


def note_before_cell(run: Run, namespace: Mapping[str, Any], names: Iterable[str]) -> None:
    """Take note of the results the searches and studies among ``names`` hold before a
    cell of ``run`` runs, so that only what the cell adds is recorded after it."""
    if any_loaded():
        names = list(names)
        note_searches(run, namespace, names)
        note_studies(run, namespace, names)
        note_boosters(run, namespace, names)


def record_after_cell(run: Run, namespace: Mapping[str, Any], names: Iterable[str]) -> None:
    """Record, as children of ``run``, the searches and studies among the variables
    ``names`` of ``namespace`` (those a cell named) that have new results."""
    if any_loaded():
        names = list(names)
        record_searches(run, namespace, names)
        record_studies(run, namespace, names)
        record_boosters(run, namespace, names)


# The modules whose objects autolog reads: none imported, a cell pays nothing more.
_WATCHED = (SEARCH_MODULE, STUDY_MODULE, *BOOSTING_MODULES)


def any_loaded() -> bool:
    """Whether a library autolog reads is imported: until then a cell pays nothing.

    Asked before and after every cell of a run: a plain loop of dictionary lookups,
    no generator to set up."""
    modules = sys.modules
    for module in _WATCHED:
        if module in modules:
            return True
    return False
