"""Pages of runs: the order of every sort, keyset cursors, and the query plans that keep a
page's cost to its own rows (checked with EXPLAIN QUERY PLAN on the statements run)."""

from __future__ import annotations

import contextlib
import math
import random
import sqlite3
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.migrations import statements_of
from jupyter_mlops.registry.schema import MIGRATIONS
from jupyter_mlops.registry.tables.lists import LIST_INDEXES
from jupyter_mlops.tracking.queries.listing import list_runs, runs_frame
from jupyter_mlops.tracking.queries.records import RunsPage

N_RUNS = 90


@pytest.fixture
def runs(registry: Registry) -> Registry:
    """90 seeded runs in two experiments: metric acc (ties, NaNs, some never logged),
    params depth (ties) and lr, a tag on some, a few runs still running."""
    rng = random.Random(7)
    for index in range(N_RUNS):
        run = mlops.start_run(f"r{index % 30:02d}", experiment=rng.choice(["churn", "fraud"]))
        run.log_params(depth=rng.randint(2, 6), lr=rng.choice([0.01, 0.1, 0.3]))
        if index % 9 != 0:  # never logged by one run in nine
            run.log(acc=rng.choice([0.5, 0.7, 0.9, math.nan, rng.random()]))
        if index % 4 == 0:
            run.set_tags(team=rng.choice(["a", "b"]))
        if index % 15 != 1:  # a few stay running: no ended_at
            run.end()
        else:  # written now, not by the background flush while a test reads
            run.flush()
    return registry


def names(page: RunsPage) -> list[str]:
    return [run.id for run in page.runs]


def walk(registry: Registry, **kwargs: Any) -> Iterator[RunsPage]:
    """Every page of a list, following next_cursor."""
    page = list_runs(registry, limit=7, **kwargs)
    yield page
    while page.next_cursor is not None:
        page = list_runs(registry, limit=7, after=page.next_cursor, **kwargs)
        yield page


def expected_order(registry: Registry, key: str, descending: bool) -> list[str]:
    """The list's order computed in Python from the tables: runs with a value by value
    (ties by run id for metrics and params, by recording order for run fields, both in
    the direction of the sort), then the runs without one, newest first."""
    rows = registry.query_tuples("SELECT id, rowid, started_at, name, ended_at FROM runs")
    kind, _, name = key.rpartition(".")
    if kind == "metrics":
        found = dict(
            registry.query_tuples(
                "SELECT run_id, last FROM metric_summaries WHERE key = ?", (name,)
            )
        )
        value_of = {run_id: found.get(run_id) for run_id, *_ in rows}
        tie = {run_id: run_id for run_id, *_ in rows}
    elif kind == "params":
        found = dict(
            registry.query_tuples("SELECT run_id, value FROM params WHERE key = ?", (name,))
        )
        value_of = {run_id: found.get(run_id) for run_id, *_ in rows}
        tie = {run_id: run_id for run_id, *_ in rows}
    else:
        column = {"name": 3, "ended_at": 4}[name]
        value_of = {row[0]: row[column] for row in rows}
        tie = {row[0]: row[1] for row in rows}
    valued = [row for row in rows if value_of[row[0]] is not None]
    missing = [row for row in rows if value_of[row[0]] is None]
    valued.sort(key=lambda row: (value_of[row[0]], tie[row[0]]), reverse=descending)
    missing.sort(key=lambda row: (row[2], row[1]), reverse=True)
    return [row[0] for row in valued + missing]


SORTS = ["-metrics.acc", "metrics.acc", "params.depth", "-params.depth", "name", "-name",
         "ended_at", "-ended_at"]  # fmt: skip


@pytest.mark.parametrize("sort", SORTS)
def test_a_sorted_list_puts_values_in_order_ties_by_the_sort_and_missing_values_last(
    runs: Registry, sort: str
) -> None:
    whole = list_runs(runs, sort=sort)
    assert names(whole) == expected_order(runs, sort.lstrip("-"), sort.startswith("-"))
    assert whole.total == N_RUNS


WHERES = [None, "depth >= 4", "acc > 0.6 or lr == 0.3", "acc > 0.5 and lr in (0.1, 0.3)",
          "lr == 0.1 and not (acc > 0.8)", "depth > 3 and name != 'r01'", "tags.team == 'a' and acc < 0.9"]  # fmt: skip


@pytest.mark.parametrize("sort", [*SORTS, None, ["params.depth", "-name"]])
@pytest.mark.parametrize("where", WHERES)
def test_following_next_cursors_reads_the_whole_list_once_in_order(
    runs: Registry, sort: Any, where: str | None
) -> None:
    whole = list_runs(runs, sort=sort, where=where)
    assert whole.total == len(whole.runs) > 0  # the count and the rows read apart agree
    pages = list(walk(runs, sort=sort, where=where))
    assert [run_id for page in pages for run_id in names(page)] == names(whole)
    assert all(page.total == whole.total for page in pages)
    assert all(len(page.runs) == 7 for page in pages[:-1]) and pages[-1].next_cursor is None


