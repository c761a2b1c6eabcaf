"""The MLflow REST transport of push and import, against a real `mlflow server` on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.errors import InvalidInputError, TrackingServerError
from jupyter_mlops.sharing.mlflow_api import MlflowServer, _credentials

from .mlflow_tracking import MlflowTrackingServer, free_port, mlflow_python

pytestmark = pytest.mark.slow
# with the suite's MLflow server (scripts/test); ~60 s when the module starts its own
EXPECTED_SECONDS = 20


@pytest.fixture(scope="module")
def tracking(tmp_path_factory: pytest.TempPathFactory):
    with MlflowTrackingServer(mlflow_python(), tmp_path_factory.mktemp("mlflow")) as server:
        yield server


def test_experiments_runs_and_pages_round_trip(tracking) -> None:
    with MlflowServer(tracking.uri) as server:
        experiment = server.post("experiments/create", {"name": "pages"})["experiment_id"]
        created = {
            server.post("runs/create", {"experiment_id": experiment, "run_name": f"r{i}"})["run"][
                "info"
            ]["run_id"]
            for i in range(5)
        }
        found = server.get("experiments/get-by-name", experiment_name="pages")["experiment"]
        runs = list(
            server.pages(
                "POST", "runs/search", {"experiment_ids": [experiment], "max_results": 2}, "runs"
            )
        )
    assert found["experiment_id"] == experiment
    assert {run["info"]["run_id"] for run in runs} == created  # three pages of two


def test_an_artifact_goes_up_and_comes_back_through_the_proxy(tracking, tmp_path: Path) -> None:
    source = tmp_path / "cell.py"
    source.write_bytes(b"print('hello')\n" * 1000)
    with MlflowServer(tracking.uri) as server:
        experiment = server.post("experiments/create", {"name": "artifacts"})["experiment_id"]
        run = server.post("runs/create", {"experiment_id": experiment})["run"]["info"]
        server.upload(run["artifact_uri"], "code/cell 3.py", source)
        listed = server.get("artifacts/list", run_id=run["run_id"], path="code")["files"]
        back = server.download(run["artifact_uri"], "code/cell 3.py", tmp_path / "back.py")
    assert [entry["path"] for entry in listed] == ["code/cell 3.py"]
    assert back.read_bytes() == source.read_bytes()


def test_a_refusal_names_the_request_and_carries_mlflows_message(tracking) -> None:
    with MlflowServer(tracking.uri) as server, pytest.raises(TrackingServerError) as refused:
        server.get("experiments/get-by-name", experiment_name="no such experiment")
    assert refused.value.status == 404
    assert "experiments/get-by-name" in str(refused.value)
    assert "RESOURCE_DOES_NOT_EXIST" in str(refused.value)


def test_a_server_that_is_not_there_is_named_with_what_to_do() -> None:
    server = MlflowServer(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TrackingServerError, match="cannot be reached") as unreachable:
        server.get("experiments/search")
    assert unreachable.value.status is None
    assert "mlflow server" in (unreachable.value.hint or "")


@pytest.mark.parametrize("uri", ["", "mlruns", "file:///tmp/mlruns", "sqlite:///mlflow.db"])
def test_an_address_that_is_no_server_is_refused_before_any_request(uri: str) -> None:
    with pytest.raises(InvalidInputError, match="not the address of an MLflow tracking server"):
        MlflowServer(uri)


def test_artifacts_kept_where_only_the_server_can_write_are_refused(tmp_path: Path) -> None:
    server = MlflowServer("http://127.0.0.1:5000")
    with pytest.raises(TrackingServerError, match="only its own machine") as refused:
        server.upload("/srv/mlruns/1/abc/artifacts", "x.txt", tmp_path / "x.txt")
    assert "--serve-artifacts" in (refused.value.hint or "")


def test_credentials_are_read_as_mlflows_client_reads_them(monkeypatch) -> None:
    for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert _credentials() == {}
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ada")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "secret")
    assert _credentials() == {"Authorization": "Basic YWRhOnNlY3JldA=="}
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "t0k")
    assert _credentials() == {"Authorization": "Bearer t0k"}
