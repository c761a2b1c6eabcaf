"""A notebook written for papermill exports as it is: its ``parameters`` cell may hold any
code, and the notebook papermill writes (with its ``injected-parameters`` cell) exports
with the injected values as the pipeline's defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mlops.export import export_notebook
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.runner.pipeline import run_pipeline

SCRIPTS = Path(sys.executable).parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def code(source: str, *tags: str):
    return new_code_cell(source, metadata={"tags": list(tags)} if tags else {})


def papermill_notebook(path: Path) -> Path:
    cells = [
        code("%load_ext jupyter_mlops\n%mlops start pm --experiment papermill"),
        code(
            "a = 3\nscale = 0.5\nitems = [1, 2, 4]\n# computed from the parameters\n"
            "d = a == 3\nn = len(items)",
            "parameters",
        ),
        code("score = (n * scale if d else -1.0) + a", "step:compute"),
        code("print(score)", "metrics"),
        code("%mlops end"),
    ]
    nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC}), path)
    return path


@pytest.fixture
def kernel_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLOPS_REGISTRY", "JPY_SESSION_NAME")}
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env["PATH"] = f"{SCRIPTS}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_row(project: Path, name: str) -> tuple[str, dict[str, float]]:
    with Registry.open(project / ".mlops" / "registry.db") as registry:
        rows = registry.query(
            "SELECT id FROM runs WHERE name = ? AND kind = 'notebook' ORDER BY started_at", (name,)
        )
        run_id = rows[-1]["id"]
        metrics = {
            r["key"]: r["value"]
            for r in registry.query("SELECT key, value FROM metrics WHERE run_id = ?", (run_id,))
        }
        return run_id, metrics


def test_parameters_cell_with_code_literals_are_parameters_the_rest_is_computed(tmp_path):
    path = papermill_notebook(tmp_path / "pm.ipynb")
    result = export_notebook(path, tmp_path / "out", targets="local", run_id=None)
    spec = result.spec
    assert [(p.name, p.type, p.default) for p in spec.parameters] == [
        ("a", "int", 3),
        ("scale", "float", 0.5),
        ("items", "list", [1, 2, 4]),
    ]
    assert set(spec.step("compute").parameters) == {"a", "scale", "items"}
    module = (tmp_path / "out" / "steps" / "compute.py").read_text()
    assert "computed from the parameters" in module
    assert module.index("d = a == 3") < module.index("score = (n * scale")
    assert "a = 3" not in module  # the parameter itself is defined by the runner


def test_computed_values_follow_the_parameters_given_at_run_time(tmp_path):
    path = papermill_notebook(tmp_path / "pm.ipynb")
    export_notebook(path, tmp_path / "out", targets="local", run_id=None)
    registry = tmp_path / ".mlops"
    Registry.init(tmp_path).close()
    default = run_pipeline(tmp_path / "out", workdir=tmp_path, registry=registry)
    other = run_pipeline(tmp_path / "out", workdir=tmp_path, registry=registry, params=["a=4"])
    assert default.status == other.status == "ok"
    with Registry.open(registry / "registry.db") as opened:

        def score(run_id: str) -> float:
            rows = opened.query(
                "SELECT value FROM metrics WHERE run_id = ? AND key = 'score'", (run_id,)
            )
            return rows[0]["value"]

        assert score(default.run_id) == pytest.approx(4.5)  # d is True: 3 * 0.5 + 3
        assert score(other.run_id) == pytest.approx(3.0)  # d is False: -1 + 4


def test_computed_code_no_step_reads_is_reported(tmp_path):
    nb = new_notebook(
        cells=[code("a = 3\nunused = a * 2", "parameters"), code("b = a + 1", "step:s")]
    )
    path = tmp_path / "unused.ipynb"
    nbformat.write(nb, path)
    result = export_notebook(path, tmp_path / "out", targets="local", run_id=None)
    assert any(
        'cell 1 (parameters): "unused" is computed but no step reads it' in w
        for w in result.warnings
    )
    assert "a * 2" not in (tmp_path / "out" / "steps" / "s.py").read_text()


@pytest.mark.slow
def test_papermill_notebook_runs_logs_its_metrics_and_reaches_parity(tmp_path, kernel_env):
    notebook = papermill_notebook(tmp_path / "pm.ipynb")
    Registry.init(tmp_path).close()
    node = nbformat.read(notebook, as_version=4)
    NotebookClient(
        node, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env=kernel_env)
    run_id, metrics = run_row(tmp_path, "pm")
    assert metrics == {"score": pytest.approx(4.5)}  # logged by the metrics cell's print
    result = export_notebook(notebook, tmp_path / "pm-pipeline", targets="local")
    assert result.spec.source.exported_from_run_id == run_id
    ran = run_pipeline(tmp_path / "pm-pipeline", workdir=tmp_path, registry=tmp_path / ".mlops")
    assert ran.status == "ok"
    assert ran.parity is not None and ran.parity.status == "ok", ran.parity
    assert [m.key for m in ran.parity.compared] == ["score"]


@pytest.mark.slow
def test_papermill_output_notebook_exports_with_the_injected_values_as_defaults(
    tmp_path, kernel_env
):
    notebook = papermill_notebook(tmp_path / "pm.ipynb")
    Registry.init(tmp_path).close()
    done = subprocess.run(
        [str(SCRIPTS / "papermill"), "--log-level", "WARNING", notebook.name, "pm-a4.ipynb",
         "-p", "a", "4", "-p", "scale", "2", "-k", "python3"],
        cwd=tmp_path, env=kernel_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    output = tmp_path / "pm-a4.ipynb"
    tags = [c.metadata.get("tags", []) for c in nbformat.read(output, as_version=4).cells]
    assert ["injected-parameters"] in tags  # papermill's own output, as it writes it
    run_id, metrics = run_row(tmp_path, "pm")
    # papermill computed d and n in the parameters cell, from a = 3, before injecting
    # a = 4 and scale = 2: d is True, 3 * 2 + 4
    assert metrics == {"score": pytest.approx(10.0)}

    result = export_notebook(output, tmp_path / "a4-pipeline", targets="local", run_id=run_id)
    defaults = {p.name: (p.type, p.default) for p in result.spec.parameters}
    # scale was given as 2 for a float parameter: it stays a float
    assert defaults == {"a": ("int", 4), "scale": ("float", 2.0), "items": ("list", [1, 2, 4])}
    setup = (tmp_path / "a4-pipeline" / "steps" / "pipeline_setup.py").read_text()
    assert "a = 4" not in setup  # not baked into setup code
    module = (tmp_path / "a4-pipeline" / "steps" / "compute.py").read_text()
    assert "a = 3  # as papermill computed this code: before it injected a" in module
    ran = run_pipeline(tmp_path / "a4-pipeline", workdir=tmp_path, registry=tmp_path / ".mlops")
    assert ran.status == "ok"
    assert ran.parity is not None and ran.parity.status == "ok", ran.parity
    assert {m.key: m.pipeline for m in ran.parity.compared} == {"score": pytest.approx(10.0)}
