"""A run that was pushed from a jupyter-mlops registry (it carries ``mlops.run_id``), given
back as that registry holds it, so that merging the registry that imported it with the
one it came from finds the same run, not a conflict.

The push leaves ``mlops/run.json`` among the run's artifacts (written by
:func:`.mlflow_push_content.run_record`): the run's kind, exact start and end (MLflow
keeps milliseconds), status and error, notebook, params with their types and the run's
own tags and note. Its values replace what MLflow's model made of them. The tags the push
made from other records (``mlops.snapshot.*``, ``mlops.gate.*``, ``mlops.drift.*``,
``mlops.kind``, ...) and MLflow's system tags (``mlflow.*``) are not the run's own and are
not kept as tags; a tag someone set on the server (another key, or another value) is.
A param the server has and the record lacks is read as any MLflow param.

A pushed run without the file (pushed by an older jupyter-mlops, or its artifacts not
served by the proxy) keeps what MLflow gives, without the push's tags.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from ..errors import TrackingServerError
from .mlflow_api import PROXIED_SCHEME, MlflowServer
from .mlflow_import_runs import IMPORTED_TAG, MlflowRun

logger = logging.getLogger(__name__)

RUN_RECORD_PATH = "mlops/run.json"
PUSHED_ARTIFACTS = "artifacts/"
"""Where a push puts a run's own artifacts; the rest of its files the push made from
records (code cells, environment, model files, snapshots, gates, drift, its record)."""

PUSH_TAG_PREFIXES = ("mlops.snapshot.", "mlops.gate.", "mlops.drift.", "mlflow.")
PUSH_TAGS = frozenset(
    {
        "mlops.run_id",
        "mlops.kind",
        "mlops.notebook",
        "mlops.previous_run_id",
        "mlops.error",
        "mlops.archived",
    }
)


def made_by_push(key: str) -> bool:
    """Whether tag ``key`` of a pushed run is one the push (or MLflow) set, not the run's."""
    return key in PUSH_TAGS or key.startswith(PUSH_TAG_PREFIXES)


def as_pushed(server: MlflowServer, run: MlflowRun) -> MlflowRun:
    """``run`` (pushed from a registry) with the values its registry holds."""
    server_tags = {k: v for k, v in run.tags.items() if k != IMPORTED_TAG}
    record = _run_record(server, run)
    own_tags = dict(record.get("tags") or {}) if record else {}
    own_tags.update({k: v for k, v in server_tags.items() if not made_by_push(k)})
    own_tags[IMPORTED_TAG] = run.mlflow_id
    params = dict(run.params)
    if record is None:
        kind = server_tags.get("mlops.kind") or run.kind
        return dataclasses.replace(
            run,
            kind=kind,
            tags=own_tags,
            notebook_path=server_tags.get("mlops.notebook") or run.notebook_path,
        )
    for key, (value, type_name) in (record.get("params") or {}).items():
        params[key] = (value, type_name)  # the server's other params are read as MLflow's
    return dataclasses.replace(
        run,
        kind=record.get("kind") or run.kind,
        status=record.get("status") or run.status,
        error=record.get("error"),
        started_at=record.get("started_at", run.started_at),
        ended_at=record.get("ended_at", run.ended_at),
        notebook_path=record.get("notebook_path"),
        git_commit=record.get("git_commit"),
        git_branch=record.get("git_branch"),
        params=params,
        tags=own_tags,
        note=run.note or record.get("note"),
    )


def _run_record(server: MlflowServer, run: MlflowRun) -> dict[str, Any] | None:
    if not run.artifact_uri.startswith(PROXIED_SCHEME):
        return None
    with tempfile.TemporaryDirectory(prefix="mlops-run-record-") as scratch:
        try:
            path = server.download(run.artifact_uri, RUN_RECORD_PATH, Path(scratch) / "run.json")
        except TrackingServerError as exc:
            logger.debug("run %s has no %s: %s", run.mlflow_id, RUN_RECORD_PATH, exc.message)
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return None
    return record if isinstance(record, dict) and record.get("format") == 1 else None


def pushed_file_name(path: str) -> str | None:
    """The name here of the file ``path`` of a pushed run: an artifact the run logged
    (``artifacts/NAME``) keeps its name; ``None`` for a file the push made."""
    if path.startswith(PUSHED_ARTIFACTS) and len(path) > len(PUSHED_ARTIFACTS):
        return path[len(PUSHED_ARTIFACTS) :]
    return None
