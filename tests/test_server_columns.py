"""The runs payload's columns and sort names, and the columns route on a real Jupyter
server (pytest-jupyter): chosen columns kept per experiment and shown by every face, bad
input answered 400/404, a browser session needs Jupyter's XSRF token."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

import jupyter_mlops as mlops
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.column_choices import chosen_columns

from .conftest import cli_runner

pytest_plugins = ("pytest_jupyter.jupyter_server",)


@pytest.fixture
def jp_server_config(jp_server_config):
    config_file = Path(__file__).parents[1] / "jupyter-config/server-config/jupyter_mlops.json"
    return {"ServerApp": json.loads(config_file.read_text())["ServerApp"]}


@pytest.fixture
def sweep(registry: Registry) -> Registry:
    for index, (depth, auc) in enumerate(((2, 0.7), (3, 0.9), (5, 0.8))):
        with mlops.start_run(f"trial-{index}", experiment="churn") as run:
            run.log_params(**{"gbm.max_depth": depth, "gbm.loss": "log_loss", "gbm.tol": 1e-4})
            run.log_params(seed=7)
            run.log(auc=auc, accuracy=auc - 0.1)
    return registry


async def call(jp_fetch, method: str, *route: str, body: Any = None, **kwargs: Any) -> Any:
    response = await jp_fetch(
        "jupyter-mlops",
        "api",
        *route,
        method=method,
        body=None if body is None else json.dumps(body),
        **kwargs,
    )
    assert response.code == 200
    return json.loads(response.body)


async def test_the_runs_page_names_its_sort_and_the_columns_it_shows(jp_fetch, sweep) -> None:
    for asked in ("-auc", "-metrics.auc", "-metric auc"):
        page = await call(jp_fetch, "GET", "runs", params={"sort": asked, "experiment": "churn"})
        assert page["sort"] == "-metrics.auc"
        assert [run["name"] for run in page["runs"]] == ["trial-1", "trial-2", "trial-0"]
    columns = page["columns"]
    assert columns["shown"] == ["params.gbm.max_depth", "metrics.accuracy", "metrics.auc"]
    assert not columns["chosen"]
    assert "params.seed" in columns["available"] and "params.gbm.tol" in columns["available"]
    assert columns["groups"] == [
        {
            "name": "gbm",
            "shown": ["gbm.max_depth"],
            "keys": ["gbm.loss", "gbm.max_depth", "gbm.tol"],
        }
    ]


async def test_columns_chosen_through_the_route_show_in_every_face(jp_fetch, sweep) -> None:
    assert await call(jp_fetch, "GET", "experiments", "churn", "columns") == {
        "experiment": "churn",
        "columns": None,
    }
    chosen = ["metrics.auc", "params.seed"]
    reply = await call(jp_fetch, "PUT", "experiments", "churn", "columns", body={"columns": chosen})
    assert reply["columns"] == chosen and "2 chosen column(s)" in reply["message"]
    assert chosen_columns(sweep, "churn") == tuple(chosen)

    page = await call(jp_fetch, "GET", "runs", params={"experiment": "churn"})
    assert page["columns"]["shown"] == ["params.seed", "metrics.auc"] and page["columns"]["chosen"]
    from jupyter_mlops.cli import main

    result = cli_runner().invoke(main, ["runs", "--experiment", "churn"])
    assert result.output.splitlines()[0].split()[5:] == ["seed", "auc"]

    await call(jp_fetch, "PUT", "experiments", "churn", "columns", body={"columns": None})
    page = await call(jp_fetch, "GET", "runs", params={"experiment": "churn"})
    assert not page["columns"]["chosen"] and "params.seed" not in page["columns"]["shown"]


@pytest.mark.parametrize(
    ("route", "body", "status", "words"),
    [
        (("churn",), {"columns": ["auc"]}, 400, '"auc" is not a column'),
        (("churn",), {"cols": ["metrics.auc"]}, 400, "the one thing this route changes"),
        (("churn",), {"columns": "metrics.auc"}, 400, "a list of names"),
        (("nowhere",), {"columns": ["metrics.auc"]}, 404, 'No experiment named "nowhere"'),
    ],
)
async def test_a_bad_choice_is_answered_with_what_to_do(
    jp_fetch, sweep, route: tuple[str, ...], body: Any, status: int, words: str
) -> None:
    with pytest.raises(HTTPClientError) as caught:
        await call(jp_fetch, "PUT", "experiments", *route, "columns", body=body)
    assert caught.value.code == status
    reply = json.loads(caught.value.response.body)
    assert words in reply["message"] and reply["hint"]
    assert chosen_columns(sweep, "churn") is None


async def test_a_choice_from_a_browser_session_needs_the_xsrf_token(jp_fetch, sweep) -> None:
    login = await jp_fetch("jupyter-mlops", "api", "status")
    cookies = SimpleCookie()
    for header in login.headers.get_list("Set-Cookie"):
        cookies.load(header)
    session = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
    body = {"columns": ["metrics.auc"]}
    with pytest.raises(HTTPClientError) as caught:
        headers = {"Authorization": "", "Cookie": session}
        await call(jp_fetch, "PUT", "experiments", "churn", "columns", body=body, headers=headers)
    assert caught.value.code == 403 and chosen_columns(sweep, "churn") is None
    headers = {"Authorization": "", "Cookie": f"{session}; _xsrf=t-1", "X-XSRFToken": "t-1"}
    await call(jp_fetch, "PUT", "experiments", "churn", "columns", body=body, headers=headers)
    assert chosen_columns(sweep, "churn") == ("metrics.auc",)
