"""Lists of runs: pages with filters and sorting, DataFrames, the best run.

Plain :mod:`sqlite3` with tuple rows, not sqlite-utils: a listing is on the path of
every panel refresh and of ``mlops.runs()``, and sqlite-utils builds a dict per row,
which alone would add a large share to a 10,000-run DataFrame. Pages are read in the
order of an index and continued with cursors (:mod:`.pages`); the total is counted
apart, from the filter alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from ...errors import InvalidInputError, NotFoundError
from ...registry.connection import Registry
from .. import expressions as ex
from ..housekeeping import has_archived
from ..secrets import REDACTED_TYPE
from ..values import decode_param
from .detail import run_detail
from .filters import FilterCompiler, names_in, sort_keys
from .pages import (
    DEFAULT_SORT,
    N_RUN_COLUMNS,
    Cursor,
    PageReader,
    Row,
    Scope,
    sort_text,
)
from .records import ExperimentSummary, RunRow, RunsPage
from .refs import resolve_run
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
    after: str | None = None,
    before: str | None = None,
    top_level: bool = False,
    parent: str | None = None,
    archived: bool | None = False,
) -> RunsPage:
    """A page of runs, newest first unless ``sort`` says otherwise.

    ``sort`` takes names as in filters, ``-`` in front for descending; runs with no
    value for a sort key come last, newest first. Runs with equal values follow the
    direction of the sort (by run id for metrics, params and tags, in the order they
    were recorded for run fields), so each page is read from an index. ``code`` keeps
    the runs whose recorded cells or note contain each of its words (see :mod:`.search`).
    ``top_level`` keeps the runs that have no parent, each with its number of
    ``children``; ``parent`` (a run id, prefix or name) keeps that run's children.
    Archived runs are left out; ``archived=True`` lists only them, ``archived=None``
    every run (see :mod:`..housekeeping`).

    Page with ``after=page.next_cursor`` (or ``before=page.previous_cursor``): each page
    then costs the same, however deep. ``offset`` also works, at the cost of reading the
    runs it skips::

        page = list_runs(registry, code="RandomForest", where="accuracy > 0.9",
                         sort="-accuracy", limit=50)
        following = list_runs(registry, ..., limit=50, after=page.next_cursor)
    """
    _check_window(limit, offset)
    if after is not None and before is not None:
        raise InvalidInputError(
            "Give after or before, not both",
            hint="after= for the next page, before= for the previous.",
        )
    if offset and (after is not None or before is not None):
        raise InvalidInputError(
            "Give a cursor or an offset, not both",
            hint="A cursor already says where the page starts.",
        )
    with registry.reading():
        reader = _reader(registry, experiment, where, sort, code, top_level, parent, archived)
        if reader is None:
            return RunsPage((), 0, offset, limit, (), (), sort=_sort_text(registry, sort))
        total = reader.count()
        reader.settle_mode(total, limit, _runs_upper_bound(registry))
        given = after if after is not None else before
        cursor = None if given is None else Cursor.decode(given, reader.sort, reader.segments())
        backward = before is not None
        read = reader.read(limit=limit, offset=offset, cursor=cursor, backward=backward)
        rows = read.rows[::-1] if backward else read.rows
        params_by_run, metrics_by_run = _values_for(registry, [row[0] for row in rows])
        children = _children_counts(registry, [row[0] for row in rows])
        names = _experiment_names(registry)
    runs = tuple(
        _run_row(
            row,
            names,
            params_by_run.get(row[0], {}),
            metrics_by_run.get(row[0], {}),
            children.get(row[0], 0),
        )
        for row in rows
    )
    param_keys = sorted({k for r in runs for k in r.params})
    metric_keys = sorted({k for r in runs for k in r.metrics})
    # Read backward, the rows came last-first: the far edge is the page's first run.
    earlier = read.more if backward else (after is not None or offset > 0)
    later = True if backward else read.more
    return RunsPage(
        runs,
        total,
        offset,
        limit,
        tuple(param_keys),
        tuple(metric_keys),
        next_cursor=read.cursor(reader.sort, last=not backward) if rows and later else None,
        previous_cursor=read.cursor(reader.sort, last=backward) if rows and earlier else None,
        sort=reader.sort,
    )


def _sort_text(registry: Registry, sort: str | Sequence[str] | None) -> str:
    """The sort as a page reports it (``-metrics.auc``), resolved as a list would."""
    return sort_text(sort_keys(FilterCompiler(registry, ""), sort) or DEFAULT_SORT)


def _run_row(
    row: Sequence[Any],
    experiment_names: dict[int, str],
    params: dict[str, Any],
    metrics: dict[str, float | None],
    children: int = 0,
) -> RunRow:
    (
        run_id,
        name,
        experiment_id,
        status,
        kind,
        started_at,
        ended_at,
        notebook_path,
        previous,
        parent,
    ) = row[:N_RUN_COLUMNS]
    return RunRow(
        run_id,
        name,
        experiment_names[experiment_id],
        status,
        kind,
        started_at,
        ended_at,
        notebook_path,
        previous,
        params=params,
        metrics=metrics,
        parent_run_id=parent,
        children=children,
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
    "parent_run_id",
)


def _check_window(limit: object, offset: object) -> None:
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or limit < 1 or limit > 10**7
    ):
        raise InvalidInputError(f"limit must be a positive integer, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInputError(f"offset must be zero or more, got {offset!r}")


def _reader(
    registry: Registry,
    experiment: str | None,
    where: str | None,
    sort: str | Sequence[str] | None,
    code: str | None,
    top_level: bool = False,
    parent: str | None = None,
    archived: bool | None = False,
) -> PageReader | None:
    """What reads the list's pages, or None when a text search already found no run."""
    search = None if code is None else TextSearch.parse(code)
    expression = ex.parse(where) if where else None
    compiler = FilterCompiler(registry, where or "")
    keys = sort_keys(compiler, sort) or DEFAULT_SORT
    experiment_id = None if experiment is None else _experiment_id(registry, experiment)
    run_ids = None
    if search is not None:
        found = matching_run_ids(registry, search)
        if not found:
            return None
        run_ids = json.dumps(found)
    parent_id = None if parent is None else resolve_run(registry, parent)
    # Without any child run every run is top-level: no condition, the same plans.
    top_level = top_level and parent_id is None and has_children(registry)
    return PageReader(
        registry,
        Scope(
            experiment_id,
            run_ids,
            top_level=top_level,
            parent_run_id=parent_id,
            archived=archived_scope(registry, archived),
        ),
        expression,
        where or "",
        keys,
        known=compiler.known,
    )


