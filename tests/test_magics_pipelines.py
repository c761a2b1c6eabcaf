"""%mlops export and %mlops pipeline through a real IPython InteractiveShell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.utils.capture import capture_output
from nbformat.v4 import new_notebook

from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.runner.history import pipeline_run

from .conftest import run_cell
from .pipelines import code

pytestmark = pytest.mark.slow

CELLS = [
    code("import json\n\ndef make_handle(name):\n    return open(name, 'w')", "setup"),
    code("factor = 2\nthreshold = 1.0", "parameters"),
    code("count = factor * 3\nmlops.log(count=count)", "step:count"),
    code("count > threshold", "gate"),
    code("report = {'count': count}", "step:report"),
]


def cell(shell: Any, source: str) -> tuple[Any, str]:
    result, out, _ = shown(shell, source)
    return result, out


def shown(shell: Any, source: str) -> tuple[Any, str, str]:
    """Run a cell; return its result, what it printed, and the HTML it displayed."""
    with capture_output() as captured:
        result = run_cell(shell, source)
    html = "".join(o.data.get("text/html", "") for o in captured.outputs)
    return result, captured.stdout + captured.stderr, html


@pytest.fixture
def notebook(shell: Any, tmp_path: Path) -> Path:
    """The notebook this kernel runs, saved, with its cells run in the kernel as one run."""
    path = tmp_path / "counts.ipynb"
    nbformat.write(new_notebook(cells=CELLS), path)
    shell.user_ns["__session__"] = str(path)
    cell(shell, "%mlops start counts-notebook --experiment counting")
    for item in CELLS:
        result, out = cell(shell, item.source)
        assert result.error_in_exec is None, out
    return path


def test_export_from_the_kernel_records_the_active_run_and_runs(shell, notebook, registry):
    active = shell.user_ns["mlops"].active_run()
    result, out, html = shown(shell, "%mlops export -o counts-pipeline --target local")
    assert result.error_in_exec is None, out
    assert html.count('class="mlops-step"') == 3 and "<svg" in html  # the steps, drawn
    assert "Exported counts.ipynb (as last saved) to counts-pipeline: 3 step(s)" in out
    assert f"Parity reference: run {active.id} (experiment counting)." in out
    spec = json.loads(Path("counts-pipeline/pipeline.json").read_text())
    assert spec["source"]["exported_from_run_id"] == active.id
    result, out, html = shown(shell, "%mlops pipeline run counts-pipeline")
    assert result.error_in_exec is None, out
    assert html.count('data-state="ok"') == 3  # the graph, each step as it ended
    assert [line.split()[:2] for line in out.splitlines()[:3]] == [
        ["count", "ok"], ["count_gate", "ok"], ["report", "ok"]
    ]  # fmt: skip
    assert "parity ok: 1 metric(s) equal the notebook run" in out
    assert shell.user_ns["mlops"].active_run() is active  # the notebook's run goes on
    record = pipeline_run(registry, "last")
    assert record.status == "ok" and record.exported_from_run_id == active.id
    result, _, html = shown(shell, "%mlops pipeline runs")
    assert record.id in html and "passed" in html
    result, _, html = shown(shell, f"%mlops pipeline show {record.id[:6]}")
    assert result.error_in_exec is None
    assert record.id in html and "parity ok" in html and "<svg" in html
    result, _ = cell(shell, "%mlops pipeline show nothing-like-it")
    assert 'No pipeline run "nothing-like-it"' in str(result.error_in_exec)


def test_a_failed_gate_in_the_kernel_is_one_line_and_a_hint(shell, notebook):
    cell(shell, "%mlops export -o counts-pipeline --target local")
    result, out, html = shown(shell, "%mlops pipeline run counts-pipeline -p threshold=100")
    assert 'data-state="gate_failed"' in html and 'data-state="not_run"' in html
    error = result.error_in_exec
    assert type(error).__name__ == "UsageError"
    assert 'Gate "count_gate" of pipeline "counts" failed' in str(error)
    assert "--from count_gate" in str(error)
    assert "GATE FAILED" in out and "Traceback" not in out


def test_a_step_past_its_timeout_in_the_kernel_is_one_line_and_a_hint(shell, tmp_path):
    path = tmp_path / "sleepy.ipynb"
    cells = [code("import time", "setup"), code("time.sleep(600)\nslept = 1", "step:sleepy")]
    nbformat.write(new_notebook(cells=cells), path)
    shell.user_ns["__session__"] = str(path)
    cell(shell, "%mlops export -o sleepy-pipeline --target local")
    result, out, html = shown(shell, "%mlops pipeline run sleepy-pipeline --step-timeout 2")
    error = result.error_in_exec
    assert type(error).__name__ == "UsageError"
    assert 'Step "sleepy" of pipeline "sleepy" failed: timed out after 2 s' in str(error)
    assert "sleepy.log" in str(error)
    assert 'data-state="failed"' in html and "Traceback" not in out


def test_export_checks_the_live_values_passed_between_steps(shell, tmp_path):
    path = tmp_path / "handles.ipynb"
    cells = [
        CELLS[0],
        code("handle = make_handle('scratch.txt')", "step:open"),
        code("handle.write('x')", "step:write"),
    ]
    nbformat.write(new_notebook(cells=cells), path)
    shell.user_ns["__session__"] = str(path)
    for item in cells:
        cell(shell, item.source)
    result, out = cell(shell, "%mlops export -o handles-pipeline")
    error = str(result.error_in_exec)
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert '"handle" is passed to step "write"' in error and "cannot be pickled" in error
    assert not Path("handles-pipeline").exists()
    run_cell(shell, "handle.close()")


def test_export_without_a_known_notebook_asks_for_one(shell):
    result, _ = cell(shell, "%mlops export")
    assert "This kernel does not know which notebook it runs" in str(result.error_in_exec)
    result, _ = cell(shell, "%mlops pipeline run")
    assert "needs the pipeline's directory" in str(result.error_in_exec)


def test_pipeline_run_records_into_the_kernels_registry(shell, notebook, tmp_path):
    cell(shell, "%mlops export -o counts-pipeline --target local")
    other = Registry.init(tmp_path / "elsewhere")  # the working directory does not decide
    other.close()
    cell(shell, "import os; os.chdir('elsewhere')")
    try:
        result, out = cell(shell, "%mlops pipeline run ../counts-pipeline")
        assert result.error_in_exec is None, out
        assert str(tmp_path / ".mlops" / "registry.db") in out
    finally:
        cell(shell, "os.chdir('..')")
