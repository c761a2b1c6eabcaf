"""Runs have parents: nested runs, loops inside run cells and spans, the parent in records,
filters, lists and the migration that adds it to existing registries."""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Any

import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import InvalidInputError, NotFoundError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.registry.schema import MIGRATIONS
from jupyter_mlops.registry.tables.parents import RUN_PARENTS
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.tracking.queries.listing import list_runs, runs_frame

from .conftest import run_cell


def parents(registry: Registry) -> dict[str, tuple[str | None, str | None]]:
    """name -> (parent's name, previous run's name) of every run."""
    rows = registry.query_tuples(
        "SELECT r.name, p.name, q.name FROM runs r LEFT JOIN runs p ON p.id = r.parent_run_id"
        " LEFT JOIN runs q ON q.id = r.previous_run_id"
    )
    return {name: (parent, previous) for name, parent, previous in rows}


def test_a_run_started_inside_another_is_its_child_and_log_follows_the_active_run(
    registry: Registry,
) -> None:
    with mlops.start_run("sweep") as sweep:
        mlops.log(before=1.0)
        for lr in (0.01, 0.1, 0.3):
            with mlops.start_run(f"lr={lr}") as child:
                assert mlops.active_run() is child
                assert child.parent_run_id == sweep.id
                mlops.log(score=lr * 2)
            assert mlops.active_run() is sweep  # the parent is active again
        mlops.log(after=2.0)
    found = parents(registry)
    assert found["sweep"] == (None, None)
    # children of one parent are not a chain of previous-run links
    assert {found[f"lr={lr}"] for lr in (0.01, 0.1, 0.3)} == {("sweep", None)}
    sweep_detail = run_detail(registry, sweep.id)
    assert set(sweep_detail.run.metrics) == {"before", "after"}
    assert sweep_detail.run.children == 3
    child_detail = run_detail(registry, "lr=0.3")
    assert child_detail.run.metrics == {"score": 0.6}
    assert child_detail.run.parent_run_id == sweep.id


def test_parent_can_be_named_or_refused(registry: Registry) -> None:
    with mlops.start_run("study") as study:
        pass
    with mlops.start_run("trial", parent=study.id) as trial:
        pass
    with mlops.start_run("by-name", parent="study") as named:
        pass
    with mlops.start_run("outer"):
        with mlops.start_run("free", parent=False) as free:
            pass
    assert trial.parent_run_id == named.parent_run_id == study.id
    assert free.parent_run_id is None
    with pytest.raises(NotFoundError, match='"no-such-run"'):
        mlops.start_run("orphan", parent="no-such-run")
    with pytest.raises(InvalidInputError, match="neither a run nor a run id"):
        mlops.start_run("odd", parent=3.5)  # type: ignore[arg-type]
    assert mlops.active_run() is None


