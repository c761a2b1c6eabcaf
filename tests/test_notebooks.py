"""The example notebooks, executed in a real kernel with nbclient, and their runs
reproduced from the registry alone with the notebook deleted."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from nbclient import NotebookClient

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.drift.store import drift_reports
from jupyter_mlops.models.versions import aliases_of
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.sharing.mlflow_push import push
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.tracking.queries.listing import list_runs
from jupyter_mlops.tracking.reproductions import reproductions_of
from jupyter_mlops.tracking.session import use_registry

from .mlflow_tracking import MlflowTrackingServer, mlflow_client, mlflow_python

# seconds this module takes, for tests/sharding.py's order: five example notebooks executed
# in kernels, two of them reproduced run by run
EXPECTED_SECONDS = 120

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def execute(name: str, workdir: Path) -> nbformat.NotebookNode:
    """Execute a copy of the example ``name`` in ``workdir`` (the kernel's notebook is the
    copy, which the reproductions below may delete)."""
    copy = workdir / name
    shutil.copy(NOTEBOOKS / name, copy)
    notebook = nbformat.read(copy, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute(env={**os.environ, "JPY_SESSION_NAME": str(copy)})
    return notebook


def reproduce_every_run(workdir: Path, notebook: str) -> dict[str, str]:
    """With the notebook deleted, each top-level run of ``workdir``'s registry reproduced
    from the registry alone, in a fresh folder: name -> the verdict's line."""
    (workdir / notebook).unlink()
    fresh = workdir / "fresh"
    fresh.mkdir()
    registry_path = workdir / ".mlops" / "registry.db"
    with Registry.open(registry_path) as registry:
        runs = registry.query(
            "SELECT id, name FROM runs WHERE parent_run_id IS NULL AND kind = 'notebook'"
            " ORDER BY started_at"
        )
    verdicts = {}
    for run_id, name in runs:
        result = CliRunner().invoke(
            main, ["reproduce", run_id, "--registry", str(registry_path), "--workdir", str(fresh)]
        )
        assert result.exit_code == 0, result.output
        verdicts[str(name)] = next(
            line for line in result.output.splitlines() if line.startswith("parity")
        )
    with Registry.open(registry_path) as registry:
        for run_id, name in runs:
            (record,) = reproductions_of(registry, run_id)
            assert record.status == "parity", (name, record.summary)
    return verdicts


@pytest.mark.slow
def test_tracking_notebook_records_runs_snapshots_and_comparisons(tmp_path: Path) -> None:
    notebook = execute("01-tracking.ipynb", tmp_path)
    with Registry.open(tmp_path / ".mlops" / "registry.db") as registry:
        page = list_runs(registry, experiment="cancer", sort="name")
        assert [r.name for r in page.runs] == ["baseline", "logistic", "tuned"]
        assert all(r.status == "finished" for r in page.runs)
        baseline = run_detail(registry, "baseline")
        assert baseline.run.params["n_estimators"] == 40
        assert baseline.run.params["model.max_depth"] == 2
        assert 0.85 < baseline.run.metrics["accuracy"] <= 1.0
        assert len(baseline.series["test_accuracy"]) == 40
        assert baseline.run.notebook_path == str(tmp_path / "01-tracking.ipynb")
        assert baseline.environment is not None
        assert "scikit-learn" in baseline.environment["packages"]
        assert {s.variable for s in baseline.snapshots} >= {"train", "test"}
        assert {s.role for s in baseline.snapshots if s.variable == "train"} == {"train"}
        logistic = run_detail(registry, "logistic")
        assert logistic.run.params["C"] == 0.5 and "accuracy" in logistic.run.metrics
        assert len(logistic.code) == 3  # start, fit, score-and-end cells
        train = registry.query_one("SELECT n_rows, kind FROM snapshots WHERE name = 'cancer-train'")
        assert (train["n_rows"], train["kind"]) == (426, "dataframe")
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "baseline" in html and "<svg" in html  # the runs table and the compared curves

    # every run comes back from the registry alone, the notebook deleted
    verdicts = reproduce_every_run(tmp_path, "01-tracking.ipynb")
    assert list(verdicts) == ["baseline", "tuned", "logistic"]
    assert all(line.startswith("parity ok") for line in verdicts.values()), verdicts


