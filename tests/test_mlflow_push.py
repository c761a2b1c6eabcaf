"""Pushing a registry to a real MLflow tracking server, read back with MLflow's own client."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from IPython.utils.capture import capture_output

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.errors import TrackingServerError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.sharing.mlflow_api import MlflowServer
from jupyter_mlops.sharing.mlflow_push import PushProgress, push, since_time

from .conftest import cli_runner, run_cell
from .mlflow_tracking import MlflowTrackingServer, free_port, mlflow_client, mlflow_python

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("closing_registries")]
EXPECTED_SECONDS = 60  # measured: 31 s on a quiet machine, 89 s on a loaded one (server start)

LOSS_STEPS = 1500  # more than one log-batch of 1000 points


@pytest.fixture(scope="module")
def python() -> Path:
    return mlflow_python()


@pytest.fixture(scope="module")
def tracking(python: Path, tmp_path_factory: pytest.TempPathFactory):
    with MlflowTrackingServer(python, tmp_path_factory.mktemp("mlflow")) as server:
        yield server


def example_registry(experiment: str, model: str) -> dict[str, Any]:
    """A registry like the example notebooks': a baseline with a long loss curve, a data
    snapshot, a logged file and version 1 of ``model`` (champion); a sweep of three trials;
    a better run with version 2, promoted to champion through a gate."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"x": rng.normal(size=200), "label": rng.integers(0, 2, 200)})
    with mlops.start_run("baseline", experiment=experiment) as baseline:
        mlops.log_params(lr=0.1, depth=3, optimizer="adam", layers=[64, 32])
        for step in range(LOSS_STEPS):
            mlops.log(loss=1 / (step + 1), step=step)
        mlops.log(accuracy=0.91)
        mlops.snapshot(frame, name="train", role="train")
        mlops.log_text("labels from the March export", "notes.txt")
        mlops.note(baseline, "first try, default features")
        mlops.register_model({"weights": [1, 2]}, model, alias="champion")
    with mlops.start_run("sweep", experiment=experiment) as sweep:
        trials = []
        for lr in (0.01, 0.1, 0.3):
            with mlops.start_run(f"trial-{lr}") as trial:
                mlops.log_params(lr=lr)
                for step in range(20):
                    mlops.log(val_loss=lr * (20 - step), step=step)
                trials.append(trial.id)
    with mlops.start_run("better", experiment=experiment) as better:
        mlops.log_params(lr=0.05, depth=4)
        mlops.log(accuracy=0.95)
        mlops.register_model({"weights": [3, 4]}, model)
    mlops.promote(f"{model}@2", alias="champion", gates=["accuracy >= 0.9"])
    return {
        "baseline": baseline.id,
        "sweep": sweep.id,
        "trials": trials,
        "better": better.id,
    }


READ_BACK = """
experiment = client.get_experiment_by_name({experiment!r})
runs = client.search_runs([experiment.experiment_id], max_results=1000)
out = {{"runs": {{}}}}
for run in runs:
    ours = run.data.tags.get("mlops.run_id")
    histories = {{
        key: [[m.step, m.value, m.timestamp] for m in client.get_metric_history(run.info.run_id, key)]
        for key in run.data.metrics
    }}
    files = []
    for folder in ("code", "artifacts", "snapshots", "gates", "models/{model}/v1", "models/{model}/v2"):
        files += [f.path for f in client.list_artifacts(run.info.run_id, folder)]
    out["runs"][ours] = {{
        "mlflow_id": run.info.run_id,
        "name": run.info.run_name,
        "status": run.info.status,
        "start": run.info.start_time,
        "end": run.info.end_time,
        "params": run.data.params,
        "tags": run.data.tags,
        "histories": histories,
        "files": files,
    }}
versions = client.search_model_versions("name = '{model}'")
out["versions"] = sorted(
    [[int(v.version), v.source, v.run_id, v.tags.get("mlops.version")] for v in versions]
)
champion = client.get_model_version_by_alias({model!r}, "champion")
out["champion"] = [champion.version, champion.tags.get("mlops.version")]
print(json.dumps(out))
"""


def read_back(python: Path, uri: str, experiment: str, model: str) -> dict[str, Any]:
    return mlflow_client(python, uri, READ_BACK.format(experiment=experiment, model=model))


