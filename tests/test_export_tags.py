"""Cell tags -> parameters, setup and steps (papermill- and Kale-style notebooks)."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from jupyter_mlops.errors import ExportError
from jupyter_mlops.export.layout import lay_out
from jupyter_mlops.export.plan import plan_pipeline


def code(source: str, *tags: str):
    return new_code_cell(source, metadata={"tags": list(tags)} if tags else {})


def notebook(*cells):
    return new_notebook(cells=list(cells))


def test_layout_papermill_parameters_with_foreign_display_tags_are_ignored():
    nb = notebook(
        new_markdown_cell("# Title"),
        code("alpha = 0.5\nname = 'x'", "parameters", "remove-input"),
        code("import math", "hide-cell"),
        code("y = alpha * 2", "step:double", "hide-output", "remove-cell"),
        code("z = y + 1", "jupyter-book-hidden"),
    )
    layout = lay_out(nb)
    assert [c.index for c in layout.parameter_cells] == [1]
    assert [c.index for c in layout.setup_cells] == [2]
    assert [(s.name, [c.index for c in s.cells]) for s in layout.steps] == [("double", [3, 4])]


def test_layout_kale_style_tags_block_prev_pipeline_parameters_metrics_skip():
    nb = notebook(
        code("import numpy as np", "imports"),
        code("def square(v):\n    return v * v", "functions"),
        code("n = 10", "pipeline-parameters"),
        code("data = np.arange(n)", "block:load"),
        code("print(data)", "skip"),
        code("total = square(data).sum()", "block:compute", "prev:load"),
        code("total", "pipeline-metrics"),
    )
    layout = lay_out(nb)
    assert [c.index for c in layout.setup_cells] == [0, 1]
    assert layout.skipped_cells == (4,)
    compute = layout.steps[1]
    assert compute.name == "compute"
    assert compute.after == (("load", 5),)
    assert compute.metrics_cells == (6,)
    plan = plan_pipeline(layout)
    assert plan.steps[1].inputs[0].name == "data"
    assert plan.steps[1].parameters == ()
    assert plan.steps[0].parameters == ("n",)


def test_layout_untagged_cells_follow_the_step_above_them():
    nb = notebook(
        code("a = 1", "step:first"),
        code("b = a + 1"),
        code("c = b * 2", "step:second"),
        code("d = c - 1"),
    )
    steps = lay_out(nb).steps
    assert [(s.name, [c.index for c in s.cells]) for s in steps] == [
        ("first", [0, 1]),
        ("second", [2, 3]),
    ]


def test_layout_notebook_without_step_tags_becomes_one_step_main():
    nb = notebook(code("x = 1", "parameters"), code("import os"), code("y = x + 1"))
    steps = lay_out(nb).steps
    assert [(s.name, [c.index for c in s.cells]) for s in steps] == [("main", [1, 2])]


def test_layout_gate_cell_without_step_tag_starts_its_own_step_below_which_all_wait():
    nb = notebook(
        code("score = 0.9", "step:train"),
        code("assert score > 0.5", "gate"),
        code("note = 'after the gate'"),
        code("other = 1", "step:publish"),
    )
    layout = lay_out(nb)
    assert [s.name for s in layout.steps] == ["train", "train_gate", "publish"]
    assert layout.steps[1].gate and [c.index for c in layout.steps[1].cells] == [1, 2]
    plan = plan_pipeline(layout)
    assert plan.steps[2].depends_on == ("train_gate",)  # reads nothing from it, still waits


@pytest.mark.parametrize(
    "source",
    [
        "import pandas as pd\nfrom pathlib import Path",
        "SEED = 42\nCOLUMNS = ['a', 'b']",
        "import numpy as np\nnp.random.seed(0)",
        "import warnings\nwarnings.filterwarnings('ignore')",
        "def helper(x):\n    return x\n\nclass Box:\n    pass",
        "try:\n    import xgboost\nexcept ImportError:\n    xgboost = None",
        '"""A docstring."""',
    ],
)
def test_layout_untagged_declarative_cell_before_first_step_is_setup(source):
    layout = lay_out(notebook(code(source), code("x = 1", "step:s")))
    assert [c.index for c in layout.setup_cells] == [0]


@pytest.mark.parametrize(
    "source, shown",
    [
        ("import pandas as pd\ndf = pd.read_csv('a.csv')", "line 2: `df = pd.read_csv('a.csv')`"),
        ("print('hello')", "line 1: `print('hello')`"),
        ("for i in range(3):\n    pass", "line 1: `for i in range(3):`"),
    ],
)
def test_layout_untagged_cell_doing_work_before_first_step_is_an_error(source, shown):
    nb = notebook(code("a = 1", "parameters"), code(source), code("x = 1", "step:s"))
    with pytest.raises(ExportError, match="Cell 2 comes before the first step") as caught:
        lay_out(nb)
    assert shown in str(caught.value)
    assert caught.value.cell_index == 1
    assert "setup" in caught.value.hint


@pytest.mark.parametrize(
    "tags, message",
    [
        (("step:a", "step:b"), "two step tags"),
        (("parameters", "step:a"), "tagged both parameters and step"),
        (("setup", "step:a"), "tagged both setup and step"),
        (("step:9bad",), "not a valid step name"),
        (("drift:not a name",), "must name a variable"),
        (("timeout:soon",), r'tag "timeout:soon" must give the seconds the step may run'),
        (("timeout:0",), "must give the seconds"),
        (("timeout:-5",), "must give the seconds"),
        (("timeout:30", "parameters"), "tagged timeout: but is parameters"),
        (("timeout:30", "setup"), "tagged timeout: but is setup code"),
    ],
)
def test_layout_contradictory_or_malformed_tags_name_the_cell(tags, message):
    nb = notebook(code("x = 1", "step:first"), code("y = 2", *tags))
    with pytest.raises(ExportError, match=message) as caught:
        lay_out(nb)
    assert caught.value.cell_index == 1


def test_layout_metrics_tag_before_any_step_is_an_error():
    nb = notebook(code("acc = 1.0", "metrics"), code("x = 1", "step:s"))
    with pytest.raises(ExportError, match="Cell 1 is tagged metrics but comes before"):
        lay_out(nb)


def test_layout_skip_tag_wins_over_every_other_tag():
    nb = notebook(code("x = 1", "step:s"), code("%pip install nothing", "skip", "parameters"))
    layout = lay_out(nb)
    assert layout.skipped_cells == (1,) and layout.parameter_cells == ()


@pytest.mark.parametrize(
    "tag, seconds",
    [("timeout:600", 600.0), ("timeout:90s", 90.0), ("timeout:10m", 600.0),
     ("timeout:1.5h", 5400.0), ("Timeout: 2H", 7200.0)],
)  # fmt: skip
def test_layout_timeout_tag_on_any_cell_of_a_step_limits_that_step(tag, seconds):
    nb = notebook(
        code("x = 1", "step:first"),
        code("y = x + 1", "step:second"),
        code("z = y * 2", tag),
        code("w = z", "step:third"),
    )
    layout = lay_out(nb)
    assert [(s.name, s.timeout) for s in layout.steps] == [
        ("first", None), ("second", seconds), ("third", None)
    ]  # fmt: skip


def test_layout_two_different_timeouts_in_one_step_name_both_cells():
    nb = notebook(code("x = 1", "step:first", "timeout:60"), code("y = 2", "timeout:2m"))
    with pytest.raises(ExportError, match="cell 1 of the same step already gave it timeout:60"):
        lay_out(nb)
    same = notebook(code("x = 1", "step:first", "timeout:60"), code("y = 2", "timeout:1m"))
    assert lay_out(same).steps[0].timeout == 60.0


def test_layout_timeout_tag_before_any_step_is_an_error():
    nb = notebook(code("x = 1", "timeout:60"), code("y = 2", "step:s"))
    with pytest.raises(ExportError, match="Cell 1 is tagged timeout: but comes before"):
        lay_out(nb)