@pytest.mark.slow
def test_models_gates_drift_notebook_promotes_and_records_drift(tmp_path: Path) -> None:
    notebook = execute("02-models-gates-drift.ipynb", tmp_path)
    with Registry.open(tmp_path / ".mlops" / "registry.db") as registry:
        assert aliases_of(registry, "cancer") == {
            "challenger": 2,
            "champion": 1,
            "production": 1,
            "staging": 2,
        }
        verdicts = [
            r[0]
            for r in registry.query("SELECT passed FROM gate_evaluations ORDER BY evaluated_at")
        ]
        assert verdicts == [1, 1, 1, 0, 1, 1, 0, 1]
        reports = drift_reports(registry)[::-1]
        assert [(r.current_name, r.decision, r.origin) for r in reports] == [
            ("test", "monitor", "notebook"),
            ("batch_texture", "review", "notebook"),
            ("batch_radius", "retrain", "python"),
            ("batch_texture", "review", "gate"),
            ("current", "retrain", "gate"),
            ("test", "monitor", "gate"),
        ]
        assert {r.model_ref for r in reports} == {"cancer@1"}  # the champion, via its training data
        assert {r.reference_name for r in reports} == {"train (cancer@champion)"}
        assert reports[1].flagged_columns == ("mean texture",)
        assert reports[2].flagged_columns == ("mean radius",) and not reports[2].gate_passed
        linked = registry.query(
            "SELECT gate_results.passed FROM gate_results"
            " JOIN drift_reports ON drift_reports.id = gate_results.drift_report_id"
            " ORDER BY drift_reports.created_at"
        )
        assert [r[0] for r in linked] == [1, 0, 1]
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "Retrain: the data changed" in html and "Review: some columns changed" in html
    assert html.count('class="mlops-drift-decision') == 5  # three checks, a gate, a promotion

    verdicts = reproduce_every_run(tmp_path, "02-models-gates-drift.ipynb")
    assert list(verdicts) == ["logistic", "forest"]
    assert all(line.startswith("parity ok") for line in verdicts.values()), verdicts

    push_and_read_back(tmp_path / ".mlops" / "registry.db", tmp_path / "mlflow")


READ_BACK = """
out = {"runs": {}}
for name in EXPERIMENTS:  # the server may hold other tests' experiments too
    experiment = client.get_experiment_by_name(name)
    for run in client.search_runs([experiment.experiment_id], max_results=1000):
        out["runs"][run.data.tags["mlops.run_id"]] = {
            "params": run.data.params,
            "histories": {
                key: [[m.step, m.value] for m in client.get_metric_history(run.info.run_id, key)]
                for key in run.data.metrics
            },
        }
champion = client.get_model_version_by_alias("cancer", "champion")
out["champion"] = champion.tags.get("mlops.version")
out["versions"] = len(client.search_model_versions("name = 'cancer'"))
print(json.dumps(out))
"""


def push_and_read_back(registry_path: Path, folder: Path) -> None:
    """The example's registry pushed to a real MLflow server: MLflow's own client reads back
    every run's params and full metric series, the versions and the champion; a second
    push creates nothing; one more run is exactly what the next push adds."""
    python = mlflow_python()
    with MlflowTrackingServer(python, folder) as server, Registry.open(registry_path) as registry:
        first = push(registry, server.uri)
        assert not first.unmappable, first.describe()
        experiments = [name for (name,) in registry.query("SELECT name FROM experiments")]
        back = mlflow_client(python, server.uri, f"EXPERIMENTS = {experiments!r}\n" + READ_BACK)
        ours = {run_id for (run_id,) in registry.query("SELECT id FROM runs")}
        assert set(back["runs"]) == ours
        for run_id, remote in back["runs"].items():
            detail = run_detail(registry, run_id)
            assert remote["params"] == {k: str(v) for k, v in detail.run.params.items()}, run_id
            series = dict(
                registry.query(
                    "SELECT key, json_group_array(json_array(step, value)) FROM"
                    " (SELECT * FROM metrics WHERE run_id = ? ORDER BY key, step) GROUP BY key",
                    [run_id],
                )
            )
            # MLflow hands floats back through protobuf's JSON: equal to ~15 digits
            assert remote["histories"] == {
                key: [[step, pytest.approx(value, rel=1e-12)] for step, value in json.loads(points)]
                for key, points in series.items()
            }, run_id
        assert back["versions"] == 2 and back["champion"] == "1"  # version 1 is the champion

        again = push(registry, server.uri)
        assert not again.changed_anything and sum(again.created.values()) == 0, again.describe()
        use_registry(registry)
        try:
            with mlops.start_run("one-more", experiment="cancer"):
                mlops.log(accuracy=0.97)
        finally:
            use_registry(None)
        after = push(registry, server.uri)
        assert after.created.get("runs") == 1, after.describe()
        assert sum(after.created.values()) == 1 and not after.updated.get("runs"), after.describe()


def model_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """A notebook run's metrics without its ``system/...`` series (the machine's, sampled
    while the cell ran: a short cell may have none)."""
    return {key: value for key, value in metrics.items() if not key.startswith("system/")}


