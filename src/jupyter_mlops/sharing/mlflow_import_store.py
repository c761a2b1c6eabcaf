"""One MLflow run written into the registry: added when new, brought up to date when it
changed in MLflow since it was imported, left alone when it did not.

What is compared, so that a second import writes nothing:

- the run's row (name, status, start and end, parent, kind, source, git);
- parameters, tags and the note: the ones MLflow has are set where they differ (a tag
  or note added here, with a key MLflow lacks, stays);
- each metric's latest point (step, value, time), which MLflow sends with the run: a
  series whose latest point differs is read again whole (paged, every step and time)
  and replaces the one here, with its summary and preview;
- each artifact file's path and size, from the listing of the run's artifacts (of a run
  pushed from a registry, only what it logged: ``artifacts/NAME`` is ``NAME`` here).

A run recorded in this registry and pushed to MLflow (it has no ``mlops.mlflow_run_id``
tag here) is the same run, and is left as it is: this registry is where it came from.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from ..registry.connection import Registry
from ..registry.previews import write_preview
from ..tracking.artifacts import media_type_of
from ..tracking.metric_summary import MetricSummary
from ..tracking.previews import SERIES_FULL_UP_TO
from ..tracking.shared_rows import experiment_id
from .mlflow_api import PROXIED_SCHEME, MlflowServer
from .mlflow_import_artifacts import store_file, walk
from .mlflow_import_pushed import pushed_file_name
from .mlflow_import_report import Tally
from .mlflow_import_runs import IMPORTED_TAG, LatestPoint, MlflowRun, metric_point_value

HISTORY_PAGE = 25_000
"""Points asked for per page of a metric's history (MLflow's own client asks as many)."""

Point = tuple[int, float | None, float]  # step, value (None: NaN), timestamp


def import_run(
    registry: Registry,
    server: MlflowServer,
    run: MlflowRun,
    parent_run_id: str | None,
    tally: Tally,
) -> None:
    """Add ``run`` to the registry, or bring it up to date; count what was done."""
    row = registry.query_one("SELECT * FROM runs WHERE id = ?", (run.id,))
    if row is not None and not _was_imported(registry, run.id):
        tally.count("runs", "unchanged")  # recorded here, pushed from here
        return
    wanted = _run_row(run, parent_run_id)
    changed_series = {
        key: _history(server, run.mlflow_id, key)
        for key, latest in run.latest.items()
        if not _same_latest(registry, run.id, key, latest)
    }
    new_files = _new_files(registry, server, run, tally)
    with registry.transaction(f'the import of MLflow run "{run.name}"') as conn:
        wanted["experiment_id"] = experiment_id(registry, conn, run.experiment)
        if row is None:
            wanted["heartbeat_at"] = time.time() if run.status == "running" else None
            columns = ", ".join(wanted)
            marks = ", ".join("?" * len(wanted))
            conn.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", list(wanted.values()))
            run_changed = True
        else:
            different = {k: v for k, v in wanted.items() if row[k] != v}
            if different.get("status") == "running":
                different["heartbeat_at"] = time.time()
            if different:
                sets = ", ".join(f"{k} = ?" for k in different)
                conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", [*different.values(), run.id])
            run_changed = bool(different)
        run_changed |= _write_params(conn, run)
        run_changed |= _write_tags(conn, run)
        run_changed |= _write_note(conn, run)
        for key, points in changed_series.items():
            existed = _replace_series(conn, run.id, key, points)
            tally.count("metric series", "updated" if existed else "added")
        tally.count("metric series", "unchanged", len(run.latest) - len(changed_series))
        for name, sha, size in new_files:
            existed = _link_file(conn, run, name, sha, size)
            tally.count("artifacts", "updated" if existed else "added")
    if row is None:
        tally.count("runs", "added")
    elif run_changed or changed_series or new_files:
        tally.count("runs", "updated")
    else:
        tally.count("runs", "unchanged")


def _was_imported(registry: Registry, run_id: str) -> bool:
    found = registry.query_one(
        "SELECT 1 FROM tags WHERE run_id = ? AND key = ?", (run_id, IMPORTED_TAG)
    )
    return found is not None


def _run_row(run: MlflowRun, parent_run_id: str | None) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "status": run.status,
        "kind": run.kind,
        "parent_run_id": parent_run_id,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "notebook_path": run.notebook_path,
        "git_commit": run.git_commit,
        "git_branch": run.git_branch,
        # MLflow records none (a pushed run's record may); clears a stale heartbeat's crash
        "error": run.error,
    }


def _write_params(conn: sqlite3.Connection, run: MlflowRun) -> bool:
    here = {
        key: (value, kind)
        for key, value, kind in conn.execute(
            "SELECT key, value, type FROM params WHERE run_id = ?", (run.id,)
        )
    }
    changed = [(k, v, t) for k, (v, t) in run.params.items() if here.get(k) != (v, t)]
    conn.executemany(
        "INSERT OR REPLACE INTO params (run_id, key, value, type, source)"
        " VALUES (?, ?, ?, ?, 'explicit')",
        [(run.id, key, value, kind) for key, value, kind in changed],
    )
    return bool(changed)


def _write_tags(conn: sqlite3.Connection, run: MlflowRun) -> bool:
    here = dict(conn.execute("SELECT key, value FROM tags WHERE run_id = ?", (run.id,)).fetchall())
    changed = [(k, v) for k, v in run.tags.items() if here.get(k) != v]
    conn.executemany(
        "INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?, ?, ?)",
        [(run.id, key, value) for key, value in changed],
    )
    return bool(changed)


def _write_note(conn: sqlite3.Connection, run: MlflowRun) -> bool:
    if run.note is None:
        return False
    row = conn.execute("SELECT note FROM run_notes WHERE run_id = ?", (run.id,)).fetchone()
    if row is not None and row[0] == run.note:
        return False
    # an upsert updates the row in place, so the full-text index's trigger fires
    conn.execute(
        "INSERT INTO run_notes (run_id, note, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (run_id) DO UPDATE SET note = excluded.note,"
        " updated_at = excluded.updated_at",
        (run.id, run.note, run.ended_at or run.started_at),
    )
    return True


# -- metrics ------------------------------------------------------------------------------


def _same_latest(registry: Registry, run_id: str, key: str, latest: LatestPoint) -> bool:
    """Whether the series here ends with MLflow's latest point (then it is unchanged)."""
    row = registry.query_one(
        "SELECT step, value, timestamp FROM metrics WHERE run_id = ? AND key = ?"
        " ORDER BY step DESC, timestamp DESC LIMIT 1",
        (run_id, key),
    )
    return (
        row is not None
        and row[0] == latest.step
        and row[1] == latest.value
        and round(row[2] * 1000) == round(latest.timestamp * 1000)
    )


