"""Reading runs back: lists with filters, sorting and pages; one run in full; comparisons.

Filters use the expression language of :mod:`jupyter_mlops.expressions`, compiled to
SQL with every value bound as a parameter. A bare name is looked up as a run field
(``status``, ``name``, ``duration``...), then as a metric (its last value), then as a
parameter; ``metrics.x``, ``params.x`` and ``tags.x`` say which explicitly.

    page = list_runs(registry, where="accuracy > 0.9", sort="-accuracy", limit=20)
    frame = runs_frame(registry, experiment="churn")        # one row per run
"""

from __future__ import annotations

import difflib
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import expressions as ex
from .errors import ExpressionError, InvalidInputError, NotFoundError
from .registry import Registry
from .tracking import decode_param

if TYPE_CHECKING:
    import pandas as pd

    from .snapshots import DataSnapshot

# Run fields a filter or sort may name, and the SQL that gives each.
RUN_FIELDS: dict[str, str] = {
    "id": "runs.id",
    "name": "runs.name",
    "status": "runs.status",
    "kind": "runs.kind",
    "experiment": "experiments.name",
    "started_at": "runs.started_at",
    "ended_at": "runs.ended_at",
    "duration": "(runs.ended_at - runs.started_at)",
    "notebook_path": "runs.notebook_path",
    "git_commit": "runs.git_commit",
    "git_dirty": "runs.git_dirty",
    "previous_run_id": "runs.previous_run_id",
}
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class RunRow:
    """One run in a list: its fields, parameters and the last value of each metric."""

    id: str
    name: str
    experiment: str
    status: str
    kind: str
    started_at: float
    ended_at: float | None
    notebook_path: str | None
    previous_run_id: str | None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at


@dataclass(frozen=True)
class RunsPage:
    """A page of runs and what is needed to show it (total, the keys present)."""

    runs: tuple[RunRow, ...]
    total: int
    offset: int
    limit: int | None
    param_keys: tuple[str, ...]
    metric_keys: tuple[str, ...]

    def telling_params(self, limit: int) -> tuple[str, ...]:
        """Up to ``limit`` parameter keys that tell these runs apart, for a narrow table.

        Keys whose value differs between the runs that have them come first, the keys
        most runs have first among those; keys with one value everywhere come last.
        """

        def rank(key: str) -> tuple[bool, int, str]:
            values = [repr(run.params[key]) for run in self.runs if key in run.params]
            return (len(set(values)) < 2, -len(values), key)

        return tuple(sorted(self.param_keys, key=rank)[:limit])


@dataclass(frozen=True)
class MetricSummary:
    key: str
    last: float | None
    last_step: int
    min: float | None
    min_step: int | None
    max: float | None
    max_step: int | None
    count: int


@dataclass(frozen=True)
class ParamRecord:
    key: str
    value: Any
    type: str
    source: str


@dataclass(frozen=True)
class CodeCell:
    seq: int
    execution_count: int | None
    cell_id: str | None
    source: str
    executed_at: float


@dataclass(frozen=True)
class SnapshotLink:
    id: str
    name: str
    role: str
    variable: str | None
    fingerprint: str
    kind: str
    n_rows: int
    n_columns: int
    materialized: bool


@dataclass(frozen=True)
class RunDetail:
    """Everything recorded about one run."""

    run: RunRow
    error: str | None
    git_commit: str | None
    git_branch: str | None
    git_dirty: bool | None
    params: tuple[ParamRecord, ...]
    metrics: tuple[MetricSummary, ...]
    series: dict[str, tuple[tuple[int, float | None], ...]]
    code: tuple[CodeCell, ...]
    environment: dict[str, Any] | None
    snapshots: tuple[SnapshotLink, ...]
    tags: dict[str, str]


# -- resolving a run -------------------------------------------------------------------------


def resolve_run(registry: Registry, ref: str) -> str:
    """The id of the run ``ref`` names: an id, a unique id prefix (4+), a name, or ``last``.

    A name that several runs share means the most recent of them.
    """
    ref = str(ref).strip()
    if not ref:
        raise InvalidInputError("Give a run id or name", hint="See %mlops runs for the list.")
    if ref in ("last", "latest", "-1"):
        row = registry.query_one("SELECT id FROM runs ORDER BY started_at DESC LIMIT 1")
        if row is None:
            raise NotFoundError("There are no runs yet", hint="Record one with %%mlops run NAME.")
        return str(row["id"])
    row = registry.query_one("SELECT id FROM runs WHERE id = ?", (ref,))
    if row is not None:
        return str(row["id"])
    if len(ref) >= 4 and all(c in "0123456789abcdef" for c in ref):
        rows = registry.query(
            "SELECT id FROM runs WHERE id >= ? AND id < ? LIMIT 2", (ref, ref + "g")
        )
        if len(rows) == 1:
            return str(rows[0]["id"])
        if len(rows) > 1:
            raise NotFoundError(
                f'Run id prefix "{ref}" matches several runs',
                hint="Give more characters of the id.",
            )
    row = registry.query_one(
        "SELECT id FROM runs WHERE name = ? ORDER BY started_at DESC LIMIT 1", (ref,)
    )
    if row is not None:
        return str(row["id"])
    raise NotFoundError(
        f'No run with id or name "{ref}"',
        hint="See %mlops runs (or `jupyter mlops runs`) for the runs recorded.",
    )


