"""Why a pipeline run may not reproduce its notebook run: the causes the registry can show.

When parity finds metrics that differ, it lists what it can detect, most likely first:

- randomness with no seed that the export found in the exported cells (kept in
  ``pipeline.json``); with ``--seed`` the pipeline's steps are seeded and the notebook
  run was not, so those calls still drew other numbers there;
- package versions (and Python's) that differ between the notebook run's environment and
  the environments its steps ran in;
- data snapshots of the same name whose fingerprints differ between the notebook run and
  the pipeline's steps (other input data).

    likely_causes(registry, pipeline_run_id, notebook_run_id, spec.seed, spec.unseeded_calls)
    # ('Cell 3, line 2: `train_test_split(X, y)` has no random_state; ...', ...)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..registry.connection import Registry
    from .spec import UnseededCallSpec

SHOWN = 5  # differing packages or snapshots named, the rest counted


def likely_causes(
    registry: Registry,
    pipeline_run_id: str,
    reference_run_id: str,
    seed: int | None = None,
    unseeded: Sequence[UnseededCallSpec] = (),
) -> tuple[str, ...]:
    """What may make the pipeline run's metrics differ from the notebook run's."""
    causes = list(_randomness(seed, unseeded))
    step_runs = [
        row[0]
        for row in registry.query(
            "SELECT run_id FROM tags WHERE key = 'pipeline.run_id' AND value = ?",
            (pipeline_run_id,),
        )
    ]
    environments = environment_causes(registry, reference_run_id, step_runs)
    causes.extend(environments)
    causes.extend(snapshot_causes(registry, reference_run_id, step_runs))
    return tuple(causes)


def _randomness(seed: int | None, unseeded: Sequence[UnseededCallSpec]) -> list[str]:
    if not unseeded:
        return []
    if seed is None:
        return [f"unseeded at export: {call.describe()}" for call in unseeded]
    causes = [
        f"the pipeline's steps are seeded with --seed {seed}, the notebook run was not, so"
        f" this call drew other numbers there: {call.describe()}"
        for call in unseeded
        if call.seedable
    ]
    causes.extend(
        f"unseeded even with --seed: {call.describe()}" for call in unseeded if not call.seedable
    )
    return causes


def _environment(registry: Registry, run_id: str) -> tuple[str, dict[str, Any]] | None:
    row = registry.query_one(
        "SELECT e.python, e.packages FROM runs r JOIN environments e ON e.id = r.environment_id"
        " WHERE r.id = ?",
        (run_id,),
    )
    if row is None:
        return None
    try:
        packages = json.loads(row[1]) or {}
    except (TypeError, ValueError):
        packages = {}
    return str(row[0]), dict(packages)


def environment_causes(
    registry: Registry, reference_run_id: str, step_runs: list[str]
) -> list[str]:
    notebook = _environment(registry, reference_run_id)
    if notebook is None:
        return []
    causes: list[str] = []
    seen: set[str] = set()
    for run_id in step_runs:
        pipeline = _environment(registry, run_id)
        if pipeline is None:
            continue
        differing = []
        if pipeline[0] != notebook[0]:
            differing.append(f"Python {notebook[0]} in the notebook, {pipeline[0]} here")
        names = sorted(set(notebook[1]) & set(pipeline[1]))
        differing.extend(
            f"{name} {notebook[1][name]} in the notebook, {pipeline[1][name]} here"
            for name in names
            if notebook[1][name] != pipeline[1][name]
        )
        text = _listed(differing)
        if differing and text not in seen:
            seen.add(text)
            causes.append(f"package versions differ: {text}")
    return causes


def _snapshots(registry: Registry, run_ids: Sequence[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for run_id in run_ids:
        rows = registry.query(
            "SELECT s.name, s.fingerprint FROM run_snapshots rs"
            " JOIN snapshots s ON s.id = rs.snapshot_id WHERE rs.run_id = ?",
            (run_id,),
        )
        for name, fingerprint in rows:
            if name:
                found.setdefault(str(name), set()).add(str(fingerprint))
    return found


def snapshot_causes(registry: Registry, reference_run_id: str, step_runs: list[str]) -> list[str]:
    notebook = _snapshots(registry, [reference_run_id])
    pipeline = _snapshots(registry, step_runs)
    differing = [
        f'"{name}" (fingerprint {_short(notebook[name])} in the notebook,'
        f" {_short(pipeline[name])} here)"
        for name in sorted(set(notebook) & set(pipeline))
        if notebook[name] != pipeline[name]
    ]
    if not differing:
        return []
    return [f"input data differs: {_listed(differing)}"]


def _short(fingerprints: set[str]) -> str:
    return "/".join(sorted(f[:12] for f in fingerprints))


def _listed(items: list[str]) -> str:
    shown = "; ".join(items[:SHOWN])
    more = len(items) - SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")
