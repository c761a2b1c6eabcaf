"""Notebooks executed headless know themselves: ``jupyter execute``, nbclient and papermill
run real kernels here, with no frontend to name the notebook, and the runs record it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.capture.notebook import (
    COMMAND_LINE,
    WORKING_DIRECTORY,
    NotebookFinder,
    named_notebooks,
    notebook_in_directory,
    notebook_of_command,
)
from jupyter_mlops.tracking.queries.detail import run_detail

from .conftest import EXAMPLE_PIPELINE_NOTEBOOK

SCRIPTS = Path(sys.executable).parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def small_notebook(path: Path, *, export: bool = False) -> Path:
    """A notebook whose run starts in its first cell, then a parameters cell and one
    step, and (``export``) a cell that exports the notebook it runs in without naming it."""
    cells = [
        new_code_cell("%load_ext jupyter_mlops\n%mlops start small --experiment headless"),
        new_code_cell("lr = 0.1\nsteps = 3", metadata={"tags": ["parameters"]}),
        new_code_cell(
            "score = lr * steps\nmlops.log(score=score)", metadata={"tags": ["step:train"]}
        ),
        new_code_cell("%mlops end"),
    ]
    if export:
        cells.append(new_code_cell("%mlops export -o small-pipeline", metadata={"tags": ["skip"]}))
    notebook = new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC})
    nbformat.write(notebook, path)
    return path


def runs_of(project: Path) -> dict[str, object]:
    with Registry.open(project / ".mlops" / "registry.db") as registry:
        rows = registry.query("SELECT id, name, notebook_path FROM runs WHERE kind = 'notebook'")
        return {row["name"]: run_detail(registry, row["id"]) for row in rows}


def run_nbclient(notebook: Path, workdir: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    node = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        node, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute(env=env)
    return node


def errors(node: nbformat.NotebookNode) -> list[str]:
    return [
        f"{o.get('ename')}: {o.get('evalue')}"
        for cell in node.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]


@pytest.mark.slow
def test_jupyter_execute_of_the_example_records_it_and_exports_it(
    tmp_path: Path, headless_env: dict[str, str]
) -> None:
    notebook = tmp_path / EXAMPLE_PIPELINE_NOTEBOOK.name
    shutil.copy(EXAMPLE_PIPELINE_NOTEBOOK, notebook)
    Registry.init(tmp_path).close()
    done = subprocess.run(
        [str(SCRIPTS / "jupyter"), "execute", "--inplace", "--timeout=600", notebook.name],
        cwd=tmp_path,
        env=headless_env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    runs = runs_of(tmp_path)
    assert runs["cancer-notebook"].run.notebook_path == str(notebook)
    executed = nbformat.read(notebook, as_version=4)
    assert not errors(executed)
    text = "".join(
        o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs
    )
    # %mlops export with no argument exported this notebook, with the run as parity reference
    assert f"Exported {notebook.name}" in text
    assert f"Parity reference: run {runs['cancer-notebook'].run.id}" in text
    assert (tmp_path / "cancer-pipeline").is_dir()
    assert "parity ok" in text


@pytest.mark.slow
def test_nbclient_kernel_finds_its_notebook_in_its_folder_and_exports_it(
    tmp_path: Path, headless_env: dict[str, str]
) -> None:
    notebook = small_notebook(tmp_path / "small.ipynb", export=True)
    other = tmp_path / "other.ipynb"  # another notebook beside it is not taken for it
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), other)
    Registry.init(tmp_path).close()
    node = run_nbclient(notebook, tmp_path, headless_env)
    assert not errors(node)
    small = runs_of(tmp_path)["small"]
    assert small.run.notebook_path == str(notebook)
    assert small.run.params["lr"] == 0.1 and small.run.metrics["score"] == pytest.approx(0.3)
    assert (tmp_path / "small-pipeline").is_dir()
    printed = "".join(o.get("text", "") for o in node.cells[-1].outputs)
    assert "Exported small.ipynb" in printed


@pytest.mark.slow
def test_nbconvert_execute_names_the_notebook_beside_a_copy_of_it(
    tmp_path: Path, headless_env: dict[str, str]
) -> None:
    notebook = small_notebook(tmp_path / "small.ipynb")
    shutil.copy(notebook, tmp_path / "small-copy.ipynb")  # its command line tells them apart
    Registry.init(tmp_path).close()
    done = subprocess.run(
        [
            str(SCRIPTS / "jupyter"),
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            notebook.name,
            "--output",
            "small-executed.ipynb",
        ],
        cwd=tmp_path,
        env=headless_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert runs_of(tmp_path)["small"].run.notebook_path == str(notebook)


@pytest.mark.slow
def test_two_copies_of_a_notebook_are_not_guessed_between(
    tmp_path: Path, headless_env: dict[str, str]
) -> None:
    notebook = small_notebook(tmp_path / "small.ipynb")
    shutil.copy(notebook, tmp_path / "small-copy.ipynb")
    Registry.init(tmp_path).close()
    assert not errors(run_nbclient(notebook, tmp_path, headless_env))
    assert runs_of(tmp_path)["small"].run.notebook_path is None


@pytest.mark.slow
def test_papermill_run_records_its_input_notebook_and_the_injected_parameters(
    tmp_path: Path, headless_env: dict[str, str]
) -> None:
    notebook = small_notebook(tmp_path / "small.ipynb")
    (tmp_path / "out").mkdir()
    Registry.init(tmp_path).close()
    done = subprocess.run(
        [
            str(SCRIPTS / "papermill"),
            "--log-level",
            "WARNING",
            notebook.name,
            "out/small-lr0.5.ipynb",
            "-p",
            "lr",
            "0.5",
            "-p",
            "steps",
            "4",
            "-k",
            "python3",
        ],
        cwd=tmp_path,
        env=headless_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    small = runs_of(tmp_path)["small"]
    assert small.run.notebook_path == str(notebook)
    assert small.run.params["lr"] == 0.5 and small.run.params["steps"] == 4
    assert small.run.metrics["score"] == pytest.approx(2.0)
    sources = {param.key: param.source for param in small.params}
    tags = small.tags
    assert sources == {"lr": "papermill", "steps": "papermill"}
    assert tags["papermill.injected"] == "lr, steps"
    assert tags["papermill.output"] == str(tmp_path / "out" / "small-lr0.5.ipynb")


@pytest.mark.slow
def test_papermill_python_api_is_found_through_the_notebook_it_writes(
    tmp_path: Path, headless_env: dict[str, str]
) -> None:
    import papermill

    notebook = small_notebook(tmp_path / "small.ipynb")
    Registry.init(tmp_path).close()
    before = dict(os.environ)
    os.environ.clear()
    os.environ.update(headless_env)
    try:
        papermill.execute_notebook(
            str(notebook),
            str(tmp_path / "small-out.ipynb"),
            parameters={"lr": 0.25},
            kernel_name="python3",
            cwd=str(tmp_path),
            progress_bar=False,
        )
    finally:
        os.environ.clear()
        os.environ.update(before)
    small = runs_of(tmp_path)["small"]
    assert small.run.notebook_path == str(notebook)
    assert small.run.params["lr"] == 0.25 and small.run.params["steps"] == 3
    assert {param.key: param.source for param in small.params} == {
        "lr": "papermill",
        "steps": "literal",
    }
    assert small.tags["papermill.injected"] == "lr"


@pytest.mark.parametrize(
    ("argv", "named", "is_papermill"),
    [
        (["python", "/v/bin/jupyter-execute", "--inplace", "a.ipynb"], ["a.ipynb"], False),
        (
            [
                "python",
                "/v/bin/jupyter-nbconvert",
                "--to",
                "notebook",
                "--execute",
                "a.ipynb",
                "--output",
                "b.ipynb",
            ],
            ["a.ipynb"],
            False,
        ),
        (["python", "/v/bin/jupyter-execute", "a.ipynb", "b.ipynb"], ["a.ipynb", "b.ipynb"], False),
        (
            [
                "python",
                "/v/bin/papermill",
                "-p",
                "x",
                "c.ipynb",
                "in.ipynb",
                "out.ipynb",
                "-k",
                "python3",
            ],
            ["in.ipynb", "out.ipynb"],
            True,
        ),
        (["python", "-m", "papermill", "in.ipynb", "-", "-r", "a", "b"], ["in.ipynb", "-"], True),
        (["python", "-m", "pytest", "tests/test_x.py"], [], False),
        (["/usr/bin/jupyter-lab", "--no-browser"], [], False),
        (["python", "/v/bin/jupyter-lab", "opened.ipynb"], [], False),
        (["python", "-m", "notebook", "opened.ipynb"], [], False),
    ],
)
def test_named_notebooks_reads_runner_command_lines(
    argv: list[str], named: list[str], is_papermill: bool
) -> None:
    assert named_notebooks(argv) == (named, is_papermill)


def test_command_naming_two_notebooks_takes_the_one_holding_the_code(tmp_path: Path) -> None:
    first = small_notebook(tmp_path / "first.ipynb")
    nbformat.write(new_notebook(cells=[new_code_cell("y = 2")]), tmp_path / "second.ipynb")
    argv = ["python", "jupyter-execute", "first.ipynb", "second.ipynb"]
    found = notebook_of_command(argv, [tmp_path], frozenset({"y = 2"}))
    assert found is not None and found.path == str(tmp_path / "second.ipynb")
    assert found.found_by == COMMAND_LINE
    found = notebook_of_command(argv, [tmp_path], frozenset({"lr = 0.1\nsteps = 3"}))
    assert found is not None and found.path == str(first)
    assert notebook_of_command(argv, [tmp_path], frozenset({"z = 3"})) is None


def test_directory_match_needs_every_executed_cell_and_one_notebook(tmp_path: Path) -> None:
    notebook = small_notebook(tmp_path / "small.ipynb")
    ran = frozenset({"%load_ext jupyter_mlops\n%mlops start small --experiment headless"})
    found = notebook_in_directory(tmp_path, ran)
    assert found is not None and (found.path, found.found_by) == (str(notebook), WORKING_DIRECTORY)
    assert notebook_in_directory(tmp_path, ran | {"print('typed elsewhere')"}) is None
    shutil.copy(notebook, tmp_path / "copy.ipynb")
    assert notebook_in_directory(tmp_path, ran) is None
    (tmp_path / "broken.ipynb").write_text("{ not json")
    assert notebook_in_directory(tmp_path / "nothing-here", ran) is None


def test_finder_searches_once_and_again_only_after_more_code(tmp_path: Path) -> None:
    small_notebook(tmp_path / "small.ipynb")
    asked: list[int] = []
    executed = ["%load_ext jupyter_mlops\n%mlops start small --experiment headless", "x = 1"]

    def cells() -> list[str]:
        asked.append(len(executed))
        return list(executed)

    finder = NotebookFinder(pid=1, directory=tmp_path)  # pid 1: no runner above it
    assert finder.find(cells) is None
    executed[1] = "lr = 0.1\nsteps = 3"  # the same amount of code: no new search
    assert finder.find(cells) is None and finder.known is None
    executed.append("%mlops end")
    found = finder.find(cells)
    assert found is not None and found.path == str(tmp_path / "small.ipynb")
    (tmp_path / "small.ipynb").unlink()
    assert finder.find(cells) is found and finder.known is found