def _experiment_id(registry: Registry, experiment: str) -> int | None:
    """The id of ``experiment``, or None when every run belongs to it (a list of it then
    needs no condition on the experiment: a single-experiment registry's lists read
    the same indexes as lists of every run)."""
    row = registry.query_one("SELECT id FROM experiments WHERE name = ?", (experiment,))
    if row is None:
        names = [r[0] for r in registry.query("SELECT name FROM experiments ORDER BY name")]
        raise NotFoundError(
            f'No experiment named "{experiment}"',
            hint=f"Experiments: {', '.join(names) or 'none yet'}.",
        )
    low, high = registry.query_tuples(
        "SELECT (SELECT MIN(experiment_id) FROM runs), (SELECT MAX(experiment_id) FROM runs)"
    )[0]
    return None if low == high == row[0] else int(row[0])


def _runs_upper_bound(registry: Registry) -> int:
    """At least the number of runs, read from the end of the table's b-tree."""
    row = registry.query_tuples("SELECT MAX(rowid) FROM runs")[0]
    return int(row[0] or 0)


def archived_scope(registry: Registry, archived: bool | None) -> Literal["hide", "only"] | None:
    """The archived condition of a list: ``archived`` False hides archived runs (no
    condition when none is archived: the list reads the same indexes as before runs
    could be archived), True keeps only them, None keeps every run."""
    if archived is None:
        return None
    if not isinstance(archived, bool):
        raise InvalidInputError(
            f"archived must be True, False or None, got {archived!r}",
            hint="archived=True lists the archived runs, None every run.",
        )
    if archived:
        return "only"
    return "hide" if has_archived(registry) else None


