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
    at step 0), curves (``series``: (step, value) points, such as a trial's intermediate
    values), tags, final status, and how long it took (seconds, when known)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    series: Mapping[str, Sequence[tuple[int, float]]] = field(default_factory=dict)
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
        curves = {key: [(0, raw)] for key, raw in child.metrics.items()}
        curves.update({key: list(points) for key, points in child.series.items() if points})
        for key, points in curves.items():
            check_key("metric", key)
            summary_rows.append(_summary(run_id, key, points, ended, metric_rows))
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


def _summary(
    run_id: str,
    key: str,
    points: Sequence[tuple[int, Any]],
    at: float,
    metric_rows: list[tuple[Any, ...]],
) -> tuple[Any, ...]:
    """Append the rows of one curve to ``metric_rows``; return its summary's row (last,
    min and max as a run's own summary has them; NaN is neither lowest nor highest)."""
    last_step = -1
    last: float | None = None
    low: tuple[float, int] | None = None
    high: tuple[float, int] | None = None
    for raw_step, raw in points:
        step = int(raw_step)
        value = metric_value(key, raw)
        finite = None if value != value else value
        metric_rows.append((run_id, key, step, finite, at))
        if step >= last_step:
            last_step, last = step, finite
        if finite is not None:
            if low is None or finite < low[0]:
                low = (finite, step)
            if high is None or finite > high[0]:
                high = (finite, step)
    return (
        run_id,
        key,
        last,
        last_step,
        None if low is None else low[0],
        None if low is None else low[1],
        None if high is None else high[0],
        None if high is None else high[1],
        len(points),
    )


def mark_best(parent: Run, best_ids: Sequence[str], *, tag: str = "mlops.best") -> None:
    """Make ``best_ids`` the children of ``parent`` tagged ``tag = true``, and no other:
    the best so far moves as a study goes on."""
    with parent.registry.transaction(f'the best child of run "{parent.name}"') as conn:
        conn.execute(
            "DELETE FROM tags WHERE key = ? AND run_id IN"
            " (SELECT id FROM runs WHERE parent_run_id = ?)",
            (tag, parent.id),
        )
        conn.executemany(
            "INSERT INTO tags (run_id, key, value) VALUES (?, ?, 'true')",
            [(run_id, tag) for run_id in best_ids],
        )