# The later tests read back over MLflow's REST API with this project's transport: the same
# answers from the same server, without the seconds MLflow's client takes to import.
def remote_runs(uri: str, experiment: str) -> dict[str, dict[str, Any]]:
    """The MLflow runs of ``experiment`` by their ``mlops.run_id`` (as runs/search gives them,
    params and tags as dicts)."""
    with MlflowServer(uri) as server:
        found = server.get("experiments/get-by-name", experiment_name=experiment)
        request = {"experiment_ids": [found["experiment"]["experiment_id"]], "max_results": 500}
        runs = list(server.pages("POST", "runs/search", request, "runs"))
    out = {}
    for run in runs:
        data = run.get("data", {})
        tags = {t["key"]: t["value"] for t in data.get("tags", [])}
        out[tags["mlops.run_id"]] = {
            "info": run["info"],
            "params": {p["key"]: p["value"] for p in data.get("params", [])},
            "tags": tags,
            "metrics": {m["key"]: m["value"] for m in data.get("metrics", [])},
        }
    return out


def remote_history(uri: str, run_id: str, key: str) -> list[list[Any]]:
    with MlflowServer(uri) as server:
        points = server.get("metrics/get-history", run_id=run_id, metric_key=key)["metrics"]
    return [[p["step"], p["value"], p["timestamp"]] for p in points]


def remote_files(uri: str, run_id: str, folder: str) -> list[str]:
    with MlflowServer(uri) as server:
        listed = server.get("artifacts/list", run_id=run_id, path=folder)
    return [entry["path"] for entry in listed.get("files", [])]


def metric_rows(registry: Registry, run_id: str, key: str) -> list[list[Any]]:
    return [
        [step, value, int(timestamp * 1000)]
        for step, value, timestamp in registry.query_tuples(
            "SELECT step, value, timestamp FROM metrics WHERE run_id = ? AND key = ?"
            " ORDER BY step, rowid",
            (run_id, key),
        )
    ]


def test_a_push_is_read_back_whole_by_mlflows_client(
    registry: Registry, tracking: MlflowTrackingServer, python: Path
) -> None:
    ids = example_registry("churn-whole", "churn-whole")
    seen: list[PushProgress] = []
    report = push(registry, tracking.uri, progress=seen.append)
    back = read_back(python, tracking.uri, "churn-whole", "churn-whole")

    assert report.created == {
        "experiments": 1, "runs": 6, "model versions": 2, "aliases": 1
    }  # fmt: skip
    assert report.unmappable == ()
    assert report.sent["metric points"] == LOSS_STEPS + 1 + 3 * 20 + 1
    runs = back["runs"]
    assert set(runs) == {ids["baseline"], ids["sweep"], ids["better"], *ids["trials"]}
    baseline = runs[ids["baseline"]]
    assert baseline["params"] == {
        "lr": "0.1", "depth": "3", "optimizer": "adam", "layers": "[64, 32]"
    }  # fmt: skip
    assert baseline["histories"]["loss"] == metric_rows(registry, ids["baseline"], "loss")
    assert len(baseline["histories"]["loss"]) == LOSS_STEPS
    assert baseline["status"] == "FINISHED" and baseline["end"] is not None
    assert baseline["tags"]["mlflow.note.content"] == "first try, default features"
    assert baseline["tags"]["mlops.snapshot.train"].startswith("train ")
    files = set(baseline["files"])
    assert "artifacts/notes.txt" in files and "snapshots/train.json" in files
    assert any(path.startswith("code/") for path in files) is False  # a script run has no cells
    assert any(path.startswith("models/churn-whole/v1/") for path in files)
    top = remote_files(tracking.uri, baseline["mlflow_id"], "")
    assert "environment.json" in top and "artifacts" in top
    for trial in ids["trials"]:
        assert runs[trial]["tags"]["mlflow.parentRunId"] == runs[ids["sweep"]]["mlflow_id"]
        assert runs[trial]["histories"]["val_loss"] == metric_rows(registry, trial, "val_loss")
    better = runs[ids["better"]]
    assert [k for k in better["tags"] if k.startswith("mlops.gate.promote.")]
    assert any(path.startswith("gates/") for path in better["files"])
    assert [v[3] for v in back["versions"]] == ["1", "2"]
    assert back["versions"][1][2] == better["mlflow_id"]
    assert back["versions"][1][1].endswith("/artifacts/models/churn-whole/v2")
    assert back["champion"][1] == "2"  # promoted from version 1 through the gate
    assert seen and seen[-1].stage == "aliases" and seen[-1].done == seen[-1].total
    assert any(p.stage == "runs" and p.done == p.total == 6 for p in seen)


