"""Child runs recorded after the fact, many at once: the candidates of a finished search,
the trials of a study.

A search has already run when its results can be read, so its candidates are not
started and ended one by one (each start probes git and the environment and writes a
row): they are written in one transaction, each a finished run whose parent is the
run that was active, with the parent's experiment, notebook, cell, git commit and
environment. Parameters, tags and single-value metrics go through the same checks and
secret redaction as those a run logs itself.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .secrets import redact_param, redact_tag
from .values import check_key, encode_param, metric_value, new_id, valid_text

if TYPE_CHECKING:
    from .run import Run


@dataclass(frozen=True)
class ChildRecord:
    """One finished child run to record: its name, parameters, metrics (one value each,
    at step 0), tags, final status, and how long it took (seconds, when known)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    status: str = "finished"
    duration: float | None = None


def record_children(
    parent: Run, children: Sequence[ChildRecord], *, param_source: str = "estimator"
) -> list[str]:
    """Write ``children`` as finished child runs of ``parent`` in one transaction; return
    their ids, in the order given. Nothing is written when one of them is invalid (a
    bad name or metric): the :class:`~jupyter_mlops.errors.InvalidInputError` says which.

    Their start times follow each other by a microsecond, in the order given, so a
    list of the parent's children sorted by start shows them in that order.
    """
    now = time.time()
    run_rows: list[tuple[Any, ...]] = []
    param_rows: list[tuple[Any, ...]] = []
    metric_rows: list[tuple[Any, ...]] = []
    summary_rows: list[tuple[Any, ...]] = []
    tag_rows: list[tuple[Any, ...]] = []
    ids: list[str] = []
    for index, child in enumerate(children):
        run_id = new_id()
        ids.append(run_id)
        check_key("run", child.name)
        started = now + index * 1e-6
        ended = started + (child.duration or 0.0)
        run_rows.append((run_id, child.name, child.status, started, ended, ended))
        for key, value in child.params.items():
            check_key("parameter", key)
            stored, type_name = encode_param(redact_param(key, value))
            param_rows.append((run_id, key, stored, type_name, param_source))
        for key, raw in child.metrics.items():
            check_key("metric", key)
            value = metric_value(key, raw)
            finite = None if value != value else value
            metric_rows.append((run_id, key, 0, finite, ended))
            first = None if finite is None else 0
            summary_rows.append((run_id, key, finite, 0, finite, first, finite, first, 1))
        for key, text in child.tags.items():
            check_key("tag", key)
            tag_rows.append((run_id, key, valid_text(redact_tag(key, str(text)))))
    if not ids:
        return ids
    with parent.registry.transaction(f'{len(ids)} child run(s) of run "{parent.name}"') as conn:
        conn.executemany(
            "INSERT INTO runs (id, experiment_id, name, status, kind, parent_run_id,"
            " started_at, ended_at, heartbeat_at, host, pid, process_token, notebook_path,"
            " cell_id, git_commit, git_branch, git_dirty, environment_id)"
            " SELECT ?, experiment_id, ?, ?, kind, id, ?, ?, ?, host, pid, process_token,"
            " notebook_path, cell_id, git_commit, git_branch, git_dirty, environment_id"
            " FROM runs WHERE id = ?",
            [(*row, parent.id) for row in run_rows],
        )
        conn.executemany(
            "INSERT INTO params (run_id, key, value, type, source) VALUES (?, ?, ?, ?, ?)",
            param_rows,
        )
        conn.executemany(
            "INSERT INTO metrics (run_id, key, step, value, timestamp) VALUES (?, ?, ?, ?, ?)",
            metric_rows,
        )
        conn.executemany(
            "INSERT INTO metric_summaries"
            " (run_id, key, last, last_step, min, min_step, max, max_step, count)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            summary_rows,
        )
        conn.executemany("INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)", tag_rows)
    return ids
