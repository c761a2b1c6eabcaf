"""What a run of the registry becomes on an MLflow tracking server: :class:`RunContent`.

Everything a run records is turned here into what MLflow's model holds, and nothing is
sent: params and tags as text, the metric rows still to send (by ``rowid``, the order
they were written), and files for the run's artifact store:

- ``code/cell-<n>.py``: the cells the run executed, in order;
- ``environment.json``: the Python, platform and package versions it ran with;
- ``artifacts/<name>``: what the run logged;
- ``models/<model>/v<version>/model.<format>``: each model version registered from it;
- ``snapshots/<name>.json``: the data snapshots it used (fingerprint, schema, profile),
  summarised in the tags ``mlops.snapshot.<name>``;
- ``gates/<id>.json``, ``drift/<id>.json``: gate verdicts and drift reports about it,
  summarised in the tags ``mlops.gate.<purpose>.<id>`` and ``mlops.drift.<id>``;
- ``mlops/run.json``: what MLflow cannot hold exactly, for an import to restore (the
  run's kind, exact start and end, status and error, notebook, params with their types,
  its own tags and note): :func:`run_record`.

What MLflow's rules refuse is left out and listed as :class:`Unmappable`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..registry.connection import Registry
from .mlflow_push_limits import (
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    Unmappable,
    key_problem,
    value_problem,
)

RUN_ID_TAG = "mlops.run_id"
RUN_RECORD_PATH = "mlops/run.json"
"""The file of a pushed run holding its exact record (:func:`run_record`)."""
PARENT_TAG = "mlflow.parentRunId"
NOTE_TAG = "mlflow.note.content"
STATUSES = {
    "running": "RUNNING",
    "finished": "FINISHED",
    "failed": "FAILED",
    "killed": "KILLED",
    "crashed": "FAILED",
}
MODEL_FILE_SUFFIXES = {"joblib": "joblib", "pickle": "pkl", "json": "json", "bytes": "bin"}


@dataclass(frozen=True)
class FileToSend:
    """A file of a run's artifacts: stored in the registry (``path``) or made here (``data``)."""

    sha256: str
    path: Path | None = None
    data: bytes | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()