def has_children(registry: Registry) -> bool:
    """Whether any run has a parent: one probe of ``runs(parent_run_id, started_at)``."""
    return bool(registry.query_tuples("SELECT 1 FROM runs WHERE parent_run_id IS NOT NULL LIMIT 1"))


def _children_counts(registry: Registry, ids: list[str]) -> dict[str, int]:
    """How many children each of the runs ``ids`` has (runs without any are left out),
    counted from the index on ``parent_run_id``."""
    if not ids:
        return {}
    rows = registry.query_tuples(
        "SELECT parent_run_id, COUNT(*) FROM runs WHERE parent_run_id IN"
        " (SELECT value FROM json_each(?)) AND archived_at IS NULL GROUP BY parent_run_id",
        (json.dumps(ids),),
    )
    return {run_id: int(count) for run_id, count in rows}


def _experiment_names(registry: Registry) -> dict[int, str]:
    return dict(registry.query_tuples("SELECT id, name FROM experiments"))


def _raw_values(
    registry: Registry, ids: list[str]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(run_id, key, value, type) of params and (run_id, key, last) of metrics for ``ids``."""
    if not ids:
        return [], []
    marks = ", ".join("?" for _ in ids) if len(ids) <= 900 else None
    clause = (
        f" WHERE run_id IN ({marks})"
        if marks is not None
        else " WHERE run_id IN (SELECT value FROM json_each(?))"
    )
    bound = ids if marks is not None else [json.dumps(ids)]
    params = registry.query_tuples(f"SELECT run_id, key, value, type FROM params{clause}", bound)
    metrics = registry.query_tuples(
        f"SELECT run_id, key, last FROM metric_summaries{clause}", bound
    )
    return params, metrics


_NATIVE_TYPES = frozenset(("str", "none", "other", REDACTED_TYPE))


def _decoded(value: Any, type_name: str) -> Any:
    if type_name in _NATIVE_TYPES or (type_name in ("int", "float") and not isinstance(value, str)):
        return value
    return decode_param(value, type_name)


def _values_for(
    registry: Registry, ids: list[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, float | None]]]:
    params, metrics = _raw_values(registry, ids)
    params_by_run: dict[str, dict[str, Any]] = {}
    metrics_by_run: dict[str, dict[str, float | None]] = {}
    for run_id, key, value, type_name in params:
        params_by_run.setdefault(run_id, {})[key] = _decoded(value, type_name)
    for run_id, key, last in metrics:
        metrics_by_run.setdefault(run_id, {})[key] = last
    return params_by_run, metrics_by_run


# A parameter whose stored value is not its Python value: the type it is decoded from
# (NULL for the others, which costs nothing to fetch).
_TO_DECODE = (
    "CASE WHEN type IN ('bool', 'list', 'dict')"
    " OR (type IN ('int', 'float') AND typeof(value) = 'text') THEN type END"
)


def runs_frame(
    registry: Registry,
    *,
    experiment: str | None = None,
    where: str | None = None,
    sort: str | Sequence[str] | None = None,
    limit: int | None = None,
    code: str | None = None,
    after: str | None = None,
    top_level: bool = False,
    parent: str | None = None,
    archived: bool | None = False,
) -> pd.DataFrame:
    """Runs as a DataFrame: one row per run, ``params.*`` and ``metrics.*`` columns.

    Metric columns hold each metric's last value (NaN when it was NaN or not logged).
    Built column by column from three queries and placed with numpy, with no Python
    work per value but for the few parameters stored in another form (booleans,
    lists, dicts): 100,000 runs take about a second. ``code`` keeps the runs whose
    cells or note contain its words, as in :func:`list_runs`; ``after`` starts after
    the run a page's ``next_cursor`` ends on. ``parent_run_id`` says which run each run
    is a child of; ``top_level`` keeps the runs without a parent, ``parent`` the
    children of one run; ``archived`` as in :func:`list_runs`.
    """
    import numpy as np
    import pandas as pd

    _check_window(limit, 0)
    with registry.reading():  # the runs and their values as of one moment
        reader = _reader(registry, experiment, where, sort, code, top_level, parent, archived)
        rows: list[Row] = []
        everything = hidden_only = False
        if reader is not None:
            # Leaving out archived runs alone reads in order, each run checked as it comes.
            hidden_only = reader.scope == Scope(archived="hide")
            narrowed = reader.where is not None or (reader.scope != Scope() and not hidden_only)
            reader.mode = "matched" if narrowed else "ordered"
            cursor = None if after is None else Cursor.decode(after, reader.sort, reader.segments())
            rows = reader.read(limit=limit, cursor=cursor).rows
            everything = not narrowed and limit is None and cursor is None
        names = _experiment_names(registry)
        by_field = [list(map(itemgetter(i), rows)) for i in range(N_RUN_COLUMNS)]
        run_ids = by_field[0]
        if everything and hidden_only:
            clause = " WHERE run_id NOT IN (SELECT id FROM runs WHERE archived_at IS NOT NULL)"
            bound: list[str] = []
        elif everything:
            clause, bound = "", []
        else:
            clause, bound = (
                " WHERE run_id IN (SELECT value FROM json_each(?))",
                [json.dumps(run_ids)],
            )
        params = registry.query_tuples(
            f"SELECT run_id, key, value, {_TO_DECODE} FROM params{clause}", bound
        )
        metrics = registry.query_tuples(
            f"SELECT run_id, key, last FROM metric_summaries{clause}", bound
        )
        referenced = _referenced_values(registry, where, sort) if reader is not None else ()
    columns: dict[str, Any] = {name: by_field[i] for i, name in enumerate(_RUN_COLUMNS)}
    experiment_table = np.empty(max(names, default=0) + 1, dtype=object)
    for experiment_id, name in names.items():
        experiment_table[experiment_id] = name
    columns["experiment"] = experiment_table[np.asarray(by_field[2], dtype=np.int64)]
    started = np.array(by_field[5], dtype="float64")
    ended = np.array(by_field[6], dtype="float64")  # None becomes NaN
    columns["started_at"] = pd.to_datetime(started, unit="s", utc=True)
    columns["ended_at"] = pd.to_datetime(ended, unit="s", utc=True)
    columns["duration"] = ended - started
    position = dict(zip(run_ids, range(len(run_ids))))
    count = len(run_ids)
    for key, (where_to, values, decode) in sorted(_by_key(position, params).items()):
        to_decode = np.flatnonzero(pd.notna(decode))  # booleans, lists, dicts...
        column = _param_column(count, values, decoded=len(to_decode) > 0)
        column[where_to] = values
        for at in to_decode:
            column[where_to[at]] = decode_param(values[at], decode[at])
        # An object column goes as a list, for pandas to infer its type (bool, str...).
        columns[f"params.{key}"] = column.tolist() if column.dtype == object else column
    for key, (where_to, values, _) in sorted(_by_key(position, metrics).items()):
        column = np.full(count, np.nan)
        column[where_to] = np.asarray(values, dtype="float64")  # None (NaN) becomes NaN
        columns[f"metrics.{key}"] = column
    # The metrics and parameters the filter and the sort read are columns even when no
    # run in the frame has them (an empty result), so code that reads them never fails.
    for name in referenced:
        if name not in columns:
            columns[name] = np.full(count, np.nan if name.startswith("metrics.") else None)
    return pd.DataFrame(columns)


def _referenced_values(
    registry: Registry, where: str | None, sort: str | Sequence[str] | None
) -> tuple[str, ...]:
    """The ``metrics.*`` and ``params.*`` columns a filter and a sort read, in order."""
    compiler = FilterCompiler(registry, where or "")
    references = [compiler.resolve(name) for name in names_in(ex.parse(where))] if where else []
    references += [key.reference for key in sort_keys(compiler, sort)]
    return tuple(dict.fromkeys(r.text for r in references if r.kind in ("metrics", "params")))


def _param_column(count: int, values: Any, *, decoded: bool) -> Any:
    """An empty column for one parameter's ``values`` (of the runs that have it), of the
    dtype pandas would infer from them: int64 when every run has an integer, float64
    (NaN where missing) when all are numbers, else object (None where missing). Told
    by pandas' own ``infer_dtype``, which looks at the values in C."""
    import numpy as np
    import pandas as pd

    kind = "mixed" if decoded else pd.api.types.infer_dtype(values, skipna=True)
    if kind == "integer" and len(values) == count and not pd.isna(values).any():
        return np.zeros(count, dtype=np.int64)
    if kind in ("integer", "floating", "mixed-integer-float"):
        return np.full(count, np.nan)
    return np.full(count, None, dtype=object)


def _by_key(
    position: dict[str, int], rows: list[tuple[Any, ...]]
) -> dict[str, tuple[Any, Any, Any]]:
    """Rows of ``(run_id, key, value[, type to decode from])`` grouped by key, as numpy
    arrays: where each row's run is in the frame, its value, and the type to decode it
    from (None when the value is ready, or without that column).
    Columns are taken with ``itemgetter`` and grouped by numpy and pandas: no Python
    statement runs per row.
    """
    import numpy as np
    import pandas as pd

    if not rows:
        return {}
    n = len(rows)

    def field(index: int) -> Any:
        return np.fromiter(map(itemgetter(index), rows), object, n)

    where_to = np.fromiter(map(position.__getitem__, map(itemgetter(0), rows)), np.int64, n)
    codes, keys = pd.factorize(field(1))
    values = field(2)
    decode = field(3) if len(rows[0]) > 3 else None
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=len(keys)))[:-1]
    return {
        str(key): (where_to[group], values[group], None if decode is None else decode[group])
        for key, group in zip(keys, np.split(order, bounds))
    }