def test_a_second_push_creates_nothing_and_one_more_run_adds_exactly_that_run(
    registry: Registry, tracking: MlflowTrackingServer
) -> None:
    ids = example_registry("churn-again", "churn-again")
    first = push(registry, tracking.uri)
    assert first.created["runs"] == 6

    started = time.perf_counter()
    again = push(registry, tracking.uri)
    seconds = time.perf_counter() - started
    assert again.created == {} and again.updated == {} and again.sent == {}
    assert again.unchanged == {
        "experiments": 1, "runs": 6, "model versions": 2, "aliases": 1
    }  # fmt: skip
    assert "nothing new to send" in again.describe()
    assert seconds < 2.0, seconds  # no request for an unchanged run

    with mlops.start_run("extra", experiment="churn-again") as extra:
        mlops.log(accuracy=0.8)
    third = push(registry, tracking.uri)
    assert third.created == {"runs": 1}
    assert third.unchanged["runs"] == 6
    assert third.sent["runs"] == 1 and third.sent["metric points"] == 1

    with MlflowServer(tracking.uri) as server:
        versions = server.get("model-versions/search", filter="name = 'churn-again'")
    counted = [sorted(remote_runs(tracking.uri, "churn-again")), len(versions["model_versions"])]
    local = sorted([ids["baseline"], ids["sweep"], ids["better"], *ids["trials"], extra.id])
    assert counted == [local, 2]  # the second push made no copies


def test_a_live_run_is_updated_with_exactly_its_new_points_then_its_end(
    registry: Registry, tracking: MlflowTrackingServer
) -> None:
    run = mlops.start_run("live", experiment="churn-live", tags={"stage": "dev"})
    for step in range(5):
        run.log(loss=1.0 / (step + 1), step=step)
    run.flush()
    first = push(registry, tracking.uri)
    assert first.sent["metric points"] == 5
    for step in range(5, 12):
        run.log(loss=1.0 / (step + 1), step=step)
    run.log_params(batch=32)
    run.log_text("epoch 12: plateau", "log.txt")
    run.flush()
    second = push(registry, tracking.uri)
    assert second.updated == {"runs": 1}
    # the file logged and the run's record (mlops/run.json: a new param)
    assert second.sent == {"metric points": 7, "params": 1, "files": 2}
    run.end()
    mlops.untag(run.id, "stage")
    third = push(registry, tracking.uri)
    # and its end, and its record again (its end, its tags)
    assert third.updated == {"runs": 1} and third.sent == {"tags removed": 1, "files": 1}

    remote = remote_runs(tracking.uri, "churn-live")[run.id]
    mlflow_id = remote["info"]["run_id"]
    assert remote["info"]["status"] == "FINISHED" and remote["params"] == {"batch": "32"}
    assert [p[0] for p in remote_history(tracking.uri, mlflow_id, "loss")] == list(range(12))
    assert remote_files(tracking.uri, mlflow_id, "artifacts") == ["artifacts/log.txt"]
    assert "stage" not in remote["tags"]


def _mlflow_id(registry: Registry, server: str, run_id: str) -> str:
    row = registry.query_one(
        "SELECT remote_id FROM mlflow_pushes WHERE server = ? AND kind = 'run' AND local_id = ?",
        (server, run_id),
    )
    assert row is not None
    return str(row[0])


def test_what_mlflow_cannot_hold_is_reported_by_name_and_the_rest_goes(
    registry: Registry, tracking: MlflowTrackingServer
) -> None:
    with mlops.start_run("odd", experiment="churn-odd") as odd:
        mlops.log_params({"a<b": 1, "fine": 2, "long": "x" * 7000})
        odd.set_tags({"review": "y" * 9000, "team": "growth"})
        mlops.log({"nan-metric": math.nan, "ok": 1.0, "blew-up": math.inf})
    mlops.register_model({"weights": [0]}, "churn-odd", alias="staging")  # outside any run
    report = push(registry, tracking.uri)
    described = {(item.owner, item.item) for item in report.unmappable}
    label = f"run odd ({odd.id})"
    assert (label, 'param "a<b"') in described
    assert (label, 'param "long"') in described
    assert (label, 'tag "review"') in described
    assert ("model churn-odd version 1", "the version") in described
    assert ("alias churn-odd@staging", "version 1") in described
    text = report.describe()
    assert 'param "a<b"' in text and "MLflow refuses the characters < in a name" in text

    with registry.transaction() as conn:  # a param changed after the push
        conn.execute("UPDATE params SET value = 3 WHERE run_id = ? AND key = 'fine'", (odd.id,))
    changed = push(registry, tracking.uri)
    assert [(i.owner, i.item) for i in changed.unmappable if "changed" in i.reason] == [
        (label, 'param "fine"')
    ]
    still = push(registry, tracking.uri)  # said again at every push, not only once
    assert still.unmappable == changed.unmappable and still.sent == {}
    remote = remote_runs(tracking.uri, "churn-odd")[odd.id]
    assert remote["params"] == {"fine": "2"} and remote["tags"]["team"] == "growth"
    nan = remote_history(tracking.uri, remote["info"]["run_id"], "nan-metric")[0][1]
    assert nan == "NaN" and remote["metrics"]["ok"] == 1.0
    # MLflow keeps an infinity as the largest float, its own convention
    assert remote["metrics"]["blew-up"] == 1.7976931348623157e308


