"""What autolog records after a cell of a run: the searches and studies it named."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .optuna_study import record_studies
from .sklearn_search import record_searches

if TYPE_CHECKING:
    from ..run import Run


def record_after_cell(run: Run, namespace: Mapping[str, Any], names: Iterable[str]) -> None:
    """Record, as children of ``run``, the searches and studies among the variables
    ``names`` of ``namespace`` (those a cell named) that have new results."""
    names = list(names)
    record_searches(run, namespace, names)
    record_studies(run, namespace, names)
