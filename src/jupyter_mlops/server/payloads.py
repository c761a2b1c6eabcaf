"""The JSON the panel's routes answer, built from the core's query functions.

Nothing here knows about tornado or HTTP: each function takes an open registry (and
the request's arguments, already parsed) and returns JSON-ready data, so the answers
can be tested and timed without a server. Times are seconds since the epoch; NaN and
infinities become ``null`` (:func:`json_safe`), because JSON has no words for them.

    payload = runs_payload(registry, RunsRequest.parse(arguments.get), root_dir=root)
    json.dumps(payload, allow_nan=False)
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError, NotFoundError
from ..registry.connection import Registry
from ..tracking.queries.detail import run_detail
from ..tracking.queries.listing import experiments, list_runs
from ..tracking.queries.records import RunRow

if TYPE_CHECKING:
    from ..gates.evaluation import GateEvaluation
    from ..models.versions import ModelVersion, RegisteredModel
    from ..snapshots.store import SnapshotSummary

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
DEFAULT_SORT = "-started_at"
DEFAULT_LIST_LIMIT = 200
MAX_SERIES_POINTS = 2000
"""A metric curve longer than this is thinned to about this many points (the last kept)."""

DRIFT_TABLE = "drift_reports"
PIPELINE_RUNS_TABLE = "pipeline_runs"


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by ``None`` and tuples made lists.

    Example::

        json_safe({"loss": float("nan"), "steps": (1, 2)})   # {'loss': None, 'steps': [1, 2]}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


# -- request arguments --------------------------------------------------------------------


@dataclass(frozen=True)
class RunsRequest:
    """The arguments of ``GET runs``, checked: which runs, in which order, which page."""

    experiment: str | None = None
    where: str | None = None
    sort: str = DEFAULT_SORT
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    code: str | None = None  # words the runs' code or note must contain

    @classmethod
    def parse(cls, argument: Callable[[str], str | None]) -> RunsRequest:
        """Read ``experiment``, ``where``, ``code``, ``sort``, ``page`` and ``page_size``
        through ``argument(name)`` (None when absent); bad numbers raise InvalidInputError.

        Example::

            RunsRequest.parse({"page": "2", "sort": "-metrics.accuracy"}.get)
        """
        return cls(
            experiment=_text(argument("experiment")),
            where=_text(argument("where")),
            code=_text(argument("code")),
            sort=_text(argument("sort")) or DEFAULT_SORT,
            page=whole_number(argument("page"), "page", default=1, low=1, high=10**9),
            page_size=whole_number(
                argument("page_size"),
                "page_size",
                default=DEFAULT_PAGE_SIZE,
                low=1,
                high=MAX_PAGE_SIZE,
            ),
        )


def whole_number(raw: str | None, name: str, *, default: int, low: int, high: int) -> int:
    """``raw`` as an int from ``low`` to ``high`` (``default`` when absent), else a 400."""
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise InvalidInputError(
            f"{name} must be a whole number from {low:,} to {high:,}, got {raw!r}",
            hint=f"For example {name}={default}.",
        )
    return int(text)


def _text(raw: str | None) -> str | None:
    """The argument without surrounding blanks; None when absent or blank."""
    if raw is None:
        return None
    return raw.strip() or None


# -- runs -----------------------------------------------------------------------------------


def experiments_payload(registry: Registry) -> dict[str, Any]:
    """``GET experiments``: each experiment, its number of runs and its latest start."""
    return {
        "experiments": [
            {
                "name": row["name"],
                "runs": int(row["runs"]),
                "last_started_at": json_safe(row["last_started_at"]),
            }
            for row in experiments(registry)
        ]
    }


def runs_payload(registry: Registry, request: RunsRequest, *, root_dir: Path) -> dict[str, Any]:
    """``GET runs``: one page of runs, sorted and filtered in SQL by the core.

    ``columns`` lists the parameter and metric keys of the page's runs, the most
    common first (then by name): the panel shows the first few as table columns.
    """
    page = list_runs(
        registry,
        experiment=request.experiment,
        where=request.where,
        sort=request.sort,
        limit=request.page_size,
        offset=(request.page - 1) * request.page_size,
        code=request.code,
    )
    notebooks = {run.notebook_path for run in page.runs}
    lab_paths = {path: lab_path(path, root_dir) for path in notebooks}
    return {
        "runs": [_run_summary(run, lab_paths[run.notebook_path]) for run in page.runs],
        "total": page.total,
        "page": request.page,
        "page_size": request.page_size,
        "pages": max(1, math.ceil(page.total / request.page_size)),
        "experiment": request.experiment,
        "where": request.where,
        "code": request.code,
        "sort": request.sort,
        "columns": {
            "params": _by_frequency(run.params for run in page.runs),
            "metrics": _by_frequency(run.metrics for run in page.runs),
        },
    }


def _by_frequency(mappings: Iterable[Mapping[str, Any]]) -> list[str]:
    counts = Counter(key for mapping in mappings for key in mapping)
    return sorted(counts, key=lambda key: (-counts[key], key))


def _run_summary(run: RunRow, notebook_lab_path: str | None) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "experiment": run.experiment,
        "status": run.status,
        "kind": run.kind,
        "started_at": json_safe(run.started_at),
        "ended_at": json_safe(run.ended_at),
        "duration": json_safe(run.duration),
        "notebook_path": run.notebook_path,
        "notebook_lab_path": notebook_lab_path,
        "previous_run_id": run.previous_run_id,
        "params": json_safe(run.params),
        "metrics": json_safe(run.metrics),
    }


def lab_path(notebook_path: str | None, root_dir: Path) -> str | None:
    """A recorded notebook path as JupyterLab names it (relative to the server's root,
    with ``/``), or None when it is not under the root (JupyterLab cannot open it).

    Kernels record the absolute path of their notebook; a relative one is taken as
    relative to the root already.

    Example::

        lab_path("/home/me/project/nb/train.ipynb", Path("/home/me/project"))  # 'nb/train.ipynb'
    """
    if not notebook_path:
        return None
    path = Path(notebook_path)
    if not path.is_absolute():
        path = root_dir / path
    try:
        relative = Path(_normalized(path)).relative_to(_normalized(root_dir))
    except ValueError:
        return None
    return relative.as_posix() if relative.parts else None


def _normalized(path: Path) -> str:
    return os.path.normpath(os.path.realpath(path))


def run_payload(registry: Registry, ref: str, *, root_dir: Path) -> dict[str, Any]:
    """``GET runs/ID``: everything recorded about one run, and what links to it."""
    detail = run_detail(registry, ref)
    run = detail.run
    payload: dict[str, Any] = {
        "run": {
            **_run_summary(run, lab_path(run.notebook_path, root_dir)),
            "git_commit": detail.git_commit,
            "git_branch": detail.git_branch,
            "git_dirty": detail.git_dirty,
            "error": detail.error,
            "note": detail.note,
        },
        "params": [
            {"key": p.key, "value": json_safe(p.value), "type": p.type, "source": p.source}
            for p in detail.params
        ],
        "metrics": [
            {
                "key": m.key,
                "last": json_safe(m.last),
                "last_step": m.last_step,
                "min": json_safe(m.min),
                "min_step": m.min_step,
                "max": json_safe(m.max),
                "max_step": m.max_step,
                "count": m.count,
            }
            for m in detail.metrics
        ],
        "series": {key: thinned(points) for key, points in detail.series.items()},
        "code": [
            {
                "seq": cell.seq,
                "execution_count": cell.execution_count,
                "cell_id": cell.cell_id,
                "source": cell.source,
                "executed_at": json_safe(cell.executed_at),
            }
            for cell in detail.code
        ],
        "environment": json_safe(detail.environment),
        "snapshots": [
            {
                "id": s.id,
                "name": s.name,
                "role": s.role,
                "variable": s.variable,
                "kind": s.kind,
                "fingerprint": s.fingerprint,
                "n_rows": s.n_rows,
                "n_columns": s.n_columns,
                "materialized": s.materialized,
            }
            for s in detail.snapshots
        ],
        "tags": dict(detail.tags),
        "models": [],
        "gates": [],
    }
    if registry.has_table("model_versions"):
        from ..gates.evaluation import evaluations
        from ..models.versions import versions_of_run

        payload["models"] = [
            {"model": v.model, "version": v.version, "aliases": list(v.aliases)}
            for v in versions_of_run(registry, run.id)
        ]
        payload["gates"] = [_evaluation(e) for e in evaluations(registry, run=run.id, limit=20)]
    return payload


def thinned(points: tuple[tuple[int, float | None], ...]) -> list[list[Any]]:
    """``[[step, value], ...]`` with at most about :data:`MAX_SERIES_POINTS` points.

    A longer curve keeps every n-th point and always its last one, so the chart shows
    its shape and where it ended without sending 100,000 points to the browser.
    """
    stride = max(1, math.ceil(len(points) / MAX_SERIES_POINTS))
    kept = list(points[::stride])
    if stride > 1 and points and kept[-1] != points[-1]:
        kept.append(points[-1])
    return [[step, json_safe(value)] for step, value in kept]


# -- snapshots, models, gates ------------------------------------------------------------------


def snapshots_payload(registry: Registry, *, limit: int, offset: int = 0) -> dict[str, Any]:
    """``GET snapshots``: the data snapshots, newest first, with how many runs used each."""
    from ..snapshots.store import list_snapshots

    page = list_snapshots(registry, limit=limit, offset=offset)
    return {
        "snapshots": [_snapshot(s) for s in page.snapshots],
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
    }


def _snapshot(snapshot: SnapshotSummary) -> dict[str, Any]:
    return {
        "id": snapshot.id,
        "name": snapshot.name,
        "kind": snapshot.kind,
        "fingerprint": snapshot.fingerprint,
        "n_rows": snapshot.n_rows,
        "n_columns": snapshot.n_columns,
        "created_at": json_safe(snapshot.created_at),
        "source_path": snapshot.source_path,
        "materialized": snapshot.materialized,
        "runs": snapshot.n_runs,
    }


def models_payload(registry: Registry) -> dict[str, Any]:
    """``GET models``: every model with its versions (newest first), its aliases, and the
    verdict of the latest gate evaluation that concerns each version."""
    require_table(
        registry,
        "models",
        "No models recorded yet",
        "Register a fitted model from a notebook: %mlops register MODEL --name NAME.",
    )
    from ..gates.verdicts import latest_gate_verdicts
    from ..models.versions import list_models

    models = list_models(registry)
    verdicts = latest_gate_verdicts(registry, (v for m in models for v in m.versions))
    return {"models": [_model(model, verdicts) for model in models]}


def _model(model: RegisteredModel, verdicts: Mapping[int, GateEvaluation]) -> dict[str, Any]:
    return {
        "name": model.name,
        "description": model.description,
        "created_at": json_safe(model.created_at),
        "aliases": dict(model.aliases),
        "versions": [_version(v, verdicts.get(v.id)) for v in model.versions],
    }


def _version(version: ModelVersion, verdict: GateEvaluation | None) -> dict[str, Any]:
    return {
        "version": version.version,
        "ref": version.ref,
        "aliases": list(version.aliases),
        "run_id": version.run_id,
        "run_name": version.run_name,
        "flavor": version.flavor,
        "model_class": version.model_class,
        "snapshot_name": version.snapshot_name,
        "created_at": json_safe(version.created_at),
        "metrics": json_safe(version.metrics),
        "gate": None if verdict is None else _evaluation(verdict),
    }


def gates_payload(
    registry: Registry, *, run: str | None = None, model: str | None = None, limit: int
) -> dict[str, Any]:
    """``GET gates``: stored gate evaluations, newest first (of one run or model if asked)."""
    require_table(
        registry,
        "gate_evaluations",
        "No gate evaluations recorded yet",
        'Evaluate gates from a notebook: %mlops gate "accuracy >= 0.85".',
    )
    from ..gates.evaluation import evaluations

    found = evaluations(registry, run=run, model=model, limit=limit)
    return {"evaluations": [_evaluation(e) for e in found]}


def _evaluation(evaluation: GateEvaluation) -> dict[str, Any]:
    return {
        "id": evaluation.id,
        "purpose": evaluation.purpose,
        "run_id": evaluation.run_id,
        "run_name": evaluation.run_name,
        "model": evaluation.model,
        "version": evaluation.version,
        "alias": evaluation.alias,
        "passed": evaluation.passed,
        "summary": evaluation.summary,
        "evaluated_at": json_safe(evaluation.evaluated_at),
        "rules": [
            {
                "rule": r.rule,
                "kind": r.kind,
                "passed": r.passed,
                "actual": json_safe(r.actual),
                "expected": r.expected,
                "detail": r.detail,
                "exact": r.exact,
            }
            for r in evaluation.results
        ],
    }


# -- sections whose tables come with later migrations ---------------------------------------


def drift_payload(registry: Registry, limit: int = 50) -> dict[str, Any]:
    """``GET drift``: the newest reports with their per-column verdicts, worst first.

    404 while the registry has no ``drift_reports`` table (a registry made before drift
    reports existed), which the panel shows as "No drift reports recorded yet".
    """
    require_table(
        registry,
        DRIFT_TABLE,
        "No drift reports recorded yet",
        "Reports appear here when a notebook or a pipeline checks data against a"
        " reference snapshot.",
    )
    from ..drift.store import drift_reports

    records = drift_reports(registry, limit=limit)
    columns: dict[str, list[dict[str, Any]]] = {record.id: [] for record in records}
    if records:
        marks = ", ".join("?" for _ in records)
        severity = "CASE decision WHEN 'retrain' THEN 0 WHEN 'review' THEN 1 ELSE 2 END"
        for row in registry.query(
            "SELECT report_id, column_name, decision, verdict, reason, test, statistic,"
            f" p_adjusted, effect, effect_name FROM drift_columns WHERE report_id IN ({marks})"
            f" ORDER BY report_id, {severity}, seq",
            [record.id for record in records],
        ):
            columns[row["report_id"]].append(
                {
                    "column": row["column_name"],
                    "decision": row["decision"],
                    "verdict": row["verdict"],
                    "reason": row["reason"],
                    "test": row["test"],
                    "statistic": json_safe(row["statistic"]),
                    "p_adjusted": json_safe(row["p_adjusted"]),
                    "effect": json_safe(row["effect"]),
                    "effect_name": row["effect_name"],
                }
            )
    return {
        "reports": [
            {
                "id": record.id,
                "name": record.name,
                "created_at": json_safe(record.created_at),
                "decision": record.decision,
                "gate_passed": record.gate_passed,
                "reference": record.reference_name,
                "current": record.current_name,
                "run_id": record.run_id,
                "model": record.model_ref,
                "summary": record.summary,
                "subsampled": record.subsampled,
                "columns": columns[record.id],
            }
            for record in records
        ]
    }


def pipelines_payload(registry: Registry, limit: int = 50) -> dict[str, Any]:
    """``GET pipelines``: the newest pipeline runs, each with the status of its steps.

    404 while the registry has no ``pipeline_runs`` table (a registry made before pipeline
    runs were recorded), which the panel shows as "No pipeline runs recorded yet".
    """
    require_table(
        registry,
        PIPELINE_RUNS_TABLE,
        "No pipeline runs recorded yet",
        "Export a notebook with jupyter mlops export NOTEBOOK -o DIR, then run"
        " jupyter mlops pipeline run DIR.",
    )
    from ..runner.history import pipeline_runs

    return {
        "runs": [
            {
                "id": run.id,
                "pipeline": run.pipeline,
                "status": run.status,
                "experiment": run.experiment,
                "started_at": json_safe(run.started_at),
                "duration": json_safe(run.duration),
                "failed_step": run.failed_step,
                "message": run.message,
                "parity": (run.parity or {}).get("status"),
                "steps": [
                    {
                        "name": step.name,
                        "status": step.status,
                        "duration": json_safe(step.duration),
                        "cached": step.cached,
                        "run_id": step.run_id,
                    }
                    for step in run.steps
                ],
                "edges": [list(edge) for edge in run.edges],
            }
            for run in pipeline_runs(registry, limit=limit)
        ]
    }


def require_table(registry: Registry, table: str, message: str, hint: str) -> None:
    """Raise NotFoundError(``message``) when the registry has no ``table`` yet: a section
    whose data comes with a later schema answers 404, which the panel shows as empty."""
    if not registry.has_table(table):
        raise NotFoundError(message, hint=hint)
