"""``%mlops`` lines in exported cells: the pipeline records what the notebook recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from IPython.utils.capture import capture_output
from nbformat.v4 import new_notebook

from jupyter_mlops.errors import ExportError
from jupyter_mlops.export import export_notebook
from jupyter_mlops.export.ipython_syntax import translate_cell
from jupyter_mlops.registry.connection import Registry

from .conftest import run_cell
from .pipelines import code, run

pytestmark = pytest.mark.slow

CELLS = [
    code(
        "import numpy as np\nimport pandas as pd\n"
        "from sklearn.linear_model import LogisticRegression",
        "setup",
    ),
    code(
        "rng = np.random.default_rng(7)\n"
        "X = pd.DataFrame({'a': rng.normal(size=300), 'b': rng.normal(size=300)})\n"
        "y = (X['a'] + 0.5 * X['b'] > 0).astype(int)\n"
        "X_train, X_test, y_train, y_test = X[:200], X[200:], y[:200], y[200:]\n"
        "%mlops snapshot X_train --name train",
        "step:prepare",
    ),
    code(
        "model = LogisticRegression(C=0.5).fit(X_train, y_train)\n"
        "accuracy = float(model.score(X_test, y_test))\n"
        "%mlops log accuracy=accuracy\n"
        "%mlops param solver=lbfgs\n"
        "%mlops tag stage=trained\n"
        "%mlops register model --name toy\n"
        "%mlops runs",
        "step:train",
    ),
    code('%mlops gate "accuracy >= 0.6"', "gate"),
    code("%mlops drift train X_test --name nightly", "step:monitor"),
]


def _notebook_run(shell: Any, path: Path) -> str:
    """Run CELLS in the kernel as one tracked run of the notebook at ``path``."""
    nbformat.write(new_notebook(cells=CELLS), path)
    shell.user_ns["__session__"] = str(path)
    with capture_output() as captured:
        run_cell(shell, "%mlops start toy-notebook --experiment toy")
        for item in CELLS:
            result = run_cell(shell, item.source)
            assert result.error_in_exec is None, captured.stdout + captured.stderr  # type: ignore[attr-defined]
        run_id = shell.user_ns["mlops"].active_run().id
        run_cell(shell, "%mlops end")
    return str(run_id)


def _rows(registry: Registry, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in registry.query(sql, args)]


def test_magics_in_tagged_cells_record_in_the_pipeline_what_they_record_in_the_notebook(
    shell: Any, registry: Registry, tmp_path: Path
) -> None:
    notebook_run = _notebook_run(shell, tmp_path / "toy.ipynb")
    result = export_notebook(
        tmp_path / "toy.ipynb", tmp_path / "toy-pipeline", targets="local", run_id=notebook_run
    )
    assert any(
        "Cell 3, line 7: `%mlops runs` is left out of the pipeline" in w for w in result.warnings
    )
    train = (tmp_path / "toy-pipeline" / "steps" / "train.py").read_text()
    assert "mlops.register_model(model, 'toy')" in train
    assert "mlops.log(accuracy=accuracy)" in train
    ran = run(tmp_path / "toy-pipeline", tmp_path)
    assert ran.status == "ok", [(s.name, s.status, s.message) for s in ran.steps]
    assert ran.parity is not None and ran.parity.ok, ran.parity.summary()
    steps = {s.name: s.run_id for s in ran.steps}

    # the model: a version from each side, each linked to the run that registered it
    versions = _rows(
        registry,
        "SELECT v.run_id FROM model_versions v JOIN models m ON m.id = v.model_id"
        " WHERE m.name = ? ORDER BY v.version",
        "toy",
    )
    assert versions == [(notebook_run,), (steps["train"],)]
    # the snapshot: the same fingerprint, linked to both runs as train
    linked = _rows(
        registry,
        "SELECT rs.run_id, s.fingerprint, rs.role FROM run_snapshots rs"
        " JOIN snapshots s ON s.id = rs.snapshot_id WHERE s.name = 'train'",
    )
    by_run = {run_id: (fingerprint, role) for run_id, fingerprint, role in linked}
    assert by_run[notebook_run] == by_run[steps["prepare"]]
    assert by_run[notebook_run][1] == "train"
    # metrics, parameters and tags
    for key, table, column, value in (
        ("accuracy", "metric_summaries", "last", None),
        ("solver", "params", "value", None),
        ("stage", "tags", "value", "trained"),
    ):
        mine = _rows(registry, f"SELECT {column} FROM {table} WHERE run_id = ? AND key = ?",
                     notebook_run, key)  # fmt: skip
        theirs = _rows(registry, f"SELECT {column} FROM {table} WHERE run_id = ? AND key = ?",
                       steps["train"], key)  # fmt: skip
        assert mine and mine == theirs, key
        if value is not None:
            assert mine == [(value,)]
    # the drift report and the gate's verdict
    reports = _rows(registry, "SELECT run_id, decision FROM drift_reports WHERE name = 'nightly'")
    decisions = {run_id: decision for run_id, decision in reports}
    assert decisions[notebook_run] == decisions[steps["monitor"]]
    verdicts = _rows(registry, "SELECT passed FROM gate_evaluations ORDER BY evaluated_at")
    assert len(verdicts) == 2 and verdicts[0] == verdicts[1] == (1,)


@pytest.mark.parametrize(
    ("line", "defined", "expected"),
    [
        ("%mlops log acc=acc loss=0.3 --step 2", {"acc"}, "mlops.log(acc=acc, loss=0.3, step=2)"),
        ("%mlops log val/acc=0.9", set(), "mlops.log({'val/acc': 0.9})"),
        ("%mlops log class=1 step=2", set(), "mlops.log({'class': 1, 'step': 2})"),
        ("%mlops param optimizer=adam lr=lr", {"lr"}, "mlops.log_params(optimizer='adam', lr=lr)"),
        ("%mlops tag team=growth", set(), "mlops.set_tags({'team': 'growth'})"),
        ("%mlops tag review=done --run baseline", set(),
         "mlops.tag('baseline', {'review': 'done'})"),
        ("%mlops snapshot df_test", {"df_test"},
         "mlops.snapshot(df_test, name='df_test', role='test')"),
        ("%mlops snapshot data/today.csv --materialize", set(),
         "mlops.snapshot('data/today.csv', role='input', materialize=True)"),
        ("%mlops register clf -n churn -a challenger", {"clf"},
         "mlops.register_model(clf, 'churn', alias='challenger')"),
        ("%mlops drift train today --critical amount", {"today"},
         "mlops.check_drift('train', today, critical='amount', current_name='today')"),
        ("%mlops gate accuracy >= 0.85 --model churn", set(),
         "mlops.check(['accuracy >= 0.85'], model='churn')"),
        ('%mlops gate "f1 > 0.5" --drift train:today --fail-on review', {"today"},
         "mlops.check(['f1 > 0.5'], drift=[mlops.DriftGate('train', today, fail_on='review',"
         " current_name='today')])"),
        ("%mlops promote churn@2 --alias champion --gate 'f1 >= 0.8'", set(),
         "mlops.promote('churn@2', alias='champion', gates=['f1 >= 0.8'])"),
        ("%mlops promote churn@2 -a champion -g 'min_by(recall, sex) >= 0.7' --data scored"
         " --prediction predicted --label churned --positive yes", {"scored"},
         "mlops.promote('churn@2', alias='champion', gates=['min_by(recall, sex) >= 0.7'],"
         " data=scored, prediction='predicted', label='churned', positive='yes')"),
        ('%mlops gate "demographic_parity_difference(sex) <= 0.05" --data scored'
         " --prediction p --positive 1", {"scored"},
         "mlops.check(['demographic_parity_difference(sex) <= 0.05'], data=scored,"
         " prediction='p', positive=1)"),
    ],
)  # fmt: skip
def test_magic_line_becomes_the_step_api_call(line: str, defined: set[str], expected: str) -> None:
    assert translate_cell(line, cell_index=0, defined=defined).source == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%mlops register model", "the following arguments are required: --name"),
        ("%mlops log accuracy=best_model()", "neither a number nor a defined variable"),
        ("%mlops snapshot nothing_here", "neither a variable the notebook defines"),
        ("%mlops rename a b", "cannot run in a pipeline step"),
        ("%mlops gate 'a > 1' --critical x", "--critical and --fail-on belong to a drift check"),
    ],
)
def test_magic_line_that_cannot_run_in_a_step_names_its_cell(line: str, message: str) -> None:
    with pytest.raises(ExportError, match=r"Cell 4, line 2: .*") as raised:
        translate_cell(f"x = 1\n{line}", cell_index=3, defined={"x"})
    assert message in str(raised.value)


def test_names_bound_in_a_run_cell_are_variables_for_later_magic_lines() -> None:
    from jupyter_mlops.export.magic_calls import defined_names

    defined = defined_names(["%%mlops run baseline\nclf = make()", "%mlops log a=1\nb = 2"])
    assert {"clf", "b"} <= defined
    line = translate_cell("%mlops register clf --name churn", cell_index=2, defined=defined)
    assert line.source == "mlops.register_model(clf, 'churn')"


def test_names_bound_around_magic_and_shell_lines_are_found_without_ipython() -> None:
    from jupyter_mlops.export.magic_calls import defined_names

    cells = [
        "%matplotlib inline\nimport numpy as np\nfiles = !ls\nlast = %time np.max(x)",
        "for i in range(3):\n    %time step(i)\n    y = i\nnp.max?\nif a != b:\n    z = a % b",
    ]
    assert defined_names(cells) == {"np", "files", "last", "i", "y", "z"}