def best_run(
    registry: Registry, metric: str, *, maximize: bool = True, experiment: str | None = None
) -> RunRow:
    """The run with the highest (or lowest) last value of ``metric``.

    Answered from the ``(key, last)`` index of metric summaries: one index probe,
    whatever the number of runs. Archived runs do not count.
    """
    order = "DESC" if maximize else "ASC"
    # Checked run by run as the index is read (a primary-key probe each), so the query
    # still stops at the first run that is not archived.
    visible = (
        " AND (SELECT archived_at FROM runs WHERE runs.id = metric_summaries.run_id) IS NULL"
        if has_archived(registry)
        else ""
    )
    if experiment is None:
        row = registry.query_one(
            f"SELECT run_id FROM metric_summaries WHERE key = ? AND last IS NOT NULL{visible}"
            f" ORDER BY last {order} LIMIT 1",
            (metric,),
        )
    else:
        row = registry.query_one(
            "SELECT metric_summaries.run_id FROM metric_summaries"
            " JOIN runs ON runs.id = metric_summaries.run_id"
            " JOIN experiments ON experiments.id = runs.experiment_id"
            f" WHERE metric_summaries.key = ? AND metric_summaries.last IS NOT NULL"
            f" AND experiments.name = ?{visible} ORDER BY metric_summaries.last {order} LIMIT 1",
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
    recently used first; archived runs are not counted."""
    rows = registry.query_tuples(
        "SELECT experiments.name AS name, COUNT(runs.id) AS runs,"
        " MAX(runs.started_at) AS last_started_at FROM experiments"
        " LEFT JOIN runs ON runs.experiment_id = experiments.id AND runs.archived_at IS NULL"
        " GROUP BY experiments.id ORDER BY last_started_at DESC"
    )
    return tuple(ExperimentSummary(name, int(runs), last) for name, runs, last in rows)
