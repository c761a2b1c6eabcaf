"""The JSON the panel's routes answer, built from the records the core's readers return.

Nothing here knows about tornado or HTTP, nor SQL: each function takes an open registry
(and the request's arguments, already parsed), calls the core and turns its frozen records
into JSON-ready data with :func:`record_json` (what ``dataclasses.asdict`` gives, limited to
the fields the panel reads, and the few it needs computed, such as a run's duration), so
the answers can be tested and timed without a server. Times are seconds since the epoch; NaN and infinities
become ``null`` (:func:`json_safe`), because JSON has no words for them.

    payload = runs_payload(registry, RunsRequest.parse(arguments.get), root_dir=root)
    json.dumps(payload, allow_nan=False)
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError
from ..registry.connection import Registry
from ..tracking.queries.artifacts import (
    IMAGE_TYPES,
    artifact_bytes,
    artifact_media_type,
    previews,
)
from ..tracking.queries.columns import TableColumns, table_columns
from ..tracking.queries.detail import run_detail
from ..tracking.queries.listing import experiments, list_runs
from ..tracking.queries.records import ArtifactRecord, RunDetail, RunRow

if TYPE_CHECKING:
    from ..gates.evaluation import GateEvaluation
    from ..models.versions import ModelVersion, RegisteredModel

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
DEFAULT_SORT = "-started_at"
DEFAULT_LIST_LIMIT = 200

# The fields of each record the panel reads, in the order they are sent (labextension/src/types.ts).
RUN_KEYS = (
    "id", "name", "experiment", "status", "kind", "started_at", "ended_at", "duration",
    "notebook_path", "notebook_lab_path", "previous_run_id", "parent_run_id", "children",
    "params", "metrics",
)  # fmt: skip
RUN_DETAIL_KEYS = ("git_commit", "git_branch", "git_dirty", "error", "note", "archived_at")
RUN_MODEL_KEYS = ("model", "version", "aliases")
RUN_ARTIFACT_KEYS = (
    "name", "kind", "media_type", "size", "sha256", "created_at", "execution_count", "cell_id",
    "href", "image", "preview",
)  # fmt: skip
RUN_SNAPSHOT_KEYS = (
    "id", "name", "role", "variable", "kind", "fingerprint", "n_rows", "n_columns", "materialized",
)  # fmt: skip
SNAPSHOT_KEYS = (
    "id", "name", "kind", "fingerprint", "n_rows", "n_columns", "created_at", "source_path",
    "materialized", "runs",
)  # fmt: skip
MODEL_KEYS = ("name", "description", "created_at", "aliases", "versions")
VERSION_KEYS = (
    "version", "ref", "aliases", "run_id", "run_name", "flavor", "model_class", "snapshot_name",
    "created_at", "metrics", "gate",
)  # fmt: skip
EVALUATION_KEYS = (
    "id", "purpose", "run_id", "run_name", "model", "version", "alias", "passed", "summary",
    "evaluated_at", "rules",
)  # fmt: skip
RULE_KEYS = ("rule", "kind", "passed", "actual", "expected", "detail", "exact", "groups")
PIPELINE_RUN_KEYS = (
    "id", "pipeline", "status", "experiment", "started_at", "duration", "failed_step", "message",
    "parity", "steps", "edges",
)  # fmt: skip
STEP_KEYS = ("name", "status", "duration", "cached", "run_id")

_PLAIN = (str, int, type(None))  # bool is an int
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """The field names of a dataclass, read once per class (``fields()`` is not free)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(field.name for field in fields(cls))
    return names


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by ``None``, tuples made lists and
    records (dataclasses) made dicts of their fields, as ``dataclasses.asdict`` does.

    Example::

        json_safe({"loss": float("nan"), "steps": (1, 2)})   # {'loss': None, 'steps': [1, 2]}
    """
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dict, Mapping)):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {name: json_safe(getattr(value, name)) for name in _field_names(type(value))}
    return value


def record_json(record: Any, keys: Sequence[str] | None = None, **derived: Any) -> dict[str, Any]:
    """A frozen record of the core as JSON: its fields and the ``derived`` values computed
    for the panel (which win over a field of the same name), limited to ``keys`` in that
    order when given, made safe by :func:`json_safe`.

    The JSON ``dataclasses.asdict`` would give, without its deep copy of every value
    (json_safe copies what it converts anyway) and without converting fields the panel
    does not read: a page of 500 runs costs half as much.

    Example::

        record_json(run, ("id", "name", "duration"), duration=run.duration)
        # {'id': '3f9c2a1b7e40', 'name': 'baseline', 'duration': 12.5}
    """
    data = {name: getattr(record, name) for name in _field_names(type(record))}
    data.update(derived)
    if keys is not None:
        data = {key: data[key] for key in keys}
    return json_safe(data)


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
    # A page's next_cursor (or previous_cursor): the page read right after (or before) it,
    # which costs the same however deep; ``page`` then only numbers the page read.
    after: str | None = None
    before: str | None = None
    # ``parent=RUN``: the children of RUN; ``top_level=1``: only the runs without a parent.
    parent: str | None = None
    top_level: bool = False
    # ``archived=true``: only the archived runs; ``all``: every run; absent: none of them.
    archived: bool | None = False

    @classmethod
    def parse(cls, argument: Callable[[str], str | None]) -> RunsRequest:
        """Read ``experiment``, ``where``, ``code``, ``sort``, ``page``, ``page_size``,
        ``after``, ``before``, ``parent`` and ``top_level`` through ``argument(name)`` (None when absent); bad
        numbers raise InvalidInputError.

        Example::

            RunsRequest.parse({"page": "2", "sort": "-metrics.accuracy"}.get)
        """
        return cls(
            experiment=text_argument(argument("experiment")),
            where=text_argument(argument("where")),
            code=text_argument(argument("code")),
            sort=text_argument(argument("sort")) or DEFAULT_SORT,
            page=whole_number(argument("page"), "page", default=1, low=1, high=10**9),
            page_size=whole_number(
                argument("page_size"),
                "page_size",
                default=DEFAULT_PAGE_SIZE,
                low=1,
                high=MAX_PAGE_SIZE,
            ),
            after=text_argument(argument("after")),
            before=text_argument(argument("before")),
            parent=text_argument(argument("parent")),
            top_level=flag(argument("top_level"), "top_level"),
            archived=_archived(argument("archived")),
        )


def _archived(raw: str | None) -> bool | None:
    """``archived``: a flag, or ``all`` for every run (None)."""
    if (raw or "").strip().lower() == "all":
        return None
    return flag(raw, "archived")


def flag(raw: str | None, name: str) -> bool:
    """A yes/no argument: ``1``/``true``/``yes`` or ``0``/``false``/``no`` (absent: no)."""
    text = (raw or "").strip().lower()
    if text in ("", "0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise InvalidInputError(
        f"{name} must be true or false, got {raw!r}", hint=f"For example {name}=true."
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


def text_argument(raw: str | None) -> str | None:
    """The argument without surrounding blanks; None when absent or blank."""
    if raw is None:
        return None
    return raw.strip() or None


# -- runs -----------------------------------------------------------------------------------


def experiments_payload(registry: Registry) -> dict[str, Any]:
    """``GET experiments``: each experiment, its number of runs and its latest start."""
    return {"experiments": [record_json(experiment) for experiment in experiments(registry)]}


def runs_payload(registry: Registry, request: RunsRequest, *, root_dir: Path) -> dict[str, Any]:
    """``GET runs``: one page of runs, sorted and filtered in SQL by the core.

    ``columns`` lists the parameter and metric keys of the page's runs, the most
    common first (then by name): the panel shows the first few as table columns.
    ``next_cursor`` and ``previous_cursor`` continue the list from this page (pass
    them as ``after`` and ``before``); ``page`` alone reads from an offset.
    ``parent`` keeps the children of one run, ``top_level`` the runs without a
    parent; each run says its ``parent_run_id`` and how many ``children`` it has.
    ``columns`` also says which columns the table shows (:func:`table_columns_json`);
    ``sort`` is the order as every face names it (``-metrics.auc``), whatever spelling
    was asked for.
    """
    by_cursor = request.after is not None or request.before is not None
    page = list_runs(
        registry,
        experiment=request.experiment,
        where=request.where,
        sort=request.sort,
        limit=request.page_size,
        offset=0 if by_cursor else (request.page - 1) * request.page_size,
        code=request.code,
        after=request.after,
        before=request.before,
        top_level=request.top_level,
        parent=request.parent,
        archived=request.archived,
    )
    notebooks = {run.notebook_path for run in page.runs}
    lab_paths = {path: lab_path(path, root_dir) for path in notebooks}
    return {
        "runs": [_run_summary(run, lab_paths[run.notebook_path]) for run in page.runs],
        "total": page.total,
        "page": request.page,
        "page_size": request.page_size,
        "pages": max(1, math.ceil(page.total / request.page_size)),
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
        "experiment": request.experiment,
        "where": request.where,
        "code": request.code,
        "sort": page.sort,
        "parent": request.parent,
        "top_level": request.top_level,
        "archived": "all" if request.archived is None else request.archived,
        "columns": {
            "params": _by_frequency(run.params for run in page.runs),
            "metrics": _by_frequency(run.metrics for run in page.runs),
            **table_columns_json(table_columns(registry, page, experiment=request.experiment)),
        },
    }


def table_columns_json(columns: TableColumns) -> dict[str, Any]:
    """The columns a table shows (``shown``: ``params.K`` and ``metrics.K`` names, in
    order), whether they were ``chosen`` for the experiment, every one to choose from
    (``available``), and the estimator ``groups`` that fold nested parameters."""
    return {
        "shown": list(columns.names),
        "chosen": columns.chosen,
        "available": list(columns.all_names),
        "groups": [
            {"name": group.name, "shown": list(group.shown), "keys": list(group.keys)}
            for group in columns.groups
        ],
    }


def _by_frequency(mappings: Iterable[Mapping[str, Any]]) -> list[str]:
    counts = Counter(key for mapping in mappings for key in mapping)
    return sorted(counts, key=lambda key: (-counts[key], key))


def _run_summary(run: RunRow, notebook_lab_path: str | None) -> dict[str, Any]:
    return record_json(run, RUN_KEYS, duration=run.duration, notebook_lab_path=notebook_lab_path)


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
    """``GET runs/ID``: everything recorded about one run, and what links to it.

    ``series`` holds each curve as ``[[step, value], ...]``: whole up to 2,048 points,
    else its preview (the lowest and highest point of each step range, and the last
    point), whose keys ``downsampled`` lists; ``metrics`` gives each curve's full count.
    A preview is kept up to date by the run that logs, so a run's page costs the same
    for a curve of a million points as for one of a thousand, also while it grows.
    """
    detail = run_detail(registry, ref)
    run = detail.run
    from ..gates.evaluation import evaluations
    from ..models.versions import versions_of_run

    payload: dict[str, Any] = {
        "run": {
            **_run_summary(run, lab_path(run.notebook_path, root_dir)),
            **json_safe({key: getattr(detail, key) for key in RUN_DETAIL_KEYS}),
        },
        "params": [record_json(param) for param in detail.params],
        "metrics": [record_json(metric) for metric in detail.metrics],
        "series": {key: _points_json(points) for key, points in detail.series.items()},
        "downsampled": sorted(detail.downsampled),
        "code": [record_json(cell) for cell in detail.code],
        "environment": json_safe(detail.environment),
        "snapshots": [record_json(link, RUN_SNAPSHOT_KEYS) for link in detail.snapshots],
        "tags": dict(detail.tags),
        "models": [record_json(v, RUN_MODEL_KEYS) for v in versions_of_run(registry, run.id)],
        "gates": [_evaluation(e) for e in evaluations(registry, run=run.id, limit=20)],
        "artifacts": _artifacts_json(registry, detail.artifacts),
        "closure": _closure_json(detail),
        "reproductions": [record_json(r) for r in detail.reproductions],
    }
    return payload


def _closure_json(detail: RunDetail) -> dict[str, Any] | None:
    """The earlier cells the run depended on, the files they named and the names no
    earlier cell bound; None when no closure was recorded."""
    closure = detail.closure
    if closure is None:
        return None
    return {
        "cells": [record_json(cell) for cell in closure.cells],
        "files": [record_json(file) for file in closure.files],
        "unresolved": list(closure.unresolved),
        "directory": closure.directory,
    }


def _artifacts_json(registry: Registry, records: tuple[ArtifactRecord, ...]) -> list[Any]:
    """A run's artifacts, each with the route that serves its bytes (``href``, under the
    API) and, for tables and texts, what the page shows of them (``preview``)."""
    shown = previews(registry, records, images=False)
    found = []
    for record in records:
        preview = shown.get(record.name)
        found.append(
            record_json(
                record,
                RUN_ARTIFACT_KEYS,
                href=f"artifacts/{record.sha256}",
                image=record.media_type in IMAGE_TYPES,
                preview=None
                if preview is None
                else {"table": preview.table, "text": preview.text, "truncated": preview.truncated},
            )
        )
    return found


def artifact_download(registry: Registry, sha: str) -> tuple[str, bytes]:
    """``GET artifacts/SHA256``: the media type the artifact was logged with and its bytes,
    checked against the hash; a hash the registry does not know is a NotFoundError."""
    media_type = artifact_media_type(registry, sha)
    return media_type, artifact_bytes(registry, sha)


def sweep_payload(
    registry: Registry,
    ref: str,
    *,
    root_dir: Path,
    metric: str | None = None,
    maximize: bool | None = None,
) -> dict[str, Any]:
    """``GET runs/ID/sweep``: the run's children against one metric, for parallel
    coordinates: each parameter's axis (numeric with its range, or its categories),
    each child's parameters, value and place on every axis (``positions``, 0 to 1 or
    None), the best child and the metrics to choose from."""
    from ..tracking.queries.sweep import sweep_data

    sweep = sweep_data(registry, ref, metric=metric, maximize=maximize)
    return {
        "parent": record_json(
            sweep.parent,
            RUN_KEYS,
            duration=sweep.parent.duration,
            notebook_lab_path=lab_path(sweep.parent.notebook_path, root_dir),
        ),
        "metric": sweep.metric,
        "maximize": sweep.maximize,
        "metrics": list(sweep.metrics),
        "axes": [record_json(axis) for axis in sweep.axes],
        # Built directly, not with record_json: a sweep has thousands of children.
        "children": [
            {
                "id": child.id,
                "name": child.name,
                "status": child.status,
                "params": _plain_params(child.params),
                "value": child.value,
                "marked_best": child.marked_best,
                # Where each parameter sits on its axis (0 to 1, in the order of axes).
                "positions": [axis.position(child.params.get(axis.key)) for axis in sweep.axes],
            }
            for child in sweep.children
        ],
        "best": sweep.best_id,
    }


def _plain_params(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` as JSON takes them: made safe by :func:`json_safe` only when one is not
    a string, a whole number or a finite float."""
    for value in params.values():
        if not (type(value) in (str, int) or (type(value) is float and math.isfinite(value))):
            return dict(json_safe(params))
    return params


