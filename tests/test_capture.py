"""Automatic capture: literal parameters, inputs read, fitted estimators, git files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.tracking.capture.cells import (
    REMEMBERED_MAX_CHARS,
    data_inputs,
    estimator_params,
    is_fitted_estimator,
    literal_assignments,
    may_assign_literals,
    may_be_estimator,
    names_data,
    names_mentioned,
    names_read_first,
    possible_names,
    read_cell,
)
from jupyter_mlops.tracking.capture.environment import current_environment, installed_distributions
from jupyter_mlops.tracking.capture.git import git_dir_of, read_head


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("lr = 0.1\ndepth = 6", {"lr": 0.1, "depth": 6}),
        ("lr = 0.1; depth = 6", {"lr": 0.1, "depth": 6}),
        ("a, b = 1, 'x'", {"a": 1, "b": "x"}),
        ("n: int = 3", {"n": 3}),
        ("a = b = -2.5", {"a": -2.5, "b": -2.5}),
        ("layers = [64, 32]\nopts = {'x': (1, 2)}", {"layers": [64, 32], "opts": {"x": [1, 2]}}),
        ("flag = True\nnothing = None", {"flag": True, "nothing": None}),
        ("tags = {'b', 'a'}", {"tags": ["a", "b"]}),
        ("lr = 0.1\nlr = 0.2", {"lr": 0.2}),
        ("model = fit(lr)\nx = y", {}),
        ("empty = set()\nneg = -3\nz = 1 + 2j", {"empty": [], "neg": -3}),
        ("y = x + 1\nz = -x\ns = set(a)\nt = (x, 1)", {}),
        ("_private = 1\nobj.attr = 2\nd['k'] = 3", {}),
        ("def f():\n    inner = 1\n", {}),
        ("if True:\n    nested = 1\n", {}),
        ("big = " + repr(list(range(5000))), {}),
        ("this is not python", {}),
    ],
)
def test_literal_assignments(source: str, expected: dict) -> None:
    assert literal_assignments(source) == expected


@pytest.mark.parametrize(
    ("source", "inputs"),
    [
        ("df = df.dropna()", {"df"}),
        ("df = load()\ndf.head()", {"load"}),
        ("model.fit(X_train, y_train)", {"model", "X_train", "y_train"}),
        ("total += x", {"total", "x"}),
        ("for row in rows:\n    acc = acc + row", {"rows", "acc"}),
        ("import numpy as np\nnp.mean(a)", {"a"}),
        ("def f(z):\n    return w\nf(v)", {"v"}),
        ("s = [t for t in things]", {"things"}),
        ("%broken", set()),
    ],
)
def test_names_read_first(source: str, inputs: set[str]) -> None:
    found = names_read_first(source)
    assert inputs <= found
    assert found - inputs <= {"t"}  # comprehension variables may show; assignments never do


@pytest.mark.parametrize(
    "source",
    [
        "df = df.dropna()\nlr = 0.1",
        "model = RandomForestClassifier(max_depth=depth).fit(X_train, y_train)\nseed = 7",
        "for row in rows:\n    acc = acc + row\nn: int = 3",
        "import numpy as np\nscale = 2.5\nnp.mean(a) * scale",
        "this is not python",
    ],
)
def test_read_cell_tells_what_the_separate_readings_tell(source: str) -> None:
    code = read_cell(source)
    assert code.inputs == names_read_first(source)
    assert code.mentioned == names_mentioned(source)
    assert code.literals == literal_assignments(source)


def test_the_reading_of_a_cell_run_again_is_remembered_and_read_only() -> None:
    source = "df = df.dropna()\nlr = 0.1"
    code = read_cell(source)
    again = read_cell("".join(["df = df.dropna()\n", "lr = 0.1"]))  # equal text, other object
    assert again is code
    assert again.literals == {"lr": 0.1} and again.inputs == {"df"}
    with pytest.raises(TypeError):
        again.literals["lr"] = 0.2  # type: ignore[index]
    assert read_cell("df = df.dropna()\nlr = 0.2").literals == {"lr": 0.2}
    long = "x = 1\n" * (REMEMBERED_MAX_CHARS // 6 + 1)
    assert read_cell(long) is not read_cell(long)  # too long to keep
    assert read_cell(long).literals == {"x": 1}


# Cells whose literals and names the text pre-filters must not miss: every way of writing
# a literal assignment, with the spellings around ``=`` that are not assignments.
_TRICKY_CELLS = [
    "x = 1",
    "x=1",
    "x =\t-1",
    "x = \\\n    2",
    "x = (\n    1,\n    2,\n)",
    "x = [\n  1]",
    "x = {'a': 1}",
    "x = {1, 2}",
    "x = .5",
    "x = 1e-3",
    "x = 0x1F",
    "x = 1_000",
    "x = 2j",
    "x = 1 + 2j",
    "x = -1 - 2j",
    "x = ~3",
    "x = +3",
    "x = 'text'",
    'x = "text"',
    'x = """doc\nstring"""',
    "x = r'raw'",
    "x = Rb'raw'",
    "x = u'unicode'",
    "x = b'bytes'",
    "x = None",
    "x = True",
    "x = False",
    "x = set()",
    "x = set ()",
    "x = ...",
    "a = b = 1",
    "a, b = 1, 'x'",
    "a, (b, c) = 1, (2, 3)",
    "[a, b] = [1, 2]",
    "n: int = 3",
    "n:int=3",
    "d: dict[str, int] = {}",
    "y = x + 1; z = 2",
    "if x == 1:\n    pass\nlr = 0.1",
    "a <= 1\nb >= 2\nc != 3\nd = 4",
    "(n := 3)\nm = n",
    "f(a=1)",
    "x += 1",
    "total = sum(values)  # = 0",
    "s = 'a = 1'",
    "lr = 0.1\nmodel = fit(lr)",
    "déjà = 1",
    "\uff58 = 1",  # a fullwidth x: Python reads it as x
    "def f(z=1):\n    inner = 2\n    return w\nf(v)",
    "class A:\n    k = 1\nimport numpy as np\nfrom os import path as p",
    "for row in rows:\n    acc = acc + row",
    "s = [t for t in things]\nlam = lambda q: q + r",
    "try:\n    u = 1\nexcept E as e:\n    pass",
    "with open(f) as h:\n    data = h.read()",
    "get_ipython().run_line_magic('time', 'pass')\nx = 1",
    "1if x else y",
    "this is not python",
]


def _notebook_cells() -> list[str]:
    cells = []
    for path in sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                cells.append("".join(cell["source"]))
    return cells


@pytest.mark.parametrize(
    "source",
    _TRICKY_CELLS + [c for c in _notebook_cells() if not c.lstrip().startswith(("%", "!"))],
)
def test_the_text_prefilters_never_miss_what_a_parse_finds(source: str) -> None:
    if literal_assignments(source):
        assert may_assign_literals(source)
    words = possible_names(source)
    if words is not None:
        assert names_mentioned(source) <= words
        assert names_read_first(source) <= words


@pytest.mark.parametrize(
    "source",
    [
        "y = x + 1",
        "model = fit(X, y)",
        "a == 1",
        "a <= 1",
        "a >= 1",
        "a != 1",
        "x += 1",
        "x -= 1",
        "x *= 2",
        "x //= 2",
        "x %= 2",
        "x **= 2",
        "x >>= 1",
        "x |= {1}",
        "x &= 1",
        "x ^= 1",
        "m @= (w)",
        "(n := 3)",
        "f(x)",
    ],
)
def test_cells_that_assign_no_literal_are_not_parsed_for_literals(source: str) -> None:
    assert not may_assign_literals(source)
    assert literal_assignments(source) == {}


def test_possible_names_are_the_words_of_ascii_code() -> None:
    assert possible_names("y = x + 1  # plus one") == {"y", "x", "plus", "one"}
    assert possible_names("r = df['a'].sum()") == {"r", "df", "a", "sum"}
    assert possible_names("d\u00e9j\u00e0 = 1") is None


def test_may_be_estimator_looks_at_the_class() -> None:
    class Model:
        def fit(self) -> None: ...
        def get_params(self) -> dict:
            return {}

    assert may_be_estimator(Model())
    assert not may_be_estimator(Model)
    assert not may_be_estimator(None)
    assert not may_be_estimator(pd.DataFrame())
    plain = (1, 1.5, 2j, True, "s", b"b", [Model()], (1,), {"m": Model()}, {1}, len, pd)
    assert not any(may_be_estimator(value) for value in plain)


def test_data_inputs_pick_frames_series_and_arrays() -> None:
    namespace = {
        "df": pd.DataFrame({"a": [1, 2]}),
        "s": pd.Series([1.0, 2.0]),
        "x": np.ones((3, 2)),
        "one": np.ones(1),
        "n": 3,
        "_hidden": pd.DataFrame({"a": [1]}),
    }
    assert set(data_inputs(namespace, namespace)) == {"df", "s", "x"}
    assert names_data(namespace, ["n", "missing", "s"])
    assert not names_data(namespace, ["n", "one", "_hidden", "missing"])
    plain = {"t": "text", "l": [namespace["df"]], "d": {"df": namespace["df"]}, "f": len}
    assert not names_data(plain, plain)


def test_estimator_params_of_fitted_scikit_learn_models() -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    fitted = LogisticRegression(C=0.5, max_iter=300).fit(X, y)
    unfitted = LogisticRegression(C=9.0)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=2.0)).fit(X, y)
    params = estimator_params(
        {"model": fitted, "later": unfitted, "pipe": pipe}, ["model", "later", "pipe", "missing"]
    )
    assert params["model.estimator"] == "LogisticRegression"
    assert params["model.C"] == 0.5 and params["model.max_iter"] == 300
    assert not any(key.startswith("later.") for key in params)
    assert params["pipe.estimator"] == "Pipeline"
    assert params["pipe.logisticregression__C"] == 2.0
    assert params["pipe.logisticregression"] == "LogisticRegression"


def test_is_fitted_estimator_needs_both_methods_and_fitted_state() -> None:
    class Duck:
        def fit(self) -> None: ...
        def get_params(self) -> dict:
            return {}

    duck = Duck()
    assert not is_fitted_estimator(duck)
    duck.coef_ = 1  # type: ignore[attr-defined]
    assert is_fitted_estimator(duck)
    assert not is_fitted_estimator(Duck)
    assert not is_fitted_estimator(object())


def test_read_head_through_a_symbolic_ref_and_packed_refs(tmp_path: Path) -> None:
    git_dir = tmp_path / ".git"
    (git_dir / "refs" / "heads").mkdir(parents=True)
    (git_dir / "HEAD").write_text("ref: refs/heads/feature\n")
    (git_dir / "packed-refs").write_text("# pack-refs\n" + "a" * 40 + " refs/heads/feature\n")
    assert read_head(git_dir) == ("a" * 40, "feature")
    (git_dir / "refs" / "heads" / "feature").write_text("b" * 40 + "\n")
    assert read_head(git_dir) == ("b" * 40, "feature")
    (git_dir / "HEAD").write_text("c" * 40 + "\n")
    assert read_head(git_dir) == ("c" * 40, None)


def test_git_dir_of_follows_a_worktree_file(tmp_path: Path) -> None:
    real = tmp_path / "main" / ".git" / "worktrees" / "wt"
    real.mkdir(parents=True)
    worktree = tmp_path / "wt"
    worktree.mkdir()
    (worktree / ".git").write_text(f"gitdir: {real}\n")
    assert git_dir_of(worktree / "sub") in (None, real)
    (worktree / "sub").mkdir()
    assert git_dir_of(worktree / "sub") == real


def test_environment_lists_imported_distributions() -> None:
    import sklearn  # noqa: F401

    environment = current_environment()
    packages = dict(environment.packages)
    assert packages["scikit-learn"] == __import__("sklearn").__version__
    assert environment.hash == current_environment().hash


def test_installed_distributions_map_modules_to_names_and_versions() -> None:
    import importlib.metadata

    found = installed_distributions()
    assert ("scikit-learn", importlib.metadata.version("scikit-learn")) in found["sklearn"]
    assert found["jupyter_mlops"][0][0] == "jupyter-mlops"  # editable installs too


def test_installed_distributions_reads_top_level_and_record(tmp_path: Path) -> None:
    with_top = tmp_path / "Pillow_Fork-10.1.dist-info"
    with_top.mkdir()
    (with_top / "top_level.txt").write_text("PIL\n")
    with_record = tmp_path / "my_pkg-2.0.dist-info"
    with_record.mkdir()
    (with_record / "RECORD").write_text(
        "mypkg/__init__.py,sha256=x,1\nhelper.py,,\nmy_pkg-2.0.dist-info/METADATA,,\n"
        "../../bin/tool,,\n__pycache__/helper.cpython-311.pyc,,\n"
    )
    found = installed_distributions([str(tmp_path)])
    assert found["PIL"] == [("pillow-fork", "10.1")]
    assert found["mypkg"] == [("my-pkg", "2.0")]
    assert found["helper"] == [("my-pkg", "2.0")]
    assert ".." not in found and "__pycache__" not in found


@pytest.mark.parametrize(
    ("source", "installs"),
    [
        ("%pip install lightgbm", True),
        ("!pip install -U 'xgboost<3'", True),
        ("x = 1\n  %conda install -c conda-forge shap", True),
        ("!uv pip install polars", True),
        ("!mamba install numpy", True),
        ("%pip list", False),
        ("import pip", False),
        ("# %pip install lightgbm, once", False),
        ("print('pip install lightgbm')", False),
    ],
)
def test_a_cell_that_installs_packages_is_recognised(source: str, installs: bool) -> None:
    from jupyter_mlops.magics.session import installs_packages

    assert installs_packages(source) is installs


def test_packages_installed_from_the_notebook_are_recorded_by_later_runs(
    shell: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jupyter_mlops as mlops

    from .conftest import run_cell

    current_environment()  # the installed versions are read once, before the install
    site = tmp_path / "site"
    (site / "installed_late").mkdir(parents=True)
    (site / "installed_late" / "__init__.py").write_text("")
    (site / "installed_late-0.4.2.dist-info").mkdir()
    (site / "installed_late-0.4.2.dist-info" / "top_level.txt").write_text("installed_late\n")
    monkeypatch.syspath_prepend(str(site))

    run_cell(shell, "%pip install --help")  # what a cell that installs looks like, offline
    run_cell(shell, "%%mlops run after-install\nimport installed_late")

    environment = mlops.get_run("after-install").environment
    assert environment is not None and environment["packages"]["installed-late"] == "0.4.2"


def test_the_fast_walk_finds_what_the_standard_visitor_finds() -> None:
    import ast
    from pathlib import Path

    import jupyter_mlops
    from jupyter_mlops.tracking.capture.cells import _ReadsBeforeWrites

    class Standard(_ReadsBeforeWrites):
        visit = ast.NodeVisitor.visit  # type: ignore[assignment]
        generic_visit = ast.NodeVisitor.generic_visit  # type: ignore[assignment]

    sources = sorted(Path(jupyter_mlops.__file__).parent.rglob("*.py"))
    assert len(sources) > 50
    for path in sources:
        tree = ast.parse(path.read_text())
        # module level and each function body, as cells
        for body in [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]:
            cell = ast.Module(body=list(body.body), type_ignores=[])
            fast, standard = _ReadsBeforeWrites(), Standard()
            fast.visit(cell)
            standard.visit(cell)
            assert (fast.read_first, fast.mentioned, fast.assigned) == (
                standard.read_first,
                standard.mentioned,
                standard.assigned,
            ), path
