"""Pipeline runs in the registry: the pipeline run, its step runs, the real API in step code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_mlops.errors import NotFoundError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.runner.history import pipeline_run, pipeline_runs
from jupyter_mlops.runner.spec import PipelineSpec
from jupyter_mlops.tracking.queries.detail import run_detail
from jupyter_mlops.tracking.queries.listing import list_runs

from .pipelines import code, export_cells, open_registry, run, statuses

pytestmark = pytest.mark.slow

TALLY = [
    code("import json", "setup"),
    code("factor = 2\nthreshold = 1.0", "parameters"),
    code(
        "count = factor * 3\nmlops.log(count=count)\n"
        "for i, loss in enumerate([0.5, 0.25]):\n    mlops.log(loss=loss, step=i)",
        "step:count",
    ),
    code("total = count + 1.5\nmlops.log(total=total)", "step:total"),
    code("total > threshold", "gate"),
    code(
        "with open('result.json', 'w') as fh:\n    json.dump({'total': total}, fh)", "step:publish"
    ),
]
STEPS = ["count", "total", "total_gate", "publish"]


def tally(folder: Path, **replace: str) -> Path:
    cells = list(TALLY)
    names = {"count": 2, "total": 3, "gate": 4, "publish": 5}
    for key, source in replace.items():
        cells[names[key]] = code(source, *cells[names[key]].metadata["tags"])
    return export_cells(folder, "tally", cells)


def test_pipeline_run_is_recorded_with_its_parameters_metrics_and_steps(tmp_path):
    pipeline = tally(tmp_path)
    result = run(pipeline, tmp_path)
    assert result.ok, [s.message for s in result.steps]
    spec = PipelineSpec.load(pipeline)
    with open_registry(tmp_path) as registry:
        detail = run_detail(registry, result.run_id)
        assert (detail.run.name, detail.run.kind, detail.run.status) == (
            "tally", "pipeline", "finished"
        )  # fmt: skip
        assert detail.run.params == {"factor": 2, "threshold": 1.0}
        assert detail.run.metrics == {"count": 6.0, "loss": 0.25, "total": 7.5}
        assert [value for _, value in detail.series["loss"]] == [0.5, 0.25]  # curves stay curves
        rows = registry.query(
            "SELECT step, seq, status, run_id, cached, code_sha256, duration, outputs"
            " FROM step_runs WHERE pipeline_run_id = ? ORDER BY seq",
            (result.run_id,),
        )
        assert [(r["step"], r["status"], r["cached"]) for r in rows] == [
            (name, "ok", 0) for name in STEPS
        ]
        for row in rows:
            step = spec.step(row["step"])
            assert row["code_sha256"] == step.code_sha256 and row["duration"] > 0
            step_run = run_detail(registry, row["run_id"])
            assert step_run.run.kind == "pipeline-step"
            assert step_run.run.name == f"tally.{row['step']}"
            assert step_run.tags["pipeline.run_id"] == result.run_id
            assert step_run.run.params == {p: {"factor": 2, "threshold": 1.0}[p]
                                           for p in step.parameters}  # fmt: skip
            module = (pipeline / step.module_path).read_text()
            assert [cell.source for cell in step_run.code] == [module]
            assert set(json.loads(row["outputs"])) == set(step.outputs)
        linked = {
            r["name"] for r in registry.query(
                "SELECT name FROM run_artifacts WHERE run_id = ?", (result.run_id,)
            )
        }  # fmt: skip
        assert linked == {"count/count", "total/total"}
        count_run = rows[0]["run_id"]
        assert (
            registry.query_one("SELECT name FROM run_artifacts WHERE run_id = ?", (count_run,))[
                "name"
            ]
            == "count"
        )
        gate = registry.query_one(
            "SELECT gate_evaluations.run_id, gate_results.passed, rule, actual FROM gate_evaluations"
            " JOIN gate_results ON gate_results.evaluation_id = gate_evaluations.id"
        )
        assert (gate["run_id"], gate["passed"], gate["rule"]) == (rows[2]["run_id"], 1,
                                                                   "total > threshold")  # fmt: skip
        assert json.loads(gate["actual"]) == 7.5


def test_step_runs_are_listed_under_their_pipeline_run(tmp_path):
    pipeline = tally(tmp_path)
    result = run(pipeline, tmp_path)
    assert result.ok, [s.message for s in result.steps]
    with open_registry(tmp_path) as registry:
        top = list_runs(registry, top_level=True)
        assert [(r.name, r.kind, r.children) for r in top.runs] == [
            ("tally", "pipeline", len(STEPS))
        ]
        steps = list_runs(registry, parent=result.run_id, sort="started_at")
        assert [r.name for r in steps.runs] == [f"tally.{name}" for name in STEPS]
        assert {r.parent_run_id for r in steps.runs} == {result.run_id}


def test_cached_steps_are_recorded_as_cached_with_the_run_that_made_their_result(tmp_path):
    pipeline = tally(tmp_path)
    first = run(pipeline, tmp_path)
    second = run(pipeline, tmp_path)
    assert statuses(second) == dict.fromkeys(STEPS, "cached")
    with open_registry(tmp_path) as registry:
        made = {
            r["step"]: r["run_id"] for r in registry.query(
                "SELECT step, run_id FROM step_runs WHERE pipeline_run_id = ?", (first.run_id,)
            )
        }  # fmt: skip
        reused = registry.query(
            "SELECT step, status, cached, run_id FROM step_runs WHERE pipeline_run_id = ?",
            (second.run_id,),
        )
        by_step = {r["step"]: (r["status"], r["cached"], r["run_id"]) for r in reused}
        # the gate too: its verdict is the one its run recorded, which the row points to
        assert by_step == {step: ("cached", 1, made[step]) for step in STEPS}
        assert run_detail(registry, second.run_id).run.metrics == {
            "count": 6.0, "loss": 0.25, "total": 7.5
        }  # fmt: skip
        kinds = [r[0] for r in registry.query("SELECT kind FROM runs ORDER BY started_at")]
        assert kinds.count("pipeline") == 2 and kinds.count("pipeline-step") == 4


@pytest.mark.parametrize(
    "gate, subject",
    [(None, "the gate step's run"), ('mlops.check(["total >= params.threshold"])', "pipeline")],
    ids=["condition", "rules"],
)
def test_a_gate_taken_from_the_cache_has_its_verdict_recorded_for_the_new_run(
    tmp_path, gate, subject
):
    pipeline = tally(tmp_path, **({"gate": gate} if gate else {}))
    first = run(pipeline, tmp_path)
    second = run(pipeline, tmp_path)
    assert statuses(second)["total_gate"] == "cached"
    with open_registry(tmp_path) as registry:
        made = registry.query("SELECT id, run_id, passed, inputs FROM gate_evaluations")
        original = [e for e in made if "reused_evaluation" not in json.loads(e["inputs"])]
        again = [e for e in made if e["run_id"] == second.run_id]
        assert len(original) == 1 and len(again) == 1  # the second run evaluated nothing
        assert original[0]["run_id"] == (
            first.run_id if subject == "pipeline" else first.step("total_gate").run_id
        )
        assert again[0]["passed"] == 1
        assert json.loads(again[0]["inputs"])["reused_evaluation"] == original[0]["id"]
        rules = "SELECT rule, passed, actual FROM gate_results WHERE evaluation_id = ?"
        assert [tuple(r) for r in registry.query(rules, (again[0]["id"],))] == [
            tuple(r) for r in registry.query(rules, (original[0]["id"],))
        ]


def test_a_gate_decides_again_on_every_run_even_when_nothing_it_reads_by_name_changed(tmp_path):
    # The rules read params.threshold and the pipeline run's metrics, not Python names:
    # a cached verdict could be stale, so gates are never taken from the cache.
    pipeline = tally(tmp_path, gate='mlops.check(["total >= params.threshold"])')
    assert run(pipeline, tmp_path).ok
    again = run(pipeline, tmp_path, params=["threshold=100"])
    assert again.status == "gate_failed"
    assert statuses(again)["count"] == "cached" and statuses(again)["publish"] == "not_run"


def test_failed_gate_is_recorded_as_a_failed_run_stopped_at_the_gate(tmp_path):
    pipeline = tally(tmp_path)
    result = run(pipeline, tmp_path, params=["threshold=100"])
    assert result.status == "gate_failed"
    with open_registry(tmp_path) as registry:
        record = pipeline_run(registry, result.run_id)
        assert (record.status, record.failed_step) == ("gate_failed", "total_gate")
        assert "total > threshold" in record.message and "actual 7.5" in record.message
        assert [(s.name, s.status) for s in record.steps] == [
            ("count", "ok"), ("total", "ok"), ("total_gate", "gate_failed"),
            ("publish", "not_run"),
        ]  # fmt: skip
        assert record.step("publish").run_id is None
        run_row = registry.query_one(
            "SELECT status, error FROM runs WHERE id = ?", (result.run_id,)
        )
        assert run_row["status"] == "failed" and "total_gate" in run_row["error"]
        gate_run = registry.query_one(
            "SELECT status FROM runs WHERE id = ?", (record.step("total_gate").run_id,)
        )
        assert gate_run["status"] == "failed"
    assert not (tmp_path / "result.json").exists()


@pytest.mark.parametrize(
    "threshold, status",
    [("1", "ok"), ("7", "ok"), ("8", "gate_failed")],
)
def test_check_in_step_code_takes_rule_strings_on_the_pipeline_runs_metrics(
    tmp_path, threshold, status
):
    # total (7.5) comes from the step before, params.threshold from the pipeline run, and
    # count from this step's own run: each rule name is found where the notebook would.
    gate = (
        "count = 100\nmlops.log(count=count)\n"
        'mlops.check(["total >= params.threshold", "count == 100"])'
    )
    pipeline = tally(tmp_path, gate=gate)
    result = run(pipeline, tmp_path, params=[f"threshold={threshold}"])
    assert result.status == status, result.step("total_gate").message
    if status == "gate_failed":
        message = result.step("total_gate").message
        assert "total >= params.threshold" in message and "actual 7.5" in message
        assert result.step("publish").status == "not_run"
    with open_registry(tmp_path) as registry:
        stored = registry.query_one("SELECT run_id, passed, n_rules FROM gate_evaluations")
        assert (stored["run_id"], stored["passed"], stored["n_rules"]) == (
            result.run_id, int(status == "ok"), 2
        )  # fmt: skip


def test_check_with_a_rule_string_that_fails_stops_the_gate(tmp_path):
    # In phase 1, mlops.check("total > 1000") took the text for a true condition.
    pipeline = tally(tmp_path, gate='mlops.check("total > 1000")')
    result = run(pipeline, tmp_path)
    assert result.status == "gate_failed"
    assert "total > 1000 (actual 7.5" in result.step("total_gate").message


def test_step_code_uses_the_registry_api(tmp_path):
    body = (
        "import jupyter_mlops as mlops\n"
        "with mlops.start_run('inner', experiment='ignored') as inner:\n"
        "    mlops.log(inside=1.0)\n"
        "mlops.log_params(note='from the step')\n"
        "rows = [{'a': i, 'b': i * i} for i in range(20)]\n"
        "import pandas as pd\n"
        "frame = pd.DataFrame(rows)\n"
        "mlops.snapshot(frame, name='squares', role='train')\n"
        "model = {'weights': [1, 2, 3]}\n"
        "version = mlops.register_model(model, 'tally-model')\n"
        "seen = len(mlops.runs())\n"
        "same = inner is mlops.active_run()\n"
        "count = factor * 3"
    )
    pipeline = tally(tmp_path, count=body)
    result = run(pipeline, tmp_path)
    assert result.ok, result.step("count").message
    with open_registry(tmp_path) as registry:
        step_run_id = result.step("count").run_id
        detail = run_detail(registry, step_run_id)
        assert detail.run.params["note"] == "from the step"
        assert detail.run.metrics["inside"] == 1.0
        assert [(s.name, s.role) for s in detail.snapshots] == [("squares", "train")]
        version = registry.query_one(
            "SELECT model_versions.run_id, models.name FROM model_versions"
            " JOIN models ON models.id = model_versions.model_id"
        )
        assert (version["run_id"], version["name"]) == (step_run_id, "tally-model")
        assert registry.query_one("SELECT COUNT(*) FROM runs WHERE name = 'inner'")[0] == 0
        assert "inside" in run_detail(registry, result.run_id).run.metrics


def test_pipeline_runs_are_read_back_newest_first_with_their_steps(tmp_path):
    pipeline = tally(tmp_path)
    first = run(pipeline, tmp_path)
    second = run(pipeline, tmp_path, params=["factor=3"])
    with open_registry(tmp_path) as registry:
        listed = pipeline_runs(registry)
        assert [r.id for r in listed] == [second.run_id, first.run_id]
        assert listed[0].parameters == {"factor": 3, "threshold": 1.0}
        assert [(s.name, s.cached) for s in listed[0].steps] == [
            ("count", False), ("total", False), ("total_gate", False), ("publish", False)
        ]  # fmt: skip
        assert pipeline_run(registry, "last").id == second.run_id
        assert pipeline_run(registry, first.run_id[:6]).id == first.run_id
        assert pipeline_run(registry, "tally").id == second.run_id
        assert listed[0].to_dict()["duration"] > 0
        assert pipeline_runs(registry, pipeline="other") == ()
        with pytest.raises(NotFoundError, match='No pipeline run "nope"'):
            pipeline_run(registry, "nope")


def test_registry_is_found_like_git_finds_its_folder(tmp_path, monkeypatch):
    project = tmp_path / "project"
    work = project / "analysis" / "today"
    work.mkdir(parents=True)
    Registry.init(project).close()
    pipeline = tally(tmp_path)
    from jupyter_mlops.runner.pipeline import run_pipeline

    found = run_pipeline(pipeline, workdir=work, check=False)
    assert found.registry_path == str(project / ".mlops" / "registry.db")
    elsewhere = tmp_path / "elsewhere.db"
    monkeypatch.setenv("MLOPS_REGISTRY", str(elsewhere))
    configured = run_pipeline(pipeline, workdir=work, check=False)
    assert configured.registry_path == str(elsewhere)
    with Registry.open(elsewhere) as registry:
        assert registry.query_one("SELECT COUNT(*) FROM pipeline_runs")[0] == 1
    monkeypatch.delenv("MLOPS_REGISTRY")
    bare = tmp_path / "bare"
    bare.mkdir()
    made = run_pipeline(pipeline, workdir=bare, check=False)
    assert made.registry_path == str(bare / ".mlops" / "registry.db")


def test_step_cache_lives_in_the_registry(tmp_path):
    pipeline = tally(tmp_path)
    run(pipeline, tmp_path)
    with open_registry(tmp_path) as registry:
        entries = registry.query("SELECT pipeline, step, outputs FROM step_cache ORDER BY step")
        assert [(e["pipeline"], e["step"]) for e in entries] == [
            ("tally", name) for name in sorted(STEPS)
        ]
        assert not (tmp_path / ".mlops" / "pipeline-cache").exists()
        with registry.transaction() as conn:
            conn.execute("DELETE FROM step_cache WHERE step = 'publish'")
    again = run(pipeline, tmp_path)
    assert statuses(again) == {"count": "cached", "total": "cached", "total_gate": "cached",
                               "publish": "ok"}  # fmt: skip


def test_a_runner_that_dies_leaves_a_killed_pipeline_run(tmp_path):
    pipeline = tally(tmp_path, count="import time\ntime.sleep(60)\ncount = 1")
    runner = subprocess.Popen(
        [sys.executable, "-m", "jupyter_mlops.runner", str(pipeline)],
        cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            db = tmp_path / ".mlops" / "registry.db"
            if db.is_file():
                with Registry.open(db) as registry:
                    row = registry.query_one("SELECT status FROM step_runs WHERE step = 'count'")
                if row is not None and row["status"] == "running":
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the step never started")
    finally:
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait()
    with open_registry(tmp_path) as registry:  # opening marks what the dead runner left
        record = pipeline_run(registry, "last")
        assert record.status == "killed"
        assert [s.status for s in record.steps] == ["failed", "not_run", "not_run", "not_run"]
