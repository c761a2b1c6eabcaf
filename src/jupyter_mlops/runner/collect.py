"""Merge the bundles of a Kubeflow run into a registry: ``jupyter mlops pipeline collect``.

    result = collect_outputs(registry, Path("kfp-outputs/run-42"))
    result.runs_added        # the step runs new to this registry
    collect_outputs(registry, Path("kfp-outputs/run-42")).runs_added    # (): nothing twice

Each task of a Kubeflow run leaves its records as a bundle (:mod:`.bundle`), which
holds a registry of its own. Collecting merges each bundle's registry as
:mod:`jupyter_mlops.sharing.merge` merges any registry (the same code, one transaction
per bundle): what the registry does not hold yet is added, runs by id (a run already
here is left as it is: collecting twice adds nothing) with everything recorded for them,
artifacts copied and verified by their sha256, models by name. A model version keeps its
number when the model here has no version of it, else it gets the next free number (the
task numbered it in its own registry, where it was the first).

The step runs of one Kubeflow run are then grouped under a run of kind ``pipeline``
whose id is derived from the Kubeflow run's (the same on every collect), holding the
pipeline's parameters and every step's metrics, as the local runner's pipeline run does:
``%mlops compare`` puts it next to the notebook run, and ``jupyter mlops pipeline runs``
lists it with each step's status (the bundles carry the ``pipeline.json`` they ran).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInputError
from ..registry.artifacts import ArtifactStore
from ..registry.connection import Registry
from ..sharing.merge_report import MergeReport, ProgressCallback
from ..sharing.merge_source import merge_registry_file
from .bundle import ARTIFACTS_DIR, BundleInfo, find_bundles
from .records import PIPELINE_RUN_KIND

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CollectResult:
    """What a collect found and added."""

    bundles: tuple[str, ...]  # the folders of the bundles found
    runs_added: tuple[str, ...]  # step runs new to the registry
    model_versions_added: tuple[str, ...]  # "name version", as numbered here
    gate_evaluations_added: int
    pipeline_runs: tuple[str, ...]  # the pipeline run of each Kubeflow run collected
    merged: MergeReport  # everything merged, conflicts included


def collect_outputs(
    registry: Registry,
    outputs: Path,
    *,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
) -> CollectResult:
    """Merge every bundle under ``outputs`` into ``registry`` (see the module docstring).

    Each bundle's registry is merged as any registry is (:mod:`jupyter_mlops.sharing.merge`);
    ``dry_run`` merges none of them and makes no pipeline run, and reports what each
    bundle would add.
    """
    bundles = find_bundles(Path(outputs))
    if not bundles:
        raise InvalidInputError(
            f"No jupyter-mlops bundle (mlops-bundle.json) under {outputs}",
            hint="Give the folder of a Kubeflow run's outputs, downloaded whole (each task's"
            " mlops_records artifact), or kfp.local's pipeline root; the pipeline must have"
            " been exported with --target kfp by this version.",
        )
    reports = [
        merge_registry_file(
            registry,
            bundle.registry_path,
            ArtifactStore(bundle.folder / ARTIFACTS_DIR),
            label=f"step {bundle.step!r} ({bundle.folder})",
            dry_run=dry_run,
            progress=progress,
        )
        for bundle in bundles
    ]
    groups: dict[tuple[str, str], list[BundleInfo]] = {}
    for bundle in bundles:
        if bundle.kfp_run and bundle.run_id:
            groups.setdefault((bundle.pipeline, bundle.kfp_run), []).append(bundle)
    pipeline_runs = (
        []
        if dry_run
        else [
            _pipeline_run(registry, pipeline, kfp_run, members)
            for (pipeline, kfp_run), members in groups.items()
        ]
    )
    merged = MergeReport.combined(
        str(outputs),
        dry_run,
        reports,
        bundles=tuple(str(b.folder) for b in bundles),
        pipeline_runs=tuple(pipeline_runs),
    )
    return CollectResult(
        bundles=merged.bundles,
        runs_added=merged.runs_added,
        model_versions_added=merged.model_versions_added,
        gate_evaluations_added=merged.added.get("gate_evaluations", 0),
        pipeline_runs=merged.pipeline_runs,
        merged=merged,
    )


def pipeline_run_id(kfp_run: str) -> str:
    """The id of the pipeline run that groups a Kubeflow run's steps: the same each time."""
    return hashlib.sha256(f"kfp:{kfp_run}".encode()).hexdigest()[:12]


