"""Importing an MLflow tracking server: a real `mlflow server` on loopback, filled through
MLflow's own client (nested runs, 1,000-point histories, a note, artifacts, a registered
model with two versions and aliases), read back through this project's own readers."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.errors import InvalidInputError, NotFoundError
from jupyter_mlops.models.aliases import alias_history
from jupyter_mlops.models.registering import register
from jupyter_mlops.models.versions import list_models, load
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.sharing import mlflow_import_store
from jupyter_mlops.sharing.mlflow_import import import_from_mlflow
from jupyter_mlops.sharing.mlflow_import_report import ImportProgress
from jupyter_mlops.tracking.queries.detail import metrics_frame, run_detail
from jupyter_mlops.tracking.session import start_run

from .conftest import cli_runner
from .mlflow_tracking import MlflowTrackingServer, free_port, mlflow_client, mlflow_python

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("closing_registries")]
# with the suite's MLflow server: MLflow's client runs 3 times (~95 s when it starts its own)
EXPECTED_SECONDS = 45

POPULATE = """
import os, pickle, tempfile
import numpy as np
from mlflow.entities import Metric

def series(run_id, key, values, start_ms):
    client.log_batch(run_id, metrics=[
        Metric(key, value, start_ms + 7 * step, step) for step, value in enumerate(values)
    ])

experiment = mlflow.set_experiment("churn")
client.set_experiment_tag(experiment.experiment_id, "mlflow.note.content", "churn, by quarter")
scratch = tempfile.mkdtemp()
pickled = os.path.join(scratch, "model.pkl")
with mlflow.start_run(run_name="sweep") as parent:
    mlflow.set_tag("mlflow.note.content", "a sweep over the learning rate")
    mlflow.set_tags({"team": "risk", "mlflow.source.git.commit": "0123abcd"})
    mlflow.log_param("grid", "lr")
    for i, lr in enumerate([0.1, 0.01]):
        with mlflow.start_run(run_name=f"trial-{i}", nested=True) as child:
            mlflow.log_params({"lr": lr, "depth": 6, "criterion": "gini"})
            loss = [1.0 / (step + 1) + i for step in range(1000)]
            series(child.info.run_id, "loss", loss, 1_700_000_000_000 + 100_000 * i)
            mlflow.log_metric("accuracy", 0.9 - i / 100)
    mlflow.log_metric("best_accuracy", 0.9)
    mlflow.log_metric("diverged", float("nan"))
    mlflow.log_text("trained on 2024-Q1", "notes/readme.txt")
    mlflow.log_input(mlflow.data.from_numpy(np.arange(10), name="train-q1"), context="training")
    with open(pickled, "wb") as handle:
        pickle.dump({"weights": [1, 2, 3]}, handle)
    mlflow.log_artifact(pickled)
with mlflow.start_run(run_name="retrain") as second:
    with open(pickled, "wb") as handle:
        pickle.dump({"weights": [4, 5, 6]}, handle)
    mlflow.log_artifact(pickled)
    folder = os.path.join(scratch, "model-dir")
    os.makedirs(folder)
    with open(os.path.join(folder, "MLmodel"), "w") as handle:
        handle.write("artifact_path: model\\nflavors:\\n  python_function:\\n    env: x\\n"
                     "  sklearn:\\n    pickled_model: model.pkl\\n")
    with open(os.path.join(folder, "model.pkl"), "wb") as handle:
        handle.write(b"not really a model")
    mlflow.log_artifacts(folder, "model-dir")
client.create_registered_model("churn", description="pickled weights")
client.create_model_version("churn", f"{parent.info.artifact_uri}/model.pkl",
                            run_id=parent.info.run_id)
client.create_model_version("churn", f"runs:/{second.info.run_id}/model.pkl",
                            run_id=second.info.run_id)
client.set_registered_model_alias("churn", "challenger", "1")
client.set_registered_model_alias("churn", "champion", "1")
client.set_registered_model_alias("churn", "champion", "2")
client.create_registered_model("churn-dir")
client.create_model_version("churn-dir", f"{second.info.artifact_uri}/model-dir",
                            run_id=second.info.run_id)

client.transition_model_version_stage("churn-dir", "1", "Staging")

@mlflow.trace
def answer(question):
    return question.upper()

