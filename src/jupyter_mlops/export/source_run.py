"""What an export learns from the registry: the notebook's run, and drift references.

The run is the tracked run of the notebook that the pipeline reflects: the one named
(an id, an id prefix or a name), else the latest run of this notebook, matched by the
path the run recorded (absolute, or relative to the registry's project folder or the
working directory). A finished run is preferred over a failed one.

Each ``drift:VAR`` check gets its reference snapshot (the one the tag names, else the
snapshot of VAR that run recorded), whose profile is written into the pipeline
directory so the check is the same wherever the pipeline runs.

    source = find_source_run(registry, Path("churn.ipynb"), "auto")
    source.id, source.experiment          # ("3f9c2a1b7e40", "churn")
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import NotFoundError

if TYPE_CHECKING:
    from ..registry.connection import Registry

AUTO = "auto"


@dataclass(frozen=True)
class SourceRun:
    """The notebook run an export reflects."""

    id: str
    experiment: str | None
    name: str | None


def find_source_run(
    registry: Registry, notebook_path: Path | None, run: str | None = AUTO
) -> SourceRun | None:
    """The run ``run`` names, or with ``"auto"`` the latest run of ``notebook_path``.

    A run that is named but does not exist raises NotFoundError (from
    :func:`jupyter_mlops.tracking.queries.refs.resolve_run`).
    """
    from ..tracking.queries.notebook_runs import latest_notebook_run, notebook_run

    if run is None:
        return None
    if run != AUTO:
        found = notebook_run(registry, run)
    elif notebook_path is None:
        return None
    else:
        bases = (registry.directory.parent, Path.cwd())
        latest = latest_notebook_run(registry, notebook_path, bases=bases)
        if latest is None:
            return None
        found = latest
    return SourceRun(found.id, found.experiment, found.name)


def drift_references(
    registry: Registry,
    tags: list[tuple[str, Any]],
    run_id: str | None,
    warnings: list[str],
) -> dict[tuple[str, str], tuple[str | None, bytes | None]]:
    """``(step, variable) -> (snapshot id, reference document)`` for each drift tag whose
    reference the registry has; a warning for each one it has not."""
    from ..runner.drift_check import find_reference_snapshot, reference_document
    from ..runner.spec import DriftCheckSpec
    from ..snapshots.store import load_snapshot

    found: dict[tuple[str, str], tuple[str | None, bytes | None]] = {}
    for step, tag in tags:
        check = DriftCheckSpec(step, tag.variable, tag.cell_index, tag.reference)
        snapshot_id = find_reference_snapshot(registry, check, run_id)
        if snapshot_id is None:
            wanted = (
                f'the snapshot "{tag.reference}"'
                if tag.reference
                else f'no snapshot of "{tag.variable}" recorded by the notebook run'
            )
            warnings.append(
                f'drift:{tag.variable} (step "{step}", cell {tag.cell_index + 1}): {wanted} is'
                " not in the registry; the check will look for it when the pipeline runs"
            )
            continue
        try:
            snapshot = load_snapshot(registry, snapshot_id)
        except NotFoundError:
            continue
        document = json.dumps(reference_document(snapshot, snapshot_id), indent=1)
        found[(step, tag.variable)] = (snapshot_id, (document + "\n").encode("utf-8"))
    return found