def _pipeline_run(
    registry: Registry, pipeline: str, kfp_run: str, members: list[BundleInfo]
) -> str:
    """The run of kind ``pipeline`` of one Kubeflow run: made once, then completed with
    the steps collected later (a task's bundle downloaded afterwards)."""
    run_id = pipeline_run_id(kfp_run)
    steps = [b.run_id for b in members if b.run_id]
    marks = ", ".join("?" * len(steps))
    with registry.transaction(f"the pipeline run of Kubeflow run {kfp_run}") as conn:
        first = conn.execute(
            f"SELECT experiment_id, MIN(started_at), MAX(ended_at), environment_id, host"
            f" FROM runs WHERE id IN ({marks})",
            steps,
        ).fetchone()
        if first is None or first[0] is None:
            return run_id
        failed = conn.execute(
            f"SELECT COUNT(*) FROM runs WHERE id IN ({marks}) AND status != 'finished'", steps
        ).fetchone()[0]
        conn.execute(
            "INSERT OR IGNORE INTO runs (id, experiment_id, name, status, kind, started_at,"
            " ended_at, environment_id, host) VALUES (?, ?, ?, 'finished', ?, ?, ?, ?, ?)",
            (run_id, first[0], pipeline, PIPELINE_RUN_KIND, first[1], first[2] or time.time(),
             first[3], first[4]),
        )  # fmt: skip
        conn.execute(
            "UPDATE runs SET status = ?, started_at = MIN(started_at, ?),"
            " ended_at = MAX(COALESCE(ended_at, 0), ?) WHERE id = ?",
            ("failed" if failed else "finished", first[1], first[2] or 0, run_id),
        )
        conn.execute(
            "INSERT OR IGNORE INTO tags (run_id, key, value) VALUES (?, 'pipeline', ?),"
            " (?, 'pipeline.kfp_run', ?)",
            (run_id, pipeline, run_id, kfp_run),
        )
        conn.execute(
            f"UPDATE runs SET parent_run_id = ? WHERE id IN ({marks}) AND parent_run_id IS NULL",
            (run_id, *steps),
        )
        conn.execute(
            "INSERT OR IGNORE INTO params (run_id, key, value, type, source)"
            f" SELECT ?, key, value, type, source FROM params WHERE run_id IN ({marks})",
            (run_id, *steps),
        )
        # every step's metrics, in the order the steps ran (a later step's value wins)
        ordered = [
            row[0]
            for row in conn.execute(
                f"SELECT id FROM runs WHERE id IN ({marks}) ORDER BY started_at", steps
            )
        ]
        for step_run in ordered:
            keys = conn.execute(
                "SELECT key FROM metric_summaries WHERE run_id = ? AND key NOT LIKE 'drift.%'",
                (step_run,),
            ).fetchall()
            for (key,) in keys:
                conn.execute("DELETE FROM metrics WHERE run_id = ? AND key = ?", (run_id, key))
                conn.execute(
                    "INSERT INTO metrics (run_id, key, step, value, timestamp) SELECT ?, key,"
                    " step, value, timestamp FROM metrics WHERE run_id = ? AND key = ?",
                    (run_id, step_run, key),
                )
                conn.execute(
                    "INSERT OR REPLACE INTO metric_summaries (run_id, key, last, last_step,"
                    " min, min_step, max, max_step, count) SELECT ?, key, last, last_step,"
                    " min, min_step, max, max_step, count FROM metric_summaries"
                    " WHERE run_id = ? AND key = ?",
                    (run_id, step_run, key),
                )
        spec_text = next((b.spec for b in members if b.spec), None)
        if spec_text is not None:
            _pipeline_rows(conn, run_id, spec_text, members)
    return run_id


_STEP_STATUS = {"ok": "ok", "gate_failed": "gate_failed", "drift_stopped": "drift_stopped"}


def _pipeline_rows(
    conn: sqlite3.Connection,
    run_id: str,
    spec_text: str,
    members: list[BundleInfo],
) -> None:
    """The pipeline, its run and its steps in the tables ``pipeline runs`` lists: the
    steps collected with their status, the others not run (or not collected yet)."""
    from .records import _stored_spec
    from .spec import PipelineSpec

    spec = PipelineSpec.from_json(spec_text)
    spec_sha = hashlib.sha256(spec_text.encode("utf-8")).hexdigest()
    conn.execute(
        "INSERT OR IGNORE INTO pipelines (name, spec_sha256, notebook, notebook_sha256,"
        " exported_from_run_id, n_steps, spec, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (spec.name, spec_sha, spec.source.notebook, spec.source.notebook_sha256,
         spec.source.exported_from_run_id, len(spec.steps), _stored_spec(spec_text),
         time.time()),
    )  # fmt: skip
    pipeline_id = conn.execute(
        "SELECT id FROM pipelines WHERE name = ? AND spec_sha256 = ?", (spec.name, spec_sha)
    ).fetchone()[0]
    by_step = {b.step: b for b in members}
    failed_step = next(
        (s.name for s in spec.steps if s.name in by_step and by_step[s.name].status != "ok"), None
    )
    status = _STEP_STATUS.get(by_step[failed_step].status, "failed") if failed_step else "ok"
    params = {
        row[0]: row[1]
        for row in conn.execute("SELECT key, value FROM params WHERE run_id = ?", (run_id,))
    }
    times = conn.execute("SELECT started_at, ended_at FROM runs WHERE id = ?", (run_id,)).fetchone()
    conn.execute(
        "INSERT OR REPLACE INTO pipeline_runs (run_id, pipeline_id, status, failed_step,"
        " parameters, directory, workdir, started_at, ended_at)"
        " VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?)",
        (run_id, pipeline_id, status, failed_step,
         json.dumps(params, default=repr), times[0], times[1]),
    )  # fmt: skip
    for seq, step in enumerate(spec.steps):
        bundle = by_step.get(step.name)
        row = (
            conn.execute(
                "SELECT started_at, ended_at FROM runs WHERE id = ?", (bundle.run_id,)
            ).fetchone()
            if bundle is not None
            else None
        )
        conn.execute(
            "INSERT OR REPLACE INTO step_runs (pipeline_run_id, step, seq, status, run_id,"
            " cached, code_sha256, outputs, message, started_at, duration)"
            " VALUES (?, ?, ?, ?, ?, 0, ?, '{}', ?, ?, ?)",
            (
                run_id,
                step.name,
                seq,
                _STEP_STATUS.get(bundle.status, "failed") if bundle else "not_run",
                bundle.run_id if bundle else None,
                step.code_sha256,
                None if bundle else "no records of this step were collected",
                row[0] if row else None,
                (row[1] - row[0]) if row and row[1] is not None else None,
            ),
        )