def test_the_cli_pushes_prints_progress_and_the_report_and_exits_by_outcome(
    registry: Registry, tracking: MlflowTrackingServer
) -> None:
    with mlops.start_run("cli-run", experiment="churn-cli"):
        mlops.log(accuracy=0.9)
    with mlops.start_run("other", experiment="elsewhere"):
        mlops.log(accuracy=0.7)
    args = ["push", "--registry", str(registry.path), "--to", "mlflow", tracking.uri]
    result = cli_runner().invoke(main, [*args, "--experiment", "churn-cli"])
    assert result.exit_code == 0, result.output
    assert "runs: 1/1" in result.stderr
    assert "runs: 1 created, 0 updated, 0 unchanged" in result.stdout
    with mlops.start_run("bad", experiment="churn-cli"):
        mlops.log_params({"a<b": 1})
    result = cli_runner().invoke(main, [*args, "--experiment", "churn-cli", "--quiet"])
    assert result.exit_code == 3
    assert 'param "a<b"' in result.stdout and result.stderr == ""

    wrong = cli_runner().invoke(main, ["push", "--to", "s3", tracking.uri])
    assert wrong.exit_code == 2 and "--to mlflow URI" in wrong.stderr
    since = cli_runner().invoke(main, [*args, "--since", "last tuesday"])
    assert since.exit_code == 1 and "neither a date nor a duration" in since.stderr


def test_an_unreachable_server_is_named_and_nothing_local_is_lost(registry: Registry) -> None:
    with mlops.start_run("kept", experiment="churn-down") as kept:
        mlops.log(accuracy=0.9)
    address = f"http://127.0.0.1:{free_port()}"
    result = cli_runner().invoke(
        main, ["push", "--registry", str(registry.path), "--to", "mlflow", address]
    )
    assert result.exit_code == 1
    assert f"the MLflow server at {address} cannot be reached" in result.stderr
    assert "Nothing was sent, and the registry is as it was" in result.stderr
    assert registry.query_one("SELECT count(*) FROM mlflow_pushes")[0] == 0
    assert registry.query_one("SELECT count(*) FROM metrics WHERE run_id = ?", (kept.id,))[0] == 1


def test_the_magic_pushes_in_a_real_ipython_shell(
    shell: Any, registry: Registry, tracking: MlflowTrackingServer
) -> None:
    run_cell(shell, "%%mlops run from-notebook --experiment churn-magic\nmlops.log(accuracy=0.9)")
    with capture_output() as captured:
        run_cell(shell, f"%mlops push --to mlflow {tracking.uri} --experiment churn-magic")
    assert "runs: 1/1" in captured.stdout
    assert "runs: 1 created, 0 updated, 0 unchanged" in captured.stdout
    (run_id,) = registry.query_one("SELECT id FROM runs WHERE name = 'from-notebook'")
    with MlflowServer(tracking.uri) as server:
        code = server.get(
            "artifacts/list", run_id=_mlflow_id(registry, tracking.uri, run_id), path="code"
        )
    assert [entry["path"] for entry in code["files"]] == ["code/cell-0.py"]

    with capture_output() as captured:
        result = run_cell(shell, f"%mlops push --to mlflow http://127.0.0.1:{free_port()}")
    shown = captured.stderr + str(result.error_in_exec)
    assert "cannot be reached" in shown and "Nothing was sent" in shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-11-30", "2026-11-30T00:00:00"), ("2026-11-30T14:00", "2026-11-30T14:00:00")],
)
def test_since_reads_dates_and_durations(text: str, expected: str) -> None:
    import datetime as dt

    assert dt.datetime.fromtimestamp(since_time(text)).isoformat() == expected
    assert abs(since_time("2d") - (time.time() - 2 * 86400)) < 5


