"""drift:VAR checks in pipelines, and parity with the notebook run a pipeline came from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.drift.store import get_drift_report
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.runner.history import pipeline_run
from jupyter_mlops.runner.parity import check_parity
from jupyter_mlops.runner.spec import PipelineSpec
from jupyter_mlops.snapshots.store import record_snapshot
from jupyter_mlops.tracking.session import start_run

from .pipelines import code, export_cells, open_registry, run, statuses

pytestmark = pytest.mark.slow

CELLS = [
    code("import numpy as np\nimport pandas as pd", "setup"),
    code("shift = 0.0\nrows = 400", "parameters"),
    code(
        "frame = pd.DataFrame({\n"
        "    'v': np.random.default_rng(0).normal(shift, 1.0, rows),\n"
        "    'w': np.random.default_rng(1).integers(0, 3, rows),\n"
        "})",
        "step:load",
        "drift:frame",
    ),
    code("total = float(frame.v.sum())\nmlops.log(total=total)", "step:use"),
]


def frame_like_the_notebook(shift: float = 0.0, rows: int = 400) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "v": np.random.default_rng(0).normal(shift, 1.0, rows),
            "w": np.random.default_rng(1).integers(0, 3, rows),
        }
    )


def record_notebook_run(workdir: Path, *, total: float | None = None, snapshot: bool = True) -> str:
    """What running the notebook with %mlops start would have recorded: its parameters,
    a snapshot of ``frame`` and the total it logged."""
    frame = frame_like_the_notebook()
    with Registry.init(workdir) as registry:
        run = start_run(
            "drifty-notebook",
            experiment="drifty",
            kind="notebook",
            notebook_path=str(workdir / "drifty.ipynb"),
            registry=registry,
        )
        run.record_params({"shift": 0.0, "rows": 400}, source="literal")
        if snapshot:
            run.snapshot(frame, name="frame", variable="frame")
        run.log(total=float(frame.v.sum()) if total is None else total)
        run.end()
        return run.id


def stored_report_id(registry: Registry, step_run_id: str) -> str:
    """The drift report a step's run stored (its id is also the run's tag)."""
    rows = registry.query("SELECT id FROM drift_reports WHERE run_id = ?", (step_run_id,))
    assert len(rows) == 1
    tag = registry.query_one(
        "SELECT value FROM tags WHERE run_id = ? AND key LIKE 'drift.%.report'", (step_run_id,)
    )
    assert tag["value"] == rows[0]["id"]
    return str(rows[0]["id"])


@pytest.fixture
def exported(tmp_path):
    """The notebook run, then the pipeline exported from the notebook (finding that run)."""
    notebook_run = record_notebook_run(tmp_path)
    pipeline = export_cells(tmp_path, "drifty", CELLS, registry=tmp_path / ".mlops")
    return notebook_run, pipeline


def test_export_records_the_notebook_run_and_bundles_the_drift_reference(exported):
    notebook_run, pipeline = exported
    spec = PipelineSpec.load(pipeline)
    assert (spec.source.exported_from_run_id, spec.source.experiment) == (notebook_run, "drifty")
    (check,) = spec.drift_checks
    assert check.reference_file == "references/load.frame.json"
    reference = json.loads((pipeline / check.reference_file).read_text())
    with open_registry(pipeline.parent) as registry:
        snapshot = registry.query_one("SELECT id, fingerprint FROM snapshots")
    assert (reference["snapshot_id"], reference["fingerprint"]) == tuple(snapshot)
    assert check.reference == snapshot["id"] and check.stop_on == "retrain"
    module = (pipeline / "steps/load.py").read_text()
    assert "mlops_drift_check('frame', frame)" in module


def test_unchanged_data_passes_the_drift_check_and_the_report_is_stored(exported, tmp_path):
    _, pipeline = exported
    result = run(pipeline, tmp_path)
    assert result.ok, result.step("load").message
    assert result.step("load").message == "drift on frame: monitor"
    with open_registry(tmp_path) as registry:
        load_run = result.step("load").run_id
        stored = get_drift_report(registry, stored_report_id(registry, load_run))
        assert stored.decision == "monitor" and stored.record.origin == "pipeline"
        assert stored.record.run_id == load_run and stored.record.current_name == "frame"
        snapshot = registry.query_one("SELECT id FROM snapshots WHERE name = 'frame'")["id"]
        assert stored.record.reference_snapshot_id == snapshot
        assert stored.record.name == "drifty.load: frame vs frame"
        tags = dict(registry.query("SELECT key, value FROM tags WHERE run_id = ?", (load_run,)))
        assert tags["drift.frame.decision"] == "monitor"
        assert tags["pipeline.run_id"] == result.run_id


def test_drifted_input_stops_the_pipeline_with_the_report_stored(exported, tmp_path):
    _, pipeline = exported
    result = run(pipeline, tmp_path, params=["shift=1.5"])
    assert result.status == "drift_stopped" and result.failed_step == "load"
    assert statuses(result) == {"load": "drift_stopped", "use": "not_run"}
    assert 'Drift check on "frame" decided retrain' in result.step("load").message
    with open_registry(tmp_path) as registry:
        record = pipeline_run(registry, result.run_id)
        assert (record.status, record.failed_step) == ("drift_stopped", "load")
        stored = get_drift_report(registry, stored_report_id(registry, record.step("load").run_id))
        assert stored.decision == "retrain"
        assert stored.report.drifted_columns == ("v",)
    command = [sys.executable, "-m", "jupyter_mlops.runner", str(pipeline), "-p", "shift=1.5"]
    completed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert "DRIFT: STOPPED" in completed.stdout and "not run" in completed.stdout


@pytest.mark.parametrize(
    "stop_on, status",
    [("never", "ok"), ("retrain", "drift_stopped"), ("review", "drift_stopped")],
)
def test_the_drift_stop_rule_can_be_set_per_run(exported, tmp_path, stop_on, status):
    _, pipeline = exported
    result = run(pipeline, tmp_path, params=["shift=1.5"], drift_stop_on=stop_on)
    assert result.status == status
    if status == "ok":
        assert result.step("load").message == "drift on frame: retrain"


def test_a_drift_tag_can_name_its_reference_snapshot(tmp_path):
    with Registry.init(tmp_path) as registry:
        record_snapshot(registry, frame_like_the_notebook(shift=1.5), name="shifted")
    cells = list(CELLS)
    cells[2] = code(CELLS[2].source, "step:load", "drift:frame=shifted")
    pipeline = export_cells(tmp_path, "named", cells, run_id=None, registry=tmp_path / ".mlops")
    (check,) = PipelineSpec.load(pipeline).drift_checks
    assert check.reference == "shifted" and check.reference_file is not None
    assert run(pipeline, tmp_path).status == "drift_stopped"  # shift 0 against a shifted reference
    assert run(pipeline, tmp_path, params=["shift=1.5"]).ok


def test_a_drift_check_without_any_reference_fails_with_a_clear_message(tmp_path):
    pipeline = export_cells(tmp_path, "lonely", CELLS, run_id=None)
    result = run(pipeline, tmp_path)
    assert result.status == "failed"
    message = result.step("load").message
    assert 'Drift check on "frame" (step "load") has no reference' in message


# -- parity ------------------------------------------------------------------------------


def test_a_run_with_the_notebooks_parameters_reproduces_its_metrics(exported, tmp_path):
    notebook_run, pipeline = exported
    result = run(pipeline, tmp_path)
    assert result.parity is not None and result.parity.ok, result.parity.summary()
    assert [(m.key, m.equal) for m in result.parity.compared] == [("total", True)]
    assert result.parity.summary().startswith("parity ok: 1 metric(s) equal the notebook run")
    with open_registry(tmp_path) as registry:
        stored = pipeline_run(registry, result.run_id).parity
        assert stored["status"] == "ok" and stored["reference_run_id"] == notebook_run
        kinds = {r[0]: r[1] for r in registry.query("SELECT name, kind FROM runs")}
        assert kinds["drifty-notebook"] == "notebook" and kinds["drifty"] == "pipeline"
        experiments = {
            r[0] for r in registry.query(
                "SELECT experiments.name FROM runs JOIN experiments"
                " ON experiments.id = runs.experiment_id WHERE runs.name IN ('drifty',"
                " 'drifty-notebook')"
            )
        }  # fmt: skip
        assert experiments == {"drifty"}  # side by side in the notebook's experiment


def test_parity_names_the_metrics_that_differ(tmp_path):
    notebook_run = record_notebook_run(tmp_path, total=1.0)
    pipeline = export_cells(tmp_path, "drifty", CELLS, registry=tmp_path / ".mlops")
    result = run(pipeline, tmp_path)
    assert result.ok and result.parity.status == "mismatch"
    assert [m.key for m in result.parity.mismatches] == ["total"]
    summary = result.parity.summary()
    assert summary.startswith(f"parity MISMATCH with the notebook run {notebook_run}")
    assert "total: notebook 1, pipeline" in summary


def test_parity_is_not_checked_when_the_parameters_differ_or_the_run_is_elsewhere(
    exported, tmp_path
):
    _, pipeline = exported
    result = run(pipeline, tmp_path, params=["rows=300"], drift_stop_on="never")
    assert result.parity.status == "not_checked"
    assert "rows (400 in the notebook, 300 here)" in result.parity.reason
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    moved = run(pipeline, elsewhere)
    assert moved.parity.status == "not_checked"
    assert "is not in this registry" in moved.parity.reason
    with open_registry(elsewhere) as registry:
        assert check_parity(registry, moved.run_id, None).status == "not_checked"
