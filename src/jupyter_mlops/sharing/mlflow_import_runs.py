"""An MLflow run, as the registry records runs: what each field and system tag of MLflow
becomes here, and what has no place.

MLflow's system tags with a concept of ours are mapped, and not kept as tags:

=========================== ==========================================================
``mlflow.runName``          the run's name
``mlflow.parentRunId``      its parent run (nested runs: parent and children)
``mlflow.note.content``     its note (``run_notes``; an experiment's: ``experiment_notes``)
``mlflow.source.type``      its kind: ``NOTEBOOK`` a notebook run, any other a script run
``mlflow.source.name``      where its code came from (``notebook_path``)
``mlflow.source.git.commit`` / ``.branch``   its git commit and branch
``mlops.run_id``            its id: the run was pushed from a jupyter-mlops registry
=========================== ==========================================================

Every other tag (``mlflow.user``, ``mlflow.source.git.repoURL``, the team's own) is kept
as a tag. MLflow's parameters are text; one that reads back exactly as a number (``6``,
``0.1``, ``1e-05``), a boolean (``True``) or ``None`` is stored as that, so filters
compare numbers as numbers. An imported run carries the tag ``mlops.mlflow_run_id``,
which tells it from a run recorded here (and pushed), which an import leaves as it is.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any

from ..tracking.values import encode_param

IMPORTED_TAG = "mlops.mlflow_run_id"
"""The tag an imported run carries: the id of the MLflow run it came from."""

PUSHED_TAG = "mlops.run_id"
"""The tag a run pushed from a jupyter-mlops registry carries in MLflow: its id there."""

STATUSES = {
    "RUNNING": "running",
    "SCHEDULED": "running",
    "FINISHED": "finished",
    "FAILED": "failed",
    "KILLED": "killed",
}

MAPPED_TAGS = frozenset(
    {
        "mlflow.runName",
        "mlflow.parentRunId",
        "mlflow.note.content",
        "mlflow.source.type",
        "mlflow.source.name",
        "mlflow.source.git.commit",
        "mlflow.source.git.branch",
        PUSHED_TAG,
    }
)

_INTEGER = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class LatestPoint:
    """The latest point of a metric as MLflow gives it with the run: at its highest step,
    the last logged; what tells whether the series changed since it was imported."""

    step: int
    value: float | None  # None: NaN
    timestamp: float  # seconds


@dataclass(frozen=True)
class MlflowRun:
    """One MLflow run, in the registry's terms."""

    id: str  # its id here: mlops.run_id when it was pushed from a registry, else MLflow's
    mlflow_id: str
    pushed: bool  # it carries mlops.run_id
    experiment: str
    name: str
    status: str
    started_at: float
    ended_at: float | None
    parent_mlflow_id: str | None
    kind: str
    notebook_path: str | None
    git_commit: str | None
    git_branch: str | None
    params: dict[str, tuple[Any, str]]  # key -> (stored value, type)
    tags: dict[str, str]
    note: str | None
    latest: dict[str, LatestPoint]
    artifact_uri: str
    not_mapped: tuple[str, ...]  # what the run holds that the registry has no place for
    error: str | None = None  # why it failed: only a pushed run's record says


def run_from_mlflow(answer: dict[str, Any], experiment: str) -> MlflowRun:
    """The run of one item of ``runs/search`` (``info``, ``data``, ``inputs``)."""
    info = answer["info"]
    data = answer.get("data", {})
    mlflow_id = info["run_id"]
    tags = {t["key"]: t.get("value", "") for t in data.get("tags", ())}
    pushed_id = tags.get(PUSHED_TAG, "").strip()
    name = info.get("run_name") or tags.get("mlflow.runName") or mlflow_id[:8]
    kept = {k: v for k, v in tags.items() if k not in MAPPED_TAGS}
    kept[IMPORTED_TAG] = mlflow_id
    end_time = info.get("end_time")
    status = STATUSES.get(info.get("status", ""), "finished")
    return MlflowRun(
        id=pushed_id or mlflow_id,
        mlflow_id=mlflow_id,
        pushed=bool(pushed_id),
        experiment=experiment,
        name=name,
        status=status,
        started_at=int(info.get("start_time") or 0) / 1000,
        ended_at=None if status == "running" or end_time is None else int(end_time) / 1000,
        parent_mlflow_id=tags.get("mlflow.parentRunId") or None,
        kind="notebook" if tags.get("mlflow.source.type") == "NOTEBOOK" else "script",
        notebook_path=tags.get("mlflow.source.name") or None,
        git_commit=tags.get("mlflow.source.git.commit") or None,
        git_branch=tags.get("mlflow.source.git.branch") or None,
        params={p["key"]: param_value(p.get("value", "")) for p in data.get("params", ())},
        tags=kept,
        note=tags.get("mlflow.note.content") or None,
        latest={
            m["key"]: LatestPoint(
                int(m.get("step", 0)), metric_point_value(m.get("value")), m["timestamp"] / 1000
            )
            for m in data.get("metrics", ())
        },
        artifact_uri=info.get("artifact_uri", ""),
        not_mapped=_not_mapped(answer, name),
    )


def param_value(text: str) -> tuple[Any, str]:
    """An MLflow parameter (text) as the registry stores it: a number, boolean or None
    when the text is exactly how Python writes that value, else the text (so also digits
    past Python's limit for turning text into an integer, 4,300 by default)."""
    value: Any = text
    if _INTEGER.fullmatch(text):
        with contextlib.suppress(ValueError):  # too many digits: kept as text
            if str(int(text)) == text:
                value = int(text)
    elif text in ("True", "False"):
        value = text == "True"
    elif text == "None":
        value = None
    else:
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if repr(number) == text:
                value = number
    return encode_param(value)


def metric_point_value(value: Any) -> float | None:
    """A metric value of MLflow's JSON as stored here (``None`` for NaN)."""
    number = float(value) if value is not None else float("nan")
    return None if number != number else number


def _not_mapped(answer: dict[str, Any], name: str) -> tuple[str, ...]:
    """What an MLflow run holds that the registry has no place for, named."""
    found = []
    inputs = answer.get("inputs") or {}
    for entry in inputs.get("dataset_inputs", ()):
        dataset = entry.get("dataset", {})
        found.append(
            f'run "{name}": dataset input "{dataset.get("name", "?")}"'
            f" (digest {dataset.get('digest', '?')}): MLflow dataset records have no"
            " counterpart; log the data with a snapshot"
        )
    for entry in inputs.get("model_inputs", ()):
        found.append(f'run "{name}": logged model input {entry.get("model_id", "?")}')
    return tuple(found)
