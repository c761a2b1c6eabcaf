"""Reading a notebook for export without nbformat: what the format refuses is refused,
with the cell named, and what nbformat reads is read the same."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from nbformat.validator import get_validator

from jupyter_mlops.cli import main
from jupyter_mlops.errors import ExportError
from jupyter_mlops.export import export_notebook
from jupyter_mlops.export.notebook_file import read_notebook

from .conftest import cli_runner

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def tagged_notebook() -> dict[str, Any]:
    """A small valid notebook as nbformat writes it: two steps and a markdown cell."""
    notebook = new_notebook(
        cells=[
            new_markdown_cell("# Totals"),
            new_code_cell("rows = 3\ntotal = rows * 2", metadata={"tags": ["step:load"]}),
            new_code_cell("half = total / 2", metadata={"tags": ["step:report"]}),
        ]
    )
    data: dict[str, Any] = json.loads(nbformat.writes(notebook))
    return data


def broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = tagged_notebook()
    change(data)
    return data


def set_in_cell(index: int, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data["cells"][index].__setitem__(key, value)


# name: (the notebook's JSON, the words of the refusal, the cell it names or None)
INVALID = {
    "cells not a list": (broken(lambda d: d.__setitem__("cells", "x = 1")),
                         "its cells are text, not a list", None),
    "metadata missing": (broken(lambda d: d.pop("metadata")),
                         "its metadata is missing or null, not an object", None),
    "minor version not a number": (broken(lambda d: d.__setitem__("nbformat_minor", "5")),
                                   "its nbformat_minor is '5', not a version number", None),
    "cell not an object": (broken(lambda d: d["cells"].__setitem__(1, ["x = 1"])),
                           "cell 2 is a list, not an object", 1),
    "no cell_type": (broken(lambda d: d["cells"][2].pop("cell_type")),
                     "cell 3 has no cell_type; a cell is code, markdown or raw", 2),
    "unknown cell_type": (broken(set_in_cell(1, "cell_type", "python")),
                          "cell 2 has the cell_type 'python'", 1),
    "source a number": (broken(set_in_cell(1, "source", 5)),
                        "cell 2 has a source that is a number, not text or a list of lines", 1),
    "source lines not text": (broken(set_in_cell(2, "source", ["x = 1\n", 2])),
                              "cell 3 has a source that is a list", 2),
    "metadata a list": (broken(set_in_cell(1, "metadata", [])),
                        "cell 2 has metadata that is a list, not an object", 1),
    "tags a string": (broken(lambda d: d["cells"][1]["metadata"].__setitem__("tags", "step:a")),
                      "cell 2 has tags that are text, not a list of words", 1),
    "tag with a comma": (
        broken(lambda d: d["cells"][2]["metadata"].__setitem__("tags", ["step:a,after:b"])),
        'cell 3 has the tag "step:a,after:b", which holds a comma', 2),
    "id with a space": (broken(set_in_cell(0, "id", "my cell")),
                        "cell 1 has the id 'my cell'", 0),
    "negative execution count": (broken(set_in_cell(1, "execution_count", -1)),
                                 "cell 2 has the execution_count -1, not a count or null", 1),
    "code cell without outputs": (broken(lambda d: d["cells"][2].pop("outputs")),
                                  "cell 3 is a code cell whose outputs are missing or null", 2),
    "output of no known type": (broken(set_in_cell(1, "outputs", [{"output_type": "image"}])),
                                "cell 2 has an output (number 1) that is not a notebook output",
                                1),
}  # fmt: skip


@pytest.mark.parametrize(("data", "message", "cell_index"), INVALID.values(), ids=INVALID.keys())
def test_a_notebook_the_format_refuses_is_refused_with_the_cell_named(
    tmp_path: Path, data: dict[str, Any], message: str, cell_index: int | None
) -> None:
    schema = get_validator(version=4, version_minor=5)
    with pytest.raises(nbformat.ValidationError):  # nbformat's own schema refuses it too
        schema.validate(copy.deepcopy(data))
    path = tmp_path / "broken.ipynb"
    path.write_text(json.dumps(data))

    with pytest.raises(ExportError, match="is not a valid notebook") as raised:
        export_notebook(path, tmp_path / "out", run_id=None)

    assert message in str(raised.value)
    assert raised.value.cell_index == cell_index
    assert raised.value.hint and "save it again" in raised.value.hint
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json at all", "is not a readable notebook: it is not JSON"),
        ("[1, 2]", "is not a notebook: its JSON is a list, not an object"),
        ('{"cells": []}', "is not a notebook: its JSON has no nbformat version"),
        ('{"nbformat": 5, "nbformat_minor": 0, "metadata": {}, "cells": []}',
         "its nbformat is 5, not 4"),
        ('{"nbformat": 4, "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}",
         "is not a readable notebook: its JSON is nested too deeply to read"),
    ],
    ids=["not JSON", "a list", "no version", "version 5", "nested too deeply"],
)  # fmt: skip
def test_a_file_that_is_not_a_notebook_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "other.ipynb"
    path.write_text(text)

    with pytest.raises(ExportError, match=message):
        read_notebook(path)


def test_the_command_refuses_an_invalid_notebook_and_writes_nothing(tmp_path: Path) -> None:
    data = tagged_notebook()
    data["cells"][2]["source"] = {"code": "half = total / 2"}
    (tmp_path / "totals.ipynb").write_text(json.dumps(data))

    result = cli_runner().invoke(main, ["export", "totals.ipynb", "-o", "out", "--run", "none"])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: totals.ipynb is not a valid notebook: cell 3 has a source that is an object,"
        " not text or a list of lines",
        "Hint: Fix that part of the file, or open the notebook in Jupyter and save it again.",
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_the_example_notebooks_read_as_nbformat_reads_them(path: Path) -> None:
    read = read_notebook(path)
    expected = nbformat.read(path, as_version=4)

    def cells(notebook: Any) -> list[tuple[str, str, list[str]]]:
        return [
            (
                cell["cell_type"],
                "".join(cell["source"]),
                list(cell["metadata"].get("tags", [])),
            )
            for cell in notebook["cells"]
        ]

    assert cells(read) == cells(expected)
    assert len(cells(read)) > 5


def test_an_nbformat_3_notebook_is_converted_and_exports_the_same_steps(tmp_path: Path) -> None:
    current = nbformat.reads(json.dumps(tagged_notebook()), as_version=4)
    nbformat.write(current, tmp_path / "current.ipynb")
    nbformat.write(nbformat.convert(current, 3), tmp_path / "old.ipynb")
    assert json.loads((tmp_path / "old.ipynb").read_text())["nbformat"] == 3

    old = export_notebook(tmp_path / "old.ipynb", tmp_path / "old", name="totals", run_id=None)
    new = export_notebook(tmp_path / "current.ipynb", tmp_path / "new", name="totals", run_id=None)

    assert old.steps == new.steps == ("load", "report")
    assert (tmp_path / "old" / "steps" / "report.py").read_text().replace("old.ipynb", "") == (
        tmp_path / "new" / "steps" / "report.py"
    ).read_text().replace("current.ipynb", "")
