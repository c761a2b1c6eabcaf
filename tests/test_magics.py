"""%mlops and %%mlops through a real IPython InteractiveShell."""

from __future__ import annotations

import re
from typing import Any

import pytest
from IPython.utils.capture import capture_output

import jupyter_mlops as mlops
from jupyter_mlops import magics
from jupyter_mlops.registry.connection import Registry

from .conftest import run_cell


def cell(shell: Any, source: str) -> tuple[Any, str, str, list[Any]]:
    """Run a cell; return (result, stdout, stderr, displayed outputs)."""
    with capture_output() as captured:
        result = run_cell(shell, source)
    return result, captured.stdout, captured.stderr, captured.outputs


def test_load_ext_registers_magics_and_the_mlops_name(shell: Any) -> None:
    assert "mlops" in shell.magics_manager.magics["line"]
    assert "mlops" in shell.magics_manager.magics["cell"]
    assert shell.user_ns["mlops"] is mlops
    run_cell(shell, "%load_ext jupyter_mlops")  # loading twice does not register hooks twice
    assert (
        sum(
            1
            for cb in shell.events.callbacks["post_run_cell"]
            if getattr(cb, "__self__", None).__class__.__name__ == "NotebookSession"
        )
        == 1
    )


def test_help_lists_every_subcommand_with_a_line(shell: Any) -> None:
    _, out, _, _ = cell(shell, "%mlops help")
    for name, spec in magics.COMMANDS.items():
        assert f"mlops {name}" in out and spec.summary in out
    _, out, _, _ = cell(shell, "%mlops help runs")
    assert "--where" in out and "--sort" in out


def test_cell_run_records_params_metrics_code_and_returns_the_value(
    shell: Any, registry: Registry
) -> None:
    source = (
        "%%mlops run baseline --experiment iris --tag team=ds\n"
        "from sklearn.datasets import load_iris\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "C = 0.5\nmax_iter = 200\n"
        "X, y = load_iris(return_X_y=True)\n"
        "model = LogisticRegression(C=C, max_iter=max_iter).fit(X, y)\n"
        "for epoch in range(3):\n    mlops.log(loss=1 / (epoch + 1))\n"
        "accuracy = model.score(X, y)\n"
        "mlops.log(accuracy=accuracy)\n"
        "round(accuracy, 2)"
    )
    result, _, err, _ = cell(shell, source)
    assert result.error_in_exec is None, err
    assert result.result == round(shell.user_ns["accuracy"], 2)
    detail = mlops.get_run("baseline")
    assert detail.run.status == "finished" and detail.run.experiment == "iris"
    params = {p.key: (p.value, p.source) for p in detail.params}
    assert params["C"] == (0.5, "literal") and params["max_iter"] == (200, "literal")
    assert params["model.C"] == (0.5, "estimator")
    assert params["model.estimator"] == ("LogisticRegression", "estimator")
    assert detail.run.metrics["accuracy"] == pytest.approx(shell.user_ns["accuracy"])
    assert [v for _, v in detail.series["loss"]] == [1.0, 0.5, pytest.approx(1 / 3)]
    assert detail.code[0].source == source
    assert detail.code[0].execution_count == result.execution_count
    assert detail.tags == {"team": "ds"}


def test_rerunning_the_cell_links_the_new_run_to_the_previous(shell: Any) -> None:
    cell(shell, "%%mlops run tune\nx = 1")
    cell(shell, "%%mlops run tune\nx = 2")
    first, second = mlops.runs(sort="started_at")["run_id"]
    assert mlops.get_run(second).run.previous_run_id == first


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ("lr = 0.3\nraise ValueError('bad split')", "failed", "ValueError: bad split"),
        ("lr = 0.3\nraise KeyboardInterrupt", "killed", "KeyboardInterrupt"),
    ],
)
def test_cell_run_that_raises_is_marked_and_the_error_still_shows(
    shell: Any, body: str, status: str, error: str
) -> None:
    result, _, _, _ = cell(shell, f"%%mlops run broken\n{body}")
    assert result.error_in_exec is not None
    detail = mlops.get_run("broken")
    assert (detail.run.status, detail.error) == (status, error)
    assert detail.run.params == {"lr": 0.3}
    assert mlops.active_run() is None


