"""Fairness rules in gates: group metrics computed with fairlearn on the evaluation data a
gate is given, through real promotions, checked against fairlearn called directly."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as fm
from IPython.utils.capture import capture_output
from sklearn import metrics as sk

import jupyter_mlops as mlops
from jupyter_mlops.cli import main
from jupyter_mlops.errors import ExpressionError, GateFailedError, InvalidInputError
from jupyter_mlops.gates import evaluation as gates
from jupyter_mlops.gates.fairness import fairness_value
from jupyter_mlops.gates.records import record_again
from jupyter_mlops.models.versions import ModelVersion, aliases_of
from jupyter_mlops.registry.connection import Registry

from .conftest import cli_runner, run_cell

# One block of (label, prediction) rows: 40 positive labels of which 32 are predicted
# positive, 60 negative of which 9 are. Every group gets the same block in the balanced
# data, so every rate is equal across groups; in the skewed data women lose 16 of their
# 32 true positives and gain nothing: their selection rate drops by 0.16 and their true
# positive rate by 0.4.
BLOCK = [(1, 1)] * 32 + [(1, 0)] * 8 + [(0, 1)] * 9 + [(0, 0)] * 51


def scored(skewed: bool, copies: int = 5) -> pd.DataFrame:
    rows = []
    for sex in ("F", "M"):
        for band in ("18-30", "31-50", "51+"):
            block = list(BLOCK)
            if skewed and sex == "F":
                block = [(1, 0)] * 16 + block[16:]
            rows += [(sex, band, y, p) for _ in range(copies) for y, p in block]
    return pd.DataFrame(rows, columns=["sex", "age_band", "churned", "predicted"])


def random_scored(seed: int = 7, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M", "X"], n, p=[0.45, 0.45, 0.1]),
            "age_band": rng.choice(["18-30", "31-50", "51+"], n),
            "churned": rng.integers(0, 2, n),
        }
    )
    bias = np.where(frame["sex"] == "M", 0.15, -0.1)
    frame["predicted"] = (rng.random(n) < 0.35 + bias + 0.3 * frame["churned"]).astype(int)
    return frame


def register_candidate(name: str = "candidate", accuracy: float = 0.9) -> ModelVersion:
    with mlops.start_run(name) as run:
        run.log(accuracy=accuracy)
        return mlops.register_model({"from": name}, "churn")


FAIRNESS_GATES = [
    "demographic_parity_difference(sex) <= 0.05",
    "equalized_odds_difference(sex) <= 0.1",
    "min_by(recall, age_band) >= 0.7",
]


# -- the acceptance: a promotion ------------------------------------------------------------------


def test_fairness_rules_refuse_a_promotion_on_skewed_data_and_allow_it_on_balanced(
    registry: Registry,
) -> None:
    register_candidate()
    columns = {"prediction": "predicted", "label": "churned"}
    with pytest.raises(GateFailedError) as refused:
        mlops.promote(
            "churn@1", alias="champion", gates=FAIRNESS_GATES, data=scored(True), **columns
        )
    assert "churn@1 was not promoted to champion (champion is still not set)" in str(refused.value)
    parity, odds, recall = refused.value.results
    assert (parity.passed, odds.passed) == (False, False)
    assert parity.actual == pytest.approx(0.16) and odds.actual == pytest.approx(0.4)
    # every age band has the same mix of women and men: its worst recall is 0.6 in each
    assert not recall.passed and recall.actual == pytest.approx(0.6)
    assert aliases_of(registry, "churn") == {}

    promotion = mlops.promote(
        "churn@1", alias="champion", gates=FAIRNESS_GATES, data=scored(False), **columns
    )
    assert promotion.moved and promotion.version == 1
    evaluation = promotion.evaluation
    assert evaluation is not None and evaluation.passed
    assert [r.actual for r in evaluation.results] == [0.0, 0.0, pytest.approx(0.8)]
    assert evaluation.inputs["columns"] == {
        "prediction": "predicted",
        "label": "churned",
        "positive": None,
    }
    assert evaluation.data is not None and evaluation.data.n_rows == 3000


def test_group_values_are_stored_and_shown_with_the_verdict(registry: Registry) -> None:
    register_candidate()
    with pytest.raises(GateFailedError):
        mlops.promote(
            "churn@1",
            alias="champion",
            gates=["demographic_parity_difference(sex) <= 0.05"],
            data=scored(True),
            prediction="predicted",
        )
    (stored,) = gates.evaluations(registry, model="churn")
    (table,) = stored.results[0].groups
    assert stored.run_id is not None
    reused = record_again(registry, stored.id, run_id=stored.run_id)  # a cached pipeline step
    assert reused.results[0].groups == (table,)
    assert (table.of, table.column, table.metrics) == (
        "demographic_parity_difference(sex)",
        "sex",
        ("selection_rate",),
    )
    assert table.groups == ("F", "M") and table.counts == (1500, 1500)
    assert [v[0] for v in table.values] == [pytest.approx(0.25), pytest.approx(0.41)]
    text = repr(stored)
    assert "demographic_parity_difference(sex) by sex" in text
    assert "F    1500            0.25" in text and "M    1500            0.41" in text
    from jupyter_mlops.widgets.guard import gate_table_html

    shown = gate_table_html(stored.results)
    assert "<code>demographic_parity_difference(sex)</code> by sex" in shown
    assert '<td>F</td><td class="num">1,500</td><td class="num">0.25</td>' in shown


# -- each metric against fairlearn itself ---------------------------------------------------------

DIRECT: dict[str, Any] = {
    "demographic_parity_difference(sex)": lambda f: fm.demographic_parity_difference(
        f.churned, f.predicted, sensitive_features=f.sex
    ),
    "demographic_parity_ratio(sex)": lambda f: fm.demographic_parity_ratio(
        f.churned, f.predicted, sensitive_features=f.sex
    ),
    "equalized_odds_difference(age_band)": lambda f: fm.equalized_odds_difference(
        f.churned, f.predicted, sensitive_features=f.age_band
    ),
    "equalized_odds_ratio(sex)": lambda f: fm.equalized_odds_ratio(
        f.churned, f.predicted, sensitive_features=f.sex
    ),
    # equal opportunity: the true positive rates of every row, as fairlearn defines it
    "equal_opportunity_difference(sex)": lambda f: frame_of(
        f, fm.true_positive_rate, "sex"
    ).difference(),
    "equal_opportunity_ratio(sex)": lambda f: frame_of(f, fm.true_positive_rate, "sex").ratio(),
    "min_by(accuracy, sex)": lambda f: frame_of(f, sk.accuracy_score, "sex").group_min(),
    "max_by(false_positive_rate, sex)": lambda f: frame_of(
        f, fm.false_positive_rate, "sex"
    ).group_max(),
    "difference_by(recall, age_band)": lambda f: frame_of(
        f, sk.recall_score, "age_band"
    ).difference(),
    "ratio_by(selection_rate, sex)": lambda f: frame_of(f, fm.selection_rate, "sex").ratio(),
    "min_by(f1, sex)": lambda f: frame_of(f, sk.f1_score, "sex").group_min(),
    "min_by(precision, age_band)": lambda f: frame_of(
        f, sk.precision_score, "age_band"
    ).group_min(),
    "min_by(count, sex)": lambda f: frame_of(f, fm.count, "sex").group_min(),
    "max_by(balanced_accuracy, sex)": lambda f: frame_of(
        f, sk.balanced_accuracy_score, "sex"
    ).group_max(),
}


def frame_of(frame: pd.DataFrame, metric: Any, column: str) -> fm.MetricFrame:
    return fm.MetricFrame(
        metrics=metric,
        y_true=frame.churned,
        y_pred=frame.predicted,
        sensitive_features=frame[column],
    )


@pytest.mark.parametrize("call", list(DIRECT))
def test_each_function_gives_what_fairlearn_gives_on_the_same_data(
    registry: Registry, call: str
) -> None:
    frame = random_scored()
    expected = float(DIRECT[call](frame))
    assert 0 < expected < (len(frame) if "count" in call else 1)  # a disparity to measure
    evaluation = mlops.check(
        f"{call} <= {expected}", data=frame, prediction="predicted", label="churned"
    )
    (result,) = evaluation.results
    assert result.actual == pytest.approx(expected, abs=1e-12)
    strict = mlops.check(
        f"{call} < {expected}",
        data=frame,
        prediction="predicted",
        label="churned",
        raise_on_failure=False,
    )
    assert not strict.passed  # the bound is exactly the value: the rule can fail


def test_group_tables_hold_fairlearns_per_group_rates(registry: Registry) -> None:
    frame = random_scored(seed=3)
    evaluation = mlops.check(
        "equalized_odds_difference(sex) <= 1", data=frame, prediction="predicted", label="churned"
    )
    (table,) = evaluation.results[0].groups
    direct = fm.MetricFrame(
        metrics={
            "true_positive_rate": fm.true_positive_rate,
            "false_positive_rate": fm.false_positive_rate,
        },
        y_true=frame.churned,
        y_pred=frame.predicted,
        sensitive_features=frame.sex,
    ).by_group
    assert table.groups == ("F", "M", "X")
    assert table.counts == tuple(int((frame.sex == g).sum()) for g in table.groups)
    for group, values in zip(table.groups, table.values):
        assert values == pytest.approx(tuple(direct.loc[group]))


def test_positive_class_can_be_named_for_text_labels(registry: Registry) -> None:
    frame = random_scored(seed=5)
    words = frame.assign(
        churned=np.where(frame.churned == 1, "left", "stayed"),
        predicted=np.where(frame.predicted == 1, "left", "stayed"),
    )
    evaluation = mlops.check(
        "equalized_odds_difference(sex) <= 1",
        data=words,
        prediction="predicted",
        label="churned",
        positive="left",
    )
    expected = fm.equalized_odds_difference(
        frame.churned, frame.predicted, sensitive_features=frame.sex
    )
    assert evaluation.results[0].actual == pytest.approx(expected)
    with pytest.raises(ExpressionError, match=r"not 0/1 or True/False \(values: 'left'"):
        mlops.check("demographic_parity_difference(sex) <= 1", data=words, prediction="predicted")


def test_plain_arrays_give_the_same_value_and_rows_without_labels_are_left_out() -> None:
    """What a monitoring window calls: arrays of logged predictions, labels still coming."""
    frame = random_scored(seed=11, n=1000)
    labels = np.array(frame.churned, dtype=float)
    labels[:100] = np.nan
    found = fairness_value(
        "equal_opportunity_difference",
        sensitive=frame.sex.to_numpy(),
        predictions=frame.predicted.to_list(),
        labels=labels,
        column="sex",
    )
    kept = frame.iloc[100:]
    assert found.value == pytest.approx(frame_of(kept, fm.true_positive_rate, "sex").difference())
    assert found.left_out == 100 and "100 row(s) without a label left out" in found.note
    assert sum(found.table.counts) == 900
    parity = fairness_value(
        "demographic_parity_difference", sensitive=frame.sex, predictions=frame.predicted
    )
    assert sum(parity.table.counts) == 1000  # labels are not needed, no row is left out


def test_a_missing_sensitive_value_is_a_group_of_its_own(registry: Registry) -> None:
    frame = scored(False).astype({"sex": object})
    frame.loc[:99, "sex"] = None
    evaluation = mlops.check(
        "demographic_parity_difference(sex) <= 0.05", data=frame, prediction="predicted"
    )
    assert evaluation.results[0].groups[0].groups == ("(missing)", "F", "M")


def test_fairness_rules_read_a_snapshot_stored_with_its_rows(registry: Registry) -> None:
    mlops.snapshot(scored(True), name="scored", materialize=True)
    mlops.snapshot(scored(True), name="profile-only")
    evaluation = mlops.check(
        "demographic_parity_difference(sex) <= 0.05",
        data="scored",
        prediction="predicted",
        raise_on_failure=False,
    )
    assert not evaluation.passed and evaluation.results[0].actual == pytest.approx(0.16)
    assert evaluation.data is not None and evaluation.data.kind == "snapshot"
    with pytest.raises(ExpressionError, match='Snapshot "profile-only" keeps only its profile'):
        mlops.check("demographic_parity_difference(sex) <= 0.05", data="profile-only",
                    prediction="predicted")  # fmt: skip


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "given", "error", "message", "hint"),
    [
        (
            "demographic_parity_difference(gender) <= 0.05",
            {"prediction": "predicted"},
            ExpressionError,
            'Column "gender" of .* is not in the data',
            "Its columns: sex, age_band, churned, predicted",
        ),
        (
            "equalized_odds_difference(sex) <= 0.1",
            {"prediction": "predicted"},
            ExpressionError,
            "compares the predictions with the true labels, and no label column was named",
            "label='COLUMN' \\(--label\\)",
        ),
        (
            "demographic_parity_difference(sex) <= 0.05",
            {},
            ExpressionError,
            "needs the model's predictions, and no prediction column was named",
            "prediction='COLUMN'",
        ),
        (
            "demographic_parity_difference(sex) <= 0.05",
            {"prediction": "score"},
            InvalidInputError,
            'The prediction column "score" is not in the data',
            "Its columns: sex",
        ),
        (
            "demographic_parity_diff(sex) <= 0.05",
            {"prediction": "predicted"},
            ExpressionError,
            "A function call is not allowed .* demographic_parity_diff is none of the functions",
            "Did you mean demographic_parity_difference\\?",
        ),
        (
            "min_by(acuracy, sex) >= 0.8",
            {"prediction": "predicted", "label": "churned"},
            ExpressionError,
            'Unknown metric "acuracy"',
            "Did you mean accuracy\\?",
        ),
        (
            "min_by(sex) >= 0.8",
            {"prediction": "predicted"},
            ExpressionError,
            "min_by takes a metric and a sensitive column, got 1 argument",
            "min_by\\(accuracy, sex\\)",
        ),
        (
            "demographic_parity_difference(sex + 1) <= 0.05",
            {"prediction": "predicted"},
            ExpressionError,
            "The argument 'sex \\+ 1', not a name or a literal, is not allowed",
            "",
        ),
    ],
)
def test_bad_fairness_rules_say_what_to_fix_and_store_nothing(
    registry: Registry,
    rule: str,
    given: dict[str, str],
    error: type[Exception],
    message: str,
    hint: str,
) -> None:
    with pytest.raises(error, match=message) as raised:
        mlops.check(rule, data=scored(False), **given)
    assert raised.type is error
    assert re.search(hint, raised.value.hint or ""), raised.value.hint  # type: ignore[attr-defined]
    assert registry.query_one("SELECT COUNT(*) FROM gate_evaluations")[0] == 0  # type: ignore[index]


def test_a_column_with_one_group_cannot_be_compared(registry: Registry) -> None:
    women = scored(False).query("sex == 'F'")
    with pytest.raises(
        ExpressionError, match=r'Column "sex" has one group \("F"\) in the 1500 rows'
    ):
        mlops.check(
            "demographic_parity_difference(sex) <= 0.05", data=women, prediction="predicted"
        )


def test_fairness_rules_without_data_say_how_to_give_it(registry: Registry) -> None:
    register_candidate()
    with pytest.raises(
        ExpressionError, match="is computed on evaluation data, and none was given"
    ) as raised:
        mlops.promote(
            "churn@1", alias="champion", gates=["demographic_parity_difference(sex) <= 0.05"]
        )
    assert "--prediction" in (raised.value.hint or "")
    assert aliases_of(registry, "churn") == {}
    with pytest.raises(InvalidInputError, match="prediction='predicted'.*no rule uses one"):
        mlops.check("accuracy > 0.5", prediction="predicted")


def test_filters_still_refuse_function_calls(registry: Registry) -> None:
    with pytest.raises(ExpressionError, match="A function call is not allowed"):
        mlops.runs(where="min_by(accuracy, sex) > 0.8")


@pytest.mark.slow  # a Python process of its own
def test_without_fairlearn_the_core_imports_and_a_fairness_rule_says_what_to_install(
    tmp_path: Path,
) -> None:
    script = """
