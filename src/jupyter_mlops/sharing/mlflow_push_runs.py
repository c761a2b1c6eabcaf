"""Sending one run to an MLflow tracking server: only what the server does not hold yet.

A run is created once (or found, when an earlier push created it and its record was
lost: MLflow is searched for the tag ``mlops.run_id``, except in an experiment this push
created), then brought up to date in steps, each recorded when the server confirmed it:
new params, changed tags, metric points above the recorded mark (``runs/log-batch``
within MLflow's limits), files whose content changed, and the run's status, end time and
name. A run created now gets its params, tags and first points in one ``log-batch``, as
MLflow's own client sends a run: a run of the usual size takes three requests (create,
the batch, its end).
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import TrackingServerError
from ..registry.connection import Registry
from .mlflow_api import MlflowServer
from .mlflow_push_content import PARENT_TAG, RUN_ID_TAG, RunContent
from .mlflow_push_limits import (
    MAX_BATCH_BYTES,
    MAX_ITEMS_PER_BATCH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_PER_BATCH,
    MAX_TAGS_PER_BATCH,
    Unmappable,
)
from .mlflow_push_record import PushedObject, PushRecord

logger = logging.getLogger(__name__)


@dataclass
class Tally:
    """What one push did so far, counted as it goes (the report is made from it)."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    unmappable: list[Unmappable] = field(default_factory=list)

    def count(self, outcome: str, kind: str) -> None:
        table = getattr(self, outcome)
        table[kind] = table.get(kind, 0) + 1

    def add_sent(self, what: str, n: int) -> None:
        if n:
            self.sent[what] = self.sent.get(what, 0) + n


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class RunSender:
    """Brings runs up to date on ``server``, recording each confirmed step in ``record``."""

    def __init__(
        self,
        registry: Registry,
        server: MlflowServer,
        record: PushRecord,
        tally: Tally,
        on_metric_points: Callable[[int], None] = lambda n: None,
    ) -> None:
        self.registry = registry
        self.server = server
        self.record = record
        self.tally = tally
        self.on_metric_points = on_metric_points

    def push(
        self,
        content: RunContent,
        experiment_id: str,
        parent: str | None,
        *,
        new_experiment: bool = False,
    ) -> str:
        """Send what ``content`` adds to what the server holds; return the outcome:
        ``created``, ``updated`` or ``unchanged``. ``new_experiment``: this push created the
        experiment, so no run of it can be on the server yet (none is searched for)."""
        self.tally.unmappable.extend(content.unmappable)
        tags = dict(content.tags)
        if parent is not None:
            tags[PARENT_TAG] = parent
        digest = content.digest() + (parent or "")
        pushed = self.record.get("run", content.run_id)
        created = False
        if pushed is None:
            pushed, created = self._find_or_create(
                content, experiment_id, search=not new_experiment
            )
        self._what_cannot_follow(content, pushed, experiment_id)
        if pushed.digest == digest:
            return "unchanged"
        if created:
            pushed = self._first_batch(content, tags, pushed)
        sent_anything = False
        pushed, did = self._params(content, pushed)
        sent_anything |= did
        pushed, did = self._tags(content, tags, pushed)
        sent_anything |= did
        pushed, did = self._metrics(content, pushed)
        sent_anything |= did
        pushed, did = self._files(content, pushed)
        sent_anything |= did
        pushed, did = self._info(content, pushed)
        sent_anything |= did
        self.record.put(PushedObject("run", content.run_id, pushed.remote_id, pushed.sent, digest))
        if created:
            return "created"
        return "updated" if sent_anything else "unchanged"

    # -- the steps --------------------------------------------------------------------
    def _find_or_create(
        self, content: RunContent, experiment_id: str, *, search: bool = True
    ) -> tuple[PushedObject, bool]:
        """The MLflow run of ``content`` and whether it was made now: one with its
        ``mlops.run_id`` is taken when the server has it (the record of that push was lost,
        or another copy of this registry pushed it); ``search=False`` skips the search."""
        found = None
        if search:
            found = next(
                self.server.pages(
                    "POST",
                    "runs/search",
                    {
                        "experiment_ids": [experiment_id],
                        "filter": f"tags.`{RUN_ID_TAG}` = '{content.run_id}'",
                        "max_results": 1,
                    },
                    "runs",
                ),
                None,
            )
        if found is not None:
            data = found.get("data", {})
            sent = {
                "experiment_id": experiment_id,
                "artifact_uri": found["info"]["artifact_uri"],
                "params": {p["key"]: p["value"] for p in data.get("params", [])},
                "tags": {t["key"]: t["value"] for t in data.get("tags", [])},
                "metric_mark": 0,  # MLflow keeps one copy of a point sent twice
                "files": {},
                "info": {},
            }
            pushed = PushedObject("run", content.run_id, found["info"]["run_id"], sent)
            return self.record.put(pushed), False
        run = self.server.post(
            "runs/create",
            {
                "experiment_id": experiment_id,
                "run_name": content.name,
                "start_time": content.start_ms,
                "tags": [{"key": RUN_ID_TAG, "value": content.run_id}],
            },
        )["run"]["info"]
        sent = {
            "experiment_id": experiment_id,
            "artifact_uri": run["artifact_uri"],
            "params": {},
            "tags": {RUN_ID_TAG: content.run_id},
            "metric_mark": 0,
            "files": {},
            "info": {"name": content.name, "status": "RUNNING", "end_ms": None},
        }
        self.tally.add_sent("runs", 1)
        return self.record.put(PushedObject("run", content.run_id, run["run_id"], sent)), True

    def _first_batch(
        self, content: RunContent, tags: dict[str, str], pushed: PushedObject
    ) -> PushedObject:
        """A run created now: its params, tags and first metric points in one log-batch,
        within MLflow's limits (the steps after send what did not fit). Long values that
        would pass the request's size, or points MLflow may refuse (NaN, infinities), are
        left to the steps, which send and report them on their own."""
        params = list(content.params.items())[:MAX_PARAMS_PER_BATCH]
        held_tags: dict[str, str] = dict(pushed.sent.get("tags", {}))
        new_tags = [(k, v) for k, v in tags.items() if held_tags.get(k) != v][:MAX_TAGS_PER_BATCH]
        room = MAX_ITEMS_PER_BATCH - len(params) - len(new_tags)
        rows = self._metric_rows(content, int(pushed.sent.get("metric_mark", 0)), limit=room)
        points = _points(content, rows)
        if not all(_finite(point["value"]) for point in points):
            rows, points = [], []
        texts = {
            "params": [{"key": k, "value": v} for k, v in params],
            "tags": [{"key": k, "value": v} for k, v in new_tags],
        }
        # the server measures its own JSON: half its limit for the texts leaves room for the
        # points (at most 1,000, about 100 KB), which are not encoded twice to know it
        if len(json.dumps(texts)) > MAX_BATCH_BYTES // 2:
            return pushed
        if not (params or new_tags or points):
            return pushed
        self._log_batch(pushed, **texts, metrics=points)
        held_tags.update(new_tags)
        ours = set(pushed.sent.get("our_tags", ())) | {k for k, _ in new_tags}
        sent: dict[str, Any] = {"params": dict(params), "tags": held_tags, "our_tags": sorted(ours)}
        if rows:
            sent["metric_mark"] = int(rows[-1][0])
        pushed = self.record.put(pushed.with_sent(**sent))
        self.tally.add_sent("params", len(params))
        self.tally.add_sent("tags", len(new_tags))
        self.tally.add_sent("metric points", len(points))
        if rows:
            self.on_metric_points(len(rows))
        return pushed

    def _what_cannot_follow(
        self, content: RunContent, pushed: PushedObject, experiment_id: str
    ) -> None:
        """Report, at every push, the changes MLflow cannot take: a param whose value
        changed after it was sent, a run moved to another experiment."""
        held: dict[str, str] = pushed.sent.get("params", {})
        for key, value in content.params.items():
            if key in held and held[key] != value:
                self.tally.unmappable.append(
                    Unmappable(
                        content.label,
                        f'param "{key}"',
                        f"it changed to {value!r} after {held[key]!r} was pushed, and MLflow's"
                        " params cannot change: the server keeps the old value",
                    )
                )
        if pushed.sent.get("experiment_id") not in (None, experiment_id):
            self.tally.unmappable.append(
                Unmappable(
                    content.label,
                    f'experiment "{content.experiment}"',
                    "the run was moved to another experiment after it was pushed, and MLflow"
                    " cannot move a run: it stays in the experiment it was pushed to",
                )
            )

    def _params(self, content: RunContent, pushed: PushedObject) -> tuple[PushedObject, bool]:
        held: dict[str, str] = dict(pushed.sent.get("params", {}))
        new = [(key, value) for key, value in content.params.items() if key not in held]
        for batch in chunks(new, MAX_PARAMS_PER_BATCH):
            self._log_batch(pushed, params=[{"key": k, "value": v} for k, v in batch])
            held.update(batch)
            pushed = self.record.put(pushed.with_sent(params=held))
            self.tally.add_sent("params", len(batch))
        return pushed, bool(new)

    def _tags(
        self, content: RunContent, tags: dict[str, str], pushed: PushedObject
    ) -> tuple[PushedObject, bool]:
        held: dict[str, str] = dict(pushed.sent.get("tags", {}))
        ours = set(pushed.sent.get("our_tags", ()))
        changed = [(k, v) for k, v in tags.items() if held.get(k) != v]
        for batch in chunks(changed, MAX_TAGS_PER_BATCH):
            self._log_batch(pushed, tags=[{"key": k, "value": v} for k, v in batch])
            held.update(batch)
            ours.update(k for k, _ in batch)
            pushed = self.record.put(pushed.with_sent(tags=held, our_tags=sorted(ours)))
            self.tally.add_sent("tags", len(batch))
        # a tag a push sent and the run no longer has goes (tags MLflow set stay)
        removed = sorted(k for k in ours if k not in tags)
        for key in removed:
            self.server.post("runs/delete-tag", {"run_id": pushed.remote_id, "key": key})
            held.pop(key, None)
            ours.discard(key)
            pushed = self.record.put(pushed.with_sent(tags=held, our_tags=sorted(ours)))
            self.tally.add_sent("tags removed", 1)
        return pushed, bool(changed or removed)

    def _metrics(self, content: RunContent, pushed: PushedObject) -> tuple[PushedObject, bool]:
        mark = int(pushed.sent.get("metric_mark", 0))
        if mark >= content.metric_mark:
            return pushed, False
        rows = self._metric_rows(content, mark)
        refused: set[str] = set()
        for batch in chunks(rows, MAX_METRICS_PER_BATCH):
            points = [p for p in _points(content, batch) if p["key"] not in refused]
            if points:
                try:
                    self._log_batch(pushed, metrics=points)
                except TrackingServerError as exc:
                    if exc.status != 400 or all(_finite(p["value"]) for p in points):
                        raise
                    points = self._without_non_finite(content, points, refused)
                    if points:
                        self._log_batch(pushed, metrics=points)
            pushed = self.record.put(pushed.with_sent(metric_mark=int(batch[-1][0])))
            self.tally.add_sent("metric points", len(points))
            self.on_metric_points(len(batch))
        return pushed, True

    def _metric_rows(
        self, content: RunContent, mark: int, limit: int | None = None
    ) -> list[tuple[Any, ...]]:
        """The run's points above ``mark`` (rowid, key, step, value, timestamp), up to the
        mark the content was read at (points logged meanwhile go next time); one query, as
        the index on (run_id, key, step) cannot seek by rowid."""
        return self.registry.query_tuples(
            "SELECT rowid, key, step, value, timestamp FROM metrics"
            " WHERE run_id = ? AND rowid > ? AND rowid <= ? ORDER BY rowid"
            + ("" if limit is None else f" LIMIT {int(limit)}"),
            (content.run_id, mark, content.metric_mark),
        )

    def _without_non_finite(
        self, content: RunContent, points: list[dict[str, Any]], refused: set[str]
    ) -> list[dict[str, Any]]:
        for key in sorted({p["key"] for p in points if not _finite(p["value"])} - refused):
            refused.add(key)
            self.tally.unmappable.append(
                Unmappable(
                    content.label,
                    f'metric "{key}"',
                    "the server refused its NaN or infinite values; its finite points were sent",
                )
            )
        return [p for p in points if _finite(p["value"])]

    def _files(self, content: RunContent, pushed: PushedObject) -> tuple[PushedObject, bool]:
        held: dict[str, str] = dict(pushed.sent.get("files", {}))
        changed = [(path, f) for path, f in content.files.items() if held.get(path) != f.sha256]
        for path, file in changed:
            if file.path is not None:
                self.server.upload(pushed.sent["artifact_uri"], path, file.path)
            else:
                with tempfile.TemporaryDirectory() as folder:
                    made = Path(folder) / "file"
                    made.write_bytes(file.read())
                    self.server.upload(pushed.sent["artifact_uri"], path, made)
            held[path] = file.sha256
            pushed = self.record.put(pushed.with_sent(files=held))
            self.tally.add_sent("files", 1)
        return pushed, bool(changed)

    def _info(self, content: RunContent, pushed: PushedObject) -> tuple[PushedObject, bool]:
        info = {"name": content.name, "status": content.status, "end_ms": content.end_ms}
        if pushed.sent.get("info") == info:
            return pushed, False
        update: dict[str, Any] = {
            "run_id": pushed.remote_id,
            "status": content.status,
            "run_name": content.name,
        }
        if content.end_ms is not None:
            update["end_time"] = content.end_ms
        self.server.post("runs/update", update)
        return self.record.put(pushed.with_sent(info=info)), True

    def _log_batch(self, pushed: PushedObject, **items: list[dict[str, Any]]) -> None:
        self.server.post("runs/log-batch", {"run_id": pushed.remote_id, **items})


def _points(content: RunContent, rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The points of ``rows`` as ``log-batch`` takes them, of the metrics ``content`` sends."""
    return [
        {"key": key, "value": _metric_value(value), "timestamp": int(ts * 1000),
         "step": int(step)}
        for _, key, step, value, ts in rows
        if key in content.metric_keys
    ]  # fmt: skip


def _metric_value(value: float | None) -> float | str:
    """A metric value as MLflow's REST API reads it: protobuf's JSON spells NaN and the
    infinities as strings (a bare ``NaN`` token is misread: the point arrives as 0.0 and
    the rest of its batch is lost). NULL is how the registry stores NaN."""
    if value is None or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float(value)


def _finite(value: float | str) -> bool:
    return not isinstance(value, str)