def test_start_and_end_span_several_cells(shell: Any) -> None:
    cell(shell, "%mlops start multi --experiment e")
    cell(shell, "a = 4\nmlops.log(x=a)")
    cell(shell, "%mlops log y=a z=0.5 --step 2")
    cell(shell, "%mlops param note='hello' depth=3")
    cell(shell, "%mlops tag owner=me")
    _, out, _, _ = cell(shell, "%mlops end")
    detail = mlops.get_run("multi")
    assert out == f'run {detail.run.id} "multi": 3 params, 3 metrics, 0 snapshots, 0 artifacts\n'

    assert detail.run.status == "finished"
    # a notebook run samples system metrics; on a busy machine these cells outlast a period
    logged = {k: v for k, v in detail.run.metrics.items() if not k.startswith("system/")}
    assert logged == {"x": 4.0, "y": 4.0, "z": 0.5}
    assert detail.run.params == {"a": 4, "note": "hello", "depth": 3}
    assert detail.tags == {"owner": "me"}
    sources = [c.source for c in detail.code]
    assert sources[0].startswith("%mlops start multi") and "a = 4\nmlops.log(x=a)" in sources
    assert sources[-1] == "%mlops end"


def test_an_error_in_a_multi_cell_run_marks_it_failed(shell: Any) -> None:
    cell(shell, "%mlops start fragile")
    _, _, err, _ = cell(shell, "1 / 0")
    assert "marked failed" in err
    assert mlops.get_run("fragile").run.status == "failed"
    assert mlops.active_run() is None


def test_api_run_in_a_cell_knows_its_cell(shell: Any) -> None:
    cell(shell, "with mlops.start_run('from-api') as r:\n    mlops.log(q=1)")
    detail = mlops.get_run("from-api")
    assert detail.run.kind == "notebook"
    assert [c.source for c in detail.code] == [
        "with mlops.start_run('from-api') as r:\n    mlops.log(q=1)"
    ]


def test_no_capture_records_only_what_is_logged(shell: Any) -> None:
    cell(shell, "%%mlops run quiet --no-capture\nlr = 0.1\nmlops.log(acc=1)")
    detail = mlops.get_run("quiet")
    assert detail.run.params == {} and detail.run.metrics == {"acc": 1.0}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("%mlops frobnicate", 'Unknown subcommand "frobnicate"'),
        ("%mlops show", None),
        ("%mlops log", "the following arguments are required: NAME=VALUE"),
        ("%mlops log acc", "is not of the form name=value"),
        ("%mlops show 0000ffff", 'No run with id or name "0000ffff"'),
        ("%mlops end", "no run is active"),
        ("%mlops log acc=0.9", "No run is active"),
        ("%mlops runs --where 'acc >'", "Cannot parse"),
        ("%mlops runs --where 'nope > 1'", 'Unknown column "nope"'),
        ("%mlops runs --limit many", "invalid int value"),
        ("%mlops run x", "needs a cell"),
        ("%%mlops runs\nx = 1", "is not a cell magic"),
        ("%mlops runs --where 'a", "cannot read the arguments"),
    ],
)
def test_bad_input_is_one_line_and_a_hint_without_traceback(
    shell: Any, source: str, message: str | None
) -> None:
    cell(shell, "%%mlops run exists\nx = 1")
    result, out, err, _ = cell(shell, source)
    if message is None:  # `show` without a run shows the last one
        assert result.error_in_exec is None
        return
    assert result.error_in_exec is not None
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert message in str(result.error_in_exec)
    assert "Traceback" not in out + err


def test_non_numeric_metric_is_a_clear_error(shell: Any) -> None:
    cell(shell, "%mlops start m")
    result, _, _, _ = cell(shell, "%mlops log acc='high'")
    assert '"acc": "high" is neither a number nor a defined variable' in str(result.error_in_exec)
    result, _, _, _ = cell(shell, "label = 'high'")
    result, _, _, _ = cell(shell, "%mlops log acc=label")
    assert 'Metric "acc" must be a number, got str' in str(result.error_in_exec)


def test_debug_shows_the_real_exception(shell: Any) -> None:
    result, _, _, _ = cell(shell, "%mlops --debug show nothing-here")
    assert type(result.error_in_exec).__name__ == "NotFoundError"


def test_recording_failure_keeps_the_cell_result(shell: Any, registry: Registry) -> None:
    cell(shell, "%mlops start steady")
    registry.conn.execute("PRAGMA query_only = ON")
    result, _, err, _ = cell(shell, "value = 41 + 1\nmlops.log(v=value)\nvalue")
    assert result.error_in_exec is None and result.result == 42
    assert "not recorded yet" in err and "retried" in err
    registry.conn.execute("PRAGMA query_only = OFF")
    cell(shell, "mlops.log(v=43)")
    cell(shell, "%mlops end")
    assert [v for _, v in mlops.get_run("steady").series["v"]] == [42.0, 43.0]