def _points_json(points: tuple[tuple[int, float | None], ...]) -> list[list[Any]]:
    """``[[step, value], ...]``, infinities as ``null`` (NaN is ``None`` already)."""
    return [
        [step, value if value is None or math.isfinite(value) else None] for step, value in points
    ]


# -- snapshots, models, gates ------------------------------------------------------------------


def snapshots_payload(registry: Registry, *, limit: int, offset: int = 0) -> dict[str, Any]:
    """``GET snapshots``: the data snapshots, newest first, with how many runs used each."""
    from ..snapshots.store import list_snapshots

    page = list_snapshots(registry, limit=limit, offset=offset)
    return {
        "snapshots": [record_json(s, SNAPSHOT_KEYS, runs=s.n_runs) for s in page.snapshots],
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
    }


def models_payload(registry: Registry) -> dict[str, Any]:
    """``GET models``: every model with its versions (newest first), its aliases, and the
    verdict of the latest gate evaluation that concerns each version."""
    from ..gates.verdicts import latest_gate_verdicts
    from ..models.versions import list_models

    models = list_models(registry)
    verdicts = latest_gate_verdicts(registry, (v for m in models for v in m.versions))
    return {"models": [_model(model, verdicts) for model in models]}


def _model(model: RegisteredModel, verdicts: Mapping[int, GateEvaluation]) -> dict[str, Any]:
    versions = [_version(v, verdicts.get(v.id)) for v in model.versions]
    return record_json(model, MODEL_KEYS, versions=versions)


