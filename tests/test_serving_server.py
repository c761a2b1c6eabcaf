"""Serving on a real MLServer: ``jupyter mlops serve`` in a process of its own, on free
127.0.0.1 ports, spoken to over HTTP with the Open Inference Protocol (V2).

Predictions equal the model's own; a request lacking a column gets a 400 naming it; a
changed artifact is refused before the server starts; the alias moves under load without
a failed request; the shadow's outputs are logged for every request and never returned;
a locked registry delays no answer and loses no prediction; ``%mlops serve`` starts a
server from a notebook and ``--stop`` stops it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.tree import DecisionTreeClassifier

from jupyter_mlops.errors import ArtifactIntegrityError, ServingError
from jupyter_mlops.gates.evaluation import promote
from jupyter_mlops.models.registering import register
from jupyter_mlops.models.versions import resolve_version
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.serving.plan import ServePlan, free_port
from jupyter_mlops.serving.prediction_log import read_predictions
from jupyter_mlops.serving.process import SERVERS, ServerProcess, start_server_process

# seconds this module takes, for tests/sharding.py's order: each test starts MLServer in a
# process of its own
EXPECTED_SECONDS = 70

pytest.importorskip("mlserver", reason="the serve extra (MLServer) is not installed here")

pytestmark = pytest.mark.slow

FEATURES, TARGET = load_breast_cancer(return_X_y=True, as_frame=True)


def fresh_plan(registry: Registry, ref: str, **options: Any) -> ServePlan:
    """A plan on three free ports, following the alias quickly."""
    return ServePlan(
        str(registry.path),
        ref,
        port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
        follow_seconds=0.1,
        **options,
    )


def new_registry(directory: Path) -> tuple[Registry, Any, Any]:
    """cancer@1 (champion: a stump) and cancer@2 (challenger: a deeper tree)."""
    registry = Registry.init(directory)
    stump = DecisionTreeClassifier(max_depth=1, random_state=0).fit(FEATURES, TARGET)
    deeper = DecisionTreeClassifier(max_depth=6, random_state=0).fit(FEATURES, TARGET)
    register(registry, stump, "cancer", alias="champion")
    register(registry, deeper, "cancer", alias="challenger")
    return registry, stump, deeper


def v2_body(
    rows: pd.DataFrame, request_id: str | None = None, *, drop: str | None = None
) -> dict[str, Any]:
    inputs = [
        {"name": column, "shape": [len(rows)], "datatype": "FP64", "data": rows[column].tolist()}
        for column in rows.columns
        if column != drop
    ]
    body: dict[str, Any] = {"inputs": inputs}
    if request_id is not None:
        body["id"] = request_id
    return body


class Client:
    """One keep-alive HTTP connection to a server (one per thread)."""

    def __init__(self, plan: ServePlan) -> None:
        self.plan = plan
        self.connection = http.client.HTTPConnection("127.0.0.1", plan.port, timeout=30)

    def infer(self, body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        self.connection.request(
            "POST",
            f"/v2/models/{self.plan.model_name}/infer",
            body=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        response = self.connection.getresponse()
        payload = json.loads(response.read())
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload

    def close(self) -> None:
        self.connection.close()


def outputs_of(payload: dict[str, Any]) -> list[int]:
    (output,) = payload["outputs"]
    assert output["name"] == "predict"
    return [int(v) for v in output["data"]]


@pytest.fixture(scope="module")
def shadowed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, Registry, Any, Any]]:
    """A server of cancer@champion with cancer@challenger in its shadow."""
    registry, stump, deeper = new_registry(tmp_path_factory.mktemp("shadowed"))
    server = start_server_process(
        fresh_plan(registry, "cancer@champion", shadow="cancer@challenger")
    )
    yield server, registry, stump, deeper
    server.stop()
    registry.close()


def test_served_predictions_equal_the_models_own(shadowed) -> None:
    server, _, stump, _ = shadowed
    client = Client(server.plan)
    rows = FEATURES.iloc[100:160]

    status, headers, payload = client.infer(v2_body(rows, "equal-1"))
    client.close()

    assert status == 200, payload
    assert outputs_of(payload) == stump.predict(rows).tolist()
    assert payload["id"] == "equal-1"
    assert payload["model_version"] == "1"
    assert payload["parameters"]["served_version"] == "cancer@1"
    assert headers["x-model-version"] == "cancer@1"


def test_one_matrix_input_is_read_in_the_signatures_order(shadowed) -> None:
    server, _, stump, _ = shadowed
    client = Client(server.plan)
    rows = FEATURES.iloc[:7]
    body = {"inputs": [{"name": "rows", "shape": [7, 30], "datatype": "FP64",
                        "data": rows.to_numpy().ravel().tolist()}]}  # fmt: skip

    status, _, payload = client.infer(body)
    client.close()

    assert status == 200, payload
    assert outputs_of(payload) == stump.predict(rows).tolist()


def test_a_request_lacking_a_column_gets_a_400_naming_it(shadowed) -> None:
    server, _, _, _ = shadowed
    client = Client(server.plan)

    status, _, payload = client.infer(v2_body(FEATURES.iloc[:3], drop="worst area"))
    client.close()

    assert status == 400
    assert 'The request to cancer@1 lacks the input column "worst area"' in payload["error"]
    assert "Send one input per column the model takes" in payload["error"]


def test_the_shadow_scores_every_request_and_answers_none(shadowed) -> None:
    server, registry, stump, deeper = shadowed
    client = Client(server.plan)
    batches = {f"shadow-{n}": FEATURES.iloc[n * 50 : n * 50 + 50] for n in range(8)}
    answers = {}
    for request_id, rows in batches.items():
        status, _, payload = client.infer(v2_body(rows, request_id))
        assert status == 200
        answers[request_id] = outputs_of(payload)
    client.close()

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        logged = read_predictions(registry, "cancer")
        shadow = logged[(logged["role"] == "shadow") & logged["request_id"].isin(list(batches))]
        if len(shadow) == len(batches):
            break
        time.sleep(0.1)
    assert sorted(shadow["request_id"]) == sorted(batches)
    assert set(shadow["version"]) == {2} and set(shadow["served_as"]) == {"cancer@challenger"}
    for request_id, rows in batches.items():
        logged_shadow = shadow[shadow["request_id"] == request_id].iloc[0]["outputs"]
        assert logged_shadow == deeper.predict(rows).tolist()
        assert answers[request_id] == stump.predict(rows).tolist()
    differs = [
        rid for rid, rows in batches.items() if answers[rid] != deeper.predict(rows).tolist()
    ]
    assert differs, "the two versions must disagree somewhere for this test to mean anything"


# MLServer 1.7's gRPC converters still call pydantic's construct(); not ours to change
@pytest.mark.filterwarnings("ignore:The `construct` method is deprecated:DeprecationWarning")
def test_grpc_answers_with_the_same_runtime(shadowed) -> None:
    import grpc
    from mlserver.grpc import dataplane_pb2_grpc
    from mlserver.grpc.converters import ModelInferRequestConverter, ModelInferResponseConverter
    from mlserver.types import InferenceRequest

    server, _, stump, _ = shadowed
    rows = FEATURES.iloc[200:205]
    request = InferenceRequest.model_validate(v2_body(rows, "grpc-1"))
    message = ModelInferRequestConverter.from_types(
        request, model_name="cancer", model_version=None
    )

    with grpc.insecure_channel(f"127.0.0.1:{server.plan.ports[1]}") as channel:
        answer = dataplane_pb2_grpc.GRPCInferenceServiceStub(channel).ModelInfer(
            message, timeout=30
        )
    response = ModelInferResponseConverter.to_types(answer)

    assert response.id == "grpc-1" and response.parameters.served_version == "cancer@1"
    assert list(response.outputs[0].data) == stump.predict(rows).tolist()


def test_the_prometheus_endpoint_counts_the_requests(shadowed) -> None:
    server, _, _, _ = shadowed
    metrics_port = server.plan.ports[2]

    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
        text = response.read().decode()

    assert 'model_infer_request_success_total{model="cancer"' in text


def tamper_file(registry: Registry, ref: str) -> None:
    """Change one byte of the stored file of ``ref``."""
    path = registry.artifacts.path_of(resolve_version(registry, ref).artifact_sha256)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x01
    path.chmod(0o644)
    path.write_bytes(bytes(data))


def test_a_changed_artifact_is_refused_before_the_server_starts(tmp_path: Path) -> None:
    registry, _, _ = new_registry(tmp_path)
    tamper_file(registry, "cancer@champion")

    with pytest.raises(ServingError) as caught:
        start_server_process(fresh_plan(registry, "cancer@champion"), ready_timeout=60)

    assert caught.value.message.startswith("The stored file of cancer@1 does not match the hash")
    assert "cancer@1 is not loaded" in caught.value.message
    assert caught.value.hint and "register the model again" in caught.value.hint
    registry.close()


def test_the_runtime_refuses_a_file_changed_after_the_check(tmp_path: Path) -> None:
    """The server's own load checks the hash too (a file changed between the command's check
    and the load): MLServer stops, and the error names the version."""
    from jupyter_mlops.serving.runtime import run_server

    registry, _, _ = new_registry(tmp_path)
    tamper_file(registry, "cancer@champion")

    with pytest.raises(ArtifactIntegrityError, match="The stored file of cancer@1 does not match"):
        run_server(fresh_plan(registry, "cancer@champion"))  # in this process, past the check
    registry.close()


def test_the_alias_moves_under_load_without_a_failed_request(tmp_path: Path) -> None:
    registry, stump, deeper = new_registry(tmp_path)
    server = start_server_process(fresh_plan(registry, "cancer@champion"))
    rows = FEATURES.iloc[:40]
    expected = {"cancer@1": stump.predict(rows).tolist(), "cancer@2": deeper.predict(rows).tolist()}
    answered: list[tuple[str, int, str, list[int]]] = []
    stop = threading.Event()

    def load() -> None:
        client = Client(server.plan)
        number = 0
        while not stop.is_set():
            request_id = f"load-{number}"
            status, headers, payload = client.infer(v2_body(rows, request_id))
            answered.append((request_id, status, headers.get("x-model-version", ""),
                             outputs_of(payload) if status == 200 else []))  # fmt: skip
            number += 1
        client.close()

    try:
        thread = threading.Thread(target=load)
        thread.start()
        time.sleep(1.0)
        promote(registry, "cancer@2", "champion")
        moved_at = len(answered)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(v == "cancer@2" for _, _, v, _ in answered):
            time.sleep(0.05)
        time.sleep(0.5)
        stop.set()
        thread.join(timeout=30)
    finally:
        stop.set()
        assert server.stop() == 0  # a graceful stop, which writes what the log holds

    assert [a for a in answered if a[1] != 200] == []
    versions = [version for _, _, version, _ in answered]
    assert versions[:moved_at].count("cancer@1") == moved_at
    switch = versions.index("cancer@2")
    assert set(versions[switch:]) == {"cancer@2"}, "once the new version answers, it answers all"
    assert all(outputs == expected[version] for _, _, version, outputs in answered)

    logged = read_predictions(registry, "cancer", role="served")
    by_request = dict(zip(logged["request_id"], "cancer@" + logged["version"].astype(str)))
    assert len(logged) == len(answered)
    assert all(by_request[request_id] == version for request_id, _, version, _ in answered)
    assert set(logged["served_as"]) == {"cancer@champion"}
    registry.close()


def test_a_locked_registry_delays_no_answer_and_loses_no_prediction(tmp_path: Path) -> None:
    """...and the server, started for a process that then dies, stops by itself, writing
    what its log holds (as a notebook's server does when its kernel is gone)."""
    registry, stump, _ = new_registry(tmp_path)
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    plan = replace(fresh_plan(registry, "cancer@champion"), stop_with_pid=parent.pid)
    server = start_server_process(plan)
    client = Client(server.plan)
    rows = FEATURES.iloc[:5]
    client.infer(v2_body(rows, "warm-up"))
    blocker = sqlite3.connect(registry.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock for 2 s
    times = []
    try:
        started = time.monotonic()
        number = 0
        while time.monotonic() - started < 2.0:
            before = time.perf_counter()
            status, _, payload = client.infer(v2_body(rows, f"locked-{number}"))
            times.append(time.perf_counter() - before)
            assert status == 200 and outputs_of(payload) == stump.predict(rows).tolist()
            number += 1
        while_locked = read_predictions(registry)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        client.close()
        parent.kill()
        parent.wait()
    try:
        status = server.popen.wait(timeout=30)
    finally:
        server.stop()

    assert status == 0, server.log_tail()
    assert number > 20
    # an answer that waited for the lock would wait the log's busy timeout (0.5 s) or more,
    # every time: the typical answer is far below it; a single slow one is the machine's
    # load (the suite runs in three workers beside other Pythons' suites), not the lock
    typical = statistics.median(times)
    assert typical < 0.1, f"answers took {typical:.3f} s (median) while the registry was locked"
    assert sorted(times)[int(len(times) * 0.9)] < 0.3
    assert not while_locked["request_id"].str.startswith("locked-").any()
    logged = read_predictions(registry)
    assert {f"locked-{n}" for n in range(number)} <= set(logged["request_id"])
    registry.close()


def test_the_magic_serves_in_the_background_and_stops(shell, registry: Registry) -> None:
    stump = DecisionTreeClassifier(max_depth=2, random_state=0).fit(FEATURES, TARGET)
    register(registry, stump, "cancer", alias="champion")
    port = free_port()
    from IPython.utils.capture import capture_output

    try:
        with capture_output() as started:
            result = shell.run_cell(f"%mlops serve cancer@champion --port {port}")  # type: ignore[attr-defined]
        assert result.success, result.error_in_exec
        assert (
            f"Serving cancer@champion at http://127.0.0.1:{port}/v2/models/cancer/infer"
            in started.stdout
        )
        server = SERVERS.servers[port]
        client = Client(server.plan)
        status, _, payload = client.infer(v2_body(FEATURES.iloc[:4]))
        client.close()
        assert status == 200 and outputs_of(payload) == stump.predict(FEATURES.iloc[:4]).tolist()

        with capture_output() as stopped:
            shell.run_cell("%mlops serve --stop")  # type: ignore[attr-defined]
        assert f"Stopped the server of cancer@champion at http://127.0.0.1:{port}" in stopped.stdout
        assert not server.running and port not in SERVERS.servers
    finally:
        SERVERS.stop_all()


def test_servers_started_in_background_stop_when_their_process_exits(tmp_path: Path) -> None:
    registry, _, _ = new_registry(tmp_path)
    # follow_seconds of 60: the server would notice its parent gone only after a minute, so
    # what stops it within the timeout below is the exit hook of the process that started it
    plan = replace(fresh_plan(registry, "cancer@champion"), follow_seconds=60.0)
    script = (
        "import json, sys\n"
        "from jupyter_mlops.serving.plan import ServePlan\n"
        "from jupyter_mlops.serving.process import SERVERS\n"
        "server = SERVERS.start(ServePlan.from_dict(json.loads(sys.argv[1])))\n"
        "print(server.popen.pid, flush=True)\n"
    )
    started = subprocess.run(
        [sys.executable, "-c", script, json.dumps(plan.to_dict())],
        capture_output=True, text=True, timeout=180, check=True,
    )  # fmt: skip
    server_pid = int(started.stdout.split()[-1])

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not process_gone(server_pid):
        time.sleep(0.1)
    registry.close()
    gone = process_gone(server_pid)
    if not gone:
        os.kill(server_pid, signal.SIGTERM)
    assert gone, f"the server {server_pid} outlived the process that started it"


def process_gone(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie waiting for its parent to reap it has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def test_the_magic_shows_why_a_server_did_not_start(shell, registry: Registry) -> None:
    from IPython.utils.capture import capture_output

    with capture_output() as shown:
        result = shell.run_cell(f"%mlops serve nothing@champion --port {free_port()}")  # type: ignore[attr-defined]

    assert not result.success
    assert 'No model named "nothing"' in shown.stderr + shown.stdout
    assert SERVERS.servers == {}


def post_feedback(plan: ServePlan, body: object) -> tuple[int, dict[str, Any]]:
    connection = http.client.HTTPConnection("127.0.0.1", plan.port, timeout=30)
    try:
        connection.request("POST", "/v2/feedback", json.dumps(body),
                           {"Content-Type": "application/json"})  # fmt: skip
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_labels_come_back_through_the_servers_feedback_route(shadowed) -> None:
    server, registry, _, _ = shadowed
    client = Client(server.plan)
    rows = FEATURES.iloc[200:203]
    status, _, _ = client.infer(v2_body(rows, "labelled-1"))
    client.close()
    assert status == 200

    # answered a moment ago: the route writes the log before it looks the request up
    status, payload = post_feedback(
        server.plan, {"request_ids": ["labelled-1"], "labels": [TARGET.iloc[200:203].tolist()]}
    )

    assert (status, payload) == (200, {"recorded": 1})
    (stored,) = registry.query_tuples(
        "SELECT labels FROM prediction_labels WHERE request_id = 'labelled-1'"
    )
    assert json.loads(stored[0]) == TARGET.iloc[200:203].tolist()
    status, payload = post_feedback(server.plan, {"request_ids": ["never-sent"], "labels": [1]})
    assert status == 404 and "never-sent" in payload["error"] and payload["hint"]
    status, payload = post_feedback(server.plan, {"labels": [1]})
    assert status == 400 and "request_ids and labels" in payload["error"]
    status, payload = post_feedback(
        server.plan, {"request_ids": ["labelled-1"], "labels": [[1, 0]]}
    )
    assert status == 400 and "labelled-1" in payload["error"]  # three rows, two labels