def test_cell_runs_even_when_the_registry_cannot_start_a_run(
    shell: Any, registry: Registry
) -> None:
    registry.conn.execute("PRAGMA query_only = ON")
    result, _, err, _ = cell(shell, "%%mlops run offline\nanswer = 6 * 7\nanswer")
    registry.conn.execute("PRAGMA query_only = OFF")
    assert result.result == 42 and shell.user_ns["answer"] == 42
    assert "runs without being recorded" in err


def test_runs_show_and_compare_display_static_html_and_text_without_a_kernel(
    shell: Any,
) -> None:
    cell(shell, "%%mlops run one\nlr = 0.1\nfor i in range(3): mlops.log(loss=1/(i+1))")
    cell(shell, "%%mlops run two\nlr = 0.2\nfor i in range(3): mlops.log(loss=2/(i+1))")
    for source, expected in (
        ("%mlops runs --sort -loss", "two"),
        ("%mlops show one", "loss"),
        ("%mlops compare one two", "differ"),
    ):
        result, _, _, outputs = cell(shell, source)
        assert result.error_in_exec is None
        assert len(outputs) == 1  # no kernel, no widget manager: no widget to show
        bundle = outputs[0].data
        assert set(bundle) == {"text/plain", "text/html"}
        assert expected in bundle["text/html"] and expected in bundle["text/plain"]
    _, _, _, outputs = cell(shell, "%mlops show one")
    assert "<svg" in outputs[0].data["text/html"] and "polyline" in outputs[0].data["text/html"]


def test_runs_sort_orders_the_rows_and_folds_an_estimators_params(shell: Any) -> None:
    aucs = [0.71, 0.93, 0.62, 0.88]
    for index, auc in enumerate(aucs):
        cell(
            shell,
            f"%%mlops run trial-{index} --experiment churn\n"
            f"mlops.log_params(**{{'gbm.max_depth': {index % 2 + 2}, 'gbm.loss': 'log_loss',"
            f" 'gbm.tol': 0.0001, 'seed': 7}})\nmlops.log(auc={auc})",
        )

    for sort in ("-auc", "-metrics.auc", "-metric auc"):
        _, _, _, outputs = cell(shell, f"%mlops runs --sort '{sort}'")
        page = outputs[0].data["text/html"]
        names = re.findall(r"<td>(trial-\d)</td>", page)
        assert names == ["trial-1", "trial-3", "trial-0", "trial-2"], sort
    headers = re.findall(r"<th>([^<]*)</th>", page)
    assert headers[6:] == ["gbm (3)", "auc"]  # seed and the other gbm params never vary
    assert "max_depth=3" in page and "tol" not in page
    assert "gbm (3)" in outputs[0].data["text/plain"]


def test_names_are_escaped_in_views(shell: Any) -> None:
    cell(shell, "%%mlops run '<img src=x onerror=alert(1)>'\nx = 1")
    _, _, _, outputs = cell(shell, "%mlops runs")
    html = outputs[0].data["text/html"]
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_init_and_status(shell: Any, tmp_path: Any) -> None:
    _, out, _, _ = cell(shell, f"%mlops init {tmp_path / 'project'}")
    assert "Registry ready at" in out and "project" in out
    _, out, _, _ = cell(shell, "%mlops status")
    assert "no run is active" in out and ": 0 run(s);" in out
    cell(shell, "%%mlops run first\nx = 1")
    cell(shell, "%mlops start second")
    _, out, _, _ = cell(shell, "%mlops status")
    assert ": 2 run(s);" in out and 'run "second"' in out and "is active" in out
    cell(shell, "%mlops end")


def test_snapshot_of_a_variable_a_file_and_again(
    shell: Any, registry: Registry, tmp_path: Any
) -> None:
    cell(
        shell, "import pandas as pd\ntrain = pd.DataFrame({'x': range(100), 'y': ['a', 'b'] * 50})"
    )
    _, out, _, _ = cell(shell, "%mlops snapshot train --name churn-train --materialize")
    assert 'Snapshot "churn-train": 100 rows x 2 columns' in out and "data stored" in out
    _, out, _, _ = cell(shell, "%mlops snapshot train --name churn-train")
    assert "(already recorded)" in out
    (tmp_path / "extra.csv").write_text("a,b\n1,2\n3,4\n")
    _, out, _, _ = cell(shell, f"%mlops snapshot {tmp_path / 'extra.csv'}")
    assert 'Snapshot "extra": 2 rows x 2 columns' in out
    assert registry.query_one("SELECT COUNT(*) FROM snapshots")[0] == 2
    stored = registry.query_one(
        "SELECT artifact_sha256, role FROM snapshots "
        "LEFT JOIN run_snapshots ON snapshot_id = id WHERE name = 'churn-train'"
    )
    assert stored["artifact_sha256"] is not None and stored["role"] is None  # no run was active


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("%mlops snapshot nothing_here", "neither a variable nor a CSV/parquet file"),
        ("settings = {'a': 1}\n%mlops snapshot settings", "dict"),
        ("%mlops snapshot missing.csv", "missing.csv"),
        (
            "import pandas as pd\nd = pd.DataFrame({'a': [1]})\n%mlops snapshot d --role boss",
            "invalid choice",
        ),
    ],
)
def test_snapshot_bad_input_is_one_line(shell: Any, source: str, message: str) -> None:
    result, out, err, _ = cell(shell, source)
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert message in str(result.error_in_exec) and "Traceback" not in out + err