answer("why")
mlflow.flush_trace_async_logging()

live = mlflow.set_experiment("live")
running = client.create_run(live.experiment_id, run_name="still-running")
series(running.info.run_id, "loss", [0.5] * 100, 1_700_000_000_000)

runs = {}
for run in client.search_runs([experiment.experiment_id]):
    runs[run.info.run_id] = {
        "name": run.info.run_name,
        "status": run.info.status.lower(),
        "parent": run.data.tags.get("mlflow.parentRunId"),
        "params": run.data.params,
        "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
        "series": {key: [[m.step, m.value, m.timestamp] for m in
                         client.get_metric_history(run.info.run_id, key)]
                   for key in run.data.metrics},
    }
print(json.dumps({"runs": runs, "running": running.info.run_id,
                  "sweep": parent.info.run_id, "retrain": second.info.run_id}))
"""


@pytest.fixture(scope="module")
def python() -> Path:
    return mlflow_python()


@pytest.fixture(scope="module")
def tracking(python: Path, tmp_path_factory: pytest.TempPathFactory):
    with MlflowTrackingServer(python, tmp_path_factory.mktemp("mlflow")) as server:
        yield server


@pytest.fixture(scope="module")
def filled(python: Path, tracking) -> dict[str, Any]:
    """What MLflow's client wrote and reads back: runs, params, tags, every metric point."""
    return mlflow_client(python, tracking.uri, POPULATE)


def every_row(registry: Registry) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, each table's rows sorted."""
    conn = sqlite3.connect(registry.path)
    try:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            table: sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            for table in tables
        }
    finally:
        conn.close()