import sys
sys.modules["fairlearn"] = None  # as if it were not installed: importing it fails
import pandas as pd
import jupyter_mlops as mlops
from jupyter_mlops.errors import InvalidInputError
mlops.init(sys.argv[1])
print(mlops.check("x > 1", values={"x": 2}).passed)
frame = pd.DataFrame({"sex": ["F", "M"], "p": [1, 0]})
try:
    mlops.check("demographic_parity_difference(sex) <= 0.1", data=frame, prediction="p")
except InvalidInputError as error:
    print(error.message)
    print(error.hint)
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.splitlines() == [
        "True",
        "Fairness rules are computed with fairlearn, which is not installed"
        " (rule 'demographic_parity_difference(sex) <= 0.1')",
        "Install the fairness extra: pip install 'jupyter-mlops[fairness]'.",
    ]


# -- faces -------------------------------------------------------------------------------------


def test_promote_command_takes_fairness_columns_and_prints_the_groups(
    registry: Registry, tmp_path: Path
) -> None:
    register_candidate()
    skewed, balanced = tmp_path / "skewed.csv", tmp_path / "balanced.csv"
    scored(True).to_csv(skewed, index=False)
    scored(False).to_csv(balanced, index=False)
    runner = cli_runner()
    words = ["promote", "churn@1", "--alias", "champion", "--prediction", "predicted",
             "--label", "churned", "--gate", "equalized_odds_difference(sex) <= 0.1"]  # fmt: skip
    refused = runner.invoke(main, [*words, "--data", str(skewed)])
    assert refused.exit_code == 3, refused.output
    assert "equalized_odds_difference(sex) by sex" in refused.stdout
    assert "true_positive_rate  false_positive_rate" in refused.stdout
    assert "champion is still not set" in refused.stderr
    moved = runner.invoke(main, [*words, "--data", str(balanced)])
    assert moved.exit_code == 0 and "churn@champion -> version 1." in moved.stdout
    positive = runner.invoke(
        main,
        ["gate", "demographic_parity_difference(sex) <= 0.05", "--data", str(balanced),
         "--prediction", "predicted", "--positive", "0"],
    )  # fmt: skip
    assert positive.exit_code == 0 and "selection_rate" in positive.stdout


