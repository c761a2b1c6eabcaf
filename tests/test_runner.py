"""Running exported pipelines: processes, artifacts, caching by content, gates, --from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mlops.errors import InvalidInputError, NotFoundError, PipelineError
from jupyter_mlops.export import export_notebook
from jupyter_mlops.registry.artifacts import ArtifactStore
from jupyter_mlops.runner.pipeline import run_pipeline
from jupyter_mlops.runner.serialization import load_value

pytestmark = pytest.mark.slow


def code(source: str, *tags: str):
    return new_code_cell(source, metadata={"tags": list(tags)} if tags else {})


LIGHT_CELLS = {
    "setup": code("import json\nimport pandas as pd", "setup"),
    "parameters": code("factor = 2\nthreshold = 0.0", "parameters"),
    "load": code(
        "raw = pd.read_csv('data.csv')\nname = 'config'\nnote = open(name + '.txt').read()",
        "step:load",
    ),
    "double": code("doubled = raw * factor", "step:double"),
    "side": code("count = len(raw)", "step:side"),
    "total": code("total = float(doubled['v'].sum())\nmlops.log(total=total)", "step:total"),
    "gate": code("total > threshold", "gate"),
    "publish": code(
        "import os\nos.makedirs('out', exist_ok=True)\n"
        "with open('out/result.json', 'w') as fh:\n"
        "    json.dump({'total': total, 'count': count, 'note': note}, fh)",
        "step:publish",
    ),
}


def light_pipeline(folder: Path, **replace: str) -> Path:
    cells = dict(LIGHT_CELLS)
    for key, source in replace.items():
        cells[key] = code(source, *cells[key].metadata["tags"])
    nbformat.write(new_notebook(cells=list(cells.values())), folder / "light.ipynb")
    export_notebook(folder / "light.ipynb", folder / "light-pipeline", targets="local")
    return folder / "light-pipeline"


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "data.csv").write_text("v\n1\n2\n3\n")
    (tmp_path / "config.txt").write_text("first")
    return tmp_path


def run(pipeline: Path, workdir: Path, **kwargs):
    kwargs.setdefault("check", False)
    return run_pipeline(pipeline, workdir=workdir, registry=workdir / ".mlops", **kwargs)


def statuses(result) -> dict[str, str]:
    return {s.name: s.status for s in result.steps}


def test_run_pipeline_runs_each_step_and_writes_results(workdir):
    pipeline = light_pipeline(workdir)
    lines = []
    result = run(pipeline, workdir, on_progress=lambda s: lines.append(s.progress_line()))
    assert result.ok, [s.message for s in result.steps]
    assert statuses(result) == dict.fromkeys(
        ["load", "double", "side", "total", "total_gate", "publish"], "ok"
    )
    written = json.loads((workdir / "out/result.json").read_text())
    assert written == {"total": 12.0, "count": 3, "note": "first"}
    assert result.metrics == {"total": 12.0}
    assert [line.split()[0] for line in lines] == [s.name for s in result.steps]
    assert all(line.split()[1] == "ok" and line.rstrip().endswith(" s") for line in lines)


def test_run_pipeline_passes_values_as_artifacts_in_their_formats(workdir):
    pipeline = light_pipeline(workdir)
    result = run(pipeline, workdir)
    store = ArtifactStore(workdir / ".mlops/artifacts")
    outputs = {o.name: (o.format, o.sha) for s in result.steps for o in s.outputs}
    assert outputs["raw"][0] == "parquet" and outputs["total"][0] == "json"
    assert outputs["note"][0] == "json"
    assert load_value(store, outputs["total"][1], "json") == 12.0
    frame = load_value(store, outputs["doubled"][1], "parquet")
    assert frame["v"].tolist() == [2, 4, 6]
    assert store.path_of(outputs["raw"][1]).is_file()


def test_run_pipeline_parameter_override_changes_the_result(workdir):
    pipeline = light_pipeline(workdir)
    run(pipeline, workdir)
    second = run(pipeline, workdir, params=["factor=5"])
    assert second.metrics == {"total": 30.0}
    assert statuses(second) == {"load": "cached", "double": "ok", "side": "cached",
                                "total": "ok", "total_gate": "ok", "publish": "ok"}  # fmt: skip


def test_run_pipeline_skips_every_step_when_nothing_changed_and_does_no_step_work(workdir):
    pipeline = light_pipeline(workdir)
    run(pipeline, workdir)
    again = run(pipeline, workdir)
    assert statuses(again) == dict.fromkeys(
        ["load", "double", "side", "total", "total_gate", "publish"], "cached"
    )
    assert again.metrics == {"total": 12.0}
    # no process started: no step's log or result, no warm worker's log
    assert sorted(p.name for p in Path(again.run_dir).iterdir()) == ["summary.json"]


RULES_GATE = 'mlops.check(["total >= params.threshold"])'  # reads a parameter by name only


def test_run_pipeline_caches_a_passed_gate_until_a_parameter_or_metric_it_reads_changes(
    workdir,
):
    pipeline = light_pipeline(workdir, gate=RULES_GATE)
    first = run(pipeline, workdir)
    assert first.ok and statuses(first)["total_gate"] == "ok"
    assert statuses(run(pipeline, workdir))["total_gate"] == "cached"
    # only the gate reads threshold, and only in a rule's text
    raised = run(pipeline, workdir, params=["threshold=5"])
    assert statuses(raised) == {"load": "cached", "double": "cached", "side": "cached",
                                "total": "cached", "total_gate": "ok", "publish": "cached"}  # fmt: skip
    # factor changes the total step's metric, which the gate reads from the pipeline run
    refactored = run(pipeline, workdir, params=["threshold=5", "factor=3"])
    assert statuses(refactored)["total"] == "ok" and statuses(refactored)["total_gate"] == "ok"
    assert refactored.step("total_gate").run_id != raised.step("total_gate").run_id


def test_run_pipeline_never_caches_a_failed_gate(workdir):
    pipeline = light_pipeline(workdir, gate=RULES_GATE)
    failed = [run(pipeline, workdir, params=["threshold=99"]) for _ in range(2)]
    for result in failed:
        assert result.status == "gate_failed"
        assert statuses(result)["total_gate"] == "gate_failed"
        assert statuses(result)["publish"] == "not_run"
    assert failed[0].step("total_gate").run_id != failed[1].step("total_gate").run_id
    passed = run(pipeline, workdir, params=["threshold=1"])
    assert passed.ok and statuses(passed)["total_gate"] == "ok"


def test_run_pipeline_does_not_cache_a_gate_that_reads_another_run(workdir, registry):
    from jupyter_mlops.tracking.session import end_run, start_run

    pipeline = light_pipeline(workdir, gate='mlops.check(["total >= 1"], run="baseline")')
    start_run("baseline", registry=registry, workdir=workdir).log(total=3.0)
    end_run()
    first = run(pipeline, workdir)
    second = run(pipeline, workdir)
    assert first.ok and second.ok
    assert statuses(second)["total_gate"] == "ok"  # it ran again: baseline may have changed
    assert statuses(second)["publish"] == "cached"


def test_run_pipeline_editing_one_step_reruns_it_and_its_descendants_only(workdir):
    pipeline = light_pipeline(workdir)
    run(pipeline, workdir)
    light_pipeline(workdir, double="doubled = raw * factor * 10")
    edited = run(pipeline, workdir)
    assert statuses(edited) == {"load": "cached", "double": "ok", "side": "cached",
                                "total": "ok", "total_gate": "ok", "publish": "ok"}  # fmt: skip
    assert edited.metrics == {"total": 120.0}


def test_run_pipeline_a_step_whose_outputs_come_out_identical_does_not_rerun_below(workdir):
    pipeline = light_pipeline(workdir)
    run(pipeline, workdir)
    light_pipeline(workdir, double="doubled = raw * factor  # same values, new code")
    edited = run(pipeline, workdir)
    assert statuses(edited)["double"] == "ok"
    assert statuses(edited)["total"] == "cached"


@pytest.mark.parametrize(
    "filename, new_text, reran",
    [
        ("data.csv", "v\n1\n2\n4\n", "load"),  # a literal path, read through pandas
        ("config.txt", "other", "load"),  # a path built at run time, seen by the audit hook
    ],
)
def test_run_pipeline_reruns_a_step_when_an_input_file_changes_with_the_same_mtime(
    workdir, filename, new_text, reran
):
    pipeline = light_pipeline(workdir)
    run(pipeline, workdir)
    path = workdir / filename
    stat = path.stat()
    path.write_text(new_text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    again = run(pipeline, workdir)
    assert statuses(again)[reran] == "ok"
    written = json.loads((workdir / "out/result.json").read_text())
    if filename == "data.csv":
        assert written["total"] == 14.0
    else:
        assert written["note"] == "other"
        assert statuses(again)["double"] == "cached"  # load's outputs it reads are unchanged


def test_run_pipeline_reruns_a_step_whose_written_file_was_deleted(workdir):
    pipeline = light_pipeline(workdir)
    run(pipeline, workdir)
    (workdir / "out/result.json").unlink()
    again = run(pipeline, workdir)
    assert statuses(again)["publish"] == "ok"
    assert (workdir / "out/result.json").is_file()


def test_run_pipeline_failing_gate_stops_every_step_below_it(workdir):
    pipeline = light_pipeline(workdir)
    result = run(pipeline, workdir, params={"threshold": "100"})
    assert result.status == "gate_failed" and result.failed_step == "total_gate"
    assert statuses(result)["publish"] == "not_run"
    assert "total > threshold" in result.step("total_gate").message
    assert not (workdir / "out").exists()
    with pytest.raises(PipelineError, match='Gate "total_gate" of pipeline "light" failed') as e:
        run(pipeline, workdir, params={"threshold": "100"}, check=True)
    assert e.value.step == "total_gate" and "--from total_gate" in e.value.hint


def test_run_pipeline_assertion_in_a_gate_and_gate_check_api_both_stop(workdir):
    pipeline = light_pipeline(workdir, gate="assert total > threshold, f'total {total} too small'")
    result = run(pipeline, workdir, params=["threshold=50"])
    assert result.status == "gate_failed"
    assert result.step("total_gate").message == "total 12.0 too small"
    pipeline = light_pipeline(workdir, gate="mlops.check(total > threshold, 'total > threshold')")
    result = run(pipeline, workdir, params=["threshold=50"])
    assert result.status == "gate_failed"
    assert result.step("publish").status == "not_run"


def test_run_pipeline_failing_step_reports_the_error_and_stops_downstream(workdir):
    pipeline = light_pipeline(workdir, double="doubled = raw * factor\nraise ValueError('boom')")
    result = run(pipeline, workdir)
    assert result.status == "failed" and result.failed_step == "double"
    assert result.step("double").message == "ValueError: boom"
    assert statuses(result)["side"] == "ok"  # not downstream of double
    assert statuses(result)["total"] == "not_run"
    assert "ValueError: boom" in Path(result.step("double").log_path).read_text()


def test_run_pipeline_output_assigned_only_in_a_branch_is_a_clear_error(workdir):
    pipeline = light_pipeline(workdir, double="if factor > 100:\n    doubled = raw")
    result = run(pipeline, workdir)
    assert "finished without defining 'doubled'" in result.step("double").message


def test_run_pipeline_from_step_reruns_it_and_below_and_reuses_the_rest(workdir):
    pipeline = light_pipeline(workdir)
    with pytest.raises(NotFoundError, match="has no earlier result to reuse"):
        run(pipeline, workdir, from_step="total")
    run(pipeline, workdir)
    restarted = run(pipeline, workdir, from_step="total")
    assert statuses(restarted) == {"load": "reused", "double": "reused", "side": "reused",
                                   "total": "ok", "total_gate": "ok", "publish": "ok"}  # fmt: skip
    with pytest.raises(NotFoundError, match='has no step "nope"'):
        run(pipeline, workdir, from_step="nope")


def test_run_pipeline_bad_parameters_fail_before_any_step_runs(workdir):
    pipeline = light_pipeline(workdir)
    with pytest.raises(InvalidInputError, match='"factor" expects int'):
        run(pipeline, workdir, params=["factor=lots"])
    with pytest.raises(InvalidInputError, match='has no parameter "speed"'):
        run(pipeline, workdir, params=["speed=1"])
    assert not (workdir / ".mlops").exists()


def test_runner_command_line_exit_codes_and_progress(workdir):
    pipeline = light_pipeline(workdir)
    command = [sys.executable, "-m", "jupyter_mlops.runner", str(pipeline)]
    ok = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert [line.split()[0] for line in ok.stdout.splitlines()[:6]] == [
        "load", "double", "side", "total", "total_gate", "publish"
    ]  # fmt: skip
    gate = subprocess.run([*command, "-p", "threshold=99"], cwd=workdir, capture_output=True,
                          text=True)  # fmt: skip
    assert gate.returncode == 3
    assert "GATE FAILED" in gate.stdout and "not run" in gate.stdout
    bad = subprocess.run([*command, "-p", "factor=x"], cwd=workdir, capture_output=True, text=True)
    assert bad.returncode == 2 and 'Parameter "factor" expects int' in bad.stderr


def test_run_pipeline_with_scikit_learn_lr_parameter_changes_the_metric(tmp_path):
    cells = [
        code("from sklearn.datasets import load_diabetes\nfrom sklearn.linear_model import Ridge",
             "imports"),
        code("lr = 1.0", "parameters"),
        code("data = load_diabetes(as_frame=True)\nX = data.data\ny = data.target",
             "step:prepare"),
        code("model = Ridge(alpha=lr).fit(X, y)", "step:train"),
        code("r2 = float(model.score(X, y))\nmlops.log(r2=r2)", "step:evaluate"),
    ]  # fmt: skip
    nbformat.write(new_notebook(cells=cells), tmp_path / "ridge.ipynb")
    pipeline = export_notebook(tmp_path / "ridge.ipynb", targets="local").output_dir
    first = run(pipeline, tmp_path)
    second = run(pipeline, tmp_path, params=["lr=0.5"])
    assert first.ok and second.ok
    assert second.metrics["r2"] > first.metrics["r2"]  # less regularisation fits better
    assert statuses(second) == {"prepare": "cached", "train": "ok", "evaluate": "ok"}
    model_format = {o.name: o.format for o in second.step("train").outputs}["model"]
    assert model_format == "joblib"


def test_runner_and_step_processes_import_no_jupyter_package():
    probe = (
        "import sys, jupyter_mlops.runner, jupyter_mlops.runner.step,"
        " jupyter_mlops.runner.step_api, jupyter_mlops.runner.kfp_step,"
        " jupyter_mlops.runner.bundle, jupyter_mlops.runner.collect,"
        " jupyter_mlops.runner.records, jupyter_mlops.runner.history,"
        " jupyter_mlops.runner.parity, jupyter_mlops.runner.drift_check,"
        " jupyter_mlops.runner.console, jupyter_mlops.runner.pipeline,"
        " jupyter_mlops.runner.worker, jupyter_mlops.runner.warm_process\n"
        "bad = [m for m in ('IPython', 'nbconvert', 'nbformat', 'ipywidgets', 'tornado',"
        " 'jupyterlab', 'jupyter_mlops.export') if m in sys.modules]\n"
        "print(bad)"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert completed.stdout.strip() == "[]", completed.stderr


def test_run_pipeline_reruns_a_step_when_a_later_step_needs_more_of_its_values(workdir):
    pipeline = light_pipeline(workdir)
    run(pipeline, workdir)
    light_pipeline(workdir, side="count = len(raw)\nsource = name")  # reads load's `name` too
    again = run(pipeline, workdir)
    assert again.ok, [s.message for s in again.steps]
    assert statuses(again)["load"] == "ok" and statuses(again)["side"] == "ok"
    assert statuses(again)["double"] == "cached"


@pytest.mark.parametrize(
    "path, mode, counted",
    [
        ("/w/data.csv", "r", "read"),
        ("/w/out/report.json", "w", "written"),
        ("/w/.mlops/artifacts/ab/abc", "rb", None),  # the registry is not a data input
        ("/w/pipe/steps/train.py", "r", None),  # nor the pipeline's own code
        ("/usr/lib/python3/x.py", "r", None),
        ("/opt/py/site-packages/sklearn/data.csv", "r", None),
        ("/data/external.csv", "r", "read"),  # outside the workdir, still a data file
    ],
)
def test_file_access_counts_data_files_not_python_or_registry_files(path, mode, counted):
    from jupyter_mlops.runner.step import FileAccess

    access = FileAccess(
        ignored_roots=("/opt/py/",), workdir="/w/", own_roots=("/w/.mlops/", "/w/pipe/")
    )
    access.hook("open", (path, mode, 0))
    access.hook("import", (path,))  # other events are ignored
    assert (path in access.read, path in access.written) == (
        counted == "read",
        counted == "written",
    )
