"""The housekeeping routes on a real Jupyter server (pytest-jupyter): a run changed,
archived, restored and purged, an experiment's note written; bad input answered 400/404
with what to do; a browser session needs Jupyter's XSRF token; the change marker moves."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
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
    """ "keep" and "drop" share an artifact; "drop" has one of its own."""
    ids = {}
    with mlops.start_run("keep", experiment="churn") as run:
        run.log(accuracy=0.8)
        mlops.log_text("shared bytes", "shared.txt")
        ids["keep"] = run.id
    with mlops.start_run("drop", experiment="churn") as run:
        run.log(accuracy=0.9)
        mlops.log_text("shared bytes", "shared.txt")
        mlops.log_text("only drop", "own.txt")
        ids["drop"] = run.id
    return ids


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


async def error_of(jp_fetch, method: str, *route: str, body: Any = None, **kwargs: Any):
    with pytest.raises(HTTPClientError) as caught:
        await call(jp_fetch, method, *route, body=body, **kwargs)
    response = caught.value.response
    assert response is not None
    return caught.value.code, json.loads(response.body)


async def names(jp_fetch, **params: str) -> set[str]:
    body = await call(jp_fetch, "GET", "runs", params=params)
    return {run["name"] for run in body["runs"]}


async def test_patch_changes_a_run_in_one_request(jp_fetch, recorded: dict[str, str]) -> None:
    before = (await call(jp_fetch, "GET", "changes"))["marker"]
    body = await call(
        jp_fetch,
        "PATCH",
        "runs",
        "keep",
        body={
            "note": "## Stale\nrerun",
            "name": "kept",
            "tags": {"review": "done", "team": "growth"},
            "untag": ["team"],
            "experiment": "churn-old",
        },
    )

    assert [c["action"] for c in body["changes"]] == ["note", "rename", "tag", "untag", "move"]
    assert body["run"]["name"] == "kept" and body["run"]["experiment"] == "churn-old"
    assert body["run"]["note"] == "## Stale\nrerun"
    detail = mlops.get_run(recorded["keep"])
    assert detail.tags == {"review": "done"} and detail.run.experiment == "churn-old"
    assert (await call(jp_fetch, "GET", "changes"))["marker"] != before


async def test_archive_hides_the_run_from_the_list_and_restore_brings_it_back(
    jp_fetch, recorded: dict[str, str]
) -> None:
    body = await call(jp_fetch, "PATCH", "runs", recorded["drop"], body={"archived": True})
    assert body["run"]["archived_at"] is not None

    assert await names(jp_fetch) == {"keep"}
    assert await names(jp_fetch, archived="true") == {"drop"}
    assert await names(jp_fetch, archived="all") == {"keep", "drop"}
    experiments = (await call(jp_fetch, "GET", "experiments"))["experiments"]
    assert {e["name"]: e["runs"] for e in experiments} == {"churn": 1}

    body = await call(jp_fetch, "PATCH", "runs", recorded["drop"], body={"archived": False})
    assert body["run"]["archived_at"] is None
    assert await names(jp_fetch) == {"keep", "drop"}


async def test_delete_purges_only_when_confirmed(
    jp_fetch, recorded: dict[str, str], registry: Registry
) -> None:
    rows = registry.query(
        "SELECT name, sha256 FROM run_artifacts WHERE run_id = ?", (recorded["drop"],)
    )
    shas = {row["name"]: row["sha256"] for row in rows}

    code, error = await error_of(jp_fetch, "DELETE", "runs", "drop")
    assert code == 400 and "not confirmed" in error["message"]
    assert "confirm=true" in error["hint"]
    assert registry.artifacts.exists(shas["own.txt"])

    body = await call(jp_fetch, "DELETE", "runs", "drop", params={"confirm": "true"})
    assert body["purged"] == [recorded["drop"]]
    assert body["removed_artifacts"] == [shas["own.txt"]]
    assert body["kept_artifacts"] == [shas["shared.txt"]]
    assert not registry.artifacts.exists(shas["own.txt"])
    assert registry.artifacts.exists(shas["shared.txt"])
    assert await names(jp_fetch, archived="all") == {"keep"}
    code, _ = await error_of(jp_fetch, "GET", "runs", recorded["drop"])
    assert code == 404


async def test_experiment_note_is_written_and_read(jp_fetch, recorded: dict[str, str]) -> None:
    body = await call(jp_fetch, "PATCH", "experiments", "churn", body={"note": "**30-day** churn"})
    assert body["note"] == "**30-day** churn"
    assert (await call(jp_fetch, "GET", "experiments", "churn"))["note"] == "**30-day** churn"

    code, error = await error_of(jp_fetch, "PATCH", "experiments", "nowhere", body={"note": "x"})
    assert code == 404 and 'No experiment named "nowhere"' in error["message"]
    assert "churn" in error["hint"]


@pytest.mark.parametrize(
    ("route", "body", "code", "message"),
    [
        (("runs", "ghost"), {"name": "x"}, 404, 'No run with id or name "ghost"'),
        (("runs", "keep"), {}, 400, "asks for no change"),
        (("runs", "keep"), {"colour": "red"}, 400, 'no field "colour"'),
        (("runs", "keep"), {"archived": "yes"}, 400, '"archived" must be true or false'),
        (("runs", "keep"), {"untag": [1]}, 400, '"untag" must be a list of tag names'),
        (("runs", "keep"), {"untag": ["nope"]}, 404, 'no tag "nope"'),
        (("runs", "keep"), {"experiment": ""}, 400, "Cannot move run"),
        (("experiments", "churn"), {"title": "x"}, 400, "An experiment's note"),
    ],
)
async def test_bad_changes_answer_what_to_do_and_change_nothing(
    jp_fetch, recorded: dict[str, str], registry: Registry, route, body, code, message
) -> None:
    # each bad request comes after a good change in the same body: all or nothing
    if route[0] == "runs" and body:
        body = {"name": "renamed", **body}
    got, error = await error_of(jp_fetch, "PATCH", *route, body=body)
    assert got == code and message in error["message"] and error.get("hint")
    assert mlops.get_run(recorded["keep"]).run.name == "keep"


async def test_writes_from_a_browser_session_need_the_xsrf_token(
    jp_fetch, recorded: dict[str, str]
) -> None:
    login = await jp_fetch("jupyter-mlops", "api", "status")
    cookies = SimpleCookie()
    for header in login.headers.get_list("Set-Cookie"):
        cookies.load(header)
    session = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
    assert session, "the token request should have set a login cookie"

    for method, params, body in (
        ("PATCH", {}, {"archived": True}),
        ("DELETE", {"confirm": "true"}, None),
    ):
        with pytest.raises(HTTPClientError) as caught:
            headers = {"Authorization": "", "Cookie": session}
            await call(jp_fetch, method, "runs", "drop", body=body, params=params, headers=headers)
        assert caught.value.code == 403
    assert await names(jp_fetch) == {"keep", "drop"}

    headers = {"Authorization": "", "Cookie": f"{session}; _xsrf=t-1", "X-XSRFToken": "t-1"}
    await call(jp_fetch, "PATCH", "runs", "drop", body={"archived": True}, headers=headers)
    assert await names(jp_fetch) == {"keep"}
