"""The line that ends a run cell and ``%mlops end``: the run's id, name and what it
recorded, through a real IPython InteractiveShell; the setting that silences it; and a
registry that cannot be read, which leaves the cell's result standing."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import pytest
from IPython.utils.capture import capture_output

import jupyter_mlops as mlops
from jupyter_mlops.errors import InvalidInputError
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.queries.counts import RunCounts, confirmation, run_counts
from jupyter_mlops.tracking.settings import settings_from_environment

from .conftest import run_cell

RUN_CELL = """%%mlops run baseline --experiment confirm
lr = 0.1
depth = 3
total = float(frame["x"].sum())
mlops.log_params(optimizer="adam")
mlops.log(accuracy=0.9)
for step in range(3):
    mlops.log(loss=1.0 / (step + 1), step=step)
mlops.log_text("a note", "notes.txt")
mlops.log_text("another", "more.txt")
time.sleep(1.3)  # a sample of system metrics is taken a second after the start
total
"""


def cell(shell: Any, source: str) -> tuple[Any, str, str]:
    with capture_output() as captured:
        result = run_cell(shell, source)
    return result, captured.stdout, captured.stderr


@pytest.fixture
def frame_shell(shell: Any) -> Any:
    rng = np.random.default_rng(7)
    shell.user_ns["frame"] = pd.DataFrame({"x": rng.normal(size=200), "y": rng.integers(0, 5, 200)})
    run_cell(shell, "import time")
    return shell


def test_run_cell_ends_with_one_line_counting_what_it_recorded(
    frame_shell: Any, registry: Registry
) -> None:
    result, out, _ = cell(frame_shell, RUN_CELL)
    assert result.error_in_exec is None and result.result == float(frame_shell.user_ns["total"])
    detail = mlops.get_run("baseline")
    line = f'run {detail.run.id} "baseline": 3 params, 2 metrics, 1 snapshot, 2 artifacts'
    assert out.splitlines() == [line, f"Out[{result.execution_count}]: {result.result!r}"]
    # the numbers are what the registry holds: the literals and the logged parameter, the
    # metrics by name without the system/ series the run sampled by itself, the frame read
    assert set(detail.run.params) == {"lr", "depth", "optimizer"}
    assert {m for m in detail.run.metrics if not m.startswith("system/")} == {"accuracy", "loss"}
    assert any(m.startswith("system/") for m in detail.run.metrics)
    assert [(s.variable, s.n_rows) for s in detail.snapshots] == [("frame", 200)]
    assert {a.name for a in detail.artifacts} == {"notes.txt", "more.txt"}
    assert run_counts(registry, detail.run.id) == RunCounts(3, 2, 1, 2)


def test_a_failing_run_cell_says_it_failed_before_its_traceback(
    shell: Any, registry: Registry
) -> None:
    result, out, _ = cell(shell, "%%mlops run fragile\nlr = 0.5\nmlops.log(acc=0.1)\n1 / 0")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    run_id = mlops.get_run("fragile").run.id
    assert out.startswith(f'run {run_id} "fragile" failed: 1 param, 1 metric, 0 snapshots,')


def test_end_of_a_span_ends_with_the_line(shell: Any, registry: Registry) -> None:
    cell(shell, "%mlops start span --no-system-metrics")
    cell(shell, "a = 1\nb = 2\nmlops.log(x=a)")
    _, out, _ = cell(shell, "%mlops end --status killed")
    run_id = mlops.get_run("span").run.id
    assert out == f'run {run_id} "span" killed: 2 params, 1 metric, 0 snapshots, 0 artifacts\n'


def test_run_summary_setting_silences_the_run_cell(shell: Any, registry: Registry) -> None:
    assert mlops.configure(run_summary=False).run_summary is False
    result, out, _ = cell(shell, "%%mlops run quiet\nlr = 0.1\nmlops.log(acc=0.5)\nlr")
    assert result.result == 0.1 and out == f"Out[{result.execution_count}]: 0.1\n"
    cell(shell, "%mlops start quiet-span")
    _, out, _ = cell(shell, "%mlops end")
    run_id = mlops.get_run("quiet-span").run.id
    assert out == f'Run "quiet-span" ({run_id}) finished.\n'  # as before the line existed
    assert mlops.configure(run_summary=True).run_summary is True
    _, out, _ = cell(shell, "%%mlops run loud\nlr = 0.1")
    assert out.startswith("run ") and '"loud": 1 param,' in out


def test_run_summary_setting_reads_its_environment_variable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert settings_from_environment({}).run_summary is True
    assert settings_from_environment({"MLOPS_RUN_SUMMARY": "0"}).run_summary is False
    assert settings_from_environment({"MLOPS_RUN_SUMMARY": "off"}).run_summary is False
    assert settings_from_environment({"MLOPS_RUN_SUMMARY": "1"}).run_summary is True
    with caplog.at_level(logging.WARNING):
        assert settings_from_environment({"MLOPS_RUN_SUMMARY": "quiet"}).run_summary is True
    assert "MLOPS_RUN_SUMMARY" in caplog.text
    with pytest.raises(InvalidInputError, match="run_summary must be True or False"):
        mlops.configure(run_summary="no")  # type: ignore[arg-type]


def test_a_registry_that_cannot_be_counted_leaves_the_cell_and_the_id(
    shell: Any, registry: Registry
) -> None:
    damage = (
        "%%mlops run damaged --no-system-metrics\n"
        "import contextlib, sqlite3\n"
        f"with contextlib.closing(sqlite3.connect({str(registry.path)!r}, isolation_level=None))"
        " as damaging:\n"
        '    damaging.execute("DROP TABLE run_artifacts")\n'
        "42"
    )
    result, out, err = cell(shell, damage)
    assert result.error_in_exec is None and result.result == 42
    with Registry.open(registry.path) as reopened:
        run_id = reopened.query_one("SELECT id FROM runs WHERE name = 'damaged'")["id"]
    # the counts could not be read: left out, and the cell's value is shown as ever
    assert out.splitlines() == [f'run {run_id} "damaged"', f"Out[{result.execution_count}]: 42"]
    assert "Traceback" not in err


def test_confirmation_words() -> None:
    assert confirmation("abc", "x", RunCounts(1, 0, 2, 1)) == (
        'run abc "x": 1 param, 0 metrics, 2 snapshots, 1 artifact'
    )
    assert confirmation("abc", "x", None, "failed") == 'run abc "x" failed'