def _history(server: MlflowServer, mlflow_run_id: str, key: str) -> list[Point]:
    """Every point of a metric, paged, in the order MLflow logged them."""
    request = {"run_id": mlflow_run_id, "metric_key": key, "max_results": HISTORY_PAGE}
    points = [
        (int(m.get("step", 0)), metric_point_value(m.get("value")), m["timestamp"] / 1000)
        for m in server.pages("GET", "metrics/get-history", request, "metrics")
    ]
    points.sort(key=lambda point: point[2])  # stable: same-time points keep MLflow's order
    return points


def _replace_series(conn: sqlite3.Connection, run_id: str, key: str, points: list[Point]) -> bool:
    """Store ``points`` as the whole series ``key`` of the run, with its summary and
    preview; return whether the run had the series before."""
    existed = conn.execute(
        "DELETE FROM metrics WHERE run_id = ? AND key = ?", (run_id, key)
    ).rowcount
    conn.executemany(
        "INSERT INTO metrics (run_id, key, step, value, timestamp) VALUES (?, ?, ?, ?, ?)",
        [(run_id, key, step, value, at) for step, value, at in points],
    )
    conn.execute("DELETE FROM metric_summaries WHERE run_id = ? AND key = ?", (run_id, key))
    conn.execute("DELETE FROM metric_previews WHERE run_id = ? AND key = ?", (run_id, key))
    if not points:
        return bool(existed)
    nan = float("nan")
    first_step, first_value, _ = points[0]
    summary = MetricSummary.starting(first_step, nan if first_value is None else first_value)
    for step, value, _at in points[1:]:
        summary.add(step, nan if value is None else value)
    conn.execute(
        "INSERT INTO metric_summaries (run_id, key, last, last_step, min, min_step, max,"
        " max_step, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        summary.row(run_id, key),
    )
    if summary.count > SERIES_FULL_UP_TO:
        write_preview(conn, [summary.preview_row(run_id, key)])
    return bool(existed)


# -- artifact files -------------------------------------------------------------------------


def _new_files(
    registry: Registry, server: MlflowServer, run: MlflowRun, tally: Tally
) -> list[tuple[str, str, int]]:
    """The run's artifact files that are not here with the same size, downloaded into the
    store: (path, sha256, size) each."""
    if not run.artifact_uri.startswith(PROXIED_SCHEME):
        if run.artifact_uri:
            tally.skip(
                f'run "{run.name}" ({run.mlflow_id}): its artifacts at {run.artifact_uri} are'
                " not served by the server's artifact proxy (start it with --serve-artifacts)"
            )
        return []
    here = dict(
        registry.query_tuples("SELECT name, size FROM run_artifacts WHERE run_id = ?", (run.id,))
    )
    listed = walk(server, run.artifact_uri)
    if run.pushed:  # only what the run logged: the push made the rest from its records
        files = [(path, pushed_file_name(path), size) for path, size in listed]
    else:
        files = [(path, path, size) for path, size in listed]
    unchanged = sum(1 for _, name, size in files if name is not None and here.get(name) == size)
    tally.count("artifacts", "unchanged", unchanged)
    return [
        (name, *store_file(server, registry, run.artifact_uri, path))
        for path, name, size in files
        if name is not None and here.get(name) != size
    ]


def _link_file(conn: sqlite3.Connection, run: MlflowRun, name: str, sha: str, size: int) -> bool:
    at = run.ended_at or run.started_at
    conn.execute(
        "INSERT OR IGNORE INTO artifacts (sha256, size, format, created_at) VALUES (?, ?, ?, ?)",
        (sha, size, "bytes", at),
    )
    existed = conn.execute(
        "DELETE FROM run_artifacts WHERE run_id = ? AND name = ?", (run.id, name)
    ).rowcount
    conn.execute(
        "INSERT INTO run_artifacts (run_id, name, sha256, kind, media_type, size, created_at)"
        " VALUES (?, ?, ?, 'file', ?, ?, ?)",
        (run.id, name, sha, media_type_of(name), size, at),
    )
    return bool(existed)