# -- compiling filters and sort keys ------------------------------------------------------------


@dataclass
class _Compiler:
    """Turns names into SQL, adding one join per metric, parameter or tag used."""

    registry: Registry
    source: str
    joins: list[str] = field(default_factory=list)
    join_params: list[Any] = field(default_factory=list)
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)

    def column(self, name: ex.Name) -> str:
        parts = name.parts
        if len(parts) == 2 and parts[0] in ("params", "param", "metrics", "metric", "tags", "tag"):
            kind = {"param": "params", "metric": "metrics", "tag": "tags"}.get(parts[0], parts[0])
            key = parts[1]
            if not self._exists(kind, key):
                raise self._unknown(name.dotted, kind, key)
            return self._join(kind, key)
        dotted = name.dotted
        if dotted in RUN_FIELDS:
            return RUN_FIELDS[dotted]
        is_metric = self._exists("metrics", dotted)
        is_param = self._exists("params", dotted)
        if is_metric and is_param:
            raise ExpressionError(
                f'"{dotted}" is both a metric and a parameter',
                expression=self.source,
                hint=f"Write metrics.{dotted} or params.{dotted}.",
            )
        if is_metric:
            return self._join("metrics", dotted)
        if is_param:
            return self._join("params", dotted)
        raise self._unknown(dotted, None, dotted)

    def _exists(self, kind: str, key: str) -> bool:
        table = {"metrics": "metric_summaries", "params": "params", "tags": "tags"}[kind]
        row = self.registry.query_one(f"SELECT 1 FROM {table} WHERE key = ? LIMIT 1", (key,))
        return row is not None

    def _join(self, kind: str, key: str) -> str:
        alias = self.aliases.get((kind, key))
        if alias is None:
            alias = f"j{len(self.aliases)}"
            self.aliases[(kind, key)] = alias
            table = {"metrics": "metric_summaries", "params": "params", "tags": "tags"}[kind]
            self.joins.append(
                f"LEFT JOIN {table} AS {alias} ON {alias}.run_id = runs.id AND {alias}.key = ?"
            )
            self.join_params.append(key)
        return f"{alias}.last" if kind == "metrics" else f"{alias}.value"

    def _unknown(self, shown: str, kind: str | None, key: str) -> ExpressionError:
        candidates = list(RUN_FIELDS)
        for table, prefix in (
            ("metric_summaries", "metrics."),
            ("params", "params."),
            ("tags", "tags."),
        ):
            keys = [
                r[0] for r in self.registry.query(f"SELECT DISTINCT key FROM {table} LIMIT 500")
            ]
            candidates += keys + [prefix + k for k in keys]
        close = difflib.get_close_matches(shown, candidates, n=3)
        what = {"metrics": "metric", "params": "parameter", "tags": "tag"}.get(kind or "", "column")
        hint = (
            f"Did you mean {', '.join(close)}?"
            if close
            else (
                "Known run fields: "
                + ", ".join(RUN_FIELDS)
                + "; metrics and params by their names."
            )
        )
        return ExpressionError(
            f'Unknown {what} "{shown}" in {self.source!r}', expression=self.source, hint=hint
        )

    def where(self, node: ex.Expression, params: list[Any]) -> str:
        if isinstance(node, ex.Name):
            return self.column(node)
        if isinstance(node, ex.Literal):
            if node.value is None:
                return "NULL"
            params.append(int(node.value) if isinstance(node.value, bool) else node.value)
            return "?"
        if isinstance(node, ex.Compare):
            left = self.where(node.left, params)
            if isinstance(node.right, ex.Literal) and node.right.value is None:
                if node.op not in ("==", "!="):
                    raise ExpressionError(
                        f"Cannot order against None in {self.source!r}", expression=self.source
                    )
                return f"({left} IS {'NOT ' if node.op == '!=' else ''}NULL)"
            right = self.where(node.right, params)
            op = "=" if node.op == "==" else node.op
            return f"({left} {op} {right})"
        if isinstance(node, ex.Membership):
            item = self.where(node.item, params)
            params.extend(int(v) if isinstance(v, bool) else v for v in node.values)
            marks = ", ".join("?" for _ in node.values) or "NULL"
            return f"({item} {'NOT IN' if node.negated else 'IN'} ({marks}))"
        if isinstance(node, ex.Logical):
            joined = f" {node.op.upper()} ".join(self.where(o, params) for o in node.operands)
            return f"({joined})"
        if isinstance(node, ex.Not):
            return f"(NOT {self.where(node.operand, params)})"
        if isinstance(node, ex.Arithmetic):
            left = self.where(node.left, params)
            right = self.where(node.right, params)
            if node.op == "/":
                return f"(CAST({left} AS REAL) / {right})"
            return f"({left} {node.op} {right})"
        if isinstance(node, ex.Negative):
            return f"(-{self.where(node.operand, params)})"
        raise ExpressionError(f"Cannot use {node!r} in a filter", expression=self.source)


