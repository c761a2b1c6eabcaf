"""``jupyter mlops export`` and ``jupyter mlops pipeline run | runs | show``."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_notebook

from jupyter_mlops.cli import main
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.session import start_run

from .conftest import cli_runner
from .pipelines import code

pytestmark = pytest.mark.slow

CELLS = [
    code("import json", "setup"),
    code("factor = 2\nthreshold = 1.0", "parameters"),
    code("count = factor * 3\nmlops.log(count=count)", "step:count"),
    code("count > threshold", "gate"),
    code("with open('out.json', 'w') as fh:\n    json.dump({'count': count}, fh)", "step:publish"),
]


def invoke(*args: str) -> tuple[int, str, str]:
    result = cli_runner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    path = tmp_path / "counts.ipynb"
    nbformat.write(new_notebook(cells=CELLS), path)
    return path


@pytest.fixture
def notebook_run(tmp_path: Path, notebook: Path) -> str:
    """A finished tracked run of the notebook, as %mlops start ... %mlops end records it."""
    with Registry.init(tmp_path) as registry:
        run = start_run(
            "counts-notebook", experiment="counting", kind="notebook",
            notebook_path=str(notebook), registry=registry,
        )  # fmt: skip
        run.record_params({"factor": 2, "threshold": 1.0}, source="literal")
        run.log(count=6.0)
        run.end()
        return run.id


def test_export_then_run_prints_each_step_and_where_the_run_is_recorded(
    tmp_path, notebook, notebook_run
):
    code_, out, err = invoke("export", str(notebook), "-o", str(tmp_path / "pipe"), "-t", "local")
    assert code_ == 0, err
    assert "Exported 3 step(s) (count, count_gate, publish)" in out
    assert f"Parity reference: notebook run {notebook_run} (experiment counting)." in out
    assert sorted(p.name for p in (tmp_path / "pipe").iterdir()) == [
        "README.md", "pipeline.json", "requirements.lock", "steps"
    ]  # fmt: skip
    code_, out, err = invoke("pipeline", "run", str(tmp_path / "pipe"), "--workdir", str(tmp_path))
    assert code_ == 0, out + err
    lines = out.splitlines()
    assert [line.split()[:2] for line in lines[:3]] == [
        ["count", "ok"], ["count_gate", "ok"], ["publish", "ok"]
    ]  # fmt: skip
    assert lines[3].startswith("pipeline counts: ok in")
    assert "(experiment counting)" in lines[4] and str(tmp_path / ".mlops") in lines[4]
    assert lines[5].startswith(f"parity ok: 1 metric(s) equal the notebook run {notebook_run}'s")
    code_, out, _ = invoke("pipeline", "runs", "--registry", str(tmp_path / ".mlops"))
    assert code_ == 0
    header, _, row = out.splitlines()
    assert header.split() == ["id", "pipeline", "status", "started", "duration", "parity", "steps"]
    assert row.split()[1:3] == ["counts", "ok"] and "count_gate:ok" in row
    code_, out, _ = invoke("pipeline", "show", "--registry", str(tmp_path / ".mlops"),
                           "--format", "json")  # fmt: skip
    shown = json.loads(out)
    assert shown["parity"]["status"] == "ok" and shown["exported_from_run_id"] == notebook_run
    assert [s["name"] for s in shown["steps"]] == ["count", "count_gate", "publish"]
    code_, out, _ = invoke("pipeline", "show", "counts", "--registry", str(tmp_path / ".mlops"))
    assert "parity count: notebook 6.0, pipeline 6.0 (equal)" in out


@pytest.mark.parametrize(
    "args, exit_code, message",
    [
        (["-p", "factor=lots"], 2, 'Parameter "factor" expects int'),
        (["-p", "speed=1"], 2, 'has no parameter "speed"'),
        (["--from", "nope"], 2, 'has no step "nope"'),
        (["-p", "threshold=100"], 3, "count > threshold"),
    ],
)
def test_pipeline_run_exit_codes(tmp_path, notebook, args, exit_code, message):
    assert invoke("export", str(notebook), "-o", str(tmp_path / "pipe"), "--run", "none")[0] == 0
    code_, out, err = invoke("pipeline", "run", str(tmp_path / "pipe"), "--workdir",
                             str(tmp_path), *args)  # fmt: skip
    assert code_ == exit_code, out + err
    assert message in err
    if exit_code == 2:
        assert "Hint:" in err and not (tmp_path / ".mlops").exists()
    else:
        assert "GATE FAILED" in out and "publish" in out and "not run" in out


def test_export_that_cannot_work_names_the_cell_and_writes_nothing(tmp_path):
    path = tmp_path / "broken.ipynb"
    cells = [code("total = missing * 2", "step:a"), code("t = total", "step:b")]
    nbformat.write(new_notebook(cells=cells), path)
    code_, out, err = invoke("export", str(path), "-o", str(tmp_path / "out"))
    assert code_ == 1
    assert 'Cell 1 (step "a"), line 1 reads "missing"' in err and "Hint:" in err
    assert not (tmp_path / "out").exists()


def test_export_targets_and_the_run_it_reflects_can_be_chosen(tmp_path, notebook, notebook_run):
    code_, out, err = invoke("export", str(notebook), "-o", str(tmp_path / "a"),
                             "--target", "local,docker", "--run", "counts-notebook")  # fmt: skip
    assert code_ == 0, err
    assert (tmp_path / "a" / "Dockerfile").is_file()
    assert json.loads((tmp_path / "a/pipeline.json").read_text())["source"][
        "exported_from_run_id"] == notebook_run  # fmt: skip
    code_, out, _ = invoke("export", str(notebook), "-o", str(tmp_path / "b"), "--run", "none")
    assert "Parity reference: none" in out
    code_, _, err = invoke("export", str(notebook), "-o", str(tmp_path / "c"), "--run", "nope")
    assert code_ == 1 and 'No run with id or name "nope"' in err
    code_, _, err = invoke("export", str(notebook), "-o", str(tmp_path / "d"), "-t", "lambda")
    assert code_ == 1 and "Unknown export target 'lambda'" in err


def test_export_wheel_option_puts_the_wheel_in_wheels_or_says_why_not(tmp_path, checkout_wheel):
    notebook = tmp_path / "counts.ipynb"
    nbformat.write(new_notebook(cells=CELLS), notebook)
    out = tmp_path / "pipe"

    code_, _, err = invoke("export", str(notebook), "-o", str(out), "--wheel", str(checkout_wheel))

    assert code_ == 0, err
    assert (out / "wheels" / checkout_wheel.name).read_bytes() == checkout_wheel.read_bytes()
    other = tmp_path / "jupyter_mlops-999.0-py3-none-any.whl"
    other.write_bytes(checkout_wheel.read_bytes())
    code_, _, err = invoke(
        "export", str(notebook), "-o", str(tmp_path / "b"), "--wheel", str(other)
    )
    assert code_ == 1
    assert "is jupyter-mlops 999.0, but the image installs jupyter-mlops==" in err
    assert "Hint: Give a wheel of jupyter-mlops" in err
    assert not (tmp_path / "b").exists()


SLEEPY_CELLS = [
    code("import time", "setup"),
    code("ready = 1", "step:ready"),
    code("time.sleep(600)\nslept = ready", "step:sleepy"),
]


def test_pipeline_run_step_timeout_stops_a_step_that_runs_too_long(tmp_path):
    path = tmp_path / "sleepy.ipynb"
    nbformat.write(new_notebook(cells=SLEEPY_CELLS), path)
    assert invoke("export", str(path), "-o", str(tmp_path / "pipe"), "-t", "local")[0] == 0
    code_, out, err = invoke(
        "pipeline", "run", str(tmp_path / "pipe"), "--workdir", str(tmp_path),
        "--step-timeout", "20s",  # the setup code's import must fit too, on a busy machine
    )  # fmt: skip
    assert code_ == 1, out + err
    assert "sleepy" in out and "FAILED" in out
    assert "Error: timed out after 20 s and was stopped with the processes it started" in err
    assert "sleepy.log" in err


@pytest.mark.parametrize("value", ["soon", "-3", "1e400"])
def test_pipeline_run_step_timeout_that_is_not_a_duration_is_refused(tmp_path, notebook, value):
    assert invoke("export", str(notebook), "-o", str(tmp_path / "pipe"), "--run", "none")[0] == 0
    code_, _, err = invoke("pipeline", "run", str(tmp_path / "pipe"), f"--step-timeout={value}")
    assert code_ == 2
    assert f'--step-timeout: "{value}" is not a duration' in err and "Hint:" in err
    assert not (tmp_path / ".mlops").exists()


def test_pipeline_run_help_gives_the_default_step_timeout():
    code_, out, _ = invoke("pipeline", "run", "--help")
    assert code_ == 0
    assert "--step-timeout SECONDS" in out and "default: 24 hours" in " ".join(out.split())
