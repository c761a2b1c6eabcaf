"""Pushing the registry to a team's MLflow tracking server: ``jupyter mlops push --to
mlflow URI``, ``%mlops push``, ``mlops.push(...)``.

    report = push(registry, "http://mlflow.team.internal:5000", experiment="churn")
    print(report.describe())

Experiments go by name; each run becomes an MLflow run of the same name carrying its
status, times, params, every metric point (steps and timestamps), tags, note
(``mlflow.note.content``), parent (``mlflow.parentRunId``) and files (see
:mod:`.mlflow_push_content`); model versions become versions of a registered model of the
same name, made from the model file pushed with their run, and their aliases MLflow
aliases.

Identity: every MLflow run made here carries the tag ``mlops.run_id``, our run's id;
importing from MLflow maps a run with that tag back to the run of that id instead of
making a new one. What was pushed where is recorded in the registry (:mod:`.mlflow_push_record`),
so pushing again sends only what is new: a run with more metric points gets those points,
a run that ended gets its status and end time, and a run that did not change costs no
request at all. MLflow's params cannot change once logged: a param changed here after a
push is reported, not sent. Whatever MLflow cannot hold is reported in
:attr:`PushReport.unmappable`, naming the object, never dropped in silence.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..errors import InvalidInputError, TrackingServerError
from ..registry.connection import Registry
from .mlflow_api import MlflowServer
from .mlflow_push_content import NOTE_TAG, run_content
from .mlflow_push_limits import Unmappable
from .mlflow_push_models import ModelSender
from .mlflow_push_record import PushedObject, PushRecord
from .mlflow_push_runs import RunSender, Tally

logger = logging.getLogger(__name__)

KINDS = ("experiments", "runs", "model versions", "aliases")


@dataclass(frozen=True)
class PushProgress:
    """Where a push is: ``done`` of ``total`` objects of ``stage`` (one of :data:`KINDS`)
    handled, ``item`` the one just handled, ``metric_points`` sent so far."""

    stage: str
    done: int
    total: int
    item: str = ""
    metric_points: int = 0

    def line(self) -> str:
        points = f", {self.metric_points} metric points sent" if self.metric_points else ""
        return f"{self.stage}: {self.done}/{self.total}{points}"


@dataclass(frozen=True)
class PushReport:
    """What a push did, per kind of object, and what MLflow could not hold."""

    server: str
    created: Mapping[str, int] = field(default_factory=dict)
    updated: Mapping[str, int] = field(default_factory=dict)
    unchanged: Mapping[str, int] = field(default_factory=dict)
    sent: Mapping[str, int] = field(default_factory=dict)
    unmappable: tuple[Unmappable, ...] = ()

    @property
    def changed_anything(self) -> bool:
        return bool(sum(self.created.values()) + sum(self.updated.values()))

    def describe(self) -> str:
        """The report people read: one line per kind, then what could not be mapped."""
        lines = [f"Pushed to {self.server}"]
        for kind in KINDS:
            counts = [self.created.get(kind, 0), self.updated.get(kind, 0)]
            counts.append(self.unchanged.get(kind, 0))
            if any(counts):
                lines.append(
                    f"  {kind}: {counts[0]} created, {counts[1]} updated, {counts[2]} unchanged"
                )
        if self.sent:
            lines.append(
                "  sent: " + ", ".join(f"{n} {what}" for what, n in sorted(self.sent.items()))
            )
        else:
            lines.append("  nothing new to send")
        if self.unmappable:
            lines.append(f"Not sent, MLflow cannot hold them ({len(self.unmappable)}):")
            lines.extend(f"  {item.describe()}" for item in self.unmappable)
        return "\n".join(lines)


def since_time(text: str) -> float:
    """Unix seconds from ``2026-11-30``, ``2026-11-30T14:00`` (local time) or a duration
    back from now (``7d``, ``12h``), as ``--since`` takes it."""
    from ..runner.spec import parse_duration

    try:
        return _dt.datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        pass
    try:
        return time.time() - parse_duration(text, what="--since")
    except InvalidInputError:
        raise InvalidInputError(
            f'--since: "{text}" is neither a date nor a duration',
            hint="Give a date (2026-11-30, 2026-11-30T14:00) or a duration back from now (7d, 12h).",
        ) from None


def push(
    registry: Registry,
    uri: str,
    *,
    experiment: str | None = None,
    since: float | None = None,
    progress: Callable[[PushProgress], None] | None = None,
) -> PushReport:
    """Push the registry's runs (of ``experiment``, started since ``since``: unix seconds),
    their experiments, model versions and aliases to the MLflow server at ``uri``.

        push(registry, "http://127.0.0.1:5000").describe()

    A failure of the server raises :class:`TrackingServerError`; what was sent before it
    is recorded, so the next push resumes there.
    """
    server = MlflowServer(uri)
    with server:
        job = _Push(registry, server, progress or (lambda _: None))
        try:
            return job.run(experiment, since)
        except TrackingServerError as exc:
            raise TrackingServerError(
                f"{exc.message}. {job.stopped()}", url=exc.url, status=exc.status, hint=exc.hint
            ) from exc


class _Push:
    def __init__(
        self, registry: Registry, server: MlflowServer, progress: Callable[[PushProgress], None]
    ) -> None:
        self.registry = registry
        self.server = server
        self.progress = progress
        self.record = PushRecord(registry, server.uri)
        self.tally = Tally()
        self.metric_points = 0
        self.new_experiments: set[str] = set()  # created by this push: none of its runs is there
        self.sender = RunSender(registry, server, self.record, self.tally, self._points_sent)

    def stopped(self) -> str:
        """What a push cut short had done, for the error that stopped it."""
        if not self.tally.sent:
            return "Nothing was sent, and the registry is as it was"
        done = ", ".join(f"{n} {what}" for what, n in sorted(self.tally.sent.items()))
        return (
            f"The push stopped there; what it sent before ({done}) is recorded,"
            " so pushing again resumes from there"
        )

    def _points_sent(self, n: int) -> None:
        self.metric_points += n

    def run(self, experiment: str | None, since: float | None) -> PushReport:
        run_ids = self._selected_runs(experiment, since)
        experiments = self._push_experiments(run_ids)
        for i, run_id in enumerate(run_ids, 1):
            content = run_content(self.registry, run_id)
            parent = None
            if content.parent_run_id is not None:
                pushed_parent = self.record.get("run", content.parent_run_id)
                parent = None if pushed_parent is None else pushed_parent.remote_id
            try:
                outcome = self.sender.push(
                    content,
                    experiments[content.experiment],
                    parent,
                    new_experiment=content.experiment in self.new_experiments,
                )
            except TrackingServerError as exc:
                if exc.status != 400:  # the server is down or failing: stop, resume later
                    raise
                # MLflow refused something of this run that the checks here let through:
                # said, and the other runs still go (what arrived of this one is recorded)
                self.tally.unmappable.append(
                    Unmappable(content.label, "the run", f"the server refused it: {exc.message}")
                )
            else:
                self.tally.count(outcome, "runs")
            self._report("runs", i, len(run_ids), content.name)
        models = ModelSender(self.registry, self.server, self.record, self.tally, self._report)
        versions, names = models.push_versions(run_ids)
        models.push_aliases(versions, names)
        return PushReport(
            server=self.server.uri,
            created=dict(self.tally.created),
            updated=dict(self.tally.updated),
            unchanged=dict(self.tally.unchanged),
            sent=dict(self.tally.sent),
            unmappable=tuple(self.tally.unmappable),
        )

    def _report(self, stage: str, done: int, total: int, item: str) -> None:
        self.progress(PushProgress(stage, done, total, item, self.metric_points))

    # -- what goes --------------------------------------------------------------------
    def _selected_runs(self, experiment: str | None, since: float | None) -> list[str]:
        """The runs to push, parents before their children; a chosen run's parents go
        with it, so that the link to them holds."""
        clauses: list[str] = []
        values: list[object] = []
        if experiment is not None:
            if (
                self.registry.query_one("SELECT 1 FROM experiments WHERE name = ?", (experiment,))
                is None
            ):
                raise InvalidInputError(
                    f'No experiment "{experiment}" in {self.registry.path}',
                    hint="List the experiments with jupyter mlops runs; names are exact.",
                )
            clauses.append("experiments.name = ?")
            values.append(experiment)
        if since is not None:
            clauses.append("runs.started_at >= ?")
            values.append(since)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        parents = dict(self.registry.query_tuples("SELECT id, parent_run_id FROM runs"))
        chosen = {
            run_id
            for (run_id,) in self.registry.query_tuples(
                "SELECT runs.id FROM runs JOIN experiments ON experiments.id = runs.experiment_id"
                + where,
                values,
            )
        }
        for run_id in list(chosen):
            parent = parents.get(run_id)
            while parent is not None and parent not in chosen:
                chosen.add(parent)
                parent = parents.get(parent)
        started = dict(self.registry.query_tuples("SELECT id, started_at FROM runs"))

        def depth(run_id: str) -> int:
            n, parent = 0, parents.get(run_id)
            while parent is not None and n < 100:
                n, parent = n + 1, parents.get(parent)
            return n

        return sorted(chosen, key=lambda run_id: (depth(run_id), started[run_id], run_id))

    def _push_experiments(self, run_ids: list[str]) -> dict[str, str]:
        names = sorted(
            {
                name
                for (name,) in self.registry.query_tuples(
                    "SELECT DISTINCT experiments.name FROM runs"
                    " JOIN experiments ON experiments.id = runs.experiment_id"
                    " WHERE runs.id IN (SELECT value FROM json_each(?))",
                    (json.dumps(run_ids),),
                )
            }
        )
        remote: dict[str, str] = {}
        for i, name in enumerate(names, 1):
            pushed = self.record.get("experiment", name)
            outcome = "unchanged"
            if pushed is None:
                try:
                    found = self.server.get("experiments/get-by-name", experiment_name=name)
                    experiment_id = found["experiment"]["experiment_id"]
                except TrackingServerError as exc:
                    if exc.status != 404:
                        raise
                    experiment_id = self.server.post("experiments/create", {"name": name})[
                        "experiment_id"
                    ]
                    outcome = "created"
                    self.new_experiments.add(name)
                pushed = self.record.put(PushedObject("experiment", name, experiment_id, {}))
            note_row = self.registry.query_one(
                "SELECT experiment_notes.note FROM experiment_notes"
                " JOIN experiments ON experiments.id = experiment_notes.experiment_id"
                " WHERE experiments.name = ?",
                (name,),
            )
            note = None if note_row is None else note_row[0]
            if note is not None and pushed.sent.get("note") != note:
                self.server.post(
                    "experiments/set-experiment-tag",
                    {"experiment_id": pushed.remote_id, "key": NOTE_TAG, "value": note},
                )
                pushed = self.record.put(pushed.with_sent(note=note))
                outcome = "updated" if outcome == "unchanged" else outcome
            remote[name] = pushed.remote_id
            self.tally.count(outcome, "experiments")
            self._report("experiments", i, len(names), name)
        return remote