def test_a_lost_record_finds_the_runs_already_there_instead_of_copying_them(
    registry: Registry, tracking: MlflowTrackingServer
) -> None:
    with mlops.start_run("kept-once", experiment="churn-lost") as run:
        for step in range(3):
            mlops.log(loss=1.0 / (step + 1), step=step)
        mlops.register_model({"weights": [5]}, "churn-lost", alias="champion")
    push(registry, tracking.uri)
    with registry.transaction() as conn:
        conn.execute("DELETE FROM mlflow_pushes")
    again = push(registry, tracking.uri)
    # no run or version made again; the alias is set again, which leaves it as it was
    assert again.created == {"aliases": 1} and again.updated == {"runs": 1}
    assert again.unchanged["model versions"] == 1
    with MlflowServer(tracking.uri) as server:
        versions = server.get("model-versions/search", filter="name = 'churn-lost'")
    assert len(versions["model_versions"]) == 1
    remote = remote_runs(tracking.uri, "churn-lost")
    assert list(remote) == [run.id]
    history = remote_history(tracking.uri, remote[run.id]["info"]["run_id"], "loss")
    assert [p[0] for p in history] == [0, 1, 2]  # points sent again are kept once


class CuttingProxy:
    """A proxy in front of the real server that answers 500 once ``budget`` requests have
    gone through (a server that fails in the middle of a push), and 400 to a request whose
    body holds ``refused`` (a server with rules of its own)."""

    def __init__(self, upstream: str) -> None:
        import http.client
        import http.server
        import threading
        import urllib.parse

        target = urllib.parse.urlsplit(upstream)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.budget is not None and proxy.forwarded >= proxy.budget:
                    status, payload = 500, b'{"error_code": "INTERNAL_ERROR", "message": "down"}'
                elif proxy.refused and proxy.refused in body:
                    status = 400
                    payload = b'{"error_code": "INVALID_PARAMETER_VALUE", "message": "not here"}'
                else:
                    proxy.forwarded += 1
                    proxy.requests.append(f"{self.command} {self.path.split('?')[0]}")
                    connection = http.client.HTTPConnection(target.hostname, target.port)
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                    connection.request(self.command, self.path, body=body, headers=headers)
                    answer = connection.getresponse()
                    status, payload = answer.status, answer.read()
                    connection.close()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward

            def log_message(self, *args: object) -> None:
                pass

        self.budget: int | None = None
        self.refused: bytes = b""  # a request whose body holds this is refused (400)
        self.forwarded = 0
        self.requests: list[str] = []  # method and path of each forwarded request
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_new_run_takes_three_requests_and_what_passes_one_batch_follows(
    registry: Registry, tracking: MlflowTrackingServer
) -> None:
    params: dict[str, dict[str, int]] = {}
    for number in range(3):
        with mlops.start_run(f"trial-{number}", experiment="churn-requests") as run:
            mlops.log_params(**{f"p{i}": i * number for i in range(10)})
            for step in range(100):
                mlops.log(loss=1 / (step + 1), accuracy=step / 100, step=step)
        params[run.id] = {f"p{i}": i * number for i in range(10)}
    with mlops.start_run("wide", experiment="churn-requests") as wide:  # past one batch
        mlops.log_params(**{f"p{i}": i for i in range(150)})
        for step in range(600):
            mlops.log(loss=1 / (step + 1), accuracy=step / 600, step=step)
    params[wide.id] = {f"p{i}": i for i in range(150)}
    proxy = CuttingProxy(tracking.uri)
    try:
        pushed = push(registry, proxy.uri, experiment="churn-requests")
    finally:
        proxy.close()

    # the experiment: asked for, then created; per run: create, one log-batch (params, tags
    # and points), its two files, its end; no search for runs in an experiment just made.
    # The wide run: its 50 more params and the points past the first batch, one batch each
    assert pushed.created["runs"] == 4
    sent = [request.rsplit("/", 1)[1] for request in proxy.requests]
    one_run = ["create", "log-batch", "environment.json", "run.json", "update"]
    wide_run = ["create", "log-batch", "log-batch", "log-batch", *one_run[2:]]
    assert sent == ["get-by-name", "create", *one_run * 3, *wide_run]
    remote = remote_runs(tracking.uri, "churn-requests")
    for run_id, logged in params.items():
        assert remote[run_id]["params"] == {key: str(value) for key, value in logged.items()}
        assert remote[run_id]["info"]["status"] == "FINISHED"
        for key in ("loss", "accuracy"):
            history = remote_history(tracking.uri, remote[run_id]["info"]["run_id"], key)
            assert history == metric_rows(registry, run_id, key)