@pytest.mark.slow
def test_sweeps_and_artifacts_notebook_records_children_curves_figures_and_trials(
    tmp_path: Path,
) -> None:
    notebook = execute("04-sweeps-and-artifacts.ipynb", tmp_path)
    with Registry.open(tmp_path / ".mlops" / "registry.db") as registry:
        top = list_runs(registry, experiment="sweeps", top_level=True, sort="name")
        assert [(r.name, r.children) for r in top.runs] == [
            ("boosted", 0), ("c-loop", 4), ("curve-figure", 0), ("grid", 12), ("tuning", 12)
        ]  # fmt: skip
        loop = run_detail(registry, "c-loop")
        assert model_metrics(loop.run.metrics) == {"tried": 4.0}
        grid = run_detail(registry, "grid")
        best = list_runs(registry, parent=grid.run.id, where="tags.`mlops.best` == 'true'")
        assert best.total == 1
        assert best.runs[0].metrics["mean_test_score"] == grid.run.metrics["best_score"]

        # the boosted model: its curve up to past the round kept, and its importances
        boosted = run_detail(registry, "boosted", full_series=True)
        curve = boosted.series["valid_0/binary_logloss"]
        kept = int(boosted.run.metrics["best_iteration"])
        assert len(curve) == boosted.run.metrics["n_iterations"] > kept
        assert curve[kept][1] == min(value for _, value in curve)
        assert {a.name for a in boosted.artifacts} >= {"feature_importance.parquet"}

        # the figure the cell showed, stored with no logging call
        figure = run_detail(registry, "curve-figure")
        images = [a for a in figure.artifacts if a.media_type == "image/png"]
        assert len(images) == 1 and images[0].name.startswith("outputs/")
        png = registry.artifacts.read_bytes(images[0].sha256)
        assert png.startswith(b"\x89PNG")

        tuning = run_detail(registry, "tuning")
        trials = list_runs(registry, parent=tuning.run.id, limit=100)
        assert trials.total == 12
        assert max(r.metrics["value"] for r in trials.runs) == tuning.run.metrics["best_value"]
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    sweep_cell = next(c for c in notebook.cells if c.source.startswith("%mlops sweep grid"))
    saved = "".join(o.get("data", {}).get("text/html", "") for o in sweep_cell.outputs)
    # the chart is in the saved notebook as SVG: it shows without a kernel
    assert saved.count('class="mlops-sweep-run"') >= 2 * 11
    assert saved.count('<polyline class="mlops-sweep-best"') == 1
    trials_cell = next(c for c in notebook.cells if c.source.startswith("%mlops sweep tuning"))
    saved = "".join(o.get("data", {}).get("text/html", "") for o in trials_cell.outputs)
    assert saved.count('<polyline class="mlops-sweep-best"') == 1
    shown = next(c for c in notebook.cells if c.source.startswith("%mlops show boosted"))
    assert "feature_importance" in "".join(
        o.get("data", {}).get("text/html", "") for o in shown.outputs
    )


@pytest.mark.slow
def test_serve_and_monitor_notebook_retrains_on_drift_and_the_server_follows(
    tmp_path: Path,
) -> None:
    """notebooks/05: the champion served on MLServer, traffic that shifts, labels given
    back, the monitor deciding retrain for the shifted columns, the retraining pipeline
    (exported from 05-retrain.ipynb) passing its gate, the alias moving and the server
    answering with the new version."""
    from jupyter_mlops.serving.monitoring import stored_windows

    shutil.copy(NOTEBOOKS / "05-retrain.ipynb", tmp_path / "05-retrain.ipynb")
    notebook = execute("05-serve-and-monitor.ipynb", tmp_path)

    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    with Registry.open(tmp_path / ".mlops" / "registry.db") as registry:
        assert aliases_of(registry, "cancer")["champion"] == 2
        windows = [w for w in stored_windows(registry, "cancer") if w.decision is not None]
        assert [w.decision for w in windows] == ["monitor", "retrain"]
        assert sorted(windows[-1].retrain_columns) == ["mean concavity", "mean radius"]
        (retrain,) = registry.query_tuples(
            "SELECT status, alias_before, alias_after FROM monitor_retrains"
        )
        assert retrain == ("ok", "1", "2")
        answered = registry.query_tuples(
            "SELECT model_versions.version FROM predictions JOIN model_versions"
            " ON model_versions.id = predictions.model_version_id"
            " WHERE predictions.request_id = 'after-retrain'"
        )
        assert answered == [(2,)]
    after = next(c for c in notebook.cells if c.source.startswith("time.sleep(2)"))
    assert after.outputs[0]["data"]["text/plain"] == "'2'"
    monitor = next(c for c in notebook.cells if c.source.startswith("%mlops monitor"))
    saved = "".join(o.get("data", {}).get("text/html", "") for o in monitor.outputs)
    assert saved.count('data-decision="retrain"') == 1  # drawn, and kept in the notebook
    assert "moved from version 1 to 2" in saved
