"""Importing a team's MLflow history into the registry: experiments, runs with their
parameters, tags, notes, full metric histories and artifact files, registered models
with their versions (their files downloaded) and aliases.

    report = import_from_mlflow(registry, "http://mlflow.team.internal:5000",
                                experiments=["churn"], progress=print)
    print(report.summary())

Everything is read through MLflow's REST API (:mod:`.mlflow_api`), so MLflow need not
be installed. An imported run keeps MLflow's run id as its id, or, when it carries the
tag ``mlops.run_id`` (it was pushed from a jupyter-mlops registry), that id: then it is
the same run as the one in the registry it came from, and merging that registry later
does not make two of it: its exact record, which the push left in ``mlops/run.json``,
is restored (:mod:`.mlflow_import_pushed`). Importing again adds what is new and brings up to date what
changed in MLflow since (a run that ended, a series that grew); what did not change is
not written. How runs map: :mod:`.mlflow_import_runs`; how they are compared and
written: :mod:`.mlflow_import_store`; models: :mod:`.mlflow_import_models`.

What has no place in the registry is named in the report rather than dropped silently:
dataset inputs of runs, traces, MLflow 3 logged models (as entities: a registered
version of one is imported), prompts, stages and version tags, experiment tags other
than the note.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ..errors import NotFoundError, TrackingServerError
from ..registry.connection import Registry
from .mlflow_api import MlflowServer
from .mlflow_import_models import import_models
from .mlflow_import_pushed import as_pushed
from .mlflow_import_report import ImportProgress, ImportReport, ProgressCallback, Tally
from .mlflow_import_runs import MlflowRun, run_from_mlflow
from .mlflow_import_store import import_run

logger = logging.getLogger(__name__)

NOTE_TAG = "mlflow.note.content"
SEARCH_PAGE = 1000
DEFAULT_ID = "0"
"""The id of the experiment an MLflow server makes itself ("Default"): not imported while
it has no runs and experiments are not named."""


def import_from_mlflow(
    registry: Registry,
    uri: str,
    *,
    experiments: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import the MLflow tracking server at ``uri`` (every active experiment but the
    server's own "Default" while it is empty, or those named) into ``registry``;
    ``progress`` is called with an :class:`ImportProgress` as runs and versions are done.
    Returns what was added, updated and left unchanged.

        report = import_from_mlflow(registry, "http://127.0.0.1:5000")
        report.counts["runs"].added
    """
    with MlflowServer(uri) as server:
        tally = Tally(server.uri)
        chosen = _experiments(server, experiments)
        runs: list[MlflowRun] = []
        for experiment in chosen:
            request = {"experiment_ids": [experiment["experiment_id"]], "max_results": SEARCH_PAGE}
            found = [
                run_from_mlflow(answer, experiment["name"])
                for answer in server.pages("POST", "runs/search", request, "runs")
            ]
            if not found and experiments is None and experiment["experiment_id"] == DEFAULT_ID:
                continue  # the server's own empty "Default": nobody's work
            _import_experiment(registry, experiment, tally)
            _name_what_does_not_map(server, experiment, tally)
            runs.extend(as_pushed(server, run) if run.pushed else run for run in found)
        run_ids = {run.mlflow_id: run.id for run in runs}
        ordered = parents_first(runs)
        for done, run in enumerate(ordered, 1):
            import_run(registry, server, run, _parent(registry, run, run_ids, tally), tally)
            for item in run.not_mapped:
                tally.skip(item)
            if progress is not None:
                progress(ImportProgress("runs", done, len(ordered)))
        import_models(
            registry,
            server,
            run_ids,
            tally,
            only_imported_runs=experiments is not None,
            progress=progress,
        )
    report = tally.report()
    logger.info("%s", report.summary())
    return report