def test_gate_magic_shows_the_group_table_and_fails_on_a_disparity(
    shell: Any, registry: Registry
) -> None:
    shell.user_ns["skewed"] = scored(True)  # type: ignore[attr-defined]
    with capture_output() as captured:
        result = run_cell(
            shell,
            '%mlops gate "demographic_parity_difference(sex) <= 0.05"'
            " --data skewed --prediction predicted",
        )
    assert type(result.error_in_exec).__name__ == "UsageError"  # type: ignore[attr-defined]
    assert "demographic_parity_difference(sex) <= 0.05 (actual 0.16" in str(
        result.error_in_exec  # type: ignore[attr-defined]
    )
    shown = captured.outputs[0].data["text/html"]
    assert "<code>demographic_parity_difference(sex)</code> by sex" in shown
    assert "data skewed (3,000 rows)" in shown


def test_a_pipeline_step_gate_computes_fairness_rules_on_its_data(
    registry: Registry, tmp_path: Path
) -> None:
    from jupyter_mlops.runner import step_api

    previous = step_api.set_context(
        step_api.StepContext(
            pipeline="churn", step="gate", pipeline_dir=tmp_path, registry=registry
        )
    )
    try:
        with pytest.raises(GateFailedError, match=r"equalized_odds_difference\(sex\) <= 0.1"):
            step_api.check(
                ["equalized_odds_difference(sex) <= 0.1"],
                data=scored(True),
                prediction="predicted",
                label="churned",
            )
        passed = step_api.check(
            ["equalized_odds_difference(sex) <= 0.1"],
            data=scored(False),
            prediction="predicted",
            label="churned",
        )
        assert passed is not None and passed.passed
        assert [c["passed"] for c in step_api.current_context().checks] == [False, True]
    finally:
        step_api.set_context(previous)


