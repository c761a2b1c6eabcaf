"""Runs looked up by where they were recorded: the runs of a notebook file, and the run
of a notebook that fitted a given variable.

An export looks for the run a pipeline reflects (the latest run of the notebook it
exports); ``%mlops register VAR`` for the run that fitted ``VAR`` when no run is active.

    latest_notebook_run(registry, Path("churn.ipynb"), bases=(project, Path.cwd()))
    run_that_fitted(registry, "model", "RandomForestClassifier", notebook_path=path)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .refs import resolve_run

if TYPE_CHECKING:
    from ...registry.connection import Registry

CANDIDATES = 500
"""Runs of a notebook's file name that are compared with its path, newest first."""

_SELECT = (
    "SELECT runs.id, runs.name, experiments.name, runs.status, runs.kind, runs.notebook_path,"
    " runs.started_at FROM runs JOIN experiments ON experiments.id = runs.experiment_id"
)


@dataclass(frozen=True)
class NotebookRun:
    """A run with where it came from: its kind and the notebook path it recorded."""

    id: str
    name: str
    experiment: str
    status: str
    kind: str
    notebook_path: str | None
    started_at: float


def notebook_run(registry: Registry, ref: str) -> NotebookRun:
    """The run ``ref`` names (an id, a unique id prefix, a name or ``last``).

    ``NotFoundError`` when there is no such run (see :func:`.refs.resolve_run`).
    """
    row = registry.query_one(f"{_SELECT} WHERE runs.id = ?", (resolve_run(registry, ref),))
    assert row is not None
    return _run(row)


def latest_notebook_run(
    registry: Registry, notebook: Path, *, bases: Sequence[Path] = ()
) -> NotebookRun | None:
    """The latest run recorded from ``notebook``, a finished one rather than a failed one.

    A run records its notebook's path as the kernel knew it: absolute, or relative to one
    of ``bases`` (the project folder, the working directory). None when no run matches.
    """
    target = notebook.resolve()
    rows = registry.query(
        f"{_SELECT} WHERE runs.kind = 'notebook' AND runs.notebook_path LIKE ?"
        " ORDER BY runs.started_at DESC LIMIT ?",
        (f"%{notebook.name}", CANDIDATES),
    )
    matching = [_run(row) for row in rows if _same_file(row[5], target, bases)]
    finished = [run for run in matching if run.status == "finished"]
    best = finished or matching
    return best[0] if best else None


def run_that_fitted(
    registry: Registry, variable: str, class_name: str, *, notebook_path: str | None
) -> NotebookRun | None:
    """The latest run of ``notebook_path`` that recorded fitting ``variable`` as an
    estimator of class ``class_name`` (the ``VAR.estimator`` parameter), if any."""
    row = registry.query_one(
        f"{_SELECT} JOIN params ON params.run_id = runs.id"
        " WHERE params.key = ? AND params.source = 'estimator' AND params.value = ?"
        " AND runs.notebook_path IS ? ORDER BY runs.started_at DESC LIMIT 1",
        (f"{variable}.estimator", class_name, notebook_path),
    )
    return None if row is None else _run(row)


def _run(row: Sequence[Any]) -> NotebookRun:
    run_id, name, experiment, status, kind, notebook_path, started_at = row
    return NotebookRun(str(run_id), name, experiment, status, kind, notebook_path, started_at)


def _same_file(recorded: str | None, target: Path, bases: Sequence[Path]) -> bool:
    if not recorded:
        return False
    path = Path(recorded).expanduser()
    candidates = [path] if path.is_absolute() else [base / path for base in bases]
    for candidate in candidates:
        try:
            if candidate.resolve() == target:
                return True
        except OSError:
            continue
    return False