def test_an_import_gives_the_same_runs_series_parents_notes_and_aliases(
    tracking, filled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry.init(tmp_path)
    monkeypatch.setattr(mlflow_import_store, "HISTORY_PAGE", 300)  # 1,000 points: 4 pages
    seen: list[ImportProgress] = []
    report = import_from_mlflow(registry, tracking.uri, progress=seen.append)

    for run_id, expected in filled["runs"].items():
        detail = run_detail(registry, run_id, full_series=True)
        assert detail.run.id == run_id  # MLflow's id is kept
        assert (detail.run.name, detail.run.status) == (expected["name"], expected["status"])
        assert detail.run.experiment == "churn"
        assert detail.run.parent_run_id == expected["parent"]
        assert {p.key: str(p.value) for p in detail.params} == expected["params"]
        assert expected["tags"].items() <= detail.tags.items()
        assert detail.tags["mlops.mlflow_run_id"] == run_id
        for key, points in expected["series"].items():
            frame = metrics_frame(registry, run_id, key)
            assert len(frame) == len(points)
            assert frame["step"].tolist() == [step for step, _, _ in points]
            here = [None if v != v else v for v in frame["value"].tolist()]
            assert here == [None if v != v else v for _, v, _ in points]
            assert [round(t.timestamp() * 1000) for t in frame["timestamp"]] == [
                ms for _, _, ms in points
            ]
    trials = [r for r in filled["runs"].values() if r["name"].startswith("trial")]
    assert len(trials) == 2 and all(len(t["series"]["loss"]) == 1000 for t in trials)
    sweep = run_detail(registry, filled["sweep"])
    assert sweep.note == "a sweep over the learning rate"
    assert sweep.git_commit == "0123abcd"
    assert sweep.run.children == 2
    assert {a.name for a in sweep.artifacts} == {"notes/readme.txt", "model.pkl"}
    assert sweep.params[0].value == "lr"
    trial = run_detail(
        registry, next(i for i, r in filled["runs"].items() if r["name"] == "trial-0")
    )
    assert {p.key: p.value for p in trial.params} == {"lr": 0.1, "depth": 6, "criterion": "gini"}

    (churn,) = list_models(registry, "churn")
    assert churn.aliases == {"champion": 2, "challenger": 1}
    assert [(v.version, v.run_id) for v in churn.versions] == [
        (2, filled["retrain"]),
        (1, filled["sweep"]),
    ]
    assert load(registry, "churn@champion") == {"weights": [4, 5, 6]}
    assert load(registry, "churn@1") == {"weights": [1, 2, 3]}
    assert [(m.to_version, m.reason) for m in alias_history(registry, "churn", "champion")] == [
        (2, "import")
    ]
    (folder,) = list_models(registry, "churn-dir")[0].versions
    assert (folder.flavor, folder.model_class) == ("mlflow", "mlflow.sklearn")
    with pytest.raises(InvalidInputError, match="MLflow model directory"):
        load(registry, "churn-dir@1")

    # The server may hold other modules' experiments and models too (the suite shares one):
    # everything it held came, and what this module made is all there.
    (every_run,) = registry.query_one("SELECT count(*) FROM runs")
    ours = registry.query_tuples(
        "SELECT runs.id FROM runs JOIN experiments ON experiments.id = runs.experiment_id"
        " WHERE experiments.name IN ('churn', 'live')"
    )
    assert {run_id for (run_id,) in ours} == {*filled["runs"], filled["running"]}
    assert report.counts["runs"].added == every_run
    (every_version,) = registry.query_one("SELECT count(*) FROM model_versions")
    assert report.counts["versions"].added == every_version
    assert len(churn.versions) + len(list_models(registry, "churn-dir")[0].versions) == 3
    assert report.counts["aliases"].added == sum(len(m.aliases) for m in list_models(registry))
    assert any('dataset input "train-q1"' in item for item in report.not_imported)
    assert 'experiment "churn": 1 trace(s) (traces have no counterpart here)' in (
        report.not_imported
    )
    assert any("churn-dir@1: stage Staging" in item for item in report.not_imported)
    assert seen[-1].stage == "versions" and seen[-1].done == seen[-1].total >= 3
    assert any(p.stage == "runs" and p.done == p.total == every_run for p in seen)


def test_importing_twice_changes_nothing(tracking, filled, tmp_path: Path) -> None:
    registry = Registry.init(tmp_path)
    import_from_mlflow(registry, tracking.uri, experiments=["churn"])
    before = every_row(registry)
    again = import_from_mlflow(registry, tracking.uri, experiments=["churn"])
    assert every_row(registry) == before
    assert not again.changed
    assert again.counts["runs"].unchanged == len(filled["runs"])
    assert again.counts["versions"].unchanged == 3


def test_a_run_that_changed_in_mlflow_since_is_updated(
    python: Path, tracking, filled, tmp_path: Path
) -> None:
    registry = Registry.init(tmp_path)
    first = import_from_mlflow(registry, tracking.uri, experiments=["live"])
    assert first.counts["runs"].added == 1
    running = filled["running"]
    assert run_detail(registry, running).run.status == "running"
    mlflow_client(
        python,
        tracking.uri,
        f"""
        from mlflow.entities import Metric
        client.log_batch({running!r}, metrics=[
            Metric("loss", 0.25, 1_800_000_000_000 + step, step) for step in range(100, 150)])
        client.set_terminated({running!r}, end_time=1_800_000_001_000)
        print("{{}}")
        """,
    )
    second = import_from_mlflow(registry, tracking.uri, experiments=["live"])
    detail = run_detail(registry, running, full_series=True)
    assert (detail.run.status, detail.run.ended_at) == ("finished", 1_800_000_001.0)
    assert len(detail.series["loss"]) == 150
    assert detail.series["loss"][-1] == (149, 0.25)
    assert second.counts["runs"].updated == 1
    assert second.counts["metric series"].updated == 1


def test_a_run_pushed_from_a_registry_keeps_its_id_and_is_not_doubled(
    python: Path, tracking, tmp_path: Path
) -> None:
    home = Registry.init(tmp_path / "home")
    with start_run("mine", experiment="pushed", registry=home) as run:
        run.log(accuracy=0.5)
    pushed = mlflow_client(
        python,
        tracking.uri,
        f"""
        experiment = mlflow.set_experiment("pushed")
        run = client.create_run(experiment.experiment_id, run_name="mine",
                                tags={{"mlops.run_id": {run.id!r}}})
        client.log_metric(run.info.run_id, "accuracy", 0.5)
        client.set_terminated(run.info.run_id)
        print(json.dumps(run.info.run_id))
        """,
    )
    before = every_row(home)
    report = import_from_mlflow(home, tracking.uri, experiments=["pushed"])
    assert every_row(home) == before  # the same run: nothing of the copy written over it
    assert report.counts["runs"].unchanged == 1

    elsewhere = Registry.init(tmp_path / "elsewhere")
    import_from_mlflow(elsewhere, tracking.uri, experiments=["pushed"])
    assert elsewhere.query_tuples("SELECT id FROM runs") == [(run.id,)]
    assert run_detail(elsewhere, run.id).tags["mlops.mlflow_run_id"] == pushed


def test_the_command_prints_progress_and_the_report(tracking, filled, tmp_path: Path) -> None:
    Registry.init(tmp_path).close()
    result = cli_runner().invoke(
        main, ["import", "--from", "mlflow", tracking.uri, "--experiment", "churn"]
    )
    assert result.exit_code == 0, result.stderr
    assert f"Importing runs: {len(filled['runs'])}/{len(filled['runs'])}" in result.stderr
    assert f"runs: {len(filled['runs'])} added, 0 updated, 0 unchanged" in result.stdout
    assert "versions: 3 added" in result.stdout
    assert 'dataset input "train-q1"' in result.stdout

    again = cli_runner().invoke(main, ["import", "--from", "mlflow", tracking.uri, "-e", "churn"])
    assert again.exit_code == 0
    assert f"runs: 0 added, 0 updated, {len(filled['runs'])} unchanged" in again.stdout

    missing = cli_runner().invoke(main, ["import", "--from", "mlflow", tracking.uri, "-e", "nope"])
    assert missing.exit_code == 1
    assert 'has no experiment "nope"' in missing.stderr
    assert "churn" in missing.stderr  # the experiments it has are named


def test_an_unreachable_server_is_named_with_what_to_do(tmp_path: Path) -> None:
    Registry.init(tmp_path).close()
    address = f"http://127.0.0.1:{free_port()}"
    result = cli_runner().invoke(main, ["import", "--from", "mlflow", address])
    assert result.exit_code == 1
    assert f"the MLflow server at {address} cannot be reached" in result.stderr
    assert "mlflow server" in result.stderr  # the hint


def test_an_experiment_the_server_lacks_is_refused_before_anything_is_written(
    tracking, filled, tmp_path: Path
) -> None:
    registry = Registry.init(tmp_path)
    before = every_row(registry)
    with pytest.raises(NotFoundError, match='no experiment "nope"'):
        import_from_mlflow(registry, tracking.uri, experiments=["churn", "nope"])
    assert every_row(registry) == before


def test_the_magic_and_the_api_import_into_the_kernels_registry(
    shell, registry: Registry, tracking, filled, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_line_magic("mlops", f"import --from mlflow {tracking.uri} --experiment churn")
    printed = capsys.readouterr().out
    assert f"Imported runs: {len(filled['runs'])}/{len(filled['runs'])}" in printed
    assert f"runs: {len(filled['runs'])} added" in printed
    assert registry.query_one("SELECT count(*) FROM runs")[0] == len(filled["runs"])

    report = mlops.import_from_mlflow(tracking.uri, experiments=["churn"])
    assert report.counts["runs"].unchanged == len(filled["runs"])
    assert not report.changed


def test_a_version_number_taken_here_becomes_the_next_and_the_report_says_so(
    tracking, filled, tmp_path: Path
) -> None:
    registry = Registry.init(tmp_path)
    register(registry, {"made": "here"}, "churn", alias="champion")
    report = import_from_mlflow(registry, tracking.uri, experiments=["churn"])
    (churn,) = list_models(registry, "churn")
    assert [(v.version, v.run_id) for v in churn.versions] == [
        (3, filled["retrain"]),
        (2, filled["sweep"]),
        (1, None),
    ]
    assert churn.aliases == {"champion": 3, "challenger": 2}
    assert load(registry, "churn@1") == {"made": "here"}
    assert "version churn@1 is version 2 here (version 1 here is another model)" in report.notes
    assert {
        (m.alias, m.from_version, m.to_version, m.reason) for m in alias_history(registry, "churn")
    } == {
        ("champion", None, 1, "register"),
        ("challenger", None, 2, "import"),
        ("champion", 1, 3, "import"),
    }
    before = every_row(registry)
    again = import_from_mlflow(registry, tracking.uri, experiments=["churn"])
    assert every_row(registry) == before
    assert again.counts["versions"].unchanged == 3
