"""Which names code reads and writes, and how IPython syntax becomes plain Python."""

from __future__ import annotations

import pytest

from jupyter_mlops.errors import ExportError
from jupyter_mlops.export.ipython_syntax import translate_cell
from jupyter_mlops.export.names import analyse_code


@pytest.mark.parametrize(
    "source, reads, writes",
    [
        ("y = x + 1", ["x"], ["y"]),
        ("x = x + 1", ["x"], ["x"]),
        ("x += 1", ["x"], ["x"]),
        ("df['c'] = df['a'] * k", ["df", "k"], ["df"]),
        ("obj.attr = value", ["value", "obj"], ["obj"]),
        ("del df['c']", ["df"], ["df"]),
        ("model.fit(X, y)", ["model", "X", "y"], ["model"]),
        ("model.predict(X)", ["model", "X"], []),
        ("df.dropna(inplace=True)", ["df"], ["df"]),
        ("top = df.head()", ["df"], ["top"]),
        ("squares = [i * i for i in range(n)]", ["range", "n"], ["squares"]),
        ("pairs = {k: v for k, v in items if v > lo}", ["items", "lo"], ["pairs"]),
        ("total = sum(v for v in values)", ["sum", "values"], ["total"]),
        ("f = lambda q: q + offset", ["offset"], ["f"]),
        ("def g(a, b=default):\n    return a + b + free", ["default", "free"], ["g"]),
        ("def bump():\n    global counter\n    counter += 1", ["counter"], ["counter", "bump"]),
        ("for row in rows:\n    acc = row", ["rows"], ["row", "acc"]),
        ("with ctx() as handle:\n    data = handle.read()", ["ctx"], ["handle", "data"]),
        ("try:\n    r = run()\nexcept Exception as err:\n    r = None", ["run", "Exception"],
         ["r", "err"]),
        ("if (n := size) > 3:\n    big = True", ["size"], ["n", "big"]),
        ("import numpy as np\narr = np.zeros(3)", [], ["np", "arr"]),
        ("class Model(Base):\n    scale = factor\n    def m(self):\n        return helper()",
         ["Base", "factor", "helper"], ["Model"]),
        ("a, (b, *c) = triple", ["triple"], ["a", "b", "c"]),
        ("x = 1\ndel x", [], []),
    ],
)  # fmt: skip
def test_analyse_code_reads_and_writes(source, reads, writes):
    names = analyse_code(source)
    assert list(names.reads) == reads
    assert list(names.writes) == writes


def test_analyse_code_records_how_names_were_bound():
    names = analyse_code(
        "f = open('data.csv')\ng = (x for x in f)\nimport sqlite3\nconn = sqlite3.connect(p)"
    )
    kinds = {b.name: (b.kind, b.detail) for b in names.bindings}
    assert kinds["f"] == ("call", "open")
    assert kinds["g"][0] == "generator"
    assert kinds["conn"] == ("call", "sqlite3.connect")
    assert names.path_literals == ("data.csv",)


def test_analyse_code_collects_logged_metric_names():
    names = analyse_code("mlops.log(accuracy=acc, loss=l, step=3)")
    assert names.logged_metrics == ("accuracy", "loss")


@pytest.mark.parametrize(
    "source, expected",
    [
        ("%load_ext jupyter_mlops\nx = 1", "# %load_ext jupyter_mlops  (dropped)\nx = 1"),
        ("%matplotlib inline", "# %matplotlib inline  (dropped)"),
        ("%time y = f(x)", "y = f(x)"),
        ("%timeit -n 3 f(x)", "f(x)"),
        ("%mlops log a=1 b=acc", "mlops.log(a=1, b=acc)"),
        ("%mlops log --step 5 loss=l", "mlops.log(loss=l, step=5)"),
        ("%mlops snapshot df --name train --role train",
         "mlops.snapshot(df, name='train', role='train')"),
        ("%mlops snapshot df --materialize",
         "mlops.snapshot(df, name='df', role='input', materialize=True)"),
        ("%mlops runs", "# %mlops runs  (dropped: it only displays)"),
        ("!ls -la", "mlops_shell('ls -la')"),
        ("!echo {name} $other", "mlops_shell(f'echo {name} {other}')"),
        ("%env MODE=fast", "__import__('os').environ['MODE'] = 'fast'"),
        ("for i in range(2):\n    !echo hi", "for i in range(2):\n    mlops_shell('echo hi')"),
        ("%%mlops run baseline --experiment churn\nlr = 0.1",
         "# %%mlops run baseline --experiment churn  (kept as a step run)\nlr = 0.1"),
        ("%%time\nx = 1", "# %%time  (dropped; the body runs once)\nx = 1"),
        ("%%bash\necho hi", "# %%bash\nmlops_shell('echo hi')"),
        ("a != b", "a != b"),
    ],
)  # fmt: skip
def test_translate_cell_turns_ipython_syntax_into_python(source, expected):
    assert translate_cell(source, cell_index=0).source == expected


@pytest.mark.parametrize(
    "source, message, hint",
    [
        ("%pip install xgboost", "installs packages", "requirements.lock"),
        ("!pip install xgboost", "installs packages", "environment"),
        ("!{sys.executable} -m pip install x", "installs packages", "environment"),
        ("%conda install numpy", "installs packages", "environment"),
        ("files = !ls", "assigning the result", "subprocess"),
        ("%run other.py", "the magic `%run` cannot run outside IPython", "skip"),
        ("%%javascript\nalert(1)", "cell magic `%%javascript`", "skip"),
        ("%mlops rename a b", "cannot run in a pipeline step", "skip"),
        ("%mlops log accuracy", "name=value", "accuracy=0.93"),
    ],
)
def test_translate_cell_refuses_what_cannot_run_outside_ipython(source, message, hint):
    with pytest.raises(ExportError, match=message) as caught:
        translate_cell(source, cell_index=6)
    assert str(caught.value).startswith("Cell 7")
    assert caught.value.cell_index == 6
    assert hint in caught.value.hint


@pytest.mark.parametrize("source, shown", [("model.fit?", "model.fit?"),
                                           ("x = 1\nhelp_me??", "help_me??")])  # fmt: skip
def test_parse_cell_names_ipython_only_syntax_when_ipython_is_here(source, shown):
    pytest.importorskip("IPython")
    from jupyter_mlops.export.names import parse_cell

    with pytest.raises(ExportError, match="uses IPython syntax") as caught:
        parse_cell(source, cell_index=2)
    assert f"`{shown}`" in str(caught.value) and caught.value.cell_index == 2


def test_parse_cell_plain_syntax_error_names_the_line():
    from jupyter_mlops.export.names import parse_cell

    with pytest.raises(ExportError, match="Cell 4 has a syntax error on line 2"):
        parse_cell("x = 1\ny = (", cell_index=3)
