"""Pipeline runs in the registry: the pipeline, its run, each of its steps.

A pipeline run is a tracked run of kind ``pipeline`` (in ``runs``, next to notebook
runs): its parameters are the pipeline's, and the metrics every step logs are copied
into it as the step ends, so ``mlops.runs()``, ``%mlops compare`` and gates read a
pipeline run like any run. Each step that executes has its own run of kind
``pipeline-step``, started by the step process. The tables of migration
``0004_pipelines`` tie them together:

=================  ================================================================
``pipelines``      one row per distinct ``pipeline.json`` (name, sha256, source)
``pipeline_runs``  status, parameters, parity, where it ran; its id is the run's id
``step_runs``      each step: status, its run (or the run whose result it reused),
                   cached or not, cache key, code hash, outputs, duration, log
``step_cache``     finished steps by content key (see :mod:`.cache`)
=================  ================================================================

    recorder = PipelineRecorder.start(registry, spec, spec_text, values=values, ...)
    recorder.step_started("train")
    recorder.step_finished(result, run_id=..., cache_key=..., metrics_from=...)
    recorder.finish("ok")
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MlopsError

if TYPE_CHECKING:
    from ..registry.connection import Registry
    from ..tracking.run import Run
    from .spec import PipelineSpec

logger = logging.getLogger(__name__)

PIPELINE_RUN_KIND = "pipeline"
STEP_RUN_KIND = "pipeline-step"
# pipeline_runs.status -> runs.status
_RUN_STATUS = {
    "ok": "finished",
    "failed": "failed",
    "gate_failed": "failed",
    "drift_stopped": "failed",
    "killed": "killed",
}


def _stored_spec(spec_text: str) -> str:
    """The spec as the registry keeps it: parameter defaults that are secrets redacted.

    The pipeline folder keeps its own ``pipeline.json`` (the steps need the values); the
    registry's copy, like every value it stores, does not hold secrets. Its
    ``spec_sha256`` is still that of the file.
    """
    from ..tracking.secrets import redact_values

    data = json.loads(spec_text)
    changed = False
    for parameter in data.get("parameters", ()):
        name, default = parameter.get("name"), parameter.get("default")
        if isinstance(name, str):
            kept = redact_values({name: default})[name]
            if kept is not default:
                parameter["default"] = kept
                changed = True
    return json.dumps(data, indent=2) + "\n" if changed else spec_text


def link_artifact(registry: Registry, run_id: str, name: str, sha: str, fmt: str) -> None:
    """Record the stored artifact ``sha`` and link it to ``run_id`` under ``name``."""
    size = registry.artifacts.path_of(sha).stat().st_size
    with registry.transaction(f'the artifact "{name}"') as conn:
        conn.execute(
            "INSERT OR IGNORE INTO artifacts (sha256, size, format, created_at) VALUES (?, ?, ?, ?)",
            (sha, size, fmt, time.time()),
        )
        conn.execute(
            "INSERT OR REPLACE INTO run_artifacts (run_id, name, sha256) VALUES (?, ?, ?)",
            (run_id, name, sha),
        )


def default_experiment(spec: PipelineSpec) -> str:
    """The experiment a pipeline run is recorded in when none is given: the notebook
    run's experiment (so the two compare side by side), else the pipeline's name."""
    return spec.source.experiment or spec.name


@dataclass
class PipelineRecorder:
    """Writes one pipeline run as it happens. Make one with :meth:`start`."""

    registry: Registry
    spec: PipelineSpec
    run: Run
    pipeline_id: int
    current_step: str | None = None  # the step started and not yet finished

    @property
    def run_id(self) -> str:
        return self.run.id

    @classmethod
    def start(
        cls,
        registry: Registry,
        spec: PipelineSpec,
        spec_text: str,
        *,
        values: Mapping[str, Any],
        order: list[str],
        directory: Path,
        workdir: Path,
        from_step: str | None,
        experiment: str | None = None,
    ) -> PipelineRecorder:
        """Register the pipeline, start its run (kind ``pipeline``), list its steps."""
        from ..tracking.secrets import redact_values
        from ..tracking.session import start_run

        now = time.time()
        spec_sha = hashlib.sha256(spec_text.encode("utf-8")).hexdigest()
        with registry.transaction(f'the pipeline "{spec.name}"') as conn:
            conn.execute(
                "INSERT OR IGNORE INTO pipelines (name, spec_sha256, notebook, notebook_sha256,"
                " exported_from_run_id, n_steps, spec, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    spec.name,
                    spec_sha,
                    spec.source.notebook,
                    spec.source.notebook_sha256,
                    spec.source.exported_from_run_id,
                    len(spec.steps),
                    _stored_spec(spec_text),
                    now,
                ),
            )
            pipeline_id = int(
                conn.execute(
                    "SELECT id FROM pipelines WHERE name = ? AND spec_sha256 = ?",
                    (spec.name, spec_sha),
                ).fetchone()[0]
            )
        tags = {
            "pipeline": spec.name,
            "pipeline.spec_sha256": spec_sha,
            "pipeline.notebook": spec.source.notebook,
        }
        if spec.source.exported_from_run_id:
            tags["pipeline.exported_from_run_id"] = spec.source.exported_from_run_id
        run = start_run(
            spec.name,
            experiment=experiment or default_experiment(spec),
            tags=tags,
            kind=PIPELINE_RUN_KIND,
            registry=registry,
            workdir=workdir,
        )
        try:
            run.record_params(dict(values), source="pipeline")
            run.flush()
            with registry.transaction(f'the run of pipeline "{spec.name}"') as conn:
                conn.execute(
                    "INSERT INTO pipeline_runs (run_id, pipeline_id, status, from_step, parameters,"
                    " directory, workdir, started_at) VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                    (
                        run.id,
                        pipeline_id,
                        from_step,
                        json.dumps(redact_values(values), default=repr),
                        str(directory),
                        str(workdir),
                        now,
                    ),
                )
                steps = {s.name: s for s in spec.steps}
                conn.executemany(
                    "INSERT INTO step_runs (pipeline_run_id, step, seq, status, code_sha256)"
                    " VALUES (?, ?, ?, 'pending', ?)",
                    [
                        (run.id, name, seq, steps[name].code_sha256)
                        for seq, name in enumerate(order)
                    ],
                )
        except BaseException:
            run.end("failed", error="the pipeline run could not be recorded")
            raise
        return cls(registry, spec, run, pipeline_id)

    def step_started(self, step: str) -> None:
        self._update_step(step, status="running", started_at=time.time())
        self.current_step = step

    def step_finished(
        self,
        *,
        step: str,
        status: str,
        duration: float,
        outputs: Mapping[str, Mapping[str, str]],
        message: str = "",
        log_path: str = "",
        run_id: str | None = None,
        cached: bool = False,
        cache_key: str | None = None,
        metrics: list[dict[str, Any]] | None = None,
    ) -> None:
        """Record how a step ended; copy its metrics and link its outputs to the pipeline run.

        ``metrics`` are the last values the step logged; when ``run_id`` still has its
        points in the registry, every point is copied instead (curves stay curves).
        """
        fields: dict[str, Any] = {
            "status": status,
            "duration": duration,
            "outputs": json.dumps(dict(outputs)),
            "message": message or None,
            "log_path": log_path or None,
            "run_id": run_id,
            "cached": int(cached),
            "cache_key": cache_key,
        }
        if status in ("not_run",):
            fields = {"status": status, "message": message or None}
        self._update_step(step, **fields)
        if self.current_step == step:
            self.current_step = None
        if status in ("ok", "cached", "reused", "gate_failed", "drift_stopped"):
            self._copy_metrics(run_id, metrics or [])
        for name, ref in outputs.items():
            try:
                link_artifact(
                    self.registry, self.run.id, f"{step}/{name}", ref["sha"], ref["format"]
                )
            except (MlopsError, OSError) as exc:
                logger.warning("Output %s of step %s not linked: %s", name, step, exc)

    def finish(
        self,
        status: str,
        *,
        failed_step: str | None = None,
        message: str | None = None,
        parity: Mapping[str, Any] | None = None,
    ) -> None:
        """Close the pipeline run with ``status`` (ok, failed, gate_failed, drift_stopped,
        killed); a step still running (the runner was interrupted) failed with ``message``,
        steps never reached are marked not run."""
        with self.registry.transaction(f"the end of pipeline run {self.run.id}") as conn:
            conn.execute(
                "UPDATE pipeline_runs SET status = ?, failed_step = ?, message = ?, parity = ?,"
                " ended_at = ? WHERE run_id = ?",
                (
                    status,
                    failed_step,
                    message,
                    None if parity is None else json.dumps(parity, allow_nan=False, default=repr),
                    time.time(),
                    self.run.id,
                ),
            )
            conn.execute(
                "UPDATE step_runs SET status = 'failed', message = ? WHERE pipeline_run_id = ?"
                " AND status = 'running'",
                (message or f"stopped: the pipeline run ended {status}", self.run.id),
            )
            conn.execute(
                "UPDATE step_runs SET status = 'not_run' WHERE pipeline_run_id = ?"
                " AND status = 'pending'",
                (self.run.id,),
            )
        error = None if status == "ok" else (message or status)
        self.run.end(_RUN_STATUS[status], error=error)

    def gate_verdicts_reused(self, step_run_id: str) -> list[str]:
        """Record again, for this pipeline run, the gate evaluations the step run
        ``step_run_id`` made (a gate step taken from the cache); return their new ids."""
        from ..gates.records import record_again

        # A gate cell's conditions are checked against the step's run, mlops.check's rules
        # against the pipeline run's metrics (during the step: its evaluations are those).
        made = self.registry.query(
            "SELECT gate_evaluations.id FROM step_runs"
            " JOIN runs ON runs.id = step_runs.run_id"
            " JOIN gate_evaluations ON gate_evaluations.run_id = step_runs.run_id"
            "  OR (gate_evaluations.run_id = step_runs.pipeline_run_id"
            "      AND gate_evaluations.evaluated_at BETWEEN runs.started_at"
            "      AND COALESCE(runs.ended_at, runs.started_at))"
            " WHERE step_runs.run_id = ? AND step_runs.cached = 0"
            " ORDER BY gate_evaluations.evaluated_at",
            (step_run_id,),
        )
        return [record_again(self.registry, row[0], run_id=self.run.id).id for row in made]

    def _update_step(self, step: str, **fields: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.registry.transaction(f'step "{step}" of pipeline run {self.run.id}') as conn:
            conn.execute(
                f"UPDATE step_runs SET {assignments} WHERE pipeline_run_id = ? AND step = ?",
                (*fields.values(), self.run.id, step),
            )

    def _copy_metrics(self, run_id: str | None, last_values: list[dict[str, Any]]) -> None:
        points: list[tuple[str, int, float | None]] = []
        if run_id:
            points = [
                (row[0], int(row[1]), row[2])
                for row in self.registry.query(
                    "SELECT key, step, value FROM metrics WHERE run_id = ? ORDER BY rowid",
                    (run_id,),
                )
            ]
        if not points:
            points = [(m["key"], int(m.get("step") or 0), m.get("value")) for m in last_values]
        for key, step, value in points:
            if key.startswith("drift."):
                continue  # the step's own bookkeeping, not a result of the pipeline
            self.run.log({key: float("nan") if value is None else value}, step=step)
        self.run.flush()
