"""``%mlops checkout`` / ``jupyter mlops checkout``: a past run's notebook from the registry
alone, with its closure, its parameters in a ``parameters`` cell and its own cells; the
notebook runs again in a fresh kernel and records the same result."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from jupyter_mlops.cli import main
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.reproduce.checkout import move_parameters

from .conftest import run_cell

IMPORTS = "import pandas as pd"
LOAD = 'raw = pd.read_csv("measures.csv")'
UNRELATED = "banner = 'not needed'"
RUN = (
    "%%mlops run checked\n"
    "scale = 3\n"
    "label: str = 'ratio'\n"
    "result = float((raw.a * scale).sum())\n"
    "mlops.log(result=result)"
)


@pytest.fixture
def recorded(shell: object, registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "measures.csv").write_text("a,b\n1,2\n3,4\n")
    for source in (IMPORTS, LOAD, UNRELATED, RUN):
        assert run_cell(shell, source).success, source  # type: ignore[attr-defined]
    row = registry.query_one("SELECT id FROM runs WHERE name = 'checked'")
    assert row is not None
    return str(row[0])


def test_checkout_writes_the_closure_the_parameters_and_the_runs_cells(
    shell: object, registry: Registry, recorded: str, tmp_path: Path, capsys
) -> None:
    run_cell(shell, "%mlops checkout checked -o review/checked.ipynb")

    printed = capsys.readouterr().out
    assert "2 earlier cells, 2 parameters, 1 cell of the run" in printed
    notebook = nbformat.read(tmp_path / "review" / "checked.ipynb", as_version=4)
    nbformat.validate(notebook)
    kinds = [cell.cell_type for cell in notebook.cells]
    sources = [cell.source for cell in notebook.cells]
    assert kinds == ["markdown"] + ["code"] * 7
    assert recorded in sources[0]
    assert sources[1:4] == ["%load_ext jupyter_mlops", IMPORTS, LOAD]
    # the one-cell run as a run of cells, its parameters where the run records them
    assert sources[4] == "%mlops start checked"
    assert notebook.cells[5].metadata["tags"] == ["parameters"]
    assert sources[5] == "scale = 3\nlabel = 'ratio'"
    assert sources[6] == "result = float((raw.a * scale).sum())\nmlops.log(result=result)"
    assert sources[7] == "%mlops end"
    assert notebook.metadata["jupyter_mlops"] == {"checkout_of": recorded}


def test_an_existing_notebook_is_not_replaced_without_force(
    registry: Registry, recorded: str, tmp_path: Path
) -> None:
    target = tmp_path / "mine.ipynb"
    target.write_text("my own work")
    runner = CliRunner()

    refused = runner.invoke(main, ["checkout", "checked", "-o", str(target)])
    assert refused.exit_code == 1
    assert "mine.ipynb exists" in refused.output and "--force" in refused.output
    assert target.read_text() == "my own work"

    replaced = runner.invoke(main, ["checkout", "checked", "-o", str(target), "--force"])
    assert replaced.exit_code == 0, replaced.output
    assert nbformat.read(target, as_version=4).cells[2].source == IMPORTS


def test_checkout_of_an_unknown_run_names_it(registry: Registry) -> None:
    result = CliRunner().invoke(main, ["checkout", "nosuchrun"])

    assert result.exit_code == 1
    assert "nosuchrun" in result.output


def test_a_run_without_a_closure_checks_out_its_own_cells_and_says_what_is_missing(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jupyter_mlops as mlops

    monkeypatch.chdir(tmp_path)
    with mlops.start_run("script-run") as run:
        run.log(value=1.0)
    result = CliRunner().invoke(main, ["checkout", "script-run", "-o", "script.ipynb"])

    assert result.exit_code == 0, result.output
    assert "no closure was recorded" in result.output
    notebook = nbformat.read(tmp_path / "script.ipynb", as_version=4)
    assert "No closure was recorded" in notebook.cells[0].source


@pytest.mark.parametrize(
    ("sources", "literals", "kept", "moved"),
    [
        (["lr = 0.1\nfit(lr)"], {"lr": 0.1}, ["fit(lr)"], {"lr": 0.1}),
        # another value than the one recorded stays where it is
        (["lr = 0.2\nfit(lr)"], {"lr": 0.1}, ["lr = 0.2\nfit(lr)"], {}),
        # several names at once stay
        (["a, b = 1, 2"], {"a": 1, "b": 2}, ["a, b = 1, 2"], {}),
        # a list parameter comes back from JSON as a list; a tuple literal matches it
        (["sizes = (1, 2)\nx = 1"], {"sizes": [1, 2]}, ["x = 1"], {"sizes": [1, 2]}),
        # the first assignment moves; a later one stays
        (["n = 1\nn = 1"], {"n": 1}, ["n = 1"], {"n": 1}),
        # magics keep their lines, and a cell magic's body is read
        (["%%time\n%matplotlib inline\nk = 5"], {"k": 5}, ["%%time\n%matplotlib inline"], {"k": 5}),
        # a multi-line literal moves whole
        (["grid = [\n  1,\n  2,\n]\nuse(grid)"], {"grid": [1, 2]}, ["use(grid)"], {"grid": [1, 2]}),
        # a cell that does not parse stays as it is
        (["lr = 0.1\nif"], {"lr": 0.1}, ["lr = 0.1\nif"], {}),
    ],
)
def test_move_parameters_moves_exactly_the_recorded_literal_assignments(
    sources: list[str], literals: dict, kept: list[str], moved: dict
) -> None:
    assert move_parameters(sources, literals) == (kept, moved)


@pytest.mark.slow
def test_the_checked_out_notebook_runs_in_a_fresh_kernel_and_records_the_same_result(
    registry: Registry, recorded: str, tmp_path: Path
) -> None:
    from nbclient import NotebookClient

    result = CliRunner().invoke(main, ["checkout", "checked", "-o", "again.ipynb"])
    assert result.exit_code == 0, result.output
    notebook = nbformat.read(tmp_path / "again.ipynb", as_version=4)

    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()

    rows = registry.query(
        "SELECT runs.id, metric_summaries.last FROM runs JOIN metric_summaries"
        " ON metric_summaries.run_id = runs.id WHERE runs.name = 'checked'"
        " AND metric_summaries.key = 'result' ORDER BY runs.started_at"
    )
    assert [row[0] for row in rows][0] == recorded
    assert [row[1] for row in rows] == [12.0, 12.0]
