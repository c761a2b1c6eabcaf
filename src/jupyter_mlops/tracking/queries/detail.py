"""One run in full: its fields, parameters, metrics, curves, code, environment and data.

A curve of up to :data:`~jupyter_mlops.tracking.previews.SERIES_FULL_UP_TO` points is
read whole; a longer one is read as its preview (the lowest and highest point of each of
at most 1,024 step buckets, and the last point: :mod:`jupyter_mlops.tracking.previews`),
unless ``full_series=True``. So a run's page costs the same for a million-point curve as
for a thousand-point one, and a spike in the curve still shows. ``RunDetail.downsampled``
names the curves given as previews; :func:`metric_points` and :func:`metrics_frame`
always give every point.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from ...registry.connection import Registry
from ...registry.previews import Points, decode_points
from ...registry.sqlite_errors import translate_error
from ..closure_rows import read_closure
from ..previews import SERIES_FULL_UP_TO, computed_preview
from ..reproductions import reproductions_of
from ..values import decode_param
from .artifacts import run_artifacts
from .records import CodeCell, MetricSummary, ParamRecord, RunDetail, RunRow, SnapshotLink
from .refs import resolve_run

if TYPE_CHECKING:
    import pandas as pd


def run_detail(
    registry: Registry, ref: str, *, series: bool = True, full_series: bool = False
) -> RunDetail:
    """Everything recorded about the run ``ref`` (id, prefix, name or ``last``), as of one
    moment even while other processes write.

    ``series``: read the curves (metrics logged more than once) at all. A curve longer
    than :data:`SERIES_FULL_UP_TO` points comes as its preview, named in
    ``RunDetail.downsampled``, unless ``full_series`` asks for every point::

        run_detail(registry, "baseline").series["loss"]                    # <= 2,049 points
        run_detail(registry, "baseline", full_series=True).series["loss"]  # every point
    """
    with registry.reading():
        return _read_run_detail(registry, ref, series, full_series)


def _read_run_detail(registry: Registry, ref: str, series: bool, full_series: bool) -> RunDetail:
    run_id = resolve_run(registry, ref)
    row = registry.query_one(
        "SELECT runs.*, experiments.name AS experiment FROM runs"
        " JOIN experiments ON experiments.id = runs.experiment_id WHERE runs.id = ?",
        (run_id,),
    )
    assert row is not None
    params = tuple(
        ParamRecord(r["key"], decode_param(r["value"], r["type"]), r["type"], r["source"])
        for r in registry.query("SELECT * FROM params WHERE run_id = ? ORDER BY key", (run_id,))
    )
    summaries = tuple(
        MetricSummary(
            r["key"],
            r["last"],
            r["last_step"],
            r["min"],
            r["min_step"],
            r["max"],
            r["max_step"],
            r["count"],
        )
        for r in registry.query(
            "SELECT * FROM metric_summaries WHERE run_id = ? ORDER BY key", (run_id,)
        )
    )
    curves: dict[str, Points] = {}
    downsampled: set[str] = set()
    if series:
        long_counts = {s.key: s.count for s in summaries if s.count > SERIES_FULL_UP_TO}
        previews = {} if full_series else _previews(registry, run_id, long_counts)
        for summary in summaries:
            if summary.count < 2:
                continue
            if full_series or summary.count <= SERIES_FULL_UP_TO:
                curves[summary.key] = metric_points(registry, run_id, summary.key)
            else:
                curves[summary.key] = previews[summary.key]
                downsampled.add(summary.key)
    code = tuple(
        CodeCell(r["seq"], r["execution_count"], r["cell_id"], r["source"], r["executed_at"])
        for r in registry.query("SELECT * FROM code_cells WHERE run_id = ? ORDER BY seq", (run_id,))
    )
    note = registry.query_one("SELECT note FROM run_notes WHERE run_id = ?", (run_id,))
    environment = None
    if row["environment_id"] is not None:
        env = registry.query_one(
            "SELECT * FROM environments WHERE id = ?", (row["environment_id"],)
        )
        if env is not None:
            environment = {
                "python": env["python"],
                "platform": env["platform"],
                "packages": json.loads(env["packages"]),
            }
    snapshots = tuple(
        SnapshotLink(
            r["id"],
            r["name"],
            r["role"],
            r["variable"],
            r["fingerprint"],
            r["kind"],
            r["n_rows"],
            r["n_columns"],
            r["artifact_sha256"] is not None,
        )
        for r in registry.query(
            "SELECT snapshots.*, run_snapshots.role, run_snapshots.variable FROM run_snapshots"
            " JOIN snapshots ON snapshots.id = run_snapshots.snapshot_id"
            " WHERE run_snapshots.run_id = ? ORDER BY snapshots.name",
            (run_id,),
        )
    )
    tags = {
        r["key"]: r["value"]
        for r in registry.query(
            "SELECT key, value FROM tags WHERE run_id = ? ORDER BY key", (run_id,)
        )
    }
    run = RunRow(
        row["id"],
        row["name"],
        row["experiment"],
        row["status"],
        row["kind"],
        row["started_at"],
        row["ended_at"],
        row["notebook_path"],
        row["previous_run_id"],
        params={p.key: p.value for p in params},
        metrics={m.key: m.last for m in summaries},
        parent_run_id=row["parent_run_id"],
        children=registry.query_tuples(
            "SELECT COUNT(*) FROM runs WHERE parent_run_id = ?", (run_id,)
        )[0][0],
    )
    return RunDetail(
        run=run,
        error=row["error"],
        git_commit=row["git_commit"],
        git_branch=row["git_branch"],
        git_dirty=None if row["git_dirty"] is None else bool(row["git_dirty"]),
        params=params,
        metrics=summaries,
        series=curves,
        code=code,
        environment=environment,
        snapshots=snapshots,
        tags=tags,
        note=None if note is None else str(note[0]),
        downsampled=frozenset(downsampled),
        closure=read_closure(registry, run_id),
        reproductions=reproductions_of(registry, run_id),
        artifacts=run_artifacts(registry, run_id),
        archived_at=row["archived_at"],
    )


def _previews(registry: Registry, run_id: str, counts: dict[str, int]) -> dict[str, Points]:
    """The previews of the curves ``counts`` names (key -> points logged): as stored when
    the stored one stands for every point, else computed from the points."""
    if not counts:
        return {}
    found = {}
    for key, count, steps, values in registry.query_tuples(
        "SELECT key, count, steps, vals FROM metric_previews WHERE run_id = ?", (run_id,)
    ):
        if counts.get(key) == count:
            found[key] = decode_points(steps, values)
    for key in sorted(counts.keys() - found.keys()):
        try:
            found[key] = computed_preview(registry.conn, run_id, key)[1]
        except sqlite3.DatabaseError as exc:
            raise translate_error(
                exc, registry.path, "read from the registry", busy_timeout=registry.busy_timeout
            ) from exc
    return found


def metric_points(registry: Registry, run_id: str, key: str) -> Points:
    """Every (step, value) pair of one metric of one run, by step; ``None`` stands for NaN."""
    return tuple(
        (step, value)
        for step, value in registry.query_tuples(
            "SELECT step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step, timestamp",
            (run_id, key),
        )
    )


def metrics_frame(registry: Registry, ref: str, key: str | None = None) -> pd.DataFrame:
    """Every logged point of a run (or of one metric): key, step, value, timestamp."""
    import pandas as pd

    run_id = resolve_run(registry, ref)
    sql = "SELECT key, step, value, timestamp FROM metrics WHERE run_id = ?"
    bound: list[Any] = [run_id]
    if key is not None:
        sql += " AND key = ?"
        bound.append(key)
    frame = pd.DataFrame.from_records(
        registry.query_tuples(sql + " ORDER BY key, step, timestamp", bound),
        columns=["key", "step", "value", "timestamp"],
    )
    frame["value"] = frame["value"].astype("float64")
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s", utc=True)
    return frame
