"""The closure of a run: the earlier cells its cells depended on, found in a real IPython
shell's history when the run ends, and the files they read, fingerprinted."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.tracking.closure import ExecutedCell, closure_of
from jupyter_mlops.tracking.closure_rows import read_closure, record_closure

from .conftest import run_cell

IMPORTS = "import numpy as np\nimport pandas as pd"
HELPER = "def clean(frame):\n    return frame.dropna().assign(ratio=frame.a / frame.b)"
LOAD = 'raw = pd.read_csv("measures.csv")'
FIRST_PREPROCESS = "data = clean(raw)[lambda frame: frame.a > 2]"
PLOT = (
    "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
    "figure, axes = plt.subplots()\naxes.plot(raw['a'])\nplt.close(figure)"
)
PREPROCESS = "data = clean(raw)"
RUN = "%%mlops run closure-test\nmean_ratio = data.ratio.mean()\nmlops.log(mean_ratio=mean_ratio)"


def last_run_id(registry: Registry) -> str:
    row = registry.query_one("SELECT id FROM runs ORDER BY started_at DESC LIMIT 1")
    assert row is not None
    return str(row[0])


@pytest.fixture
def measures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "measures.csv"
    path.write_text("a,b\n1,2\n3,4\n5,\n7,8\n")
    return path


def test_the_closure_holds_exactly_the_four_cells_the_run_depended_on_as_they_ran(
    shell: object, registry: Registry, measures: Path
) -> None:
    for source in (IMPORTS, HELPER, LOAD, FIRST_PREPROCESS, PLOT, PREPROCESS):
        assert run_cell(shell, source).success, source  # type: ignore[attr-defined]
    assert run_cell(shell, RUN).success  # type: ignore[attr-defined]

    closure = read_closure(registry, last_run_id(registry))

    assert closure is not None
    assert [cell.source for cell in closure.cells] == [IMPORTS, HELPER, LOAD, PREPROCESS]
    # In[1] loaded the extension: the cells ran as In[2], [3], [4] and, edited, [7]
    assert [cell.execution_count for cell in closure.cells] == [2, 3, 4, 7]
    assert closure.cells[-1].provides == ("data",)
    assert closure.unresolved == ()
    (read,) = closure.files
    assert read.path == "measures.csv"
    assert read.resolved == str(measures.resolve())
    assert read.sha256 == hashlib.sha256(measures.read_bytes()).hexdigest()
    assert read.execution_count == 4


def test_a_run_over_several_cells_counts_them_all_and_leaves_out_a_cell_that_raised(
    shell: object, registry: Registry, measures: Path
) -> None:
    run_cell(shell, IMPORTS)
    run_cell(shell, LOAD)
    assert not run_cell(shell, "scale = 10\nraise RuntimeError('stop')").success  # type: ignore[attr-defined]
    run_cell(shell, "scale = 2")
    run_cell(shell, "unused = 1")
    run_cell(shell, "%mlops start several")
    run_cell(shell, "scaled = raw.a * scale")
    run_cell(shell, "total = float(np.sum(scaled))\nmlops.log(total=total)")
    run_cell(shell, "%mlops end")

    closure = read_closure(registry, last_run_id(registry))

    assert closure is not None
    assert [cell.source for cell in closure.cells] == [IMPORTS, LOAD, "scale = 2"]


def test_a_name_no_earlier_cell_bound_is_named_unresolved(
    shell: object, registry: Registry
) -> None:
    run_cell(
        shell, "%%mlops run unresolved\ntry:\n    value = mystery\nexcept NameError:\n    value = 0"
    )

    closure = read_closure(registry, last_run_id(registry))

    assert closure is not None and closure.cells == ()
    assert closure.unresolved == ("mystery",)


def cells(*sources: str) -> list[ExecutedCell]:
    return [ExecutedCell(number, source) for number, source in enumerate(sources, start=1)]


@pytest.mark.parametrize(
    ("history", "run", "kept"),
    [
        # a change in place (a column, a fit) is part of what the run reads
        (["df = make()", "df['y'] = df.x * 2", "other = 1"], ["print(df.y)"], [1, 2]),
        (["m = Model()", "m.fit(X)", "X = load()"], ["m.score(X)"], [1, 2, 3]),
        # a read-only call does not change its receiver
        (["df = make()", "df.head()", "df.describe()"], ["df.x"], [1]),
        # the same text run twice is kept once, at its last execution
        (["a = 1", "b = a + 1", "a = 1"], ["a + b"], [2, 3]),
        # an increment run twice is two changes, kept once by its text
        (["n = 0", "n += 1", "n += 1"], ["n"], [1, 3]),
        # a name bound by the run's own cells is not looked for earlier
        (["x = 1", "y = 2"], ["x = 5", "x + 1"], []),
        # a function's free names are needed when it is
        (["k = 3", "def f(v):\n    return v * k", "k2 = 4"], ["f(1)"], [1, 2]),
        # from x import * may bind what nothing else did
        (["from math import *", "z = 1"], ["sqrt(z) + tau"], [1, 2]),
        # a cell that does not parse binds nothing known
        (["w = 1", "w = (", "q = 2"], ["w"], [1]),
    ],
)
def test_closure_of_follows_names_back_through_the_history(
    history: list[str], run: list[str], kept: list[int]
) -> None:
    closure = closure_of(cells(*history), run, python_of=str)

    assert [cell.execution_count for cell in closure.cells] == kept


def test_the_body_of_a_cell_magic_that_runs_python_counts_and_another_does_not() -> None:
    history = cells(
        "%%time\nmodel = fit()",
        "%%writefile notes.txt\nmodel = 'text'",
        "%%mlops run first\nscore = model.score()",
    )

    closure = closure_of(history, ["print(score, model)"], python_of=str)

    assert [cell.execution_count for cell in closure.cells] == [1, 3]


def test_a_closure_that_cannot_be_computed_is_a_warning_and_the_run_still_ends(
    shell: object, registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    from jupyter_mlops.tracking.session import SESSION

    run_cell(shell, "%mlops start no-closure")
    run = SESSION.active[-1]

    def broken(_: object) -> object:
        raise RecursionError("maximum recursion depth exceeded")

    with caplog.at_level(logging.WARNING):
        record_closure(run, broken)  # type: ignore[arg-type]
    run_cell(shell, "%mlops end")

    assert "the closure of run" in caplog.text and "RecursionError" in caplog.text
    row = registry.query_one("SELECT status FROM runs WHERE id = ?", (run.id,))
    assert row is not None and row[0] == "finished"


def test_purging_a_run_removes_its_closure(
    shell: object, registry: Registry, measures: Path
) -> None:
    import jupyter_mlops as mlops

    for source in (IMPORTS, HELPER, LOAD, PREPROCESS, RUN):
        run_cell(shell, source)
    run_id = last_run_id(registry)
    assert read_closure(registry, run_id) is not None

    mlops.purge(run_id, confirm=True)

    assert read_closure(registry, run_id) is None
    for table in ("closure_cells", "closure_files"):
        rows = registry.query(f"SELECT COUNT(*) FROM {table} WHERE run_id = ?", (run_id,))  # noqa: S608
        assert rows[0][0] == 0, table