def _order_by(compiler: _Compiler, sort: str | Sequence[str] | None) -> str:
    keys = [sort] if isinstance(sort, str) else list(sort or [])
    clauses = []
    for key in keys:
        key = key.strip()
        descending = key.startswith("-")
        name = key.lstrip("-+").strip()
        if not name:
            raise InvalidInputError(
                f'"{key}" is not a sort key',
                hint="Sort by a field, metric or param, e.g. -accuracy.",
            )
        try:
            parsed = ex.parse(name)
        except ExpressionError:
            parsed = ex.Name(tuple(name.split(".")))
        if not isinstance(parsed, ex.Name):
            raise InvalidInputError(
                f'"{name}" is not a sort key', hint="Sort by one name, e.g. -accuracy or params.lr."
            )
        column = compiler.column(parsed)
        clauses.append(f"({column} IS NULL), {column} {'DESC' if descending else 'ASC'}")
    clauses.append("runs.started_at DESC")
    return ", ".join(clauses)


# -- lists -------------------------------------------------------------------------------------


def list_runs(
    registry: Registry,
    *,
    experiment: str | None = None,
    where: str | None = None,
    sort: str | Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> RunsPage:
    """A page of runs, newest first unless ``sort`` says otherwise.

    ``sort`` takes names as in filters, ``-`` in front for descending; runs with no
    value for a sort key come last.
    """
    rows, total = _select(registry, experiment, where, sort, limit, offset, count=True)
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
    compiler = _Compiler(registry, where or "")
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
    order = _order_by(compiler, sort)
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
    rows = _tuples(registry, page_sql, page_bound)
    if not count or (limit is None and not offset):
        total = len(rows) + offset
    else:
        total = int(_tuples(registry, f"SELECT COUNT(*) {base}", bound)[0][0])
    return rows, total


def _tuples(registry: Registry, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
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
        params += _tuples(registry, f"SELECT run_id, key, value, type FROM params{clause}", bound)
        metrics += _tuples(
            registry, f"SELECT run_id, key, last FROM metric_summaries{clause}", bound
        )
    return params, metrics


_NATIVE_TYPES = frozenset(("str", "none", "other"))
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
) -> pd.DataFrame:
    """Runs as a DataFrame: one row per run, ``params.*`` and ``metrics.*`` columns.

    Metric columns hold each metric's last value (NaN when it was NaN or not logged).
    Built column by column from three queries, so 10,000 runs take a fraction of a second.
    """
    import numpy as np
    import pandas as pd

    rows, _ = _select(registry, experiment, where, sort, limit, 0, count=False)
    by_field = list(zip(*rows)) if rows else [() for _ in _RUN_COLUMNS]
    columns: dict[str, Any] = {name: list(by_field[i]) for i, name in enumerate(_RUN_COLUMNS)}
    run_ids: list[str] = columns["run_id"]
    started = np.array(columns["started_at"], dtype="float64")
    ended = np.array([np.nan if v is None else v for v in columns["ended_at"]], dtype="float64")
    columns["started_at"] = pd.to_datetime(started, unit="s", utc=True)
    columns["ended_at"] = pd.to_datetime(ended, unit="s", utc=True)
    columns["duration"] = ended - started
    total = registry.query_one("SELECT COUNT(*) FROM runs")[0]  # type: ignore[index]
    params, metrics = _raw_values(registry, run_ids, everything=len(rows) == total)
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


def experiments(registry: Registry) -> list[dict[str, Any]]:
    """Each experiment with its number of runs and when the last one started."""
    rows = registry.query(
        "SELECT experiments.name AS name, COUNT(runs.id) AS runs,"
        " MAX(runs.started_at) AS last_started_at FROM experiments"
        " LEFT JOIN runs ON runs.experiment_id = experiments.id"
        " GROUP BY experiments.id ORDER BY last_started_at DESC"
    )
    return [dict(row) for row in rows]


# -- one run -------------------------------------------------------------------------------------


def run_detail(registry: Registry, ref: str, *, series: bool = True) -> RunDetail:
    """Everything recorded about the run ``ref`` (id, prefix, name or ``last``)."""
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
    curves: dict[str, tuple[tuple[int, float | None], ...]] = {}
    if series:
        for summary in summaries:
            if summary.count > 1:
                curves[summary.key] = metric_points(registry, run_id, summary.key)
    code = tuple(
        CodeCell(r["seq"], r["execution_count"], r["cell_id"], r["source"], r["executed_at"])
        for r in registry.query("SELECT * FROM code_cells WHERE run_id = ? ORDER BY seq", (run_id,))
    )
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
    )