def _version(version: ModelVersion, verdict: GateEvaluation | None) -> dict[str, Any]:
    gate = None if verdict is None else _evaluation(verdict)
    return record_json(version, VERSION_KEYS, ref=version.ref, gate=gate)


def gates_payload(
    registry: Registry, *, run: str | None = None, model: str | None = None, limit: int
) -> dict[str, Any]:
    """``GET gates``: stored gate evaluations, newest first (of one run or model if asked)."""
    from ..gates.evaluation import evaluations

    found = evaluations(registry, run=run, model=model, limit=limit)
    return {"evaluations": [_evaluation(e) for e in found]}


def _evaluation(evaluation: GateEvaluation) -> dict[str, Any]:
    rules = [record_json(result, RULE_KEYS) for result in evaluation.results]
    return record_json(evaluation, EVALUATION_KEYS, summary=evaluation.summary, rules=rules)


# -- pipeline runs (drift reports: drift_payloads.py) ----------------------------------------


def pipelines_payload(registry: Registry, limit: int = 50) -> dict[str, Any]:
    """``GET pipelines``: the newest pipeline runs, each with the status of its steps."""
    from ..runner.history import pipeline_runs

    return {
        "runs": [
            record_json(
                run,
                PIPELINE_RUN_KEYS,
                duration=run.duration,
                parity=(run.parity or {}).get("status"),
                steps=[record_json(step, STEP_KEYS) for step in run.steps],
            )
            for run in pipeline_runs(registry, limit=limit)
        ]
    }
