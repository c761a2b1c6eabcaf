"""``POST runs/ID/reproduce`` on a real Jupyter server (pytest-jupyter): a run recorded in
a real IPython shell is run again in a fresh kernel in the background, followed through
its job to a parity verdict stored with the run; a second start while it runs is refused
naming the job; bad input is refused before anything starts."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.reproduce.reproduction import ENVIRONMENTS
from jupyter_mlops.tracking.reproductions import reproductions_of

from .browser.contract import ENVIRONMENTS as ENVIRONMENTS_STAND_IN
from .browser.contract import _mismatch, _reproduction_job
from .conftest import run_cell

pytest_plugins = ("pytest_jupyter.jupyter_server",)

IMPORTS = "import pandas as pd"
LOAD = 'raw = pd.read_csv("measures.csv")'
RUN = (
    "%%mlops run measured\n"
    "scale = 3\n"
    "total = float((raw.a * scale).sum())\n"
    "mlops.log(total=total, rows=len(raw))"
)
JOB_TIMEOUT_S = 180


@pytest.fixture
def jp_server_config(jp_server_config):
    config_file = Path(__file__).parents[1] / "jupyter-config/server-config/jupyter_mlops.json"
    return {"ServerApp": json.loads(config_file.read_text())["ServerApp"]}


@pytest.fixture
def measured(shell: object, registry: Registry, tmp_path: Path) -> str:
    """The id of run "measured", recorded in a real shell after two earlier cells (its
    closure) that read measures.csv."""
    (tmp_path / "measures.csv").write_text("a,b\n1,2\n3,4\n5,6\n")
    for source in (IMPORTS, LOAD, RUN):
        assert run_cell(shell, source).success  # type: ignore[attr-defined]
    row = registry.query_one("SELECT id FROM runs WHERE name = 'measured'")
    assert row is not None
    return str(row[0])


async def start(jp_fetch, run: str, body: Any = None) -> Any:
    response = await jp_fetch(
        "jupyter-mlops", "api", "runs", run, "reproduce",
        method="POST", body="" if body is None else json.dumps(body), allow_nonstandard_methods=True,
    )  # fmt: skip
    assert response.code == 202
    return response


async def refused(jp_fetch, *route: str, method: str = "POST", body: str = "") -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as caught:
        if method == "POST":
            await jp_fetch("jupyter-mlops", "api", *route, method="POST", body=body)
        else:
            await jp_fetch("jupyter-mlops", "api", *route)
    response = caught.value.response
    assert response is not None
    assert response.headers["Content-Type"].startswith("application/json")
    return caught.value.code, json.loads(response.body)


async def get_json(jp_fetch, *route: str) -> Any:
    response = await jp_fetch("jupyter-mlops", "api", *route)
    assert response.code == 200
    return json.loads(response.body)


async def followed(jp_fetch, job_id: str) -> tuple[dict[str, Any], list[list[str]]]:
    """Poll the job until it ends, as the panel does; the last answer and the progress
    lines each answer had while it was running."""
    deadline = time.monotonic() + JOB_TIMEOUT_S
    seen: list[list[str]] = []
    while True:
        job = await get_json(jp_fetch, "reproductions", "jobs", job_id)
        if job["state"] != "running":
            return job, seen
        seen.append(job["lines"])
        assert time.monotonic() < deadline, f"job {job_id} still running: {job['lines']}"
        await asyncio.sleep(0.2)


@pytest.mark.slow  # the reproduction starts a kernel
async def test_a_run_reproduced_over_http_comes_back_with_parity_and_is_stored(
    jp_fetch, registry: Registry, measured: str
) -> None:
    began = time.monotonic()
    response = await start(jp_fetch, measured, {"env": "current"})
    answered_in = time.monotonic() - began
    job = json.loads(response.body)

    assert answered_in < 5.0  # the request does not wait for the kernel
    assert job["state"] == "running" and job["verdict"] is None
    assert job["run_id"] == measured and job["run_name"] == "measured"
    assert response.headers["Location"].endswith(
        f"/jupyter-mlops/api/reproductions/jobs/{job['job']}"
    )

    # a second start while the first runs is refused, naming the running job
    status, body = await refused(jp_fetch, "runs", "measured", "reproduce", body="{}")
    assert status == 409
    assert job["job"] in body["message"] and "measured" in body["message"]
    assert f"reproductions/jobs/{job['job']}" in body["hint"]

    done, seen = await followed(jp_fetch, job["job"])

    assert done["state"] == "done", done
    verdict = done["verdict"]
    assert verdict["status"] == "parity", verdict
    assert verdict["summary"].startswith(f"parity ok: 2 metric(s) of run {measured[:12]}")
    assert verdict["run_id"] not in (None, measured)
    assert Path(verdict["notebook"]).is_file()
    assert any('reproducing run "measured"' in line for line in done["lines"])
    assert any("cell 1/" in line for line in done["lines"])
    assert all(lines == done["lines"][: len(lines)] for lines in seen)  # lines only grow
    (record,) = reproductions_of(registry, measured)
    assert record.status == "parity" and record.run_id == verdict["run_id"]
    page = await get_json(jp_fetch, "runs", measured)
    assert [r["status"] for r in page["reproductions"]] == ["parity"]
    last = await get_json(jp_fetch, "runs", measured, "reproduce")
    assert last["job"]["job"] == job["job"] and last["job"]["state"] == "done"
    # the browser tests' stand-in answers with the same keys (tests/browser/contract.py)
    stand_in = _reproduction_job(measured, "job", "current")
    assert set(stand_in) == set(done) and set(_mismatch(stand_in)) == set(verdict)
    assert set(ENVIRONMENTS_STAND_IN[0]) == set(last["environments"][0])


async def test_a_run_without_a_closure_ends_with_a_failed_verdict_and_can_start_again(
    jp_fetch, registry: Registry
) -> None:
    import jupyter_mlops as mlops

    with mlops.start_run("from-a-script") as run:
        run.log(value=1.0)

    before = await get_json(jp_fetch, "runs", "from-a-script", "reproduce")
    assert before["job"] is None
    assert [e["name"] for e in before["environments"]] == list(ENVIRONMENTS)
    assert all(e["title"] for e in before["environments"])

    first = json.loads((await start(jp_fetch, "from-a-script")).body)
    done, _ = await followed(jp_fetch, first["job"])

    assert done["state"] == "done"
    assert done["verdict"]["status"] == "failed"
    assert "no closure was recorded" in done["verdict"]["summary"]
    assert [r.status for r in reproductions_of(registry, run.id)] == ["failed"]
    # once it has ended, the run can be reproduced again
    second = json.loads((await start(jp_fetch, run.id, {"env": "current"})).body)
    assert second["job"] != first["job"]
    await followed(jp_fetch, second["job"])


@pytest.mark.parametrize(
    ("run", "body", "code", "words"),
    [
        ("nosuchrun", "{}", 404, "nosuchrun"),
        ("measured", '{"env": "docker"}', 400, '"docker" is not an environment'),
        ("measured", '{"env": 3}', 400, "env must be a name"),
        ("measured", '{"params": {"depth": 3}}', 400, 'has no parameter "depth"'),
        ("measured", '{"params": {"scale": "many"}}', 400, "scale"),
        ("measured", '{"params": [["scale", 2]]}', 400, "params must be an object"),
        ("measured", '{"params": {"scale": NaN}}', 400, "NaN or an infinity"),
        ("measured", '{"data_from_snapshots": "yes"}', 400, "data_from_snapshots must be"),
        ("measured", '{"environment": "venv"}', 400, "no field 'environment'"),
        ("measured", "[1, 2]", 400, "must be a JSON object"),
        ("measured", "{not json", 400, "not JSON"),
    ],
)
async def test_bad_input_is_refused_with_a_hint_before_anything_starts(
    jp_fetch, registry: Registry, measured: str, run: str, body: str, code: int, words: str
) -> None:
    status, answer = await refused(jp_fetch, "runs", run, "reproduce", body=body)

    assert status == code
    assert words in answer["message"], answer
    assert answer.get("hint")
    assert (await get_json(jp_fetch, "runs", "measured", "reproduce"))["job"] is None
    assert reproductions_of(registry, measured) == ()


async def test_an_unknown_job_answers_404_saying_where_verdicts_are(
    jp_fetch, registry: Registry
) -> None:
    status, answer = await refused(jp_fetch, "reproductions", "jobs", "0123abcd", method="GET")

    assert status == 404
    assert '"0123abcd"' in answer["message"] and "Reproduced" in answer["hint"]
