"""Merge the bundles of a Kubeflow run into a registry: ``jupyter mlops pipeline collect``.

    result = collect_outputs(registry, Path("kfp-outputs/run-42"))
    result.runs_added        # the step runs new to this registry
    collect_outputs(registry, Path("kfp-outputs/run-42")).runs_added    # (): nothing twice

Each task of a Kubeflow run leaves its records as a bundle (:mod:`.bundle`). Collecting
copies, from every bundle under a folder, what the registry does not hold yet:

- runs by id (a run already here is left as it is, with everything recorded for it:
  collecting twice adds nothing), with their parameters, tags, metrics, summaries, code
  cells, notes, artifacts (files copied and verified by their sha256) and snapshots;
- experiments and environments by name and hash;
- models by name; a model version gets the next free version number of its model here
  (the task numbered it in its own registry, where it was the first);
- gate evaluations with their results and drift reports with their columns, by id.

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
import shutil
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInputError
from ..registry.artifacts import sha256_file
from ..registry.connection import Registry
from .bundle import ARTIFACTS_DIR, BundleInfo, find_bundles
from .records import PIPELINE_RUN_KIND

logger = logging.getLogger(__name__)

# Tables whose rows belong to one run, copied with it (columns matched by name).
_RUN_TABLES = ("params", "tags", "metrics", "metric_summaries", "metric_previews",
               "code_cells", "run_notes")  # fmt: skip


@dataclass(frozen=True)
class CollectResult:
    """What a collect found and added."""

    bundles: tuple[str, ...]  # the folders of the bundles found
    runs_added: tuple[str, ...]  # step runs new to the registry
    model_versions_added: tuple[str, ...]  # "name version", as numbered here
    gate_evaluations_added: int
    pipeline_runs: tuple[str, ...]  # the pipeline run of each Kubeflow run collected


def collect_outputs(registry: Registry, outputs: Path) -> CollectResult:
    """Merge every bundle under ``outputs`` into ``registry`` (see the module docstring)."""
    bundles = find_bundles(Path(outputs))
    if not bundles:
        raise InvalidInputError(
            f"No jupyter-mlops bundle (mlops-bundle.json) under {outputs}",
            hint="Give the folder of a Kubeflow run's outputs, downloaded whole (each task's"
            " mlops_records artifact), or kfp.local's pipeline root; the pipeline must have"
            " been exported with --target kfp by this version.",
        )
    runs: list[str] = []
    versions: list[str] = []
    evaluations = 0
    for bundle in bundles:
        added, made, judged = _merge(registry, bundle)
        runs += added
        versions += made
        evaluations += judged
    groups: dict[tuple[str, str], list[BundleInfo]] = {}
    for bundle in bundles:
        if bundle.kfp_run and bundle.run_id:
            groups.setdefault((bundle.pipeline, bundle.kfp_run), []).append(bundle)
    pipeline_runs = [
        _pipeline_run(registry, pipeline, kfp_run, members)
        for (pipeline, kfp_run), members in groups.items()
    ]
    return CollectResult(
        bundles=tuple(str(b.folder) for b in bundles),
        runs_added=tuple(runs),
        model_versions_added=tuple(versions),
        gate_evaluations_added=evaluations,
        pipeline_runs=tuple(pipeline_runs),
    )


def pipeline_run_id(kfp_run: str) -> str:
    """The id of the pipeline run that groups a Kubeflow run's steps: the same each time."""
    return hashlib.sha256(f"kfp:{kfp_run}".encode()).hexdigest()[:12]