def test_run_snapshots_the_data_its_cell_reads_with_a_guessed_role(shell: Any) -> None:
    cell(
        shell,
        "import numpy as np, pandas as pd\n"
        "X_train = pd.DataFrame({'f': np.arange(50.0)})\n"
        "y_test = np.arange(20)\nlookup = pd.DataFrame({'k': [1, 2]})",
    )
    cell(
        shell,
        "%%mlops run fit --snapshot lookup\n"
        "total = float(X_train['f'].sum()) + float(y_test.sum())\n"
        "fresh = pd.DataFrame({'z': [1, 2, 3]})\nfresh.sum()",
    )
    snapshots = {s.variable: s.role for s in mlops.get_run("fit").snapshots}
    assert snapshots == {"X_train": "train", "y_test": "test", "lookup": "input"}


def test_start_run_snapshots_inputs_cell_by_cell(shell: Any) -> None:
    cell(shell, "import pandas as pd\nraw = pd.DataFrame({'a': [1, 2, 3]})")
    cell(shell, "%mlops start prep")
    cell(shell, "clean = raw.dropna()")
    cell(shell, "n = len(clean)")  # clean was made inside the run: an input of this cell too
    cell(shell, "%mlops end")
    assert {s.variable for s in mlops.get_run("prep").snapshots} == {"raw", "clean"}


def test_snapshot_inputs_are_stored_once_per_content(shell: Any, registry: Registry) -> None:
    cell(shell, "import pandas as pd\ndf = pd.DataFrame({'a': range(10)})")
    cell(shell, "%%mlops run one\ndf.sum()")
    cell(shell, "%%mlops run two\ndf.sum()")
    assert registry.query_one("SELECT COUNT(*) FROM snapshots")[0] == 1
    assert registry.query_one("SELECT COUNT(*) FROM run_snapshots")[0] == 2
    cell(shell, "df.loc[9, 'a'] = -1")
    cell(shell, "%%mlops run three\ndf.sum()")
    assert registry.query_one("SELECT COUNT(*) FROM snapshots")[0] == 2


def test_cells_of_a_run_give_estimators_and_data_without_literals(shell: Any) -> None:
    cell(
        shell,
        "from sklearn.datasets import load_iris\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "import pandas as pd\n"
        "X, y = load_iris(return_X_y=True, as_frame=True)\n"
        "C = 0.5",
    )
    cell(shell, "%mlops start prefilter")
    cell(shell, "model = LogisticRegression(C=C, max_iter=int(C * 600))")  # not fitted yet
    cell(shell, "# X and y are only named here\ntotal = C + C")
    cell(shell, "model.fit(X, y)")
    cell(shell, "%mlops end")
    detail = mlops.get_run("prefilter")
    assert detail.run.params["model.C"] == 0.5
    assert detail.run.params["model.estimator"] == "LogisticRegression"
    assert detail.run.params["model.max_iter"] == 300
    assert "C" not in detail.run.params and "total" not in detail.run.params
    assert detail.run.status == "finished"
    assert {s.variable for s in detail.snapshots} == {"X", "y"}
    assert len(detail.code) == 5


def test_a_cell_with_ipython_syntax_in_a_run_gives_its_parameters_and_inputs(shell: Any) -> None:
    cell(shell, "import pandas as pd\nraw = pd.DataFrame({'a': [1, 2, 3]})")
    cell(shell, "%mlops start syntax")
    result, _, err, _ = cell(shell, "lr = 0.25\n%time pass\ntotal = raw['a'].sum()")
    assert result.error_in_exec is None, err
    cell(shell, "%mlops end")
    detail = mlops.get_run("syntax")
    assert detail.run.params == {"lr": 0.25}
    assert {s.variable for s in detail.snapshots} == {"raw"}