def test_a_child_is_recorded_in_its_parents_experiment_unless_it_names_one(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_EXPERIMENT", "from-the-environment")
    with mlops.start_run("sweep", experiment="churn") as sweep:
        with mlops.start_run("inner") as inner:
            pass
        with mlops.start_run("elsewhere", experiment="other") as elsewhere:
            pass
    with mlops.start_run("later", parent=sweep.id) as later:  # the parent has ended
        pass
    with mlops.start_run("free", parent=False) as free:
        pass
    experiments = {run.name: run.experiment for run in (sweep, inner, elsewhere, later, free)}
    assert experiments == {
        "sweep": "churn",
        "inner": "churn",
        "elsewhere": "other",
        "later": "churn",
        "free": "from-the-environment",
    }
    listed = mlops.runs(experiment=None).set_index("name")["experiment"].to_dict()
    assert listed == experiments


def test_a_loop_inside_a_run_cell_makes_children_and_ends_the_forgotten_ones(shell: Any) -> None:
    result = run_cell(
        shell,
        "%%mlops run grid\n"
        "for depth in (2, 4, 6):\n"
        "    with mlops.start_run(f'depth-{depth}'):\n"
        "        mlops.log(acc=depth / 10)\n"
        "    mlops.log(seen=depth)\n"  # between children: the cell's run
        "left_open = mlops.start_run('never-ended')\n",
    )
    assert result.success
    registry = mlops.init()
    found = parents(registry)
    assert {found[f"depth-{d}"] for d in (2, 4, 6)} == {("grid", None)}
    assert found["never-ended"] == ("grid", None)
    statuses = dict(registry.query_tuples("SELECT name, status FROM runs"))
    assert set(statuses.values()) == {"finished"}  # the child left open ended with the cell
    grid = run_detail(registry, "grid")
    assert grid.run.children == 4
    assert registry.query_tuples(
        "SELECT COUNT(*) FROM metrics m JOIN runs r ON r.id = m.run_id"
        " WHERE r.name = 'grid' AND m.key = 'seen'"
    ) == [(3,)]
    assert mlops.active_run() is None
    # Re-running the cell links the new grid to the old one, not the children.
    run_cell(shell, "%%mlops run grid\nwith mlops.start_run('depth-2'):\n    pass\n")
    rows = registry.query_tuples(
        "SELECT id, previous_run_id FROM runs WHERE name = 'grid' ORDER BY started_at"
    )
    assert rows[1][1] == rows[0][0]


def test_rerunning_a_cell_follows_its_last_run_not_that_runs_children(shell: Any) -> None:
    source = (
        "%%mlops run sweep\n"
        "for lr in (0.1, 0.2):\n"
        "    with mlops.start_run(f'lr={lr}'):\n"
        "        mlops.log(acc=lr)\n"
    )
    for _ in range(2):
        assert shell.run_cell(source, store_history=True, cell_id="cell-7").success
    registry = mlops.init()
    rows = registry.query_tuples(
        "SELECT id, previous_run_id, cell_id FROM runs WHERE name = 'sweep' ORDER BY started_at"
    )
    assert [row[2] for row in rows] == ["cell-7", "cell-7"]
    assert rows[1][1] == rows[0][0]


def test_runs_in_a_span_are_children_of_the_span(shell: Any) -> None:
    run_cell(shell, "%mlops start span")
    run_cell(
        shell, "for i in range(2):\n    with mlops.start_run(f'trial-{i}'):\n        mlops.log(x=i)"
    )
    run_cell(shell, "mlops.log(total=1.0)")
    run_cell(shell, "%mlops end")
    registry = mlops.init()
    found = parents(registry)
    assert found["trial-0"] == found["trial-1"] == ("span", None)
    assert run_detail(registry, "span").run.metrics == {"total": 1.0}


@pytest.fixture
def sweeps(registry: Registry) -> Registry:
    """Two top-level runs with children (3 and 2) and three runs without."""
    for index in range(3):
        with mlops.start_run(f"solo-{index}"):
            mlops.log(acc=0.1 * index)
    for name, count in (("grid", 3), ("random", 2)):
        with mlops.start_run(name):
            for trial in range(count):
                with mlops.start_run(f"{name}-{trial}"):
                    mlops.log(acc=0.5 + trial / 10)
    return registry


def test_filters_read_the_parent(sweeps: Registry) -> None:
    grid = run_detail(sweeps, "grid").run.id
    page = list_runs(sweeps, where=f"parent_run_id == '{grid}'")
    assert sorted(run.name for run in page.runs) == ["grid-0", "grid-1", "grid-2"]
    assert list_runs(sweeps, where="is_child").total == 5
    assert list_runs(sweeps, where="not is_child").total == 5
    assert list_runs(sweeps, where="parent_run_id == None").total == 5


def test_top_level_lists_count_children_and_parent_lists_the_children(sweeps: Registry) -> None:
    page = list_runs(sweeps, top_level=True)
    assert page.total == 5
    counts = {run.name: run.children for run in page.runs}
    assert counts == {"solo-0": 0, "solo-1": 0, "solo-2": 0, "grid": 3, "random": 2}
    children = list_runs(sweeps, parent="random", sort="-acc")
    assert [run.name for run in children.runs] == ["random-1", "random-0"]
    assert {run.parent_run_id for run in children.runs} == {run_detail(sweeps, "random").run.id}
    # pages of top-level runs, continued with cursors, give each one once
    first = list_runs(sweeps, top_level=True, limit=2)
    seen = [run.name for run in first.runs]
    while first.next_cursor:
        first = list_runs(sweeps, top_level=True, limit=2, after=first.next_cursor)
        seen += [run.name for run in first.runs]
    assert sorted(seen) == sorted(counts)


def test_the_frame_has_the_parent_column_and_top_level_option(sweeps: Registry) -> None:
    frame = runs_frame(sweeps)
    assert len(frame) == 10
    by_name = dict(zip(frame["name"], frame["parent_run_id"]))
    grid = run_detail(sweeps, "grid").run.id
    assert by_name["grid-1"] == grid and pd.isna(by_name["grid"])
    assert sorted(mlops.runs(top_level=True)["name"]) == sorted(
        ["solo-0", "solo-1", "solo-2", "grid", "random"]
    )
    assert sorted(mlops.runs(parent="grid")["name"]) == ["grid-0", "grid-1", "grid-2"]


def test_a_top_level_page_reads_the_parent_index_in_order(sweeps: Registry) -> None:
    statements: list[str] = []
    sweeps.conn.set_trace_callback(statements.append)
    try:
        list_runs(sweeps, top_level=True, limit=2)
    finally:
        sweeps.conn.set_trace_callback(None)
    page = next(sql for sql in statements if sql.startswith("SELECT runs.id, runs.name"))
    plan = [row[3] for row in sweeps.query_tuples(f"EXPLAIN QUERY PLAN {page}")]
    assert plan[0].startswith("SEARCH runs USING INDEX runs_parent_started (parent_run_id=?)")
    assert not any("TEMP B-TREE" in step for step in plan)


def test_a_registry_without_children_lists_top_level_with_the_same_statements(
    registry: Registry,
) -> None:
    for index in range(4):
        with mlops.start_run(f"r{index}"):
            mlops.log(acc=index)

    def statements(**kwargs: Any) -> list[str]:
        seen: list[str] = []
        registry.conn.set_trace_callback(seen.append)
        try:
            list_runs(registry, sort="-acc", limit=2, **kwargs)
        finally:
            registry.conn.set_trace_callback(None)
        return [sql for sql in seen if "parent_run_id IS NOT NULL LIMIT 1" not in sql]

    assert statements(top_level=True) == statements()


def test_a_registry_made_before_run_parents_gains_the_column_when_opened(
    registry: Registry,
) -> None:
    with mlops.start_run("old"):
        mlops.log(acc=1.0)
    path = registry.path
    with registry.transaction("downgrade"):
        registry.conn.execute("DROP INDEX runs_parent_started")
        registry.conn.execute("DROP VIEW runs_view")
        registry.conn.execute("ALTER TABLE runs DROP COLUMN parent_run_id")
        registry.conn.execute("CREATE VIEW runs_view AS SELECT runs.id, runs.name FROM runs")
        registry.conn.execute("DELETE FROM schema_migrations WHERE name = ?", (RUN_PARENTS.name,))
        registry.conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(RUN_PARENTS)}")
    registry.close()
    with contextlib.closing(sqlite3.connect(path)) as old:  # a bare with only commits
        columns = {row[1] for row in old.execute("PRAGMA table_info(runs)")}
        assert "parent_run_id" not in columns
    with Registry.open(path) as migrated:
        columns = {row[1] for row in migrated.conn.execute("PRAGMA table_info(runs)")}
        assert "parent_run_id" in columns
        assert migrated.query_tuples("SELECT name, parent_run_id FROM runs_view") == [("old", None)]
        page = list_runs(migrated, top_level=True)
        assert [(run.name, run.children) for run in page.runs] == [("old", 0)]
