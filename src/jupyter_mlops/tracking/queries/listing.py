"""Lists of runs: pages with filters and sorting, DataFrames, the best run.

Plain :mod:`sqlite3` with tuple rows, not sqlite-utils: a listing is on the path of
every panel refresh and of ``mlops.runs()``, and sqlite-utils builds a dict per row,
which alone would add a large share to a 10,000-run DataFrame.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...errors import ExpressionError, InvalidInputError, NotFoundError
from ...registry.connection import Registry
from .. import expressions as ex
from ..secrets import REDACTED_TYPE
from ..values import decode_param
from .detail import run_detail
from .filters import FilterCompiler, order_by_clause
from .records import ExperimentSummary, RunRow, RunsPage
from .search import TextSearch, matching_run_ids

if TYPE_CHECKING:
    import pandas as pd


MAX_PAGE_SIZE = 1000


def list_runs(
    registry: Registry,
    *,
    experiment: str | None = None,
    where: str | None = None,
    sort: str | Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    code: str | None = None,
) -> RunsPage:
    """A page of runs, newest first unless ``sort`` says otherwise.

    ``sort`` takes names as in filters, ``-`` in front for descending; runs with no
    value for a sort key come last. ``code`` keeps the runs whose recorded cells or
    note contain each of its words (see :mod:`.search`)::

        list_runs(registry, code="RandomForest", where="accuracy > 0.9", sort="-accuracy")
    """
    with registry.reading():
        rows, total = _select(registry, experiment, where, sort, limit, offset, code, count=True)
        params_by_run, metrics_by_run = _values_for(
            registry, [row[0] for row in rows], everything=len(rows) == total
        )
    runs = tuple(
        _run_row(row, params_by_run.get(row[0], {}), metrics_by_run.get(row[0], {})) for row in rows
    )
    param_keys = sorted({k for r in runs for k in r.params})
    metric_keys = sorted({k for r in runs for k in r.metrics})
    return RunsPage(runs, total, offset, limit, tuple(param_keys), tuple(metric_keys))


def _run_row(
    row: Sequence[Any], params: dict[str, Any], metrics: dict[str, float | None]
) -> RunRow:
    run_id, name, experiment, status, kind, started_at, ended_at, notebook_path, previous = row
    return RunRow(
        run_id,
        name,
        experiment,
        status,
        kind,
        started_at,
        ended_at,
        notebook_path,
        previous,
        params=params,
        metrics=metrics,
    )


_RUN_COLUMNS = (
    "run_id",
    "name",
    "experiment",
    "status",
    "kind",
    "started_at",
    "ended_at",
    "notebook_path",
    "previous_run_id",
)


def _select(
    registry: Registry,
    experiment: str | None,
    where: str | None,
    sort: str | Sequence[str] | None,
    limit: int | None,
    offset: int,
    code: str | None,
    *,
    count: bool,
) -> tuple[list[tuple[Any, ...]], int]:
    """The runs' own fields (``_RUN_COLUMNS``) for one page, and the total without paging."""
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or limit < 1 or limit > 10**7
    ):
        raise InvalidInputError(f"limit must be a positive integer, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInputError(f"offset must be zero or more, got {offset!r}")
    search = None if code is None else TextSearch.parse(code)
    compiler = FilterCompiler(registry, where or "")
    conditions: list[str] = []
    params: list[Any] = []
    if experiment is not None:
        row = registry.query_one("SELECT id FROM experiments WHERE name = ?", (experiment,))
        if row is None:
            names = [r[0] for r in registry.query("SELECT name FROM experiments ORDER BY name")]
            raise NotFoundError(
                f'No experiment named "{experiment}"',
                hint=f"Experiments: {', '.join(names) or 'none yet'}.",
            )
        conditions.append("runs.experiment_id = ?")
        params.append(row["id"])
    if where:
        conditions.append(compiler.where(ex.parse(where), params))
    order = order_by_clause(compiler, sort)
    if search is not None:
        found = matching_run_ids(registry, search)
        if not found:
            return [], 0
        conditions.append("runs.id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(found))
    where_sql = " WHERE " + " AND ".join(conditions) if conditions else ""
    base = (
        f"FROM runs JOIN experiments ON experiments.id = runs.experiment_id"
        f" {' '.join(compiler.joins)}{where_sql}"
    )
    bound = [*compiler.join_params, *params]
    page_sql = (
        "SELECT runs.id, runs.name, experiments.name, runs.status, runs.kind, runs.started_at,"
        f" runs.ended_at, runs.notebook_path, runs.previous_run_id {base} ORDER BY {order}"
    )
    page_bound = list(bound)
    if limit is not None:
        page_sql += " LIMIT ? OFFSET ?"
        page_bound += [limit, offset]
    elif offset:
        page_sql += " LIMIT -1 OFFSET ?"
        page_bound += [offset]
    rows = _filtered(registry, page_sql, page_bound)
    if not count or (limit is None and not offset):
        total = len(rows) + offset
    else:
        total = int(_filtered(registry, f"SELECT COUNT(*) {base}", bound)[0][0])
    return rows, total


def _filtered(registry: Registry, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a query built from a user's filter: an SQL error there is the filter's."""
    cursor = registry.conn.cursor()
    cursor.row_factory = None
    try:
        return cursor.execute(sql, params).fetchall()
    except sqlite3.DatabaseError as exc:
        raise ExpressionError(f"The filter could not run: {exc}", expression=sql) from exc


def _raw_values(
    registry: Registry, ids: list[str], everything: bool
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(run_id, key, value, type) of params and (run_id, key, last) of metrics for ``ids``."""
    if not ids:
        return [], []
    chunks: list[list[str] | None] = (
        [None] if everything else [ids[i : i + 900] for i in range(0, len(ids), 900)]
    )
    params: list[tuple[Any, ...]] = []
    metrics: list[tuple[Any, ...]] = []
    for chunk in chunks:
        clause, bound = (
            ("", [])
            if chunk is None
            else (f" WHERE run_id IN ({', '.join('?' for _ in chunk)})", chunk)
        )
        params += registry.query_tuples(
            f"SELECT run_id, key, value, type FROM params{clause}", bound
        )
        metrics += registry.query_tuples(
            f"SELECT run_id, key, last FROM metric_summaries{clause}", bound
        )
    return params, metrics


_NATIVE_TYPES = frozenset(("str", "none", "other", REDACTED_TYPE))


_NUMBERS = frozenset(("int", "float"))


def _decoded(value: Any, type_name: str) -> Any:
    if type_name in _NATIVE_TYPES or (type_name in ("int", "float") and not isinstance(value, str)):
        return value
    return decode_param(value, type_name)


def _values_for(
    registry: Registry, ids: list[str], *, everything: bool
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, float | None]]]:
    params, metrics = _raw_values(registry, ids, everything)
    params_by_run: dict[str, dict[str, Any]] = {}
    metrics_by_run: dict[str, dict[str, float | None]] = {}
    for run_id, key, value, type_name in params:
        params_by_run.setdefault(run_id, {})[key] = _decoded(value, type_name)
    for run_id, key, last in metrics:
        metrics_by_run.setdefault(run_id, {})[key] = last
    return params_by_run, metrics_by_run


def runs_frame(
    registry: Registry,
    *,
    experiment: str | None = None,
    where: str | None = None,
    sort: str | Sequence[str] | None = None,
    limit: int | None = None,
    code: str | None = None,
) -> pd.DataFrame:
    """Runs as a DataFrame: one row per run, ``params.*`` and ``metrics.*`` columns.

    Metric columns hold each metric's last value (NaN when it was NaN or not logged).
    Built column by column from three queries, so 10,000 runs take a fraction of a second.
    ``code`` keeps the runs whose cells or note contain its words, as in :func:`list_runs`.
    """
    import numpy as np
    import pandas as pd

    with registry.reading():  # the runs and their values as of one moment
        rows, _ = _select(registry, experiment, where, sort, limit, 0, code, count=False)
        total = registry.query_one("SELECT COUNT(*) FROM runs")[0]  # type: ignore[index]
        run_ids = [row[0] for row in rows]
        params, metrics = _raw_values(registry, run_ids, everything=len(rows) == total)
    by_field = list(zip(*rows)) if rows else [() for _ in _RUN_COLUMNS]
    columns: dict[str, Any] = {name: list(by_field[i]) for i, name in enumerate(_RUN_COLUMNS)}
    started = np.array(columns["started_at"], dtype="float64")
    ended = np.array([np.nan if v is None else v for v in columns["ended_at"]], dtype="float64")
    columns["started_at"] = pd.to_datetime(started, unit="s", utc=True)
    columns["ended_at"] = pd.to_datetime(ended, unit="s", utc=True)
    columns["duration"] = ended - started
    # Pivot in plain Python: each value goes straight to its run's row in its key's column.
    position = {run_id: i for i, run_id in enumerate(run_ids)}
    count = len(run_ids)
    param_columns: dict[str, list[Any]] = {}
    for run_id, key, value, type_name in params:
        column = param_columns.get(key)
        if column is None:
            column = param_columns[key] = [None] * count
        if type_name in _NATIVE_TYPES or (type_name in _NUMBERS and type(value) is not str):
            column[position[run_id]] = value
        else:
            column[position[run_id]] = decode_param(value, type_name)
    nan = float("nan")
    metric_columns: dict[str, list[float]] = {}
    for run_id, key, last in metrics:
        column = metric_columns.get(key)
        if column is None:
            column = metric_columns[key] = [nan] * count
        if last is not None:
            column[position[run_id]] = last
    for key in sorted(param_columns):
        columns[f"params.{key}"] = param_columns[key]
    for key in sorted(metric_columns):
        columns[f"metrics.{key}"] = np.array(metric_columns[key], "float64")
    return pd.DataFrame(columns)


def best_run(
    registry: Registry, metric: str, *, maximize: bool = True, experiment: str | None = None
) -> RunRow:
    """The run with the highest (or lowest) last value of ``metric``.

    Answered from the ``(key, last)`` index of metric summaries: one index probe,
    whatever the number of runs.
    """
    order = "DESC" if maximize else "ASC"
    if experiment is None:
        row = registry.query_one(
            f"SELECT run_id FROM metric_summaries WHERE key = ? AND last IS NOT NULL"
            f" ORDER BY last {order} LIMIT 1",
            (metric,),
        )
    else:
        row = registry.query_one(
            "SELECT metric_summaries.run_id FROM metric_summaries"
            " JOIN runs ON runs.id = metric_summaries.run_id"
            " JOIN experiments ON experiments.id = runs.experiment_id"
            f" WHERE metric_summaries.key = ? AND metric_summaries.last IS NOT NULL"
            f" AND experiments.name = ? ORDER BY metric_summaries.last {order} LIMIT 1",
            (metric, experiment),
        )
    if row is None:
        raise NotFoundError(
            f'No run has logged "{metric}"'
            + (f' in experiment "{experiment}"' if experiment else ""),
            hint="Check the metric's name with %mlops runs.",
        )
    return run_detail(registry, row[0], series=False).run


def experiments(registry: Registry) -> tuple[ExperimentSummary, ...]:
    """Each experiment with its number of runs and when the last one started, the most
    recently used first."""
    rows = registry.query_tuples(
        "SELECT experiments.name AS name, COUNT(runs.id) AS runs,"
        " MAX(runs.started_at) AS last_started_at FROM experiments"
        " LEFT JOIN runs ON runs.experiment_id = experiments.id"
        " GROUP BY experiments.id ORDER BY last_started_at DESC"
    )
    return tuple(ExperimentSummary(name, int(runs), last) for name, runs, last in rows)