def _columns(conn: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA {schema}.table_info({table})")]


def _shared(conn: sqlite3.Connection, table: str) -> list[str]:
    here = set(_columns(conn, "main", table))
    return [c for c in _columns(conn, "b", table) if c in here]


def _copy_rows(
    conn: sqlite3.Connection, table: str, where: str, params: Iterable[object], **replace: str
) -> int:
    """INSERT OR IGNORE the bundle's rows of ``table`` matching ``where``; ``replace``
    gives SQL expressions for some columns (mapped ids)."""
    columns = _shared(conn, table)
    if not columns:
        return 0
    chosen = ", ".join(replace.get(c, c) for c in columns)
    cursor = conn.execute(
        f"INSERT OR IGNORE INTO main.{table} ({', '.join(columns)})"
        f" SELECT {chosen} FROM b.{table} WHERE {where}",
        tuple(params),
    )
    return cursor.rowcount


def _merge(registry: Registry, bundle: BundleInfo) -> tuple[list[str], list[str], int]:
    """Copy one bundle's new rows into ``registry``; (runs added, versions added, gate
    evaluations added)."""
    conn = registry.conn
    source = bundle.registry_path
    conn.execute("ATTACH DATABASE ? AS b", (str(source),))
    try:
        with registry.transaction(f"the records of step {bundle.step!r} ({bundle.folder})"):
            new_runs = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM b.runs WHERE id NOT IN (SELECT id FROM main.runs)"
                    " ORDER BY started_at"
                )
            ]
            _copy_artifacts(registry, bundle)
            if not new_runs:
                return [], [], 0
            marks = ", ".join("?" * len(new_runs))
            _copy_rows(conn, "experiments", "name NOT IN (SELECT name FROM main.experiments)",
                       (), id="NULL")  # fmt: skip
            _copy_rows(conn, "environments", "hash NOT IN (SELECT hash FROM main.environments)",
                       (), id="NULL")  # fmt: skip
            _copy_rows(
                conn,
                "runs",
                f"id IN ({marks})",
                new_runs,
                experiment_id="(SELECT m.id FROM main.experiments m JOIN b.experiments e"
                " ON e.name = m.name WHERE e.id = b.runs.experiment_id)",
                environment_id="(SELECT m.id FROM main.environments m JOIN b.environments e"
                " ON e.hash = m.hash WHERE e.id = b.runs.environment_id)",
                previous_run_id="(SELECT id FROM main.runs WHERE id = b.runs.previous_run_id)",
                parent_run_id="(SELECT id FROM main.runs WHERE id = b.runs.parent_run_id)",
            )
            for table in _RUN_TABLES:
                _copy_rows(conn, table, f"run_id IN ({marks})", new_runs)
            _copy_rows(conn, "snapshots", "id NOT IN (SELECT id FROM main.snapshots)"
                       " AND NOT EXISTS (SELECT 1 FROM main.snapshots m WHERE m.name ="
                       " b.snapshots.name AND m.fingerprint = b.snapshots.fingerprint)", ())  # fmt: skip
            snapshot = (
                "(SELECT m.id FROM main.snapshots m JOIN b.snapshots s ON s.name = m.name"
                " AND s.fingerprint = m.fingerprint WHERE s.id = {})"
            )
            _copy_rows(conn, "run_artifacts", f"run_id IN ({marks})", new_runs)
            _copy_rows(conn, "run_snapshots", f"run_id IN ({marks})", new_runs,
                       snapshot_id=snapshot.format("b.run_snapshots.snapshot_id"))  # fmt: skip
            versions = _copy_model_versions(conn, new_runs)
            version_id = "(SELECT main_id FROM temp.mlops_versions WHERE bundle_id = {})"
            drift = _copy_rows(
                conn,
                "drift_reports",
                f"run_id IN ({marks}) AND id NOT IN (SELECT id FROM main.drift_reports)",
                new_runs,
                reference_snapshot_id=snapshot.format("b.drift_reports.reference_snapshot_id"),
                current_snapshot_id=snapshot.format("b.drift_reports.current_snapshot_id"),
                model_version_id=version_id.format("b.drift_reports.model_version_id"),
            )
            if drift:
                _copy_rows(conn, "drift_columns", "report_id IN (SELECT id FROM b.drift_reports"
                           f" WHERE run_id IN ({marks}))", new_runs)  # fmt: skip
            judged = _copy_rows(
                conn,
                "gate_evaluations",
                f"run_id IN ({marks}) AND id NOT IN (SELECT id FROM main.gate_evaluations)",
                new_runs,
                snapshot_id=snapshot.format("b.gate_evaluations.snapshot_id"),
                model_version_id=version_id.format("b.gate_evaluations.model_version_id"),
            )
            _copy_rows(conn, "gate_results", "evaluation_id IN (SELECT id FROM"
                       f" b.gate_evaluations WHERE run_id IN ({marks}))", new_runs)  # fmt: skip
            conn.execute("DROP TABLE IF EXISTS temp.mlops_versions")
            return new_runs, versions, max(judged, 0)
    finally:
        conn.execute("DETACH DATABASE b")


def _copy_model_versions(conn: sqlite3.Connection, new_runs: list[str]) -> list[str]:
    """Models by name; each version of the new runs numbered after the last one here."""
    conn.execute("DROP TABLE IF EXISTS temp.mlops_versions")
    conn.execute("CREATE TEMP TABLE mlops_versions (bundle_id INTEGER PRIMARY KEY, main_id)")
    marks = ", ".join("?" * len(new_runs))
    _copy_rows(conn, "models", "name NOT IN (SELECT name FROM main.models)", (), id="NULL")
    added: list[str] = []
    rows = conn.execute(
        "SELECT v.id, m.name FROM b.model_versions v JOIN b.models m ON m.id = v.model_id"
        f" WHERE v.run_id IN ({marks}) ORDER BY v.id",
        new_runs,
    ).fetchall()
    columns = [c for c in _shared(conn, "model_versions") if c not in ("id", "model_id", "version")]
    for bundle_id, name in rows:
        model_id = conn.execute("SELECT id FROM main.models WHERE name = ?", (name,)).fetchone()[0]
        number = conn.execute(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM main.model_versions WHERE model_id = ?",
            (model_id,),
        ).fetchone()[0]
        picked = ", ".join(
            "(SELECT m.id FROM main.snapshots m JOIN b.snapshots s ON s.name = m.name AND"
            " s.fingerprint = m.fingerprint WHERE s.id = b.model_versions.snapshot_id)"
            if c == "snapshot_id"
            else c
            for c in columns
        )
        cursor = conn.execute(
            f"INSERT INTO main.model_versions (model_id, version, {', '.join(columns)})"
            f" SELECT ?, ?, {picked} FROM b.model_versions WHERE id = ?",
            (model_id, number, bundle_id),
        )
        conn.execute("INSERT INTO temp.mlops_versions VALUES (?, ?)", (bundle_id, cursor.lastrowid))
        added.append(f"{name} {number}")
    return added


def _copy_artifacts(registry: Registry, bundle: BundleInfo) -> None:
    """The bundle's files into the store (verified by their sha256), and their rows."""
    conn = registry.conn
    for (sha,) in conn.execute("SELECT sha256 FROM b.artifacts").fetchall():
        if registry.artifacts.exists(sha):
            continue
        path = bundle.folder / ARTIFACTS_DIR / sha[:2] / sha
        if not path.is_file() or sha256_file(path) != sha:
            raise InvalidInputError(
                f"The bundle {bundle.folder} lacks the file of artifact {sha[:12]}, or it was"
                " changed",
                hint="Download the task's mlops_records artifact again, whole; nothing of"
                " this bundle was added.",
            )
        target = registry.artifacts.path_of(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".collect")
        shutil.copyfile(path, temporary)
        temporary.replace(target)
    _copy_rows(conn, "artifacts", "sha256 NOT IN (SELECT sha256 FROM main.artifacts)", ())


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
