"""Pipeline runs read back from the registry, for the faces (CLI, magics, panel).

    for run in pipeline_runs(registry, limit=10):
        print(run.pipeline, run.status, [(s.name, s.status, s.cached) for s in run.steps])
    pipeline_run(registry, "last").parity        # {"status": "ok", ...}

A pipeline run whose runner died is ``killed`` once the registry is next opened (see
:mod:`jupyter_mlops.registry.liveness`); one left ``running`` by an older version whose
run was marked crashed reads as ``crashed``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    from ..registry.connection import Registry


@dataclass(frozen=True)
class StepRunRecord:
    """One step of a pipeline run. ``run_id`` is the step's run (kind ``pipeline-step``);
    for a cached step, the run that produced the result it reused."""

    name: str
    seq: int
    status: str
    cached: bool
    run_id: str | None
    duration: float | None
    message: str | None
    code_sha256: str | None
    outputs: dict[str, dict[str, str]]
    log_path: str | None


@dataclass(frozen=True)
class PipelineRunRecord:
    """A pipeline run: what ran, how it ended, how it compares with the notebook run."""

    id: str
    pipeline: str
    status: str
    experiment: str
    started_at: float
    ended_at: float | None
    parameters: dict[str, Any]
    from_step: str | None
    failed_step: str | None
    message: str | None
    parity: dict[str, Any] | None
    exported_from_run_id: str | None
    notebook: str | None
    directory: str | None
    steps: tuple[StepRunRecord, ...]
    edges: tuple[tuple[str, str], ...] = ()  # (parent, step): the order the spec gives

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at

    def step(self, name: str) -> StepRunRecord:
        for step in self.steps:
            if step.name == name:
                return step
        raise NotFoundError(
            f'Pipeline run {self.id} has no step "{name}"',
            hint="Steps: " + ", ".join(s.name for s in self.steps),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with ``duration``; what the panel and ``--format json`` show."""
        data = asdict(self)
        data["duration"] = self.duration
        return data


_SELECT = """
SELECT pipeline_runs.run_id, pipelines.name AS pipeline, pipeline_runs.status,
       runs.status AS run_status, experiments.name AS experiment, pipeline_runs.started_at,
       pipeline_runs.ended_at, pipeline_runs.parameters, pipeline_runs.from_step,
       pipeline_runs.failed_step, pipeline_runs.message, pipeline_runs.parity,
       pipelines.exported_from_run_id, pipelines.notebook, pipeline_runs.directory,
       pipelines.spec
FROM pipeline_runs
JOIN pipelines ON pipelines.id = pipeline_runs.pipeline_id
JOIN runs ON runs.id = pipeline_runs.run_id
JOIN experiments ON experiments.id = runs.experiment_id
"""


def pipeline_runs(
    registry: Registry, *, pipeline: str | None = None, limit: int = 50
) -> tuple[PipelineRunRecord, ...]:
    """The latest pipeline runs, newest first, each with its steps.

    [r.status for r in pipeline_runs(registry, pipeline="churn", limit=5)]
    """
    if not isinstance(limit, int) or limit < 1:
        raise InvalidInputError(f"limit must be a positive integer, got {limit!r}")
    sql, args = _SELECT, list[Any]()
    if pipeline is not None:
        sql += " WHERE pipelines.name = ?"
        args.append(pipeline)
    sql += " ORDER BY pipeline_runs.started_at DESC LIMIT ?"
    args.append(limit)
    rows = registry.query(sql, args)
    steps = _steps(registry, [row["run_id"] for row in rows])
    return tuple(_record(row, steps.get(row["run_id"], ())) for row in rows)


def pipeline_run(registry: Registry, ref: str = "last") -> PipelineRunRecord:
    """One pipeline run: by id, unique id prefix, ``last``, or a pipeline name (its latest run)."""
    ref = str(ref).strip()
    if ref in ("last", "latest"):
        row = registry.query_one(_SELECT + " ORDER BY pipeline_runs.started_at DESC LIMIT 1")
    else:
        row = registry.query_one(_SELECT + " WHERE pipeline_runs.run_id = ?", (ref,))
        if row is None and len(ref) >= 4:
            rows = registry.query(
                _SELECT + " WHERE pipeline_runs.run_id LIKE ? LIMIT 2", (ref + "%",)
            )
            row = rows[0] if len(rows) == 1 else None
        if row is None:
            row = registry.query_one(
                _SELECT + " WHERE pipelines.name = ? ORDER BY pipeline_runs.started_at DESC"
                " LIMIT 1",
                (ref,),
            )
    if row is None:
        raise NotFoundError(
            f'No pipeline run "{ref}"',
            hint="List them with `jupyter mlops pipeline runs`; run one with"
            " `jupyter mlops pipeline run DIR`.",
        )
    return _record(row, _steps(registry, [row["run_id"]]).get(row["run_id"], ()))


def _steps(registry: Registry, run_ids: list[str]) -> dict[str, tuple[StepRunRecord, ...]]:
    if not run_ids:
        return {}
    marks = ", ".join("?" for _ in run_ids)
    rows = registry.query(
        f"SELECT * FROM step_runs WHERE pipeline_run_id IN ({marks}) ORDER BY seq", run_ids
    )
    found: dict[str, list[StepRunRecord]] = {}
    for row in rows:
        found.setdefault(row["pipeline_run_id"], []).append(
            StepRunRecord(
                name=row["step"],
                seq=row["seq"],
                status=row["status"],
                cached=bool(row["cached"]),
                run_id=row["run_id"],
                duration=row["duration"],
                message=row["message"],
                code_sha256=row["code_sha256"],
                outputs=json.loads(row["outputs"] or "{}"),
                log_path=row["log_path"],
            )
        )
    return {key: tuple(value) for key, value in found.items()}


def _record(row: Any, steps: tuple[StepRunRecord, ...]) -> PipelineRunRecord:
    status = row["status"]
    if status == "running" and row["run_status"] in ("crashed", "killed", "failed"):
        status = row["run_status"]
    return PipelineRunRecord(
        id=row["run_id"],
        pipeline=row["pipeline"],
        status=status,
        experiment=row["experiment"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        parameters=json.loads(row["parameters"] or "{}"),
        from_step=row["from_step"],
        failed_step=row["failed_step"],
        message=row["message"],
        parity=json.loads(row["parity"]) if row["parity"] else None,
        exported_from_run_id=row["exported_from_run_id"],
        notebook=row["notebook"],
        directory=row["directory"],
        steps=steps,
        edges=_edges(row["spec"]),
    )


def _edges(spec_text: str | None) -> tuple[tuple[str, str], ...]:
    """(parent, step) pairs from the stored pipeline.json; none when it cannot be read."""
    try:
        steps = json.loads(spec_text or "{}").get("steps", [])
        return tuple(
            (str(parent), str(step["name"])) for step in steps for parent in step["depends_on"]
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return ()