def parents_first(runs: list[MlflowRun]) -> list[MlflowRun]:
    """``runs`` ordered so that each run's parent (when it is among them) comes first,
    otherwise by start time."""
    by_id = {run.mlflow_id: run for run in runs}

    def depth(run: MlflowRun) -> int:
        seen = {run.mlflow_id}
        n = 0
        while run.parent_mlflow_id in by_id and run.parent_mlflow_id not in seen:
            run = by_id[run.parent_mlflow_id]
            seen.add(run.mlflow_id)
            n += 1
        return n

    return sorted(runs, key=lambda run: (depth(run), run.started_at, run.mlflow_id))


def _parent(
    registry: Registry, run: MlflowRun, run_ids: dict[str, str], tally: Tally
) -> str | None:
    parent = run.parent_mlflow_id
    if parent is None:
        return None
    if parent in run_ids:
        return run_ids[parent]
    if registry.query_one("SELECT 1 FROM runs WHERE id = ?", (parent,)) is not None:
        return parent
    tally.skip(f'run "{run.name}" ({run.mlflow_id}): its parent run {parent} is not in MLflow')
    return None


def _experiments(server: MlflowServer, names: Sequence[str] | None) -> list[dict[str, Any]]:
    found = list(
        server.pages("POST", "experiments/search", {"max_results": SEARCH_PAGE}, "experiments")
    )
    if names is None:
        return found
    by_name = {experiment["name"]: experiment for experiment in found}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise NotFoundError(
            f'The MLflow server {server.uri} has no experiment "{missing[0]}"',
            hint="Its experiments: " + ", ".join(sorted(by_name)) if by_name else None,
        )
    return [by_name[name] for name in dict.fromkeys(names)]


def _import_experiment(registry: Registry, experiment: dict[str, Any], tally: Tally) -> None:
    name = experiment["name"]
    tags = {t["key"]: t.get("value", "") for t in experiment.get("tags", ())}
    note = tags.pop(NOTE_TAG, None) or None
    for key in sorted(tags):
        tally.skip(f'experiment "{name}": tag {key} (experiments here have no tags)')
    with registry.transaction(f'experiment "{name}"') as conn:
        row = conn.execute("SELECT id FROM experiments WHERE name = ?", (name,)).fetchone()
        changed = False
        if row is None:
            cursor = conn.execute(
                "INSERT INTO experiments (name, created_at) VALUES (?, ?)",
                (name, int(experiment.get("creation_time") or 0) / 1000),
            )
            experiment_row = int(cursor.lastrowid or 0)
        else:
            experiment_row = int(row[0])
        if note is not None:
            here = conn.execute(
                "SELECT note FROM experiment_notes WHERE experiment_id = ?", (experiment_row,)
            ).fetchone()
            if here is None or here[0] != note:
                conn.execute(
                    "INSERT OR REPLACE INTO experiment_notes (experiment_id, note, updated_at)"
                    " VALUES (?, ?, ?)",
                    (experiment_row, note, int(experiment.get("last_update_time") or 0) / 1000),
                )
                changed = True
    if row is None:
        tally.count("experiments", "added")
    else:
        tally.count("experiments", "updated" if changed else "unchanged")


def _name_what_does_not_map(server: MlflowServer, experiment: dict[str, Any], tally: Tally) -> None:
    """Name the traces and logged models of an experiment in the report."""
    name, ids = experiment["name"], [experiment["experiment_id"]]
    try:
        traces = sum(
            1
            for _ in server.pages(
                "GET", "traces", {"experiment_ids": ids, "max_results": 500}, "traces"
            )
        )
    except TrackingServerError:  # a server without traces (before MLflow 2.14)
        traces = 0
    if traces:
        tally.skip(f'experiment "{name}": {traces} trace(s) (traces have no counterpart here)')
    try:
        logged = list(
            server.pages("POST", "logged-models/search", {"experiment_ids": ids}, "models")
        )
    except TrackingServerError:  # before MLflow 3
        logged = []
    for model in logged:
        info = model.get("info", {})
        tally.skip(
            f'experiment "{name}": logged model {info.get("model_id")} ("{info.get("name")}",'
            f" run {info.get('source_run_id')}): logged models are not imported as such;"
            " a registered version of one is"
        )