@dataclass(frozen=True)
class RunContent:
    """One run as MLflow will hold it. ``metric_mark`` is the highest ``metrics`` rowid of
    the run: a push sends the rows above the mark it recorded last time."""

    run_id: str
    experiment: str
    name: str
    status: str
    start_ms: int
    end_ms: int | None
    parent_run_id: str | None
    params: dict[str, str]
    tags: dict[str, str]
    metric_mark: int
    metric_keys: frozenset[str]
    files: dict[str, FileToSend]
    unmappable: tuple[Unmappable, ...] = field(default=())

    @property
    def label(self) -> str:
        return f"run {self.name} ({self.run_id})"

    def digest(self) -> str:
        """A hash of everything sent: the same digest means nothing to send."""
        content = {
            "info": [self.experiment, self.name, self.status, self.start_ms, self.end_ms],
            "parent": self.parent_run_id,
            "params": self.params,
            "tags": self.tags,
            "metrics": self.metric_mark,
            "files": {path: file.sha256 for path, file in self.files.items()},
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def param_text(value: Any, type_name: str) -> str:
    """A param's stored value as the text MLflow keeps (lists and dicts stay JSON)."""
    if type_name == "none" or value is None:
        return "None"
    if type_name == "bool":
        return str(bool(value))
    return str(value)


def run_content(registry: Registry, run_id: str) -> RunContent:
    """What run ``run_id`` becomes in MLflow (no request is made)."""
    row = registry.query_one(
        "SELECT runs.*, experiments.name AS experiment FROM runs"
        " JOIN experiments ON experiments.id = runs.experiment_id WHERE runs.id = ?",
        (run_id,),
    )
    assert row is not None, run_id
    label = f"run {row['name']} ({run_id})"
    problems: list[Unmappable] = []
    params: dict[str, str] = {}
    for key, value, type_name in registry.query_tuples(
        "SELECT key, value, type FROM params WHERE run_id = ? ORDER BY key", (run_id,)
    ):
        text = param_text(value, type_name)
        problem = key_problem(key) or value_problem(text, limit=MAX_PARAM_VALUE_LENGTH)
        if problem:
            problems.append(Unmappable(label, f'param "{key}"', problem))
        else:
            params[key] = text

    tags: dict[str, str] = {}

    def tag(key: str, value: str, item: str | None = None) -> None:
        problem = key_problem(key) or value_problem(value, limit=MAX_TAG_VALUE_LENGTH)
        if problem:
            problems.append(Unmappable(label, item or f'tag "{key}"', problem))
        else:
            tags[key] = value

    for key, value in registry.query_tuples(
        "SELECT key, value FROM tags WHERE run_id = ? ORDER BY key", (run_id,)
    ):
        tag(key, value)
    note = registry.query_one("SELECT note FROM run_notes WHERE run_id = ?", (run_id,))
    if note is not None:
        tag(NOTE_TAG, note[0], "its note")
    tags[RUN_ID_TAG] = run_id
    if row["kind"]:
        tags["mlops.kind"] = row["kind"]
    for column, key in (
        ("notebook_path", "mlops.notebook"),
        ("git_commit", "mlflow.source.git.commit"),
        ("git_branch", "mlflow.source.git.branch"),
        ("previous_run_id", "mlops.previous_run_id"),
        ("error", "mlops.error"),
    ):
        if row[column]:
            tag(key, str(row[column])[:MAX_TAG_VALUE_LENGTH])
    if row["archived_at"] is not None:
        tags["mlops.archived"] = "true"

    files: dict[str, FileToSend] = {}
    _code_files(registry, run_id, files)
    environment = registry.query_one(
        "SELECT python, platform, packages FROM environments WHERE id = ?",
        (row["environment_id"],),
    )
    if environment is not None:
        files["environment.json"] = _json_file(
            {
                "python": environment["python"],
                "platform": environment["platform"],
                "packages": json.loads(environment["packages"]),
            }
        )
    _artifact_files(registry, run_id, label, files, problems)
    _model_files(registry, run_id, files)
    _snapshot_files(registry, run_id, label, files, tags, problems)
    _gate_files(registry, run_id, files, tags)
    _drift_files(registry, run_id, files, tags)
    files[RUN_RECORD_PATH] = _json_file(run_record(registry, row, note[0] if note else None))

    marks = registry.query_one(
        "SELECT coalesce(max(rowid), 0) FROM metrics WHERE run_id = ?", (run_id,)
    )
    metric_keys = frozenset(
        key
        for (key,) in registry.query_tuples(
            "SELECT DISTINCT key FROM metrics WHERE run_id = ?", (run_id,)
        )
    )
    for key in sorted(metric_keys):
        problem = key_problem(key)
        if problem:
            problems.append(Unmappable(label, f'metric "{key}"', problem))
    return RunContent(
        run_id=run_id,
        experiment=row["experiment"],
        name=row["name"],
        status=STATUSES.get(row["status"], "FAILED"),
        start_ms=int(row["started_at"] * 1000),
        end_ms=None if row["ended_at"] is None else int(row["ended_at"] * 1000),
        parent_run_id=row["parent_run_id"],
        params=params,
        tags=tags,
        metric_mark=int(marks[0]) if marks else 0,
        metric_keys=frozenset(key for key in metric_keys if key_problem(key) is None),
        files=files,
        unmappable=tuple(problems),
    )


def run_record(registry: Registry, row: Any, note: str | None) -> dict[str, Any]:
    """A run as the registry holds it, where MLflow's model loses something: times in
    milliseconds, every kind but notebook, crashed runs, param types, which tags are
    the run's own. An import of the pushed run reads it back (``mlops/run.json``)."""
    return {
        "format": 1,
        "kind": row["kind"],
        "status": row["status"],
        "error": row["error"],
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "notebook_path": row["notebook_path"],
        "git_commit": row["git_commit"],
        "git_branch": row["git_branch"],
        "params": {
            key: [value, type_name]
            for key, value, type_name in registry.query_tuples(
                "SELECT key, value, type FROM params WHERE run_id = ? ORDER BY key", (row["id"],)
            )
        },
        "tags": dict(
            registry.query_tuples(
                "SELECT key, value FROM tags WHERE run_id = ? ORDER BY key", (row["id"],)
            )
        ),
        "note": note,
    }


def _made(data: bytes) -> FileToSend:
    return FileToSend(hashlib.sha256(data).hexdigest(), data=data)


def _json_file(content: Any) -> FileToSend:
    return _made(json.dumps(content, indent=2, sort_keys=True, default=str).encode())


def _code_files(registry: Registry, run_id: str, files: dict[str, FileToSend]) -> None:
    for seq, source in registry.query_tuples(
        "SELECT seq, source FROM code_cells WHERE run_id = ? ORDER BY seq", (run_id,)
    ):
        files[f"code/cell-{seq}.py"] = _made(source.encode())


def _artifact_files(
    registry: Registry,
    run_id: str,
    label: str,
    files: dict[str, FileToSend],
    problems: list[Unmappable],
) -> None:
    for name, sha in registry.query_tuples(
        "SELECT name, sha256 FROM run_artifacts WHERE run_id = ? ORDER BY name", (run_id,)
    ):
        if not registry.artifacts.exists(sha):
            problems.append(
                Unmappable(label, f'artifact "{name}"', "its file is missing from the registry")
            )
            continue
        files[f"artifacts/{name}"] = FileToSend(sha, path=registry.artifacts.path_of(sha))


def model_file_path(model: str, version: int, file_format: str) -> str:
    """Where version ``version`` of ``model`` goes among its run's artifacts."""
    return f"models/{model}/v{version}/model.{MODEL_FILE_SUFFIXES.get(file_format, 'bin')}"


def _model_files(registry: Registry, run_id: str, files: dict[str, FileToSend]) -> None:
    for model, version, sha, file_format in registry.query_tuples(
        "SELECT models.name, model_versions.version, model_versions.artifact_sha256,"
        " artifacts.format FROM model_versions"
        " JOIN models ON models.id = model_versions.model_id"
        " JOIN artifacts ON artifacts.sha256 = model_versions.artifact_sha256"
        " WHERE model_versions.run_id = ? ORDER BY models.name, model_versions.version",
        (run_id,),
    ):
        if registry.artifacts.exists(sha):
            path = model_file_path(model, version, file_format)
            files[path] = FileToSend(sha, path=registry.artifacts.path_of(sha))


def _snapshot_files(
    registry: Registry,
    run_id: str,
    label: str,
    files: dict[str, FileToSend],
    tags: dict[str, str],
    problems: list[Unmappable],
) -> None:
    for row in registry.query(
        "SELECT snapshots.*, run_snapshots.role, run_snapshots.variable FROM run_snapshots"
        " JOIN snapshots ON snapshots.id = run_snapshots.snapshot_id"
        " WHERE run_snapshots.run_id = ? ORDER BY snapshots.name, run_snapshots.role",
        (run_id,),
    ):
        key = f"mlops.snapshot.{row['name']}"
        problem = key_problem(key)
        if problem:
            problems.append(Unmappable(label, f'snapshot "{row["name"]}"', problem))
            continue
        tags[key] = (
            f"{row['role']} {row['fingerprint']} {row['n_rows']} rows x {row['n_columns']} columns"
        )
        whole = {column: row[column] for column in row.keys()}
        for column in ("schema", "profile", "index_schema"):
            whole[column] = json.loads(whole[column]) if whole[column] else None
        files[f"snapshots/{row['name']}.json"] = _json_file(whole)


def _gate_files(
    registry: Registry, run_id: str, files: dict[str, FileToSend], tags: dict[str, str]
) -> None:
    """Gate evaluations of the run's metrics, and of the model versions made from it."""
    for row in registry.query(
        "SELECT gate_evaluations.*, models.name AS model, model_versions.version"
        " FROM gate_evaluations"
        " LEFT JOIN model_versions ON model_versions.id = gate_evaluations.model_version_id"
        " LEFT JOIN models ON models.id = model_versions.model_id"
        " WHERE gate_evaluations.run_id = ?"
        " OR (gate_evaluations.run_id IS NULL AND model_versions.run_id = ?)"
        " ORDER BY gate_evaluations.evaluated_at",
        (run_id, run_id),
    ):
        results = [
            {**dict(result), "actual": json.loads(result["actual"]) if result["actual"] else None}
            for result in registry.query(
                "SELECT seq, kind, rule, passed, actual, expected, detail, exact,"
                " drift_report_id FROM gate_results WHERE evaluation_id = ? ORDER BY seq",
                (row["id"],),
            )
        ]
        whole = {column: row[column] for column in row.keys()}
        whole["inputs"] = json.loads(whole["inputs"]) if whole["inputs"] else None
        whole["results"] = results
        files[f"gates/{row['id']}.json"] = _json_file(whole)
        verdict = (
            "passed" if row["passed"] else f"failed ({row['n_failed']} of {row['n_rules']} rules)"
        )
        if row["model"] is not None:
            verdict += f" for {row['model']} v{row['version']}"
        tags[f"mlops.gate.{row['purpose']}.{row['id']}"] = verdict


def _drift_files(
    registry: Registry, run_id: str, files: dict[str, FileToSend], tags: dict[str, str]
) -> None:
    for report_id, decision, summary, report in registry.query_tuples(
        "SELECT id, decision, summary, report FROM drift_reports WHERE run_id = ?"
        " ORDER BY created_at",
        (run_id,),
    ):
        files[f"drift/{report_id}.json"] = _made(report.encode())
        tags[f"mlops.drift.{report_id}"] = f"{decision}: {summary}"[:MAX_TAG_VALUE_LENGTH]
