"""Every export error names the cell, the step and the variable, and writes nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mlops.errors import ExportError
from jupyter_mlops.export import export_notebook


def code(source: str, *tags: str):
    return new_code_cell(source, metadata={"tags": list(tags)} if tags else {})


def write_notebook(folder: Path, *cells) -> Path:
    path = folder / "analysis.ipynb"
    nbformat.write(new_notebook(cells=list(cells)), path)
    return path


# (cells, message, cell_index, step, variable)
CASES = {
    "undefined name": (
        [code("import pandas as pd", "setup"), code("a = 1", "step:load"),
         code("b = a + missing", "step:use")],
        r'Cell 3 \(step "use"\), line 1 reads "missing", which no earlier step, setup cell or'
        " parameter defines", 2, "use", "missing",
    ),
    "read before a later step defines it": (
        [code("total = late * 2", "step:first"), code("late = 3", "step:second")],
        r'reads "late" before any step defines it \(step "second", cell 2, defines it later\)',
        0, "first", "late",
    ),
    "deleted by an earlier step": (
        [code("tmp = 1", "step:a"), code("del tmp", "step:b"), code("x = tmp", "step:c")],
        'reads "tmp", which step "b" deleted', 2, "c", "tmp",
    ),
    "cycle through after:": (
        [code("a = 1", "step:one", "after:two"), code("b = a", "step:two")],
        r"the steps form a cycle \(one -> two -> one\)|the steps form a cycle", 0, "one", None,
    ),
    "two limits for one resource of a step": (
        [code("a = 1", "block:train", "limit:memory:4Gi"), code("b = 2", "block:other"),
         code("c = a", "block:train", "limit:memory:8Gi")],
        r'step "train"\) is tagged limit:memory:8Gi, but cell 1 of the same step already gave'
        " it limit:memory:4Gi", 2, "train", None,
    ),
    "after: an unknown step": (
        [code("a = 1", "step:one"), code("b = 2", "step:two", "after:nowhere")],
        "tag after:nowhere names a step that does not exist", 1, "two", None,
    ),
    "open file passed between steps": (
        [code("handle = open('data.csv')", "step:open"), code("text = handle.read()", "step:read")],
        '"handle" is passed to step "read", but it is an open file', 0, "open", "handle",
    ),
    "database connection passed between steps": (
        [code("import sqlite3", "setup"), code("x = 1", "step:start"),
         code("conn = sqlite3.connect('db.sqlite')"),
         code("rows = conn.execute('select 1').fetchall()", "step:query")],
        '"conn" is passed to step "query", but it is a database or network connection', 2,
        "start", "conn",
    ),
    "generator passed between steps": (
        [code("batches = (i for i in range(3))", "step:make"), code("first = next(batches)",
                                                                   "step:take")],
        "it is a generator", 0, "make", "batches",
    ),
    "lock passed between steps": (
        [code("import threading", "setup"), code("lock = threading.Lock()", "step:make"),
         code("lock.acquire()", "step:use")],
        "it is a lock", 1, "make", "lock",
    ),
    "function defined in a step": (
        [code("def scale(v):\n    return v * 2", "step:define"), code("y = scale(3)", "step:use")],
        "it is a function defined in that step", 0, "define", "scale",
    ),
    "lambda passed between steps": (
        [code("f = lambda v: v + 1", "step:define"), code("y = f(3)", "step:use")],
        "it is a lambda", 0, "define", "f",
    ),
    "syntax error": (
        [code("x = 1", "step:a"), code("y = (x +", "step:b")],
        "Cell 2 has a syntax error on line 1", 1, None, None,
    ),
    "parameter both literal and computed": (
        [code("lr = 0.1\nlr = lr * 2", "parameters"), code("x = lr", "step:a")],
        r'Cell 1 \(parameters\): parameter "lr" is both given a literal default and computed',
        0, None, "lr",
    ),
    "computed parameter reading an undefined name": (
        [code("lr = 0.1\npath = make_path()", "parameters"), code("x = path", "step:a")],
        r'Cell 1 \(step "a"\), line 2 reads "make_path", which no earlier step', 0, "a",
        "make_path",
    ),
    "parameter annotated with the wrong type": (
        [code("depth: int = 'deep'", "parameters"), code("x = depth", "step:a")],
        'parameter "depth" is annotated int but its value is str', 0, None, "depth",
    ),
    "setup code reading a parameter": (
        [code("n = 3", "parameters"), code("import numpy as np\ngrid = np.zeros(n)", "setup"),
         code("x = grid", "step:a")],
        r'Cell 2 \(setup\) reads the parameter "n" on line 2', 1, None, "n",
    ),
    "pip install in a cell": (
        [code("x = 1", "step:a"), code("%pip install xgboost")],
        "installs packages while the notebook runs", 1, None, None,
    ),
    "drift check on a variable the step does not have": (
        [code("x = 1", "step:a"), code("y = 2", "drift:unknown")],
        "tag drift:unknown names a variable the step neither reads nor writes", 1, "a", "unknown",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_export_error_names_cell_step_variable_and_writes_nothing(case, tmp_path):
    cells, message, cell_index, step, variable = CASES[case]
    path = write_notebook(tmp_path, *cells)
    before = path.read_bytes()
    out = tmp_path / "out"
    with pytest.raises(ExportError, match=message) as caught:
        export_notebook(path, out)
    error = caught.value
    assert error.cell_index == cell_index
    assert error.step == step
    assert error.variable == variable
    assert error.hint
    assert str(error).startswith(f"Cell {cell_index + 1}")
    assert not out.exists()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.ipynb"]


def test_export_live_namespace_catches_what_static_analysis_cannot(tmp_path):
    path = write_notebook(
        tmp_path,
        code("from factory import make_state", "setup"),
        code("state = make_state()", "step:make"),
        code("y = state", "step:use"),
    )
    namespace = {"state": {"lock": threading.Lock()}}
    with pytest.raises(ExportError, match="cannot be pickled") as caught:
        export_notebook(path, tmp_path / "out", live_namespace=namespace)
    assert caught.value.variable == "state" and caught.value.step == "make"
    assert not (tmp_path / "out").exists()


def test_export_live_namespace_clears_a_value_that_is_fine(tmp_path):
    path = write_notebook(
        tmp_path,
        code("def make_state():\n    return {'a': 1}", "setup"),
        code("state = make_state()", "step:make"),
        code("y = state", "step:use"),
    )
    result = export_notebook(path, tmp_path / "out", live_namespace={"state": {"a": 1}})
    assert result.spec.artifacts[0].format == "json"


def test_export_refuses_a_non_empty_directory_that_holds_no_export(tmp_path):
    path = write_notebook(tmp_path, code("x = 1", "step:a"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not empty and holds no earlier export"):
        export_notebook(path, out)
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]


@pytest.mark.parametrize("bad", ["k8s", "local,airflow"])
def test_export_unknown_target_is_an_error(bad, tmp_path):
    path = write_notebook(tmp_path, code("x = 1", "step:a"))
    with pytest.raises(ExportError, match="Unknown export target"):
        export_notebook(path, tmp_path / "out", targets=bad)
