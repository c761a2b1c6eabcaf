"""A metrics cell logs in the notebook run what its exported step logs, with no mlops.log."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mlops.tracking.metrics_cells import logged_names, metrics_cells_of, silent_lines

from .conftest import run_cell


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("accuracy", ["accuracy"]),
        ("print(accuracy)\nprint(f1)", ["accuracy", "f1"]),
        ("print(accuracy)\naccuracy", ["accuracy"]),
        ("print('accuracy', accuracy)\nprint(accuracy * 100)", []),
        ("acc = 0.5\nmlops.log(acc=acc)", []),
        ("print(accuracy, end='')", []),
    ],
)
def test_logged_names_bare_names_and_print_of_one_name(source, names):
    assert logged_names(ast.parse(source)) == names


def test_silent_lines_name_what_looks_like_a_report_but_logs_nothing():
    tree = ast.parse("print(acc)\nprint('acc', acc)\nmlops.log(f1=f1)\n'doc'\nacc * 100")
    assert [s.lineno for s in silent_lines(tree)] == [2, 5]


def cell(source: str, cell_id: str, *tags: str):
    made = new_code_cell(source, metadata={"tags": list(tags)} if tags else {})
    made["id"] = cell_id
    return made


def test_metrics_cells_of_a_notebook_follow_kale_continuation():
    nb = new_notebook(
        cells=[
            cell("a = 1", "c1", "block:a"),
            cell("print(a)", "c2", "pipeline-metrics"),
            cell("a", "c3"),  # continues pipeline-metrics
            cell("import kale", "c4", "skip"),  # skipped, does not interrupt
            cell("b = a", "c5", "hide-input"),  # a tag with no role: still continues
            cell("c = 2", "c6", "block:b"),
            cell("c", "c7"),  # a step's cell, no metrics
            cell("c", "c8", "metrics"),
        ]
    )
    found = metrics_cells_of(nb)
    assert found.ids == {"c2", "c3", "c5", "c8"}
    assert found.holds("c3", "anything") and not found.holds("c7", "c")
    assert found.holds(None, "c")  # no id sent (nbclient): the source decides


def saved_notebook(path: Path) -> Path:
    nbformat.write(
        new_notebook(
            cells=[
                cell("accuracy = 0.93\nf1 = 0.8", "train"),
                cell("accuracy\nprint(f1)", "plain-cell"),
                cell("accuracy\nprint(f1)", "metrics-cell", "pipeline-metrics"),
            ]
        ),
        path,
    )
    return path


def metrics_of(registry, run_name: str) -> dict[str, list[float]]:
    rows = registry.query(
        "SELECT m.key, m.value FROM metrics m JOIN runs r ON r.id = m.run_id"
        " WHERE r.name = ? ORDER BY m.step",
        (run_name,),
    )
    found: dict[str, list[float]] = {}
    for row in rows:
        found.setdefault(row["key"], []).append(row["value"])
    return found


def test_metrics_cell_logs_into_the_notebook_run_and_a_gate_reads_it(shell, registry, tmp_path):
    notebook = saved_notebook(tmp_path / "analysis.ipynb")
    shell.user_ns["__session__"] = f"project/{notebook.name}"  # as JupyterLab names it
    run_cell(shell, "%mlops start tagged")
    shell.run_cell("accuracy = 0.93\nf1 = 0.8", store_history=True, cell_id="train")
    shell.run_cell("accuracy\nprint(f1)", store_history=True, cell_id="plain-cell")
    assert metrics_of(registry, "tagged") == {}  # the same code, untagged: nothing logged
    shell.run_cell("accuracy\nprint(f1)", store_history=True, cell_id="metrics-cell")
    assert metrics_of(registry, "tagged") == {"accuracy": [0.93], "f1": [0.8]}
    gate = run_cell(shell, '%mlops gate "accuracy >= 0.9"')
    assert gate.error_in_exec is None
    run_cell(shell, "%mlops end")


def test_metrics_cell_without_cell_id_is_found_by_its_source(shell, registry, tmp_path):
    notebook = tmp_path / "analysis.ipynb"
    nbformat.write(
        new_notebook(
            cells=[cell("score = 3", "a"), cell("print(score)", "b", "metrics"), cell("x", "c")]
        ),
        notebook,
    )
    shell.user_ns["__session__"] = str(notebook)
    run_cell(shell, "%mlops start by-source")
    run_cell(shell, "score = 3")
    run_cell(shell, "print(score)")
    run_cell(shell, "%mlops end")
    assert metrics_of(registry, "by-source") == {"score": [3.0]}


def test_metrics_cell_value_that_is_no_number_warns_and_the_cell_stands(
    shell, registry, tmp_path, capsys
):
    notebook = tmp_path / "analysis.ipynb"
    nbformat.write(new_notebook(cells=[cell("label", "m", "metrics")]), notebook)
    shell.user_ns["__session__"] = str(notebook)
    run_cell(shell, "%mlops start text")
    run_cell(shell, "label = 'cat'")
    result = shell.run_cell("label", store_history=True, cell_id="m")
    assert result.error_in_exec is None and result.result == "cat"
    assert 'metric "label" not logged' in capsys.readouterr().err
    run_cell(shell, "%mlops end")
    assert metrics_of(registry, "text") == {}