@pytest.mark.parametrize("sort", ["-metrics.acc", "params.depth", "-name", None])
def test_previous_cursors_lead_back_through_the_same_pages(runs: Registry, sort: Any) -> None:
    pages = list(walk(runs, sort=sort, experiment="fraud"))
    assert pages[0].previous_cursor is None
    for earlier, later in zip(pages, pages[1:]):
        assert later.previous_cursor is not None
        back = list_runs(runs, sort=sort, experiment="fraud", limit=7, before=later.previous_cursor)
        assert names(back) == names(earlier)


def test_a_run_recorded_between_pages_neither_repeats_nor_hides_a_run(runs: Registry) -> None:
    first = list_runs(runs, sort="-metrics.acc", limit=10)
    with mlops.start_run("newcomer") as run:
        run.log(acc=2.0)  # would sort first, before the pages already read
    second = list_runs(runs, sort="-metrics.acc", limit=10, after=first.next_cursor)
    assert not set(names(first)) & set(names(second))
    assert names(second) == expected_order(runs, "metrics.acc", True)[11:21]


def test_offsets_still_page_and_agree_with_cursors(runs: Registry) -> None:
    by_cursor = [names(page) for page in walk(runs, sort="-metrics.acc")]
    by_offset = [
        names(list_runs(runs, sort="-metrics.acc", limit=7, offset=7 * index))
        for index in range(len(by_cursor))
    ]
    assert by_offset == by_cursor


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"after": "x", "before": "y"}, "after or before, not both"),
        ({"after": "x", "offset": 7}, "a cursor or an offset, not both"),
        ({"after": "not a cursor"}, "cannot be used"),
        ({"after": "W10"}, "cannot be used"),  # valid base64 of "[]"
    ],
)
def test_bad_cursors_are_refused_with_a_hint(
    runs: Registry, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        list_runs(runs, sort="-metrics.acc", limit=7, **kwargs)
    assert caught.value.hint


def test_a_cursor_of_another_sort_is_refused(runs: Registry) -> None:
    cursor = list_runs(runs, sort="-metrics.acc", limit=7).next_cursor
    with pytest.raises(InvalidInputError, match='sorted by "-metrics.acc", not by "name"'):
        list_runs(runs, sort="name", limit=7, after=cursor)


def test_the_frame_of_all_runs_matches_the_list(runs: Registry) -> None:
    frame = runs_frame(runs, sort="-metrics.acc")
    listed = list_runs(runs, sort="-metrics.acc").runs
    assert frame["run_id"].tolist() == [run.id for run in listed]
    depths = frame["params.depth"].tolist()
    assert [None if math.isnan(depth) else depth for depth in depths] == [
        run.params.get("depth") for run in listed
    ]


# -- the plans ------------------------------------------------------------------------------


def plans_of(registry: Registry, **kwargs: Any) -> dict[str, list[str]]:
    """The statements ``list_runs(**kwargs)`` ran against the runs, keyed "page" (the
    first that reads the runs' fields) and "count", each with its EXPLAIN QUERY PLAN."""
    statements: list[str] = []
    registry.conn.set_trace_callback(statements.append)
    try:
        list_runs(registry, **kwargs)
    finally:
        registry.conn.set_trace_callback(None)
    found: dict[str, list[str]] = {}
    for sql in statements:
        if sql.startswith("SELECT runs.id, runs.name") and "page" not in found:
            name = "page"
        elif sql.startswith("SELECT COUNT(*) FROM") and "count" not in found:
            name = "count"
        else:
            continue
        plan = registry.query_tuples(f"EXPLAIN QUERY PLAN {sql}")
        found[name] = [row[3] for row in plan]
    return found


def test_a_page_sorted_by_a_metric_reads_the_metric_index_in_order(runs: Registry) -> None:
    plans = plans_of(runs, sort="-metrics.acc", limit=50)
    page = plans["page"]
    assert page[0].startswith("SEARCH v USING COVERING INDEX metric_summaries_key_last (key=?")
    assert not any("TEMP B-TREE" in step for step in page)
    # The count of an unfiltered list reads the smallest index of runs, nothing else.
    assert len(plans["count"]) == 1
    assert plans["count"][0].startswith("SCAN runs USING COVERING INDEX")


def test_a_page_sorted_by_a_param_reads_the_param_index_in_order(runs: Registry) -> None:
    page = plans_of(runs, sort="params.depth", limit=50)["page"]
    assert page[0].startswith("SEARCH v USING COVERING INDEX params_key_value (key=?")
    assert not any("TEMP B-TREE" in step for step in page)


@pytest.mark.parametrize(
    ("sort", "index"),
    [(None, "runs_experiment_started"), ("name", "runs_experiment_name"),
     ("-status", "runs_experiment_status"), ("-duration", "runs_experiment_duration")],
)  # fmt: skip
def test_a_page_of_one_experiment_sorted_by_a_field_reads_its_index(
    runs: Registry, sort: str | None, index: str
) -> None:
    page = plans_of(runs, experiment="fraud", sort=sort, limit=50)["page"]
    assert page[0].startswith(f"SEARCH runs USING INDEX {index} (experiment_id=?")
    assert not any("TEMP B-TREE" in step for step in page)


def test_a_filtered_page_sorted_by_a_metric_reads_the_sort_index_and_counts_from_the_filter(
    runs: Registry,
) -> None:
    plans = plans_of(runs, where="depth >= 3", sort="-metrics.acc", limit=5)
    assert plans["page"][0].startswith("SEARCH v USING COVERING INDEX metric_summaries_key_last")
    assert not any("TEMP B-TREE" in step for step in plans["page"])
    # The count reads the filter's own index, and neither the sort's table nor the runs.
    assert plans["count"] == ["SEARCH d USING COVERING INDEX params_key_value (key=? AND value>?)"]


def test_a_page_of_few_matches_reads_the_filter_index_and_sorts_only_the_matches(
    runs: Registry,
) -> None:
    plans = plans_of(runs, where="lr == 0.3 and depth == 6", sort="-metrics.acc", limit=50)
    page = plans["page"]
    assert page[0] == "SEARCH runs USING INDEX sqlite_autoindex_runs_1 (id=?)"
    assert page[1].startswith("LIST SUBQUERY")
    assert "params_key_value (key=? AND value=?)" in page[2]
    assert page[2].startswith("SEARCH d") or page[3].startswith("SEARCH d")
    assert "SEARCH v USING PRIMARY KEY (run_id=? AND key=?)" in page
    assert not any(step.startswith("SCAN") for step in page)


def test_the_next_page_starts_inside_the_index_at_the_cursor(runs: Registry) -> None:
    cursor = list_runs(runs, sort="-metrics.acc", limit=7).next_cursor
    page = plans_of(runs, sort="-metrics.acc", limit=7, after=cursor)["page"]
    assert page[0] == (
        "SEARCH v USING COVERING INDEX metric_summaries_key_last"
        " (key=? AND last>? AND (last,run_id)<(?,?))"
    )
    assert not any("TEMP B-TREE" in step for step in page)


# -- the migration --------------------------------------------------------------------------


def as_made_before_the_list_indexes(registry: Registry) -> None:
    """Turn ``registry`` back into a file without migration 0006: it adds indexes only,
    so without them (and its row in schema_migrations, one fewer in ``user_version``, the
    count of applied migrations) the file is as a version without it left it."""
    created = [
        statement.split()[2]
        for statement in statements_of(LIST_INDEXES.sql)
        if statement.startswith("CREATE INDEX")
    ]
    with registry.transaction("downgrade"):
        for index in created:
            registry.conn.execute(f"DROP INDEX {index}")
        registry.conn.execute("DELETE FROM schema_migrations WHERE name = ?", (LIST_INDEXES.name,))
        registry.conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")


def test_a_registry_made_before_the_list_indexes_gains_them_and_lists_the_same(
    runs: Registry,
) -> None:
    expected = {sort: names(list_runs(runs, sort=sort)) for sort in SORTS}
    as_made_before_the_list_indexes(runs)
    runs.close()
    with contextlib.closing(sqlite3.connect(runs.path)) as old:  # a bare with only commits
        indexes = {row[0] for row in old.execute("SELECT name FROM sqlite_master")}
        assert "runs_experiment_name" not in indexes
        assert old.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) - 1

    with Registry.open(runs.path) as migrated:
        assert migrated.query_one("PRAGMA user_version")[0] == len(MIGRATIONS)
        for sort in SORTS:
            walked = [run_id for page in walk(migrated, sort=sort) for run_id in names(page)]
            assert walked == expected[sort], sort
        page = plans_of(migrated, experiment="fraud", sort="name", limit=50)["page"]
        assert page[0].startswith("SEARCH runs USING INDEX runs_experiment_name (experiment_id=?")


def test_the_frame_columns_have_the_types_pandas_infers_from_the_values(
    registry: Registry,
) -> None:
    values = [
        {"depth": 3, "lr": 0.1, "opt": "adam", "flag": True, "layers": [8, 4], "mixed": 1, "n": 1},
        {"depth": 5, "lr": 1, "opt": "sgd", "flag": False, "layers": [16], "mixed": "x", "n": None},
        {"depth": 7, "flag": True, "mixed": 2.5, "n": 2, "big": 2**70},
    ]
    for params in values:
        with mlops.start_run("typed") as run:
            run.log_params(**params)

    frame = runs_frame(registry)
    listed = list_runs(registry).runs
    for key in ("depth", "lr", "opt", "flag", "layers", "mixed", "n", "big"):
        inferred = pd.DataFrame({key: [run.params.get(key) for run in listed]})[key]
        column = frame[f"params.{key}"]
        assert column.dtype == inferred.dtype, key
        assert column.tolist() == inferred.tolist() or column.equals(inferred), key