def test_params_and_tags_too_long_for_one_request_go_in_batches_of_their_own(
    registry: Registry, tracking: MlflowTrackingServer
) -> None:
    long = {f"p{i}": str(i) * 6000 for i in range(1, 10)} | {"notes": "x" * 6000}
    tags = {f"t{i}": "z" * 8000 for i in range(60)}  # 480 KB, and 600 KB of params
    with mlops.start_run("long", experiment="churn-long", tags=tags) as run:
        mlops.log_params(**{f"q{i}": "y" * 6000 for i in range(90)}, **long)
        for step in range(10):
            mlops.log(loss=1 / (step + 1), step=step)
    proxy = CuttingProxy(tracking.uri)
    try:
        push(registry, proxy.uri, experiment="churn-long")
    finally:
        proxy.close()

    sent = [request.rsplit("/", 1)[1] for request in proxy.requests]
    # params, tags and points each in a batch of its own: together, past MLflow's 1 MB
    assert sent[2:6] == ["create", "log-batch", "log-batch", "log-batch"]
    remote = remote_runs(tracking.uri, "churn-long")[run.id]
    assert len(remote["params"]) == 100 and remote["params"]["notes"] == "x" * 6000
    assert all(remote["tags"][key] == value for key, value in tags.items())
    history = remote_history(tracking.uri, remote["info"]["run_id"], "loss")
    assert history == metric_rows(registry, run.id, "loss")


def test_a_push_cut_short_by_the_server_is_recorded_and_the_next_one_resumes(
    registry: Registry, tracking: MlflowTrackingServer
) -> None:
    ids = example_registry("churn-cut", "churn-cut")
    proxy = CuttingProxy(tracking.uri)
    try:
        # the experiment (asked for, created), the first run and its first batch: part of
        # its metric points
        proxy.budget = 4
        with pytest.raises(TrackingServerError) as cut:
            push(registry, proxy.uri)
        assert "HTTP 500" in str(cut.value)
        assert "The push stopped there; what it sent before" in str(cut.value)
        recorded = registry.query_one(
            "SELECT count(*) FROM mlflow_pushes WHERE server = ? AND kind = 'run'", (proxy.uri,)
        )[0]
        assert 1 <= recorded < 6
        proxy.budget = None
        resumed = push(registry, proxy.uri)
    finally:
        proxy.close()
    assert resumed.created["runs"] + resumed.updated.get("runs", 0) == 6
    assert resumed.created["runs"] == 6 - recorded
    remote = remote_runs(tracking.uri, "churn-cut")
    assert sorted(remote) == sorted([ids["baseline"], ids["sweep"], ids["better"], *ids["trials"]])
    loss = remote_history(tracking.uri, remote[ids["baseline"]]["info"]["run_id"], "loss")
    assert loss == metric_rows(registry, ids["baseline"], "loss")  # every point, once
    with MlflowServer(tracking.uri) as server:
        champion = server.get("registered-models/alias", name="churn-cut", alias="champion")
    assert {"key": "mlops.version", "value": "2"} in champion["model_version"]["tags"]


def test_a_run_the_server_refuses_is_reported_and_the_others_still_go(
    registry: Registry, tracking: MlflowTrackingServer
) -> None:
    with mlops.start_run("refused", experiment="churn-refused") as refused:
        mlops.log_params(source="poison-value")
    with mlops.start_run("accepted", experiment="churn-refused") as accepted:
        mlops.log_params(source="fine")
    proxy = CuttingProxy(tracking.uri)
    try:
        proxy.refused = b"poison-value"
        report = push(registry, proxy.uri)
    finally:
        proxy.close()
    assert [(i.owner, i.item) for i in report.unmappable] == [
        (f"run refused ({refused.id})", "the run")
    ]
    assert "the server refused it" in report.unmappable[0].reason
    assert "not here" in report.unmappable[0].reason
    assert report.created["runs"] == 1
    assert remote_runs(tracking.uri, "churn-refused")[accepted.id]["params"] == {"source": "fine"}
