"""Child runs in the faces: the notebook's runs table and run view, the command line and
the server's runs route show top-level runs with their number of children, and list a
parent's children on request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from IPython.utils.capture import capture_output

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.registry.connection import Registry

from .conftest import cli_runner, run_cell


@pytest.fixture
def sweep(registry: Registry) -> Registry:
    """A run "grid" with 12 children and a run "solo" without."""
    with mlops.start_run("solo"):
        mlops.log(acc=0.5)
    with mlops.start_run("grid"):
        for index in range(12):
            with mlops.start_run(f"trial-{index:02d}"):
                mlops.log(acc=index / 12)
    return registry


def html_of(shell: Any, source: str) -> str:
    with capture_output() as captured:
        run_cell(shell, source)
    assert not captured.stderr, captured.stderr
    return "".join(output.data.get("text/html", "") for output in captured.outputs)


def test_the_runs_table_counts_children_and_lists_them_with_parent(
    shell: Any, sweep: Registry
) -> None:
    shown = html_of(shell, "%mlops runs")
    assert "12 children" in shown
    assert "trial-03" not in shown
    assert "grid" in shown and "solo" in shown
    children = html_of(shell, "%mlops runs --parent grid")
    assert all(f"trial-{index:02d}" in children for index in range(12))
    assert "solo" not in children
    everything = html_of(shell, "%mlops runs --all --limit 50")
    assert "trial-07" in everything and "solo" in everything
    detail = html_of(shell, "%mlops show trial-05")
    grid_id = sweep.query_tuples("SELECT id FROM runs WHERE name = 'grid'")[0][0]
    assert "parent run" in detail and grid_id in detail


def invoke(*args: str) -> tuple[int, str, str]:
    result = cli_runner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_the_command_line_counts_children_and_lists_them(sweep: Registry) -> None:
    code, out, err = invoke("runs")
    assert code == 0, err
    assert "12 children" in out and "trial-" not in out
    code, out, _ = invoke("runs", "--parent", "grid", "--sort", "-acc", "--format", "json")
    listed = json.loads(out)
    assert listed["total"] == 12
    assert [run["name"] for run in listed["runs"]][:2] == ["trial-11", "trial-10"]
    grid_id = sweep.query_tuples("SELECT id FROM runs WHERE name = 'grid'")[0][0]
    assert {run["parent_run_id"] for run in listed["runs"]} == {grid_id}
    code, out, _ = invoke("show", "grid")
    assert f"12 children: jupyter mlops runs --parent {grid_id}" in out
    code, out, _ = invoke("show", "trial-04", "--format", "json")
    assert json.loads(out)["parent_run_id"] == grid_id
    code, out, _ = invoke("runs", "--all", "--format", "csv")
    header, *lines = out.splitlines()
    assert "parent_run_id" in header.split(",") and len(lines) == 14


@pytest.fixture
def jp_server_config(jp_server_config: Any) -> Any:
    config_file = Path(__file__).parents[1] / "jupyter-config/server-config/jupyter_mlops.json"
    return {"ServerApp": json.loads(config_file.read_text())["ServerApp"]}


async def get_json(jp_fetch: Any, *route: str, **params: Any) -> Any:
    response = await jp_fetch(
        "jupyter-mlops", "api", *route, params={k: str(v) for k, v in params.items()}
    )
    assert response.code == 200
    return json.loads(response.body)


async def test_the_runs_route_counts_children_and_lists_a_parents(
    jp_fetch: Any, sweep: Registry
) -> None:
    top = await get_json(jp_fetch, "runs", top_level="true")
    assert top["total"] == 2
    assert {run["name"]: run["children"] for run in top["runs"]} == {"grid": 12, "solo": 0}
    grid_id = next(run["id"] for run in top["runs"] if run["name"] == "grid")
    children = await get_json(jp_fetch, "runs", parent=grid_id, page_size=5, sort="-acc")
    assert children["total"] == 12 and len(children["runs"]) == 5
    assert children["runs"][0]["name"] == "trial-11"
    assert {run["parent_run_id"] for run in children["runs"]} == {grid_id}
    every = await get_json(jp_fetch, "runs")
    assert every["total"] == 14  # without parent or top_level: every run, as before
