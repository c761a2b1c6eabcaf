"""``GET|POST /jupyter-mlops/api/models/NAME/monitoring`` on a real Jupyter server
(pytest-jupyter) over a registry with real logged traffic: the stored windows before and
after the monitor runs from the route, and the 404/400 answers."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.serving.monitoring import monitor_model, stored_windows, window_line

from .served_traffic import AFTER, START, log_served_traffic

pytest_plugins = ("pytest_jupyter.jupyter_server",)


@pytest.fixture
def jp_server_config(jp_server_config):
    config_file = Path(__file__).parents[1] / "jupyter-config/server-config/jupyter_mlops.json"
    return {"ServerApp": json.loads(config_file.read_text())["ServerApp"]}


@pytest.fixture
def served(registry: Registry, jp_root_dir: Path) -> Registry:
    """churn@1 with four hours of logged, labelled traffic (see tests/served_traffic.py);
    the server finds the registry up from its root."""
    return log_served_traffic(registry)


async def monitoring(jp_fetch, model: str = "churn", **params: str) -> dict[str, Any]:
    response = await jp_fetch("jupyter-mlops", "api", "models", model, "monitoring", params=params)
    assert response.code == 200
    return json.loads(response.body)


async def run_monitor(jp_fetch, body: Any, model: str = "churn") -> dict[str, Any]:
    response = await jp_fetch(
        "jupyter-mlops", "api", "models", model, "monitoring", method="POST", body=json.dumps(body)
    )
    assert response.code == 200
    return json.loads(response.body)


async def error_of(jp_fetch, *route: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("jupyter-mlops", "api", *route, **kwargs)
    assert caught.value.response is not None
    return caught.value.code, json.loads(caught.value.response.body)


async def test_get_before_the_monitor_ran_has_the_aliases_and_no_window(jp_fetch, served):
    answer = await monitoring(jp_fetch)

    assert answer["model"] == "churn" and answer["aliases"] == {"champion": 1}
    assert answer["lengths"] == [] and answer["decision"] is None
    assert "1h" in answer["choices"]


async def test_post_runs_the_monitor_and_get_then_shows_its_windows_newest_first(
    jp_fetch, served: Registry
):
    ran = await run_monitor(jp_fetch, {"window": "1h"})

    assert ran["run"]["window"] == "1h" and ran["run"]["computed"] == 4
    assert ran["run"]["decision"] == "retrain" and "4 window(s) of 1h" in ran["run"]["message"]
    answer = await monitoring(jp_fetch)
    assert {k: v for k, v in ran.items() if k != "run"} == answer
    assert answer["decision"] == "retrain"
    assert answer["decided_by"].startswith("1h window of ")
    (length,) = answer["lengths"]
    assert (length["window"], length["window_seconds"], length["total"]) == ("1h", 3600, 4)
    windows = length["windows"]
    assert [w["start"] for w in windows] == [START + h * 3600 for h in (3, 2, 1, 0)]
    assert [w["decision"] for w in windows] == ["retrain", "retrain", "monitor", "monitor"]
    assert [sorted(w["retrain_columns"]) for w in windows[:2]] == [["income", "tenure"]] * 2
    assert windows[0]["line"] == window_line(stored_windows(served, "churn")[-1])
    assert "retrain for" in windows[0]["line"] and windows[0]["input_report_id"]
    assert windows[-1]["n_labelled"] == 600 and windows[-1]["x"] == 0
    assert windows[0]["fairness_failed"] == [] and length["x_name"] == "hour"
    # the charts' series, on hours since the first window
    p50, p99 = length["latency"]
    assert p50["name"] == "p50 ms" and [x for x, _ in p50["points"]] == [0, 1, 2, 3]
    assert p50["points"][3][1] == pytest.approx(5.0)
    assert [s["name"] for s in length["metrics"]][:1] == ["v1 accuracy"]
    assert all(0.5 < value <= 1 for _, value in length["metrics"][0]["points"])
    # the route stored what the monitor stores: a second run computes nothing new
    again = await run_monitor(jp_fetch, {"window": "1h"})
    assert again["run"]["computed"] == 0


async def test_the_panel_is_answered_while_a_posted_monitor_runs(jp_fetch, served: Registry):
    # another process holds the registry's write lock: the monitor, which stores its
    # windows, waits for it as long as the lock is held
    blocker = sqlite3.connect(served.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        posted = asyncio.ensure_future(run_monitor(jp_fetch, {"window": "1h"}))
        await asyncio.sleep(1.0)  # the monitor has read the log and waits to write
        answer = await asyncio.wait_for(monitoring(jp_fetch), timeout=10)
        marker = await asyncio.wait_for(jp_fetch("jupyter-mlops", "api", "changes"), timeout=10)
        assert not posted.done()  # answered while the monitor still ran
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    ran = await asyncio.wait_for(posted, timeout=60)

    assert answer["lengths"] == [] and marker.code == 200
    assert ran["run"]["computed"] == 4 and ran["lengths"][0]["total"] == 4


async def test_get_of_one_length_leaves_the_others_out(jp_fetch, served: Registry):
    monitor_model(served, "churn", window="1h", now=AFTER)
    monitor_model(served, "churn", window="2h", now=AFTER)

    every = await monitoring(jp_fetch)
    one = await monitoring(jp_fetch, window="2h")

    assert [length["window"] for length in every["lengths"]] == ["1h", "2h"]
    assert [length["total"] for length in every["lengths"]] == [4, 2]
    assert one["window"] == "2h" and [x["window"] for x in one["lengths"]] == ["2h"]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_unknown_model_is_a_404_naming_it(jp_fetch, served, method: str):
    body = json.dumps({"window": "1h"}) if method == "POST" else None

    code, answer = await error_of(
        jp_fetch, "models", "churm", "monitoring", method=method, body=body
    )

    assert code == 404
    assert '"churm"' in answer["message"] and "churn" in answer["message"] + answer.get("hint", "")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"window": "soon"}, '"soon" is not a window length'),
        ({"window": 60}, "must be text"),
        ({"window": "1h", "retrain": "pipeline"}, "one setting"),
        ("[1h]", "not JSON"),
    ],
)
async def test_a_bad_window_is_a_400_and_nothing_is_stored(
    jp_fetch, served: Registry, body: Any, words: str
):
    sent = body if isinstance(body, str) else json.dumps(body)

    code, answer = await error_of(
        jp_fetch, "models", "churn", "monitoring", method="POST", body=sent
    )

    assert code == 400 and words in answer["message"], answer
    assert answer.get("hint")
    assert served.query_tuples("SELECT COUNT(*) FROM monitor_windows") == [(0,)]


async def test_get_with_a_bad_window_is_a_400(jp_fetch, served):
    code, answer = await error_of(
        jp_fetch, "models", "churn", "monitoring", params={"window": "0m"}
    )

    assert code == 400 and "longer than 0" in answer["message"]


async def test_browser_stand_in_answers_with_the_servers_keys(jp_fetch, served: Registry):
    from .browser.contract import ContractStandIn
    from .test_server_routes import _same_keys, _shape

    stand_in = ContractStandIn()
    real_run = await run_monitor(jp_fetch, {"window": "1h"})
    real = await monitoring(jp_fetch)
    _, answer = stand_in.monitoring("churn")
    _, answer_run = stand_in.monitoring("churn", "POST", {"window": "15m"})

    assert _same_keys(_shape(answer), _shape(real), "monitoring") == []
    assert _same_keys(_shape(answer_run), _shape(real_run), "monitoring POST") == []
    assert stand_in.monitoring("churm")[0] == 404