def test_a_window_of_logged_predictions_is_checked_without_a_registry() -> None:
    """What live monitoring will call: rules on a frame, labels partly back, nothing stored."""
    from jupyter_mlops.gates.fairness_rules import fairness_outcomes

    window = scored(True).sample(frac=1.0, random_state=3).reset_index(drop=True)
    window["churned"] = window["churned"].astype(float)
    window.loc[:599, "churned"] = np.nan  # feedback not in yet for the first 600 rows
    parity, odds = fairness_outcomes(
        ["demographic_parity_difference(sex) <= 0.05", "equalized_odds_difference(sex) <= 0.1"],
        window,
        prediction="predicted",
        label="churned",
    )
    assert not parity.passed and parity.actual == pytest.approx(0.16)
    assert parity.groups[0].counts == (1500, 1500)  # needs no labels: every row
    kept = window.iloc[600:]
    expected = fm.equalized_odds_difference(
        kept.churned, kept.predicted, sensitive_features=kept.sex
    )
    assert not odds.passed and odds.actual == pytest.approx(expected)
    assert "600 row(s) without a label left out" in odds.detail
    assert sum(odds.groups[0].counts) == 2400
    with pytest.raises(ExpressionError, match='"accuracy" in .* only the data\'s fairness'):
        fairness_outcomes("accuracy > 0.8", window, prediction="predicted")
    unlabelled = window.head(600)
    (parity,) = fairness_outcomes(
        "demographic_parity_difference(sex) <= 1", unlabelled, prediction="predicted"
    )
    assert parity.passed
    with pytest.raises(ExpressionError, match="none of the 600 rows has one"):
        fairness_outcomes(
            "equalized_odds_difference(sex) <= 1",
            unlabelled,
            prediction="predicted",
            label="churned",
        )
