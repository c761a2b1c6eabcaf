"""The routes behind the panel's compare view and purge dialog, on a real Jupyter server:
``GET compare?runs=...`` (parameters side by side, curves to overlay) and ``GET
runs/ID/purge`` (what a purge would delete and keep, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import jupyter_mlops as mlops
from jupyter_mlops.registry.connection import Registry


@pytest.fixture
def jp_server_config(jp_server_config):
    config_file = Path(__file__).parents[1] / "jupyter-config/server-config/jupyter_mlops.json"
    return {"ServerApp": json.loads(config_file.read_text())["ServerApp"]}


@pytest.fixture
def recorded(registry: Registry) -> dict[str, str]:
    """Three runs: "a" and "b" differ in lr and share depth; "c" logs no curve."""
    ids = {}
    for name, lr in (("a", 0.1), ("b", 0.01)):
        with mlops.start_run(name, experiment="churn") as run:
            run.log_params(lr=lr, depth=6)
            for step in range(5):
                run.log(loss=round(1.0 / (step + 1) + lr, 6), step=step)
            run.log(accuracy=0.8 + lr)
            mlops.log_text("shared bytes", "shared.txt")
            ids[name] = run.id
    with mlops.start_run("c", experiment="churn") as run:
        run.log_params(lr=0.1, depth=6, seed=3)
        run.log(accuracy=0.5)
        mlops.log_text(f"only {run.id}", "own.txt")
        ids["c"] = run.id
    return ids


async def get(jp_fetch, *route: str, **params: str) -> Any:
    response = await jp_fetch("jupyter-mlops", "api", *route, params=params)
    assert response.code == 200
    return json.loads(response.body)


async def test_compare_gives_params_side_by_side_and_curves_per_run(
    jp_fetch, recorded: dict[str, str]
) -> None:
    order = [recorded["b"], recorded["a"], recorded["c"]]
    body = await get(jp_fetch, "compare", runs=",".join(order))

    assert [run["id"] for run in body["runs"]] == order
    params = {p["key"]: (p["values"], p["differs"]) for p in body["params"]}
    assert params == {
        "depth": ([6, 6, 6], False),
        "lr": ([0.01, 0.1, 0.1], True),
        "seed": ([None, None, 3], True),
    }
    metrics = {m["key"]: m["values"] for m in body["metrics"]}
    assert metrics["accuracy"] == pytest.approx([0.81, 0.9, 0.5])
    (loss,) = [curve for curve in body["curves"] if curve["key"] == "loss"]
    assert [run["id"] for run in loss["runs"]] == [recorded["b"], recorded["a"]]  # c has none
    assert loss["runs"][1]["points"] == [
        [step, pytest.approx(1.0 / (step + 1) + 0.1)] for step in range(5)
    ]
    assert loss["runs"][0]["logged"] is None


@pytest.mark.parametrize(
    ("runs", "code", "message"),
    [
        ("", 400, "at least two runs"),
        ("{a}", 400, "at least two runs"),
        ("{a},ghost", 404, '"ghost"'),
        (",".join(["{a}"] * 13), 400, "at most 12 runs"),
    ],
)
async def test_compare_refuses_what_it_cannot_show_with_what_to_do(
    jp_fetch, recorded: dict[str, str], runs: str, code: int, message: str
) -> None:
    with pytest.raises(HTTPClientError) as caught:
        await get(jp_fetch, "compare", runs=runs.format(**recorded))
    assert caught.value.code == code
    assert caught.value.response is not None
    error = json.loads(caught.value.response.body)
    assert message in error["message"] and error.get("hint")


async def test_purge_plan_counts_what_goes_and_what_stays_and_deletes_nothing(
    jp_fetch, recorded: dict[str, str], registry: Registry
) -> None:
    shared = await get(jp_fetch, "runs", recorded["a"], "purge")
    own = await get(jp_fetch, "runs", recorded["c"], "purge")

    assert (shared["unique_artifacts"], shared["shared_artifacts"]) == (0, 1)
    assert "1 artifact(s) other records use stay" in shared["message"]
    assert (own["unique_artifacts"], own["shared_artifacts"]) == (1, 0)
    assert own["runs"] == [recorded["c"]] and own["bytes_freed"] > 0
    assert mlops.get_run(recorded["c"]).run.name == "c"  # nothing was deleted
