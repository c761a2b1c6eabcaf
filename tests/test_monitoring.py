"""``jupyter mlops monitor`` / ``%mlops monitor``: a served model's logged traffic (written
through the real prediction log) judged window by window against its training snapshot,
stored, drawn, and retrained through a real exported pipeline whose gate decides whether
the alias moves."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from jupyter_mlops.cli import main
from jupyter_mlops.models.versions import aliases_of
from jupyter_mlops.registry.connection import Registry
from jupyter_mlops.serving.feedback import record_feedback
from jupyter_mlops.serving.monitoring import live_rows, monitor_model, stored_windows
from jupyter_mlops.serving.prediction_log import PredictionLog, PredictionRecord
from jupyter_mlops.serving.window_counts import window_counts

from .conftest import cli_runner, run_cell
from .pipelines import code, export_cells
from .served_traffic import AFTER, FEATURES, HOUR, START, customers, log_served_traffic


@pytest.fixture
def served(registry: Registry) -> Registry:
    """churn@1 with four hours of logged, labelled traffic (see tests/served_traffic.py)."""
    return log_served_traffic(registry)


def test_the_log_becomes_one_row_per_scored_row_with_labels_and_inputs(served: Registry) -> None:
    rows = live_rows(served, "churn")

    assert len(rows) == 2400 and rows["sampled"].all()
    assert set(FEATURES) <= set(rows.columns)
    assert rows["label"].notna().all() and rows["version"].eq("1").all()
    assert rows["time"].min() == START and rows["challenger_prediction"].isna().all()


def test_shifted_traffic_gives_retrain_for_exactly_the_shifted_columns_and_is_stored(
    served: Registry,
) -> None:
    report = monitor_model(served, "churn", window="1h", now=AFTER)

    assert [w.decision for w in report.windows] == ["monitor", "monitor", "retrain", "retrain"]
    for window in report.windows[2:]:
        assert sorted(window.retrain_columns) == ["income", "tenure"]
    assert all(not w.retrain_columns for w in report.windows[:2])
    assert [w.n_predictions for w in report.windows] == [600] * 4
    assert report.windows[0].metrics["1"]["accuracy"] > 0.8
    assert report.windows[3].latency_p50_ms == pytest.approx(5.0)
    assert stored_windows(served, "churn", window="1h") == report.windows
    origins = served.query_tuples("SELECT origin, COUNT(*) FROM drift_reports GROUP BY origin")
    assert dict(origins) == {"monitor": 4 + 3}  # inputs per window, predictions after the first
    # nothing new: nothing computed again; a label that changes a window: that window alone
    assert monitor_model(served, "churn", window="1h", now=AFTER).computed == 0
    record_feedback(served, ["h1-0"], [[1, 1, 1, 1, 1]])
    again = monitor_model(served, "churn", window="1h", now=AFTER)
    assert again.computed == 1  # the window of that request, with its new label
    assert again.windows[1].computed_at > report.windows[1].computed_at
    assert again.windows[0] == report.windows[0] and again.windows[2:] == report.windows[2:]
    assert dict(
        served.query_tuples("SELECT origin, COUNT(*) FROM drift_reports GROUP BY origin")
    ) == {"monitor": 7}  # the window's earlier reports were replaced


def test_rows_since_a_time_are_those_of_the_requests_served_from_then(served: Registry) -> None:
    since = START + 2 * HOUR + 100
    everything = live_rows(served, "churn")

    later = live_rows(served, "churn", since=since)

    expected = everything[everything["time"] >= since].reset_index(drop=True)
    assert 0 < len(later) < len(everything)
    pd.testing.assert_frame_equal(later, expected)


def test_the_counts_of_each_window_are_what_its_rows_say(served: Registry) -> None:
    # labels that leave rows out: nulls, a list shorter than the request (written by hand:
    # feedback refuses one), none at all
    record_feedback(served, ["h0-1"], [[1, None, 0, None, None]])
    with served.transaction() as conn:
        conn.execute("UPDATE prediction_labels SET labels = '[0, 1]' WHERE request_id = 'h2-7'")
        conn.execute("DELETE FROM prediction_labels WHERE request_id = 'h3-4'")

    counted = window_counts(served, "churn", HOUR)
    rows = live_rows(served, "churn")
    starts = (rows["time"] // HOUR) * HOUR
    expected = {
        start: (len(group), int(group["label"].notna().sum()), group["labelled_at"].max())
        for start, group in rows.groupby(starts)
    }

    assert list(counted) == [START + h * HOUR for h in range(4)] == list(expected)
    for start, counts in counted.items():
        assert (counts.n_predictions, counts.n_labelled, counts.newest_label) == expected[start]
    assert [c.n_labelled for c in counted.values()] == [600 - 3, 600, 600 - 3, 600 - 5]


def test_traffic_added_to_a_window_is_judged_as_a_monitor_from_scratch_judges_it(
    served: Registry,
) -> None:
    first = monitor_model(served, "churn", window="1h", now=AFTER)
    model = served.query_one("SELECT id FROM model_versions")[0]
    log = PredictionLog(served.another_connection(), flush_seconds=0.01).start()
    late = customers(50, 99, shifted=True)
    log.submit(PredictionRecord("late", model, "served", "churn@champion", 50, late[FEATURES],
                                late["churned"].to_numpy(), 9.0, START + 3 * HOUR + 3000))  # fmt: skip
    log.close()

    again = monitor_model(served, "churn", window="1h", now=AFTER)
    with served.transaction() as conn:
        conn.execute("DELETE FROM monitor_windows")
    scratch = monitor_model(served, "churn", window="1h", now=AFTER)

    assert again.computed == 1 and scratch.computed == 4
    assert again.windows[:3] == first.windows[:3]
    late_window, from_scratch = again.windows[3], scratch.windows[3]
    assert late_window.n_predictions == 650 and late_window.latency_p99_ms == pytest.approx(9.0)
    # its predictions compared with the window before it, as from scratch
    assert drift_columns(served, late_window.prediction_report_id) == drift_columns(
        served, from_scratch.prediction_report_id
    )
    assert drift_columns(served, late_window.input_report_id) == drift_columns(
        served, from_scratch.input_report_id
    )
    ignored = {"computed_at", "input_report_id", "prediction_report_id"}
    for field in late_window.__dataclass_fields__.keys() - ignored:
        assert getattr(late_window, field) == getattr(from_scratch, field), field


def drift_columns(registry: Registry, report_id: str | None) -> list[tuple[object, ...]]:
    assert report_id is not None
    return registry.query_tuples(
        "SELECT column_name, test, statistic, p_value, effect FROM drift_columns"
        " WHERE report_id = ? ORDER BY seq",
        (report_id,),
    )


RETRAIN_CELLS = [
    code(
        "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler\n"
        "import jupyter_mlops as mlops",
        "setup",
    ),  # fmt: skip
    code("min_accuracy = 0.6", "parameters"),
    code('data = pd.read_csv("fresh.csv")', "step:load"),
    code(
        "model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))\n"
        'model.fit(data[["age", "income", "tenure"]], data["churned"])\n'
        'accuracy = float(model.score(data[["age", "income", "tenure"]], data["churned"]))\n'
        "mlops.log(accuracy=accuracy)",
        "step:train",
    ),
    code('mlops.check(["accuracy >= params.min_accuracy"])', "gate"),
    code('mlops.register_model(model, "churn", alias="champion")', "step:register"),
]


def retraining_pipeline(folder: Path, name: str, min_accuracy: float) -> Path:
    customers(800, 99, shifted=True).to_csv(folder / "fresh.csv", index=False)
    cells = list(RETRAIN_CELLS)
    cells[1] = code(f"min_accuracy = {min_accuracy}", "parameters")
    return export_cells(folder, name, cells)


@pytest.mark.slow
def test_a_retrain_decision_runs_the_pipeline_and_its_gate_moves_the_alias(
    served: Registry, tmp_path: Path
) -> None:
    pipeline = retraining_pipeline(tmp_path, "retrain", 0.6)

    report = monitor_model(served, "churn", window="1h", now=AFTER, on_retrain=pipeline)

    assert report.retrain is not None
    assert (report.retrain.status, report.retrain.alias_before, report.retrain.alias_after) == (
        "ok", "1", "2",
    )  # fmt: skip
    assert aliases_of(served, "churn")["champion"] == 2
    assert report.retrain.window_start == START + 3 * HOUR
    assert "moved from version 1 to 2" in report.summary()
    # the same window does not start a second retraining
    assert (
        monitor_model(served, "churn", window="1h", now=AFTER, on_retrain=pipeline).retrain is None
    )


@pytest.mark.slow
def test_a_failing_gate_leaves_the_alias_where_it_was(served: Registry, tmp_path: Path) -> None:
    pipeline = retraining_pipeline(tmp_path, "strict", 0.999)

    result = cli_runner().invoke(
        main,
        ["monitor", "churn", "--registry", str(served.path), "--on-retrain", str(pipeline)],
    )

    assert result.exit_code == 2, result.output  # the newest window decided retrain
    assert "stays on version 1" in result.output
    assert aliases_of(served, "churn")["champion"] == 1
    (row,) = served.query_tuples("SELECT status, alias_before, alias_after FROM monitor_retrains")
    assert row == ("gate_failed", "1", "1")


def test_the_cli_prints_the_windows_and_exits_with_the_decision(served: Registry) -> None:
    result = cli_runner().invoke(
        main, ["monitor", "churn", "--registry", str(served.path), "--json"]
    )

    assert result.exit_code == 2, result.output
    printed = json.loads(result.output)
    assert printed["decision"] == "retrain"
    assert [w["decision"] for w in printed["windows"]][:2] == ["monitor", "monitor"]
    missing = cli_runner().invoke(main, ["monitor", "nope", "--registry", str(served.path)])
    assert missing.exit_code == 4 and 'no model named "nope"' in missing.output.lower()
    bad = cli_runner().invoke(
        main, ["monitor", "churn", "--registry", str(served.path), "--window", "soon"]
    )
    assert bad.exit_code == 4 and '"soon" is not a window length' in bad.output


def test_the_magic_draws_the_windows_and_keeps_a_static_form(
    shell: object, served: Registry
) -> None:
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = run_cell(shell, "%mlops monitor churn --window 1h")

    assert result.success  # type: ignore[attr-defined]
    pages = [o.data["text/html"] for o in captured.outputs if "text/html" in o.data]
    page = pages[-1]
    assert page.count('class="mlops-monitor-window"') == 4
    assert page.count('data-decision="retrain"') == 2
    assert "retrain for income, tenure" in page or "income, tenure" in page
    assert "<svg" in page and "latency" in page