def metric_points(
    registry: Registry, run_id: str, key: str
) -> tuple[tuple[int, float | None], ...]:
    """(step, value) pairs of one metric of one run, by step; ``None`` stands for NaN."""
    return tuple(
        (step, value)
        for step, value in _tuples(
            registry,
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
        _tuples(registry, sql + " ORDER BY key, step, timestamp", bound),
        columns=["key", "step", "value", "timestamp"],
    )
    frame["value"] = frame["value"].astype("float64")
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s", utc=True)
    return frame


# -- comparisons --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Runs side by side: which parameters differ, each metric's values, curves to overlay."""

    runs: tuple[RunDetail, ...]
    params: tuple[tuple[str, tuple[Any, ...], bool], ...]  # (key, values per run, differs)
    metrics: tuple[tuple[str, tuple[float | None, ...]], ...]  # (key, last value per run)

    @property
    def differing_params(self) -> tuple[str, ...]:
        return tuple(key for key, _, differs in self.params if differs)


_MISSING = object()


def compare(registry: Registry, refs: Sequence[str]) -> Comparison:
    """Compare two or more runs: parameters (marking the ones that differ) and metrics."""
    if len(refs) < 2:
        raise InvalidInputError(
            "Compare needs at least two runs", hint="For example: %mlops compare baseline tuned"
        )
    details = tuple(run_detail(registry, ref) for ref in refs)
    param_keys = sorted({p.key for d in details for p in d.params})
    params = []
    for key in param_keys:
        values = tuple(d.run.params.get(key, _MISSING) for d in details)
        shown = tuple(None if v is _MISSING else v for v in values)
        differs = any(v != values[0] for v in values[1:])
        params.append((key, shown, differs))
    metric_keys = sorted({m.key for d in details for m in d.metrics})
    metrics = [(key, tuple(d.run.metrics.get(key) for d in details)) for key in metric_keys]
    return Comparison(details, tuple(params), tuple(metrics))


# -- snapshots -----------------------------------------------------------------------------------


def resolve_snapshot(registry: Registry, snapshot: object) -> str:
    """The id of a snapshot given as a record (anything with ``.id``), an id, or a name.

    A name that several snapshots share means the most recent of them.
    """
    ref = getattr(snapshot, "id", snapshot)
    if not isinstance(ref, str) or not ref:
        raise InvalidInputError(
            f"{snapshot!r} does not name a snapshot",
            hint="Give a snapshot record, its id, or its name.",
        )
    row = registry.query_one("SELECT id FROM snapshots WHERE id = ?", (ref,))
    if row is None:
        row = registry.query_one(
            "SELECT id FROM snapshots WHERE name = ? ORDER BY created_at DESC LIMIT 1", (ref,)
        )
    if row is None:
        names = [r[0] for r in registry.query("SELECT DISTINCT name FROM snapshots LIMIT 20")]
        raise NotFoundError(
            f'No snapshot with id or name "{ref}"',
            hint=f"Snapshots: {', '.join(names) or 'none yet'}. Take one with %mlops snapshot.",
        )
    return str(row[0])


def load_snapshot(registry: Registry, snapshot: object) -> DataSnapshot:
    """A stored snapshot (by record, id or name) as a :class:`DataSnapshot`, profile included.

    This is what a drift check or a data gate needs as its reference: the data itself is
    not loaded.
    """
    from .snapshots import DataSnapshot

    snapshot_id = resolve_snapshot(registry, snapshot)
    row = registry.query_one("SELECT * FROM snapshots WHERE id = ?", (snapshot_id,))
    assert row is not None
    return DataSnapshot.from_dict(
        {
            "name": row["name"],
            "kind": row["kind"],
            "fingerprint": row["fingerprint"],
            "fingerprint_scheme": row["fingerprint_scheme"],
            "n_rows": row["n_rows"],
            "n_columns": row["n_columns"],
            "schema": json.loads(row["schema"]),
            "profile": json.loads(row["profile"]),
            "index_policy": row["index_policy"],
            "index_hashed": bool(row["index_hashed"]),
            "index_schema": json.loads(row["index_schema"] or "[]"),
            "source_path": row["source_path"],
            "source_sha256": row["source_sha256"],
        }
    )
